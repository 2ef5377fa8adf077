//! `chatprobe selftest`: the conformance suite against every simulator fault (each must be caught
//! by its expected rule) and against the variant (which must pass), then the kill matrix. Exit 0
//! when every fault was caught and the variant passed, 1 otherwise, 2 for invalid input, 3 when
//! no simulator could be started.

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
use crate::sim::Fault;

#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// Scenario files or directories (searched for *.yaml / *.yml).
    #[arg(default_value = "scenarios/conformance")]
    pub paths: Vec<PathBuf>,
    /// Only these faults (comma-separated names; default: every fault).
    #[arg(long = "fault", value_delimiter = ',')]
    pub faults: Vec<String>,
    /// Do not run the suite against the variant.
    #[arg(long)]
    pub no_variant: bool,
    /// Runs at the same time, each against its own simulator (a run: one scenario against one
    /// fault, or the whole suite against the variant).
    #[arg(long, short, default_value_t = 16)]
    pub jobs: usize,
    /// Load schemas from this directory instead of the built-in ones.
    #[arg(long)]
    pub schemas: Option<PathBuf>,
    /// Deadline of every HTTP request (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s")]
    pub request_timeout: String,
    /// List the faults (name, expected rule, what it does) and exit.
    #[arg(long)]
    pub list: bool,
}

pub async fn selftest(args: SelftestArgs) -> Outcome {
    if args.list {
        for fault in Fault::ALL {
            println!("{:28} {:26} {}", fault.name(), expected_rule(*fault).id, fault.description());
        }
        return Outcome::Pass;
    }
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
        "chatprobe selftest: {} scenario(s) against {} fault(s){}, {} at a time",
        scenarios.len(),
        faults.len(),
        if args.no_variant { "" } else { " and the variant" },
        args.jobs
    );
    let opts = Options {
        scenarios,
        faults,
        variant: !args.no_variant,
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
    if let Some(variant) = report.variant.as_ref().filter(|v| !v.passed()) {
        // What the variant broke, as `chatprobe run` shows it: a harness or scenario that
        // assumes more than the documentation promises.
        let mut console = Vec::new();
        let _ = report::console::write(&variant.result, &sources, &mut console);
        println!("The variant failed:\n{}", String::from_utf8_lossy(&console));
    }
    let mut matrix = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = selftest::write_matrix(&report, &mut matrix);
    print!("{}", String::from_utf8_lossy(&matrix));
    report.outcome()
}
