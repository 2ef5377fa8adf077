//! JUnit XML: a test suite per scenario, a test case per step, a `<failure>` per violation and
//! an `<error>` when a step could not run. Observations (failed profile checks) never fail a test
//! case: each is a `<property name="observation">` of its case, with its details in
//! `<system-out>` — unless the run is `--strict`, where they are failures like the rest.

use std::io::Write;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::runner::{Check, RunResult, ScenarioResult, StepResult};

pub fn write(run: &RunResult, out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let strict = run.strict;
    let (mut tests, failures, mut errors, skipped) = totals(run.scenarios.iter().flat_map(|s| &s.steps), strict);
    if run.error.is_some() {
        tests += 1;
        errors += 1;
    }
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", "chatprobe"));
    root.push_attribute(("tests", tests.to_string().as_str()));
    root.push_attribute(("failures", failures.to_string().as_str()));
    root.push_attribute(("errors", errors.to_string().as_str()));
    root.push_attribute(("skipped", skipped.to_string().as_str()));
    root.push_attribute(("time", secs(run.duration).as_str()));
    w.write_event(Event::Start(root))?;
    if let Some(error) = &run.error {
        not_started(&mut w, error, &run.started_at)?;
    }
    for sc in &run.scenarios {
        suite(&mut w, sc, &run.started_at, strict)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    w.into_inner().write_all(b"\n")
}

/// The checks that fail a test case: violations, and observations too under `--strict`.
fn failing(st: &StepResult, strict: bool) -> impl Iterator<Item = &Check> {
    st.failures().filter(move |c| strict || c.is_violation())
}

fn totals<'a>(steps: impl Iterator<Item = &'a StepResult>, strict: bool) -> (usize, usize, usize, usize) {
    let (mut t, mut f, mut e, mut s) = (0, 0, 0, 0);
    for st in steps {
        t += 1;
        if st.skipped {
            s += 1;
        } else if st.error.is_some() {
            e += 1;
        } else if failing(st, strict).next().is_some() {
            f += 1;
        }
    }
    (t, f, e, s)
}

/// A run that could not start: one suite with one errored case, so a CI job that publishes
/// JUnit shows it red rather than a report an earlier run left.
fn not_started<W: Write>(w: &mut Writer<W>, error: &str, timestamp: &str) -> std::io::Result<()> {
    let mut el = BytesStart::new("testsuite");
    for (k, v) in [("name", "chatprobe"), ("tests", "1"), ("failures", "0"), ("errors", "1"), ("skipped", "0")] {
        el.push_attribute((k, v));
    }
    el.push_attribute(("timestamp", timestamp));
    w.write_event(Event::Start(el))?;
    let mut tc = BytesStart::new("testcase");
    tc.push_attribute(("name", "start"));
    tc.push_attribute(("classname", "chatprobe"));
    w.write_event(Event::Start(tc))?;
    text_el(w, "error", error, error)?;
    w.write_event(Event::End(BytesEnd::new("testcase")))?;
    w.write_event(Event::End(BytesEnd::new("testsuite")))
}

fn suite<W: Write>(w: &mut Writer<W>, sc: &ScenarioResult, timestamp: &str, strict: bool) -> std::io::Result<()> {
    let (tests, failures, mut errors, skipped) = totals(sc.steps.iter(), strict);
    if sc.aborted.is_some() && sc.steps.is_empty() {
        errors += 1;
    }
    let mut el = BytesStart::new("testsuite");
    el.push_attribute(("name", sc.name.as_str()));
    el.push_attribute(("file", sc.file.as_str()));
    el.push_attribute(("tests", tests.max(usize::from(sc.steps.is_empty())).to_string().as_str()));
    el.push_attribute(("failures", failures.to_string().as_str()));
    el.push_attribute(("errors", errors.to_string().as_str()));
    el.push_attribute(("skipped", skipped.to_string().as_str()));
    el.push_attribute(("time", secs(sc.duration).as_str()));
    el.push_attribute(("timestamp", timestamp));
    w.write_event(Event::Start(el))?;
    if sc.steps.is_empty()
        && let Some(abort) = &sc.aborted
    {
        let mut tc = BytesStart::new("testcase");
        tc.push_attribute(("name", "setup"));
        tc.push_attribute(("classname", sc.name.as_str()));
        w.write_event(Event::Start(tc))?;
        text_el(w, "error", &abort.message, &abort.message)?;
        w.write_event(Event::End(BytesEnd::new("testcase")))?;
    }
    for st in &sc.steps {
        case(w, sc, st, strict)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    Ok(())
}

fn case<W: Write>(w: &mut Writer<W>, sc: &ScenarioResult, st: &StepResult, strict: bool) -> std::io::Result<()> {
    let mut tc = BytesStart::new("testcase");
    tc.push_attribute(("name", st.name.as_str()));
    tc.push_attribute(("classname", sc.name.as_str()));
    tc.push_attribute(("file", st.span.file.as_str()));
    tc.push_attribute(("line", st.span.line.to_string().as_str()));
    tc.push_attribute(("time", secs(st.duration).as_str()));
    w.write_event(Event::Start(tc))?;
    let observations: Vec<&Check> = if strict { Vec::new() } else { st.observations().collect() };
    if !observations.is_empty() {
        w.write_event(Event::Start(BytesStart::new("properties")))?;
        for c in &observations {
            let mut p = BytesStart::new("property");
            p.push_attribute(("name", "observation"));
            p.push_attribute(("value", format!("[{}] {}", c.rule, c.message).as_str()));
            w.write_event(Event::Empty(p))?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))?;
    }
    if st.skipped {
        let mut el = BytesStart::new("skipped");
        if let Some(reason) = &st.skip_reason {
            el.push_attribute(("message", reason.as_str()));
        }
        w.write_event(Event::Empty(el))?;
    }
    if let Some(err) = &st.error {
        text_el(w, "error", err, err)?;
    }
    for c in failing(st, strict) {
        text_el(w, "failure", &format!("[{}] {}", c.rule, c.message), &details(c))?;
    }
    if !observations.is_empty() {
        let text: String = observations.iter().map(|c| format!("observation {}", details(c))).collect();
        w.write_event(Event::Start(BytesStart::new("system-out")))?;
        w.write_event(Event::Text(BytesText::new(&text)))?;
        w.write_event(Event::End(BytesEnd::new("system-out")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))?;
    Ok(())
}

fn details(c: &Check) -> String {
    let mut s = format!(
        "rule: {} ({})\nsource: {}\nsubject: {}\n{}\n",
        c.rule,
        c.severity.as_str(),
        c.source,
        c.subject,
        c.message
    );
    if let Some(step) = &c.step {
        s.push_str(&format!("step: {step}\n"));
    }
    if let Some(span) = &c.span {
        s.push_str(&format!("at: {span}\n"));
    }
    if let (Some(e), Some(a)) = (&c.expected, &c.actual) {
        s.push_str(&format!("expected: {e}\nactual: {a}\n"));
    }
    if let Some(i) = c.har_entry {
        s.push_str(&format!("trace: log.entries[{i}]\n"));
    }
    s
}

fn text_el<W: Write>(w: &mut Writer<W>, name: &str, message: &str, body: &str) -> std::io::Result<()> {
    let mut el = BytesStart::new(name);
    el.push_attribute(("message", message));
    w.write_event(Event::Start(el))?;
    w.write_event(Event::Text(BytesText::new(body)))?;
    w.write_event(Event::End(BytesEnd::new(name)))?;
    Ok(())
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}
