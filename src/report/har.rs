//! The HTTP trace (`run --trace FILE.har`): the exchanges the run recorded, Bayeux POSTs
//! included, as HAR 1.2 — a page per scenario, an entry per exchange, in run order. Secrets are
//! already redacted in the tree ([`RunResult::redact`]); this only lays it out. [`link`] gives
//! each failed check the index of its entry, so the JSON report can point into the trace.

use std::collections::HashMap;
use std::io::Write;

use serde_json::{Value, json};

use crate::client::tap::Traced;
use crate::runner::{RunResult, ScenarioResult, StepResult};

/// Every recorded exchange in entry order, with its scenario (index) and step.
fn entries(run: &RunResult) -> impl Iterator<Item = (usize, &ScenarioResult, &StepResult, &Traced)> {
    run.scenarios
        .iter()
        .enumerate()
        .flat_map(|(si, sc)| sc.steps.iter().flat_map(move |st| st.exchanges.iter().map(move |t| (si, sc, st, t))))
}

/// Set `har_entry` on every failed check whose exchange is in the trace.
pub fn link(run: &mut RunResult) {
    let index: HashMap<u64, usize> = entries(run).enumerate().map(|(i, (_, _, _, t))| (t.id, i)).collect();
    for st in run.scenarios.iter_mut().flat_map(|s| s.steps.iter_mut()) {
        for c in st.checks.iter_mut().filter(|c| !c.passed) {
            c.har_entry = c.exchange.and_then(|id| index.get(&id).copied());
        }
    }
}

/// Number of entries the trace of `run` holds.
pub fn len(run: &RunResult) -> usize {
    entries(run).count()
}

pub fn write(run: &RunResult, out: &mut dyn Write) -> std::io::Result<()> {
    let mut pages = Vec::new();
    let mut last_page = None;
    let mut items = Vec::new();
    for (si, sc, st, t) in entries(run) {
        let pageref = format!("scenario_{}", si + 1);
        if last_page != Some(si) {
            last_page = Some(si);
            pages.push(json!({
                "startedDateTime": rfc3339(t.started),
                "id": pageref,
                "title": format!("{} ({})", sc.name, sc.file),
                "pageTimings": {},
            }));
        }
        let mut e = entry(t);
        if let Value::Object(m) = &mut e {
            m.insert("pageref".into(), Value::String(pageref));
            m.insert("_scenario".into(), Value::String(sc.name.clone()));
            m.insert("_step".into(), Value::String(st.name.clone()));
            m.insert("_step_failed".into(), Value::Bool(st.error.is_some() || st.failures().next().is_some()));
        }
        items.push(e);
    }
    let mut comment = format!("chatprobe run against {}, started {}", run.target, run.started_at);
    if run.trace_dropped > 0 {
        comment.push_str(&format!(
            "; {} more exchanges were not kept, past {} per run",
            run.trace_dropped,
            crate::runner::trace::MAX_ENTRIES
        ));
    }
    let har = json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "chatprobe", "version": env!("CARGO_PKG_VERSION") },
            "pages": pages,
            "entries": items,
            "comment": comment,
        }
    });
    serde_json::to_writer_pretty(&mut *out, &har)?;
    writeln!(out)
}

/// One exchange as a HAR entry.
pub fn entry(t: &Traced) -> Value {
    let ms = t.elapsed.as_secs_f64() * 1000.0;
    let header = |h: &[(String, String)], name: &str| {
        h.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    };
    let mut request = json!({
        "method": t.method,
        "url": t.url,
        "httpVersion": t.http_version,
        "cookies": request_cookies(&t.request_headers),
        "headers": pairs(&t.request_headers),
        "queryString": query(&t.url),
        "headersSize": -1,
        "bodySize": t.request_bytes.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
    });
    if let (Some(text), Value::Object(m)) = (&t.request_text, &mut request) {
        let mime = header(&t.request_headers, "content-type").unwrap_or_default();
        m.insert("postData".into(), json!({ "mimeType": mime, "text": text }));
    }
    let (response, error) = match &t.response {
        Ok(ex) => {
            let mut content = json!({
                "size": ex.body_bytes,
                "mimeType": ex.content_type.clone().unwrap_or_default(),
                "text": ex.body_text,
            });
            if ex.body_text.len() < ex.body_bytes
                && let Value::Object(m) = &mut content
            {
                m.insert(
                    "comment".into(),
                    Value::String(format!("the text is cut; the body had {} bytes", ex.body_bytes)),
                );
            }
            let response = json!({
                "status": ex.status,
                "statusText": reqwest::StatusCode::from_u16(ex.status).ok().and_then(|s| s.canonical_reason()).unwrap_or(""),
                "httpVersion": t.http_version,
                "cookies": response_cookies(&ex.headers),
                "headers": pairs(&ex.headers),
                "content": content,
                "redirectURL": header(&ex.headers, "location").unwrap_or_default(),
                "headersSize": -1,
                "bodySize": ex.body_bytes,
            });
            (response, None)
        }
        // No answer: status 0, as browsers record a request that failed.
        Err(e) => (
            json!({
                "status": 0,
                "statusText": "",
                "httpVersion": t.http_version,
                "cookies": [],
                "headers": [],
                "content": { "size": 0, "mimeType": "" },
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": -1,
                "comment": e,
            }),
            Some(e.clone()),
        ),
    };
    let mut e = json!({
        "startedDateTime": rfc3339(t.started),
        "time": ms,
        "request": request,
        "response": response,
        "cache": {},
        "timings": { "send": 0, "wait": ms, "receive": 0 },
        "_id": t.id,
    });
    if let (Some(err), Value::Object(m)) = (error, &mut e) {
        m.insert("_error".into(), Value::String(err));
    }
    e
}

fn pairs(h: &[(String, String)]) -> Value {
    h.iter().map(|(n, v)| json!({ "name": n, "value": v })).collect()
}

fn query(url: &str) -> Value {
    reqwest::Url::parse(url)
        .map(|u| u.query_pairs().map(|(n, v)| json!({ "name": n, "value": v })).collect())
        .unwrap_or_else(|_| Value::Array(Vec::new()))
}

fn request_cookies(h: &[(String, String)]) -> Value {
    h.iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(n, v)| json!({ "name": n.trim(), "value": v.trim() }))
        .collect()
}

fn response_cookies(h: &[(String, String)]) -> Value {
    h.iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| {
            let mut parts = v.split(';');
            let (name, value) = parts.next()?.split_once('=')?;
            let mut c = json!({ "name": name.trim(), "value": value.trim() });
            if let Value::Object(m) = &mut c {
                for attr in parts {
                    let (k, val) = attr.split_once('=').unwrap_or((attr, ""));
                    match k.trim().to_ascii_lowercase().as_str() {
                        "path" => m.insert("path".into(), json!(val.trim())),
                        "domain" => m.insert("domain".into(), json!(val.trim())),
                        "httponly" => m.insert("httpOnly".into(), json!(true)),
                        "secure" => m.insert("secure".into(), json!(true)),
                        _ => None,
                    };
                }
            }
            Some(c)
        })
        .collect()
}

/// ISO 8601 with milliseconds, in UTC.
fn rfc3339(t: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let t = t.replace_nanosecond(t.millisecond() as u32 * 1_000_000).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_request_is_an_entry_with_status_zero_and_its_error() {
        let t = Traced {
            id: 7,
            started: std::time::SystemTime::UNIX_EPOCH,
            method: "GET".into(),
            url: "http://h/api/v2/me?fields=*&x=1".into(),
            request_headers: vec![("cookie".into(), "JSESSIONID=[redacted]".into())],
            request_text: None,
            request_bytes: Some(0),
            http_version: "HTTP/1.1".into(),
            response: Err("GET http://h/api/v2/me: cannot connect".into()),
            elapsed: std::time::Duration::from_millis(3),
        };
        let e = entry(&t);
        assert_eq!(e["startedDateTime"], "1970-01-01T00:00:00Z");
        assert_eq!(e["response"]["status"], 0);
        assert_eq!(e["_error"], "GET http://h/api/v2/me: cannot connect");
        assert_eq!(e["request"]["queryString"][0], json!({"name": "fields", "value": "*"}));
        assert_eq!(e["request"]["cookies"][0], json!({"name": "JSESSIONID", "value": "[redacted]"}));
        assert_eq!(e["time"], 3.0);
    }
}
