//! What a load would do, without doing it (`chatprobe load --dry-run`, `chatprobe validate`):
//! the profile, the planned arrivals, the workers, the deadline, the gates and the bounds each
//! value was checked against. A pure function of the checked spec.

use std::fmt::Write;
use std::time::Duration;

use super::bounds::{self, Bound};
use super::schedule::Schedule;
use super::spec::{Journey, LoadSpec, Model};
use super::thresholds;

fn dur(d: Duration) -> String {
    if d.is_zero() { "0s".into() } else { humantime::format_duration(d).to_string() }
}

fn within(b: &Bound) -> String {
    format!("within {} – {}", b.show(b.min), b.show(b.max))
}

/// Arrivals this copy (shard `i` of `n`) would start in the open model; `None` in the closed.
pub fn arrivals(spec: &LoadSpec, shard: (u64, u64)) -> Option<u64> {
    let Model::Open { start_rate, .. } = spec.profile.model else { return None };
    let total = Schedule::new(std::time::Instant::now(), start_rate, &spec.profile.stages, (0, 1)).total();
    let (i, n) = (shard.0, shard.1.max(1));
    // Copy i takes arrivals i, i+n, i+2n...
    Some(total / n + u64::from(i < total % n))
}

/// The plan as text for people.
pub fn describe(spec: &LoadSpec, shard: (u64, u64), target: Option<&str>) -> String {
    let p = &spec.profile;
    let mut out = String::new();
    let journey = match &spec.journey {
        Journey::Chat(c) => format!("chat ({} message(s) each way, timeout {})", c.messages, dur(c.timeout)),
        Journey::Request(r) => format!("request ({} {}, recorded as `{}`)", r.method, r.path, r.name),
    };
    let _ = writeln!(out, "load plan: {} ({})", spec.name, spec.file);
    let _ = writeln!(out, "  target:     {}", target.unwrap_or("the embedded simulator"));
    let _ = writeln!(out, "  journey:    {journey}");
    let open = matches!(p.model, Model::Open { .. });
    let (unit, bound) = if open { ("/s", &bounds::STAGE_RATE) } else { (" workers", &bounds::STAGE_USERS) };
    let per = if open { "/s" } else { "" };
    let _ = writeln!(out, "  model:      {}", if open { "open (arrivals per second)" } else { "closed (concurrency)" });
    if let Model::Open { start_rate, .. } = p.model {
        let _ = writeln!(out, "  start rate: {start_rate}/s");
    }
    for (k, s) in p.stages.iter().enumerate() {
        let _ = writeln!(out, "  stage {}:    to {}{unit} over {}", k + 1, s.target, dur(s.duration));
    }
    let _ = writeln!(out, "  peak:       {}{unit} ({}{per})", p.peak(), within(bound));
    match (&p.model, arrivals(spec, shard)) {
        (Model::Open { max_active, max_lag, .. }, Some(n)) => {
            let of = if shard.1 > 1 { format!(" (shard {} of {})", shard.0, shard.1) } else { String::new() };
            let _ = writeln!(out, "  arrivals:   {n}{of}, each timed when a worker takes it (no schedule in memory)");
            if let Journey::Chat(_) = spec.journey {
                let mine = if shard.1 > 1 {
                    format!(" of the whole load, {} in this shard", super::shard::share(*max_active, shard))
                } else {
                    String::new()
                };
                let _ = writeln!(out, "  workers:    {max_active}{mine} ({})", within(&bounds::MAX_ACTIVE));
            }
            let _ = writeln!(out, "  max lag:    {} (later arrivals are dropped)", dur(*max_lag));
        }
        _ => {
            let _ = writeln!(out, "  workers:    {} ({})", p.peak().round(), within(&bounds::CONCURRENCY));
        }
    }
    if matches!(spec.journey, Journey::Request(_)) {
        let _ = writeln!(out, "  connections: {} ({}), one worker each", p.connections, within(&bounds::CONNECTIONS));
    }
    let _ = writeln!(out, "  duration:   {} ({})", dur(p.duration()), within(&bounds::DURATION));
    let _ = writeln!(out, "  drain:      {} ({})", dur(spec.drain), within(&bounds::DRAIN));
    let _ = writeln!(
        out,
        "  deadline:   {} (duration + drain + {} grace)",
        dur(p.duration() + spec.drain + bounds::GRACE),
        dur(bounds::GRACE)
    );
    let gates = thresholds::with_default_gates(&spec.thresholds);
    for t in &gates {
        let _ = writeln!(out, "  threshold:  {t}");
    }
    if !spec.thresholds.iter().any(|t| matches!(t.metric, thresholds::Metric::Violations(_))) {
        let _ = writeln!(out, "  gate:       any contract violation exits 1 (no threshold names `violations`)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::spec::parse_str;

    #[test]
    fn the_plan_counts_arrivals_per_shard_and_names_the_deadline() {
        let text = "name: p\nload: { rate: 4, duration: 8s }\ndrain: 10s\n";
        let spec = parse_str("p.yaml", text).unwrap();
        assert_eq!(arrivals(&spec, (0, 1)), Some(32));
        assert_eq!(arrivals(&spec, (0, 3)), Some(11));
        assert_eq!(arrivals(&spec, (2, 3)), Some(10));
        let shown = describe(&spec, (0, 1), None);
        assert!(shown.contains("arrivals:   32,"), "{shown}");
        assert!(shown.contains("deadline:   48s (duration + drain + 30s grace)"), "{shown}");
        assert!(shown.contains("threshold:  error_rate <= 1% (default)"), "{shown}");
        assert!(shown.contains("any contract violation exits 1"), "{shown}");
        let closed = parse_str("c.yaml", "name: c\nload: { concurrency: 7, duration: 1s }\n").unwrap();
        assert_eq!(arrivals(&closed, (0, 1)), None);
        assert!(describe(&closed, (0, 1), Some("http://x")).contains("workers:    7 ("));
    }
}
