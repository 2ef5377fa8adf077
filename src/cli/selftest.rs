//! `chatprobe selftest`: the conformance suite against every simulator fault on top of a variant
//! seed (each must be caught by its expected rule) and against each variant seed (each must
//! pass), then the kill matrix and the seeds' latitude coverage. Exit 0 when every fault was
//! caught and every seed passed, 1 otherwise, 2 for invalid input, 3 when no simulator could be
//! started.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::invalid;
use super::run::discover;
use crate::client::ClientConfig;
use crate::contract::schema::SchemaRegistry;
use crate::report;
use crate::runner::Outcome;
use crate::scenario::{self, parse::parse_duration};
use crate::selftest::{self, Options, expected_rule};
use crate::sim::{DEFAULT_SEEDS, Fault, Latitudes};

#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// Scenario files or directories (searched for *.yaml / *.yml).
    #[arg(default_value = "scenarios/conformance")]
    pub paths: Vec<PathBuf>,
    /// Only these faults (comma-separated names; default: every fault).
    #[arg(long = "fault", value_delimiter = ',')]
    pub faults: Vec<String>,
    /// Variant seeds: a comma-separated list (`1,2,3`), or a count K for seeds 1..=K. The default,
    /// 1..=8, takes every alternative of every latitude.
    #[arg(long, value_name = "LIST|K")]
    pub seeds: Option<String>,
    /// Run no variant seed: the suite against the faults alone, on the default simulator.
    #[arg(long, conflicts_with = "seeds")]
    pub no_variant: bool,
    /// Runs at the same time, each against its own simulator (a run: one scenario against one
    /// fault, or the whole suite against one seed).
    #[arg(long, short, default_value_t = 16)]
    pub jobs: usize,
    /// Load schemas from this directory instead of the built-in ones.
    #[arg(long)]
    pub schemas: Option<PathBuf>,
    /// Deadline of every HTTP request (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s")]
    pub request_timeout: String,
    /// List the faults (name, expected rule, what it does) and the latitudes, and exit.
    #[arg(long)]
    pub list: bool,
}

pub async fn selftest(args: SelftestArgs) -> Outcome {
    if args.list {
        for fault in Fault::ALL {
            println!("{:28} {:26} {}", fault.name(), expected_rule(*fault).id, fault.description());
        }
        println!();
        for info in Latitudes::ALL {
            println!("{:30} {:45} {}", info.name, info.alternatives.join("|"), info.description.trim());
        }
        return Outcome::Pass;
    }
    let seeds = if args.no_variant {
        Vec::new()
    } else {
        match parse_seeds(args.seeds.as_deref()) {
            Ok(seeds) => seeds,
            Err(e) => return invalid(e),
        }
    };
    let faults = if args.faults.is_empty() {
        Fault::ALL.to_vec()
    } else {
        match args.faults.iter().map(|name| Fault::parse(name)).collect::<Result<Vec<_>, _>>() {
            Ok(faults) => faults,
            Err(e) => return invalid(e),
        }
    };
    if args.jobs == 0 {
        return invalid("--jobs must be at least 1");
    }
    let request_timeout = match parse_duration(&args.request_timeout) {
        Ok(d) if !d.is_zero() => d,
        Ok(_) => return invalid("--request-timeout must be more than zero"),
        Err(e) => return invalid(format!("--request-timeout: {e}")),
    };
    let files = match discover(&args.paths) {
        Ok(files) => files,
        Err(e) => return invalid(e),
    };
    let mut scenarios = Vec::with_capacity(files.len());
    let mut sources = HashMap::new();
    for file in files {
        match scenario::parse_file(&file) {
            Ok(sc) => {
                if let Ok(text) = std::fs::read_to_string(&file) {
                    sources.insert(sc.file.clone(), text);
                }
                scenarios.push(sc);
            }
            Err(diagnostics) => {
                for d in diagnostics {
                    eprint!("{d}");
                }
                return invalid(format!("{}: invalid scenario; nothing was run", file.display()));
            }
        }
    }
    let schemas = match args.schemas.as_deref().map_or_else(SchemaRegistry::embedded, SchemaRegistry::load_dir) {
        Ok(reg) => Arc::new(reg),
        Err(e) => return invalid(e),
    };
    eprintln!(
        "chatprobe selftest: {} scenario(s) against {} fault(s) and {} variant seed(s), {} at a time",
        scenarios.len(),
        faults.len(),
        seeds.len(),
        args.jobs
    );
    let opts = Options {
        scenarios,
        faults,
        seeds: seeds.clone(),
        jobs: args.jobs,
        schemas,
        client: ClientConfig { request_timeout, ..ClientConfig::default() },
    };
    let report = match selftest::run(&opts).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::CouldNotRun;
        }
    };
    for variant in report.variants.iter().filter(|v| !v.passed()) {
        // What the seed broke, as `chatprobe run` shows it: a harness or scenario that assumes
        // more than the documentation promises.
        let mut console = Vec::new();
        let _ = report::console::write(&variant.result, &sources, &mut console);
        println!(
            "Seed {} failed (reproduce: chatprobe run --seed {}); its latitudes: {}\n{}",
            variant.seed,
            variant.seed,
            variant.latitudes.to_json(),
            String::from_utf8_lossy(&console)
        );
    }
    let mut matrix = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = selftest::write_matrix(&report, &mut matrix);
    print!("{}", String::from_utf8_lossy(&matrix));
    if !seeds.is_empty() {
        let mut coverage = Vec::new();
        let _ = selftest::write_coverage(&seeds, &mut coverage);
        print!("\n{}", String::from_utf8_lossy(&coverage));
    }
    report.outcome()
}

/// `--seeds`: a comma-separated list, or a count K for seeds 1..=K; absent, the default seeds.
fn parse_seeds(spec: Option<&str>) -> Result<Vec<u64>, String> {
    let Some(spec) = spec else { return Ok(DEFAULT_SEEDS.to_vec()) };
    let number = |s: &str| {
        s.trim().parse::<u64>().map_err(|_| format!("--seeds `{spec}`: `{}` is not a non-negative integer", s.trim()))
    };
    if spec.contains(',') {
        let seeds = spec.split(',').filter(|s| !s.trim().is_empty()).map(number).collect::<Result<Vec<_>, _>>()?;
        if seeds.is_empty() {
            return Err(format!("--seeds `{spec}` names no seed"));
        }
        return Ok(seeds);
    }
    match number(spec)? {
        0 => Err("--seeds 0: give at least one seed, or --no-variant".to_owned()),
        k if k > 1000 => Err(format!("--seeds {k}: at most 1000 seeds")),
        k => Ok((1..=k).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_seeds;

    #[test]
    fn seeds_are_a_list_or_a_count() {
        assert_eq!(parse_seeds(None).unwrap(), crate::sim::DEFAULT_SEEDS);
        assert_eq!(parse_seeds(Some("8")).unwrap(), (1..=8).collect::<Vec<u64>>());
        assert_eq!(parse_seeds(Some("5,17, 3")).unwrap(), [5, 17, 3]);
        assert_eq!(parse_seeds(Some("42,")).unwrap(), [42]);
        assert!(parse_seeds(Some("0")).is_err());
        assert!(parse_seeds(Some("x")).unwrap_err().contains("`x` is not"));
        assert!(parse_seeds(Some(",")).is_err());
    }
}
