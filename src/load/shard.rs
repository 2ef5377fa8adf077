//! One load spread over several copies of chatprobe (processes or machines), each a shard `I/N`:
//!
//! - the arrivals: copy I takes arrivals I, I+N, I+2N... of the one schedule ([`super::schedule`]);
//! - the start: `--start-at` makes every copy start that schedule at the same wall-clock instant;
//! - the agents: copy I logs in agents I, I+N, I+2N... of the list given, so no two copies log in
//!   the same agent;
//! - the customers: every copy tags its chats with its shard;
//! - the report: every copy records its shard, the hash of the plan and the start, so that
//!   `chatprobe merge` can refuse reports of other runs.

use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::spec::{LoadSpec, Model, Stage};
use crate::runner::Credentials;

/// The latest `--start-at` accepted: a day ahead.
pub const MAX_AHEAD: Duration = Duration::from_secs(24 * 3600);
/// The earliest `--start-at` accepted: a few seconds ago (copies started a little late).
pub const MAX_PAST: Duration = Duration::from_secs(5);

/// What a report says about the shard it came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sharding {
    /// (index, count); (0, 1) for a load that is not sharded.
    pub shard: (u64, u64),
    /// The hash of the load plan (see [`plan_hash`]); equal for every shard of one load.
    pub plan_hash: String,
    /// The `--start-at` the schedule started at (RFC 3339), if one was given.
    pub start_at: Option<String>,
    /// The wall-clock time of the timeline's second 0 (RFC 3339), to align merged timelines.
    pub timeline_start: Option<String>,
    /// The shards a merged result was made of (empty for one run's result).
    pub merged: Vec<u64>,
}

/// A checked `--start-at`.
#[derive(Debug, Clone, PartialEq)]
pub struct StartAt {
    /// As written, normalised to UTC.
    pub text: String,
    pub at: SystemTime,
}

impl StartAt {
    /// The monotonic instant of the start (now, if it is already past).
    pub fn instant(&self) -> Instant {
        let now = (Instant::now(), SystemTime::now());
        match self.at.duration_since(now.1) {
            Ok(ahead) => now.0 + ahead,
            Err(e) => now.0.checked_sub(e.duration()).unwrap_or(now.0),
        }
    }
}

/// Parse `--start-at` (RFC 3339) and check it is neither more than [`MAX_AHEAD`] ahead nor
/// more than [`MAX_PAST`] past.
pub fn parse_start_at(text: &str, now: SystemTime) -> Result<StartAt, String> {
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|e| format!("--start-at `{text}`: not an RFC 3339 time such as 2026-12-07T15:00:00Z ({e})"))?;
    let at = SystemTime::from(t);
    if let Ok(ahead) = at.duration_since(now)
        && ahead > MAX_AHEAD
    {
        let h = ahead.as_secs_f64() / 3600.0;
        return Err(format!("--start-at `{text}` is {h:.1} h ahead: at most 24 h ahead"));
    }
    if let Ok(past) = now.duration_since(at)
        && past > MAX_PAST
    {
        return Err(format!(
            "--start-at `{text}` was {:.1} s ago: at most {} s past (give a time ahead for every shard)",
            past.as_secs_f64(),
            MAX_PAST.as_secs()
        ));
    }
    let utc = t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).unwrap_or_else(|_| text.to_owned());
    Ok(StartAt { text: utc, at })
}

/// A wall-clock time as RFC 3339 (UTC).
pub fn rfc3339(at: SystemTime) -> String {
    OffsetDateTime::from(at).format(&Rfc3339).unwrap_or_default()
}

/// The wall-clock time of a monotonic instant of this process.
pub fn wall_clock(at: Instant) -> SystemTime {
    let (now, wall) = (Instant::now(), SystemTime::now());
    match now.checked_duration_since(at) {
        Some(ago) => wall - ago,
        None => wall + at.duration_since(now),
    }
}

/// The agents shard `I/N` logs in: I, I+N, I+2N... of the list. Refused when fewer than
/// `needed` are left, naming how many the shard gets and how many the list must hold.
pub fn agents_of(all: Vec<Credentials>, shard: (u64, u64), needed: usize) -> Result<Vec<Credentials>, String> {
    let (i, n) = (shard.0 as usize, shard.1.max(1) as usize);
    let given = all.len();
    let mine: Vec<Credentials> = all.into_iter().skip(i).step_by(n).collect();
    if mine.len() < needed {
        return Err(format!(
            "--shard {i}/{n}: this shard gets {} of the {given} agent(s) given (agents {i}, {i}+{n}, ... of the list); \
             the journey needs at least {needed} per shard: give at least {} agents (--agent, CHATPROBE_AGENTS)",
            mine.len(),
            needed * n
        ));
    }
    Ok(mine)
}

/// Shard `I/N`'s share of a whole count (workers, connections, concurrency): the N shares add
/// up to it exactly, the first `total % N` shards taking one more.
pub fn share(total: usize, shard: (u64, u64)) -> usize {
    let (i, n) = (shard.0 as usize, shard.1.max(1) as usize);
    total / n + usize::from(i < total % n)
}

/// The closed model's stages with shard `I/N`'s share of each concurrency (rounded, as goose
/// runs whole users).
pub fn stages_share(stages: &[Stage], shard: (u64, u64)) -> Vec<Stage> {
    stages.iter().map(|s| Stage { target: share(s.target.round() as usize, shard) as f64, ..*s }).collect()
}

/// Refuse a closed-model load that leaves a shard without a worker at its peak.
pub fn check_closed_share(spec: &LoadSpec, shard: (u64, u64)) -> Result<(), String> {
    let peak = spec.profile.peak().round() as usize;
    if matches!(spec.profile.model, Model::Closed) && share(peak, shard) == 0 {
        return Err(format!(
            "--shard {}/{}: a concurrency of {peak} over {} shards leaves this shard without a worker; \
             use at most {peak} shards",
            shard.0, shard.1, shard.1
        ));
    }
    Ok(())
}

/// The hash of the normalised load plan: what the load does after the command line's overrides
/// (journey, profile, drain, thresholds), without the shard, the target or the file's path.
pub fn plan_hash(spec: &LoadSpec) -> String {
    let mut h = Sha256::new();
    let thresholds: Vec<&str> = spec.thresholds.iter().map(|t| t.text.as_str()).collect();
    let plan = format!(
        "name={}\njourney={:?}\nprofile={:?}\ndrain={:?}\nthresholds={thresholds:?}\n",
        spec.name, spec.journey, spec.profile, spec.drain
    );
    h.update(plan.as_bytes());
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{}", &hex[..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::schedule::Schedule;
    use crate::load::spec::parse_str;

    fn creds(n: usize) -> Vec<Credentials> {
        (1..=n).map(|i| Credentials { username: format!("agent{i}"), password: "pw".into() }).collect()
    }

    #[test]
    fn every_agent_goes_to_exactly_one_shard() {
        for n in 1..=7u64 {
            let mut seen: Vec<String> = Vec::new();
            for i in 0..n {
                let mine = agents_of(creds(20), (i, n), 1).unwrap();
                seen.extend(mine.into_iter().map(|c| c.username));
            }
            seen.sort();
            let mut all: Vec<String> = creds(20).into_iter().map(|c| c.username).collect();
            all.sort();
            assert_eq!(seen, all, "N = {n}");
        }
        let names: Vec<String> = agents_of(creds(10), (1, 4), 1).unwrap().into_iter().map(|c| c.username).collect();
        assert_eq!(names, ["agent2", "agent6", "agent10"]);
        let e = agents_of(creds(3), (3, 4), 1).unwrap_err();
        assert!(e.contains("gets 0 of the 3 agent(s)") && e.contains("at least 4 agents"), "{e}");
        assert!(agents_of(Vec::new(), (0, 2), 0).unwrap().is_empty());
    }

    #[test]
    fn shards_together_are_the_whole_schedule_without_gaps_or_overlaps() {
        let spec = parse_str(
            "s.yaml",
            "name: s\nload: { start_rate: 1, stages: [{ target: 30, duration: 3s }, { target: 5, duration: 2s }] }\n",
        )
        .unwrap();
        let Model::Open { start_rate, .. } = spec.profile.model else { panic!("open model") };
        let t0 = Instant::now();
        let whole = Schedule::new(t0, start_rate, &spec.profile.stages, (0, 1));
        let mut expected = Vec::new();
        while let Some(t) = whole.take() {
            expected.push((t.number, t.intended));
        }
        assert!(expected.len() > 50);
        for n in [1u64, 2, 3, 4, 7, 16, 200] {
            let mut union = Vec::new();
            for i in 0..n {
                let s = Schedule::new(t0, start_rate, &spec.profile.stages, (i, n));
                while let Some(t) = s.take() {
                    union.push((t.number, t.intended));
                }
            }
            union.sort();
            assert_eq!(union, expected, "N = {n}: the shards' arrivals are not the whole schedule");
        }
    }

    #[test]
    fn shares_add_up_to_the_whole() {
        for total in [0usize, 1, 5, 16, 240, 12_001] {
            for n in [1u64, 2, 3, 4, 7, 16] {
                let sum: usize = (0..n).map(|i| share(total, (i, n))).sum();
                assert_eq!(sum, total, "{total} over {n}");
            }
        }
        let closed = parse_str("c.yaml", "name: c\nload: { concurrency: 3, duration: 1s }\n").unwrap();
        assert!(check_closed_share(&closed, (2, 3)).is_ok());
        let e = check_closed_share(&closed, (3, 4)).unwrap_err();
        assert!(e.contains("a concurrency of 3 over 4 shards"), "{e}");
        let staged: Vec<f64> = stages_share(&closed.profile.stages, (0, 2)).iter().map(|s| s.target).collect();
        assert_eq!(staged, [2.0, 2.0]);
    }

    #[test]
    fn the_start_is_bounded() {
        let now = SystemTime::now();
        let at = |d: i64| {
            rfc3339(if d >= 0 { now + Duration::from_secs(d as u64) } else { now - Duration::from_secs((-d) as u64) })
        };
        assert!(parse_start_at(&at(60), now).is_ok());
        assert!(parse_start_at(&at(-2), now).is_ok());
        let e = parse_start_at(&at(-60), now).unwrap_err();
        assert!(e.contains("ago") && e.starts_with("--start-at `"), "{e}");
        let e = parse_start_at(&at(25 * 3600), now).unwrap_err();
        assert!(e.contains("at most 24 h ahead"), "{e}");
        let e = parse_start_at("tomorrow", now).unwrap_err();
        assert!(e.contains("not an RFC 3339 time"), "{e}");
        let shifted =
            parse_start_at("2030-01-01T02:00:00+02:00", SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_455_000));
        assert_eq!(shifted.unwrap().text, "2030-01-01T00:00:00Z");
    }

    #[test]
    fn the_plan_hash_follows_the_plan_not_the_shard_or_the_path() {
        let text = "name: p\nload: { rate: 4, duration: 8s }\n";
        let a = parse_str("a.yaml", text).unwrap();
        let b = parse_str("elsewhere/b.yaml", &format!("# a comment\n{text}")).unwrap();
        assert_eq!(plan_hash(&a), plan_hash(&b));
        let mut faster = a.clone();
        faster.override_load(Some(5.0), None, None).unwrap();
        assert_ne!(plan_hash(&a), plan_hash(&faster));
        assert!(plan_hash(&a).starts_with("sha256:"));
    }
}
