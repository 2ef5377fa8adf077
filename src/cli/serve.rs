//! `chatprobe serve`: the reference simulator on its own, until Ctrl-C or SIGTERM, optionally
//! with injected faults or as the variant.

use std::net::{IpAddr, SocketAddr};

use super::{ServeArgs, invalid};
use crate::runner::Outcome;
use crate::scenario::parse::parse_duration;
use crate::sim;

pub async fn serve(args: ServeArgs) -> Outcome {
    let ip: IpAddr = match args.bind.parse() {
        Ok(ip) => ip,
        Err(e) => return invalid(format!("--bind `{}`: {e}", args.bind)),
    };
    let latitudes = match args.latitudes.latitudes() {
        Ok(l) => l,
        Err(e) => return invalid(format!("--latitude: {e}")),
    };
    let base = sim::SimConfig { latitudes, ..sim::SimConfig::default() };
    let capacity = args.capacity.unwrap_or(base.capacity);
    if args.agents == 0 || capacity == 0 {
        return invalid("--agents and --capacity must be at least 1");
    }
    let cometd_timeout = match parse_duration(&args.cometd_timeout) {
        Ok(d) => d,
        Err(e) => return invalid(format!("--cometd-timeout: {e}")),
    };
    let faults = match sim::Faults::from_names(args.faults.iter().map(String::as_str)) {
        Ok(faults) => faults,
        Err(e) => return invalid(e),
    };
    let profile = match super::tegsoft::load(&args.tegsoft_profile) {
        Ok(p) => p,
        Err(e) => return invalid(e),
    };
    for prefix in &args.fetch_allow {
        match reqwest::Url::parse(prefix) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
            Ok(_) => return invalid(format!("--fetch-allow `{prefix}`: not an http or https URL with a host")),
            Err(e) => return invalid(format!("--fetch-allow `{prefix}`: {e}")),
        }
    }
    if args
        .contact_center_id
        .as_deref()
        .is_some_and(|id| id.is_empty() || axum::http::HeaderValue::from_str(id).is_err())
    {
        return invalid("--contact-center-id must be a non-empty header value");
    }
    let slow = match sim::slow::Slow::from_specs(args.slow.iter().map(String::as_str), parse_duration) {
        Ok(s) => s,
        Err(e) => return invalid(format!("--slow {e}")),
    };
    let work = match sim::slow::bounded(&args.work, parse_duration) {
        Ok(w) => w,
        Err(e) => return invalid(format!("--work `{}`: {e}", args.work)),
    };
    let mut cfg = sim::SimConfig {
        agents: args.agents,
        password: args.password,
        capacity,
        cometd_timeout,
        faults,
        contact_center_id: args.contact_center_id,
        slow,
        work,
        ..base
    };
    cfg.tegsoft.profile = profile;
    cfg.tegsoft.fetch_allow = args.fetch_allow;
    if !ip.is_loopback() {
        eprintln!(
            "warning: --bind {ip} is not a loopback address: the simulator has no real security (agent \
             passwords are one shared value, customers need no credentials), so anyone who can reach \
             this address can use it"
        );
    }
    let profile_name = cfg.tegsoft.profile.name.clone();
    let slowed = cfg.slow.describe();
    let running = match sim::start(cfg, SocketAddr::new(ip, args.port)).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot listen on {ip}:{}: {e}", args.port);
            return Outcome::CouldNotRun;
        }
    };
    let mut mode: Vec<String> = faults.enabled().iter().map(|f| format!("fault {f}")).collect();
    if let Some(seed) = args.latitudes.seed {
        mode.insert(0, format!("variant seed {seed}"));
    } else if args.latitudes.variant {
        mode.insert(0, "variant".to_owned());
    }
    if !slowed.is_empty() {
        mode.push(format!("slow {slowed}"));
    }
    if !work.is_zero() {
        mode.push(format!("work {work:?} per request"));
    }
    let mode = if mode.is_empty() { String::new() } else { format!("; {}", mode.join(", ")) };
    println!(
        "chatprobe simulator listening on {} (agents agent1..agent{}{mode}; Tegsoft profile `{profile_name}`; Ctrl-C stops)",
        running.base_url(),
        args.agents
    );
    // The choices, so that a run against this server can be reproduced exactly; also served at
    // GET /chatprobe/latitudes.
    println!("latitudes: {}", latitudes.to_json());
    shutdown_signal().await;
    running.shutdown().await;
    Outcome::Pass
}

/// Ctrl-C, or SIGTERM (what service managers and `kill` send), so shutdown removes the
/// simulator's upload directory either way.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
