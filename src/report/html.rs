//! The conformance report as one self-contained HTML page (`run --html`): a summary (verdict,
//! violations, observations, time), then scenarios → steps → checks, each failed check with the
//! scenario lines it points at, expected and actual, and the exchange it is about. Buttons
//! filter failed checks, observations, or everything. No external asset: the CSS and the few
//! lines of script are inline. Everything shown is escaped — the server's answers are hostile
//! input as far as this page is concerned.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;

use crate::client::tap::Traced;
use crate::runner::{Check, RunResult, ScenarioResult, StepResult, Verdict};
use crate::scenario::Span;

/// Most characters of a body the page shows (the trace keeps more).
const BODY_SHOWN: usize = 16 * 1024;

/// Most characters of one scenario line the page shows.
const LINE_SHOWN: usize = 240;

/// Lines of context around the line a check points at.
const CONTEXT: u32 = 2;

const STYLE: &str = r#"
:root { --fail:#b42318; --fail-bg:#fef3f2; --obs:#b54708; --obs-bg:#fffaeb; --pass:#067647; --pass-bg:#ecfdf3;
        --muted:#5d6b82; --line:#d0d5dd; --code-bg:#f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #101828; background: #fff; }
header { padding: 20px 28px 12px; border-bottom: 1px solid var(--line); }
h1 { font-size: 20px; margin: 0 0 8px; }
.verdict { display: inline-block; font-weight: 700; font-size: 16px; padding: 4px 12px; border-radius: 6px; }
.verdict.fail { color: #fff; background: var(--fail); }
.verdict.pass { color: #fff; background: var(--pass); }
.verdict.other { color: #fff; background: var(--obs); }
.numbers { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0 4px; padding: 0; list-style: none; }
.numbers li { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; min-width: 110px; }
.numbers b { display: block; font-size: 20px; }
.numbers .v b { color: var(--fail); } .numbers .o b { color: var(--obs); }
.meta { color: var(--muted); font-size: 13px; }
.rules { margin: 6px 0 0; font-size: 13px; }
.rules code { margin-right: 14px; }
nav { position: sticky; top: 0; background: #fff; padding: 10px 28px; border-bottom: 1px solid var(--line); z-index: 1; }
nav button { font: inherit; padding: 4px 14px; margin-right: 6px; border: 1px solid var(--line); border-radius: 16px; background: #fff; cursor: pointer; }
nav button.on { background: #101828; color: #fff; border-color: #101828; }
main { padding: 12px 28px 40px; }
section.scenario { border: 1px solid var(--line); border-radius: 8px; margin: 14px 0; overflow: hidden; }
section.scenario > h2 { font-size: 16px; margin: 0; padding: 10px 14px; background: var(--code-bg); border-bottom: 1px solid var(--line); }
.file, .loc { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; color: var(--muted); font-weight: 400; margin-left: 8px; }
.badge { display: inline-block; font-size: 11px; font-weight: 700; padding: 1px 7px; border-radius: 4px; margin-right: 6px; vertical-align: 1px; }
.badge.fail { background: var(--fail); color: #fff; } .badge.pass { background: var(--pass); color: #fff; }
.badge.obs { background: var(--obs); color: #fff; } .badge.skip { background: #98a2b3; color: #fff; }
.abort { margin: 8px 14px; color: var(--fail); }
.step { padding: 8px 14px; border-top: 1px solid #eaecf0; }
.step:first-of-type { border-top: 0; }
.step > h3 { font-size: 14px; margin: 0; font-weight: 600; }
.step .why { color: var(--muted); font-size: 13px; margin-left: 4px; }
.check { margin: 8px 0 4px 18px; padding: 8px 12px; border-left: 4px solid var(--line); border-radius: 0 6px 6px 0; }
.check.violation { border-color: var(--fail); background: var(--fail-bg); }
.check.observation { border-color: var(--obs); background: var(--obs-bg); }
.check.passed { border-color: var(--pass); background: var(--pass-bg); padding: 3px 12px; }
.check.passed .title { font-weight: 400; }
.check .title { font-weight: 600; overflow-wrap: anywhere; }
.check .title code { font-weight: 400; }
.sev { text-transform: uppercase; font-size: 11px; font-weight: 700; margin-right: 6px; }
.violation .sev { color: var(--fail); } .observation .sev { color: var(--obs); } .passed .sev { color: var(--pass); }
pre { font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--code-bg); border: 1px solid #eaecf0;
      border-radius: 6px; padding: 6px 8px; margin: 6px 0; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.source { white-space: pre; }
pre.source .at { background: #fde68a; display: inline-block; min-width: 100%; font-weight: 700; }
.ea { border-collapse: collapse; width: 100%; margin: 4px 0; table-layout: fixed; }
.ea th { text-align: left; vertical-align: top; width: 80px; padding: 6px 8px 0 0; color: var(--muted); font-weight: 600; }
.ea td pre { margin: 2px 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 1px 12px; margin: 6px 0; font-size: 13px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
details.exchange { margin: 6px 0; }
details.exchange summary { cursor: pointer; font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.error { color: var(--fail); margin: 6px 0 6px 18px; overflow-wrap: anywhere; }
body.f-failed .check:not(.violation), body.f-failed .step:not(.has-violation), body.f-failed .scenario:not(.has-violation) { display: none; }
body.f-observations .check:not(.observation), body.f-observations .error, body.f-observations .step:not(.has-observation),
body.f-observations .scenario:not(.has-observation) { display: none; }
.empty { display: none; color: var(--muted); padding: 20px 0; }
body.f-failed.none-failed .empty.failed, body.f-observations.none-observations .empty.observations { display: block; }
"#;

const SCRIPT: &str = r#"
(function () {
  var body = document.body;
  var buttons = document.querySelectorAll('nav button[data-filter]');
  function show(f) {
    body.classList.remove('f-failed', 'f-observations', 'f-all');
    body.classList.add('f-' + f);
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].classList.toggle('on', buttons[i].getAttribute('data-filter') === f);
    }
  }
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener('click', function (e) {
      var f = e.currentTarget.getAttribute('data-filter');
      show(f);
      history.replaceState(null, '', '#' + f);
    });
  }
  var wanted = location.hash.slice(1);
  if (wanted === 'failed' || wanted === 'observations' || wanted === 'all') { show(wanted); }
})();
"#;

/// Text safe anywhere in HTML: element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline mean nothing on a page.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to `n` characters, saying how much was left out.
fn cut(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((at, _)) => format!("{}… [{} more characters]", &s[..at], s[at..].chars().count()),
        None => s.to_owned(),
    }
}

/// `sources` maps scenario files to their text, to quote the lines checks point at.
pub fn write(run: &RunResult, sources: &HashMap<String, String>, out: &mut dyn Write) -> std::io::Result<()> {
    let mut h = String::new();
    page(run, sources, &mut h);
    out.write_all(h.as_bytes())
}

fn page(run: &RunResult, sources: &HashMap<String, String>, h: &mut String) {
    let outcome = run.outcome();
    let violations: u64 = run.violations_by_rule.values().sum();
    let observations: u64 = run.observations_by_rule.values().sum();
    let verdicts: Vec<Verdict> = run.scenarios.iter().map(|s| s.judge(run.strict)).collect();
    let failed = verdicts.iter().filter(|v| **v == Verdict::Fail).count();
    let any_failed = failed > 0 || run.error.is_some() || run.scenarios.iter().any(|s| s.aborted.is_some());
    let filter = if any_failed {
        "failed"
    } else if observations > 0 {
        "observations"
    } else {
        "all"
    };
    let verdict_class = match outcome.name() {
        "pass" => "pass",
        "fail" => "fail",
        _ => "other",
    };
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>chatprobe conformance report: {}</title>\n<style>{STYLE}</style>\n</head>\n",
        escape(outcome.verdict())
    );
    let mut classes = vec![format!("f-{filter}")];
    if !any_failed {
        classes.push("none-failed".into());
    }
    if observations == 0 {
        classes.push("none-observations".into());
    }
    let _ = write!(h, "<body class=\"{}\">\n<header>\n<h1>chatprobe conformance report</h1>\n", classes.join(" "));
    let _ = write!(
        h,
        "<span class=\"verdict {verdict_class}\">{} (exit {})</span>\n<ul class=\"numbers\">\n",
        escape(outcome.verdict()),
        outcome.code()
    );
    let numbers = [
        ("v", violations.to_string(), "violations"),
        ("o", observations.to_string(), "observations"),
        ("", format!("{} / {}", run.scenarios.len() - failed, run.scenarios.len()), "scenarios passed"),
        ("", run.counts.requests.to_string(), "requests"),
        ("", run.counts.checks_passed.to_string(), "checks passed"),
        ("", duration(run.duration), "time"),
    ];
    for (class, value, label) in numbers {
        let _ = writeln!(h, "<li class=\"{class}\"><b>{}</b>{label}</li>", escape(&value));
    }
    let _ = write!(
        h,
        "</ul>\n<div class=\"meta\">target {} · started {} · chatprobe {}{}</div>\n",
        escape(&run.target),
        escape(&run.started_at),
        escape(run.version),
        if run.strict { " · --strict: observations fail the run" } else { "" }
    );
    if let Some(e) = &run.error {
        let _ = writeln!(h, "<div class=\"error\">the run could not start: {}</div>", escape(e));
    }
    for (label, map) in [("violations", &run.violations_by_rule), ("observations", &run.observations_by_rule)] {
        if !map.is_empty() {
            let _ = write!(h, "<div class=\"rules\">{label} by rule: ");
            for (rule, n) in map {
                let _ = write!(h, "<code>{} × {n}</code>", escape(rule));
            }
            h.push_str("</div>\n");
        }
    }
    if run.checks_suppressed > 0 {
        let _ = writeln!(
            h,
            "<div class=\"meta\">{} failed checks are counted but not shown (past the per-step and per-run caps)</div>",
            run.checks_suppressed
        );
    }
    h.push_str("</header>\n<nav>");
    for (f, label) in [("failed", "Failed"), ("observations", "Observations"), ("all", "All")] {
        let on = if f == filter { " class=\"on\"" } else { "" };
        let _ = write!(h, "<button type=\"button\" data-filter=\"{f}\"{on}>{label}</button>");
    }
    h.push_str("</nav>\n<main>\n");
    h.push_str("<p class=\"empty failed\">No violation.</p>\n<p class=\"empty observations\">No observation.</p>\n");
    for sc in &run.scenarios {
        scenario(sc, run.strict, sources, h);
    }
    let _ = write!(h, "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n");
}

/// Whether a step counts as failed on the page (an error, or a violation) and whether it has
/// observations.
fn marks(st: &StepResult) -> (bool, bool) {
    (st.error.is_some() || st.violations().next().is_some(), st.observations().next().is_some())
}

fn scenario(sc: &ScenarioResult, strict: bool, sources: &HashMap<String, String>, h: &mut String) {
    let verdict = sc.judge(strict);
    let failed = verdict == Verdict::Fail;
    let observed = sc.steps.iter().any(|s| marks(s).1);
    let mut classes = vec!["scenario"];
    if failed {
        classes.push("has-violation");
    }
    if observed {
        classes.push("has-observation");
    }
    let badge = match verdict {
        Verdict::Fail => "<span class=\"badge fail\">FAIL</span>",
        Verdict::PassWithObservations => "<span class=\"badge obs\">PASS</span>",
        Verdict::Pass => "<span class=\"badge pass\">PASS</span>",
    };
    let _ = write!(
        h,
        "<section class=\"{}\">\n<h2>{badge}{}<span class=\"file\">{}</span><span class=\"file\">{:.0} ms</span></h2>\n",
        classes.join(" "),
        escape(&sc.name),
        escape(&sc.file),
        sc.duration.as_secs_f64() * 1000.0
    );
    if let Some(a) = &sc.aborted {
        let _ = writeln!(h, "<div class=\"abort\">aborted: {}</div>", escape(&a.message));
    }
    let mut shown: HashSet<u64> = HashSet::new();
    for st in &sc.steps {
        step(sc, st, sources, &mut shown, h);
    }
    h.push_str("</section>\n");
}

fn step(
    sc: &ScenarioResult,
    st: &StepResult,
    sources: &HashMap<String, String>,
    shown: &mut HashSet<u64>,
    h: &mut String,
) {
    let (failed, observed) = marks(st);
    let mut classes = vec!["step"];
    if failed {
        classes.push("has-violation");
    }
    if observed {
        classes.push("has-observation");
    }
    let badge = if st.skipped {
        "<span class=\"badge skip\">SKIP</span>"
    } else if failed {
        "<span class=\"badge fail\">FAIL</span>"
    } else if observed {
        "<span class=\"badge obs\">OBS</span>"
    } else {
        "<span class=\"badge pass\">PASS</span>"
    };
    let _ = write!(
        h,
        "<div class=\"{}\">\n<h3>{badge}{}<span class=\"loc\">{}</span>",
        classes.join(" "),
        escape(&st.name),
        escape(&location(&st.span))
    );
    if let Some(why) = &st.skip_reason {
        let _ = write!(h, "<span class=\"why\">{}</span>", escape(why));
    }
    h.push_str("</h3>\n");
    if let Some(e) = &st.error {
        let _ = writeln!(h, "<div class=\"error\">could not complete: {}</div>", escape(e));
        if let Some(t) = st.exchanges.last() {
            exchange_block(t, shown, h);
        }
    }
    for c in &st.checks {
        check(sc, st, c, sources, shown, h);
    }
    h.push_str("</div>\n");
}

fn duration(d: std::time::Duration) -> String {
    if d.as_secs() == 0 { format!("{} ms", d.as_millis()) } else { format!("{:.1} s", d.as_secs_f64()) }
}

/// A body as shown: JSON indented (the trace has the bytes as sent), cut to [`BODY_SHOWN`].
fn body(text: &str) -> String {
    let pretty =
        serde_json::from_str::<serde_json::Value>(text).ok().and_then(|v| serde_json::to_string_pretty(&v).ok());
    cut(pretty.as_deref().unwrap_or(text), BODY_SHOWN)
}

fn location(span: &Span) -> String {
    format!("{}:{}", span.file, span.line)
}

fn check(
    sc: &ScenarioResult,
    st: &StepResult,
    c: &Check,
    sources: &HashMap<String, String>,
    shown: &mut HashSet<u64>,
    h: &mut String,
) {
    let kind = if c.passed {
        "passed"
    } else if c.is_violation() {
        "violation"
    } else {
        "observation"
    };
    let _ = writeln!(
        h,
        "<div class=\"check {kind}\"><div class=\"title\"><span class=\"sev\">{}</span><code>[{}]</code> {}</div>",
        if c.passed { "pass" } else { kind },
        escape(c.rule),
        escape(&c.message)
    );
    if c.passed {
        h.push_str("</div>\n");
        return;
    }
    let span = c.span.as_ref().unwrap_or(&st.span);
    if let Some(text) = sources.get(&span.file) {
        source(text, span, h);
    }
    if let (Some(e), Some(a)) = (&c.expected, &c.actual) {
        let _ = writeln!(
            h,
            "<table class=\"ea\"><tr><th>expected</th><td><pre>{}</pre></td></tr>\
             <tr><th>actual</th><td><pre>{}</pre></td></tr></table>",
            escape(e),
            escape(a)
        );
    }
    h.push_str("<dl class=\"facts\">");
    let step_name = c.step.as_deref().unwrap_or(&st.name);
    let mut facts = vec![("at", location(span)), ("step", step_name.to_owned())];
    if step_name != st.name {
        facts.push(("found during", st.name.clone()));
    }
    facts.push(("subject", c.subject.clone()));
    facts.push(("source", c.source.clone()));
    if let Some(i) = c.har_entry {
        facts.push(("trace", format!("log.entries[{i}] of the HAR trace")));
    }
    for (k, v) in facts {
        let _ = write!(h, "<dt>{k}</dt><dd>{}</dd>", escape(&v));
    }
    h.push_str("</dl>\n");
    if let Some(t) = c.exchange.and_then(|id| sc.steps.iter().flat_map(|s| &s.exchanges).find(|t| t.id == id)) {
        exchange_block(t, shown, h);
    }
    h.push_str("</div>\n");
}

/// The lines around `span`, numbered, the one it points at marked.
fn source(text: &str, span: &Span, h: &mut String) {
    if span.line == 0 {
        return;
    }
    let first = span.line.saturating_sub(CONTEXT).max(1);
    let last = span.line + CONTEXT;
    let width = last.to_string().len();
    h.push_str("<pre class=\"source\">");
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i as u32 + 1, l)) {
        if n < first {
            continue;
        }
        if n > last {
            break;
        }
        let line = escape(&cut(line, LINE_SHOWN));
        if n == span.line {
            let _ = writeln!(h, "<span class=\"at\">{n:>width$} | {line}</span>");
        } else {
            let _ = writeln!(h, "{n:>width$} | {line}");
        }
    }
    h.push_str("</pre>\n");
}

/// The request and response of an exchange, once per scenario; later mentions link to it.
fn exchange_block(t: &Traced, shown: &mut HashSet<u64>, h: &mut String) {
    let status = match &t.response {
        Ok(ex) => ex.status.to_string(),
        Err(_) => "no answer".to_owned(),
    };
    let summary = format!("{} {} → {status} ({:.0} ms)", t.method, t.url, t.elapsed.as_secs_f64() * 1000.0);
    if !shown.insert(t.id) {
        let _ = writeln!(
            h,
            "<div class=\"meta\">exchange: <a href=\"#ex-{}\">{}</a> (shown above)</div>",
            t.id,
            escape(&summary)
        );
        return;
    }
    let _ = write!(h, "<details class=\"exchange\" id=\"ex-{}\" open><summary>{}</summary>", t.id, escape(&summary));
    let mut req = format!("{} {} {}\n", t.method, t.url, t.http_version);
    for (n, v) in &t.request_headers {
        let _ = writeln!(req, "{n}: {v}");
    }
    if let Some(body) = &t.request_text {
        let _ = write!(req, "\n{}", self::body(body));
    }
    let _ = write!(h, "<pre>{}</pre>", escape(&req));
    let resp = match &t.response {
        Ok(ex) => {
            let mut r = format!("{} {}\n", t.http_version, ex.status);
            for (n, v) in &ex.headers {
                let _ = writeln!(r, "{n}: {v}");
            }
            if !ex.body_text.is_empty() {
                let _ = write!(r, "\n{}", body(&ex.body_text));
            }
            r
        }
        Err(e) => format!("no answer: {e}"),
    };
    let _ = writeln!(h, "<pre>{}</pre></details>", escape(&resp));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            escape(r#"<script src="x">'&'</script>"#),
            "&lt;script src=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{0}b\nc"), "a\u{FFFD}b\nc");
    }

    #[test]
    fn the_line_a_check_points_at_is_marked_among_its_neighbours() {
        let text = "a\nb\nc <x>\nd\ne\nf\n";
        let mut h = String::new();
        source(text, &Span::new("f.yaml", 3, 1), &mut h);
        assert!(h.contains("<span class=\"at\">3 | c &lt;x&gt;</span>"), "{h}");
        assert!(h.contains("1 | a") && h.contains("5 | e") && !h.contains("6 | f"), "{h}");
    }
}
