//! The command line: clap derive arguments, one struct per subcommand, each folded once into a
//! validated configuration. Environment variables are read here and nowhere else.

mod load;
mod merge;
pub mod output;
mod rules;
mod run;
mod run_progress;
mod selftest;
mod serve;
pub mod tegsoft;
pub mod vars;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use load::LoadArgs;
pub use selftest::SelftestArgs;

use crate::runner::Outcome;

/// Contract test harness and load generator for contact-centre chat APIs (GWS v2 Chat API,
/// CometD notifications).
#[derive(Debug, Parser)]
#[command(name = "chatprobe", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run conformance scenarios against a target (default: the embedded simulator).
    Run(Box<RunArgs>),
    /// Run the reference simulator of the documented API.
    Serve(ServeArgs),
    /// Check scenario files and schemas without running anything.
    Validate(ValidateArgs),
    /// Which catalogue operations the scenarios exercise, positive and negative.
    Coverage(CoverageArgs),
    /// Drive concurrent chats (or one request) at a load profile, validating everything, and
    /// gate on latency thresholds and a baseline.
    Load(Box<LoadArgs>),
    /// Combine the shard reports of one load (`load --shard I/N`) into one report, judging its
    /// thresholds and baseline on the merge.
    Merge(Box<merge::MergeArgs>),
    /// Check the harness itself: the suite against every simulator fault on top of a variant
    /// seed (each must be caught by its expected rule) and against each variant seed (each must
    /// pass); prints the kill matrix and the seeds' latitude coverage.
    Selftest(SelftestArgs),
    /// List every rule chatprobe checks: id, severity, source and what it requires.
    Rules(RulesArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Print the rules as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or directories (searched for *.yaml / *.yml).
    #[arg(default_value = "scenarios/conformance")]
    pub paths: Vec<PathBuf>,
    /// Base URL of the GWS server under test. Without it, an embedded simulator is started on a
    /// loopback port.
    #[arg(long, env = "CHATPROBE_TARGET", hide_env_values = true)]
    pub target: Option<String>,
    /// Agent credentials USER:PASSWORD, once per agent role (comma-separated in the environment);
    /// `agent{1..3}:secret` stands for three of them.
    #[arg(long = "agent", env = "CHATPROBE_AGENTS", value_delimiter = ',', hide_env_values = true)]
    pub agents: Vec<String>,
    /// ContactCenterId header for customer requests (default: a random UUID; a real GWS needs
    /// its own).
    #[arg(long, env = "CHATPROBE_CONTACT_CENTER_ID")]
    pub contact_center_id: Option<String>,
    /// Directory for the JSON and JUnit reports.
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
    /// JSON report path (default: REPORT_DIR/chatprobe-report.json).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// JUnit XML report path (default: REPORT_DIR/junit.xml).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Load schemas from this directory instead of the built-in ones.
    #[arg(long)]
    pub schemas: Option<PathBuf>,
    /// Deadline of every HTTP request (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s")]
    pub request_timeout: String,
    /// Set a scenario variable, NAME=VALUE (repeatable); it replaces a scenario's `vars` entry
    /// of that name. CHATPROBE_VAR_NAME=VALUE in the environment does the same.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read scenario variables from a file of NAME=VALUE lines (repeatable; `#` comments).
    #[arg(long = "vars-file", value_name = "FILE")]
    pub vars_files: Vec<PathBuf>,
    /// Observations (profile checks, where the documentation is silent) fail the run too.
    #[arg(long)]
    pub strict: bool,
    /// Scenarios run at once. Against the embedded simulator each job gets a simulator of its
    /// own; against a target each job gets its own share of the --agent credentials (N jobs
    /// need N times the agents of the most demanding scenario).
    #[arg(long, short = 'j', default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Run only scenarios with this tag (repeatable: any of them).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Skip scenarios with this tag (repeatable).
    #[arg(long = "skip-tag", value_name = "TAG")]
    pub skip_tags: Vec<String>,
    /// Run only scenarios whose name matches this glob (`*`, `?`; repeatable: any of them).
    #[arg(long = "name", value_name = "GLOB")]
    pub names: Vec<String>,
    /// Progress while scenarios run: auto (a live line on a terminal, plain lines otherwise),
    /// plain, off.
    #[arg(long, default_value = "auto", value_parser = ["auto", "plain", "off"])]
    pub progress: String,
    /// The Tegsoft profile to check against (and the embedded simulator serves): what the Tegsoft
    /// page leaves open, as a YAML or JSON file, or `builtin:default` / `builtin:upper`.
    /// Against a --target, the Tegsoft scenarios run only when a profile is given (the Tegsoft
    /// page names no paths or answers); the embedded simulator serves `builtin:default`.
    #[arg(long, env = "CHATPROBE_TEGSOFT_PROFILE", value_name = "FILE|builtin:NAME")]
    pub tegsoft_profile: Option<String>,
    #[command(flatten)]
    pub latitudes: LatitudeArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Print only the summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write the HTTP exchanges of failing steps (Bayeux POSTs included) to this HAR 1.2 file,
    /// with credentials, cookies and CSRF tokens redacted; the JSON report links each failed
    /// check to its entry.
    #[arg(long, value_name = "FILE.har")]
    pub trace: Option<PathBuf>,
    /// With --trace: every exchange of the run, not only those of failing steps.
    #[arg(long, requires = "trace")]
    pub trace_all: bool,
    /// Write a self-contained conformance report (one HTML page) to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Which alternative the simulator takes where the documentation leaves a choice
/// (docs/latitude.md).
#[derive(Debug, Args, Clone, Default)]
pub struct LatitudeArgs {
    /// Take the variant: the last alternative of every latitude, or with --seed one drawn per
    /// latitude from the seed.
    #[arg(long)]
    pub variant: bool,
    /// Draw one alternative per latitude from this seed (splitmix64; implies --variant).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Pin one latitude, NAME=ALT (repeatable; applied after --variant/--seed; `chatprobe
    /// selftest --list` lists them).
    #[arg(long = "latitude", value_name = "NAME=ALT")]
    pub latitudes: Vec<String>,
}

impl LatitudeArgs {
    /// The choices these options make: default, variant preset or seed, then the pins.
    pub fn latitudes(&self) -> Result<crate::sim::Latitudes, crate::sim::LatitudeError> {
        let mut out = match (self.seed, self.variant) {
            (Some(seed), _) => crate::sim::Latitudes::from_seed(seed),
            (None, true) => crate::sim::Latitudes::variant(),
            (None, false) => crate::sim::Latitudes::default(),
        };
        for spec in &self.latitudes {
            out.pin_spec(spec)?;
        }
        Ok(out)
    }

    /// Whether any option was given.
    pub fn any(&self) -> bool {
        self.variant || self.seed.is_some() || !self.latitudes.is_empty()
    }
}

/// How to reach an HTTPS target, and through what.
#[derive(Debug, Args, Clone, Default)]
pub struct TlsArgs {
    /// Trust the certificates of this PEM file (a private CA) besides the system's.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Accept any server certificate (for testing; never against a production target).
    #[arg(long)]
    pub insecure: bool,
    /// Client certificate (PEM) for mutual TLS; needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Send every request through this proxy (http://host:port). Without it, HTTPS_PROXY,
    /// HTTP_PROXY and NO_PROXY apply.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
}

impl TlsArgs {
    /// The options the clients take, reading the files named.
    pub fn options(&self) -> Result<crate::client::TlsOptions, String> {
        let read = |flag: &str, path: &std::path::Path| -> Result<Vec<u8>, String> {
            let meta = std::fs::metadata(path).map_err(|e| format!("{flag} {}: {e}", path.display()))?;
            if !meta.is_file() || meta.len() > 1 << 20 {
                return Err(format!("{flag} {}: not a PEM file of at most 1 MiB", path.display()));
            }
            std::fs::read(path).map_err(|e| format!("{flag} {}: {e}", path.display()))
        };
        let ca_pem = self.cacert.as_deref().map(|p| read("--cacert", p)).transpose()?;
        let identity_pem = match (&self.cert, &self.key) {
            (Some(c), Some(k)) => {
                let mut pem = read("--cert", c)?;
                pem.push(b'\n');
                pem.extend(read("--key", k)?);
                Some(pem)
            }
            _ => None,
        };
        if let Some(p) = &self.proxy {
            reqwest::Url::parse(p).map_err(|e| format!("--proxy `{}`: {e}", run::display_url(p)))?;
        }
        Ok(crate::client::TlsOptions { ca_pem, insecure: self.insecure, identity_pem, proxy: self.proxy.clone() })
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    pub port: u16,
    /// Number of agents (agent1..agentN).
    #[arg(long, default_value_t = 100)]
    pub agents: usize,
    /// Password of every agent.
    #[arg(long, default_value = "password", env = "CHATPROBE_SIM_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Concurrent chats per agent (default 3; the `capacity=one-more` latitude adds one).
    #[arg(long)]
    pub capacity: Option<usize>,
    /// How long a CometD connect is held (e.g. 30s).
    #[arg(long, default_value = "30s")]
    pub cometd_timeout: String,
    /// Inject these contract faults (comma-separated names; `chatprobe selftest --list` lists them).
    #[arg(long = "fault", value_delimiter = ',')]
    pub faults: Vec<String>,
    #[command(flatten)]
    pub latitudes: LatitudeArgs,
    /// The Tegsoft profile to serve: a YAML or JSON file, or `builtin:default` / `builtin:upper`.
    #[arg(long, env = "CHATPROBE_TEGSOFT_PROFILE", value_name = "FILE|builtin:NAME", default_value = tegsoft::DEFAULT_SPEC)]
    pub tegsoft_profile: String,
    /// The ContactCenterId customer requests must name (any value is taken without it).
    #[arg(long, env = "CHATPROBE_SIM_CONTACT_CENTER_ID", hide_env_values = true)]
    pub contact_center_id: Option<String>,
    /// A URL prefix a Tegsoft `fileUrl` may name besides the simulator's own sample files
    /// (repeatable), such as `http://127.0.0.1:9000/files/`.
    #[arg(long = "fetch-allow", value_name = "URL-PREFIX")]
    pub fetch_allow: Vec<String>,
    /// Answer an agent operation this much later, e.g. `Accept=20ms` (repeatable): a known
    /// regression, for benchmarks of the load baseline gate.
    #[arg(long = "slow", value_name = "OPERATION=DURATION")]
    pub slow: Vec<String>,
    /// Take this long over every request (the CometD transport's aside) before handling it, as a
    /// server's own work, e.g. `2ms`; at most 60s.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub work: String,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files or directories.
    #[arg(default_value = "scenarios/conformance")]
    pub paths: Vec<PathBuf>,
    /// Names of variables the run will be given (`--var NAME=VALUE`; the value is ignored), so
    /// scenarios may use them.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Files of NAME=VALUE lines the run will be given.
    #[arg(long = "vars-file", value_name = "FILE")]
    pub vars_files: Vec<PathBuf>,
    /// Also load and compile the schemas of this directory.
    #[arg(long)]
    pub schemas: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// Scenario files or directories.
    #[arg(default_value = "scenarios/conformance")]
    pub paths: Vec<PathBuf>,
    /// Print the coverage as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 unless every operation has positive and negative scenarios.
    #[arg(long)]
    pub require_full: bool,
}

/// Run a parsed command line; returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    let outcome = match cli.command {
        Command::Run(args) => run::run(*args).await,
        Command::Serve(args) => serve::serve(args).await,
        Command::Validate(args) => run::validate(args),
        Command::Coverage(args) => run::coverage(args),
        Command::Load(args) => load::load(*args).await,
        Command::Merge(args) => merge::merge(*args),
        Command::Selftest(args) => selftest::selftest(args).await,
        Command::Rules(args) => rules::rules(args),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "chatprobe", &mut out);
            output::print(&String::from_utf8_lossy(&out));
            Outcome::Pass
        }
    };
    outcome.code()
}

/// `agent{1..3}:pw` → agent1:pw, agent2:pw, agent3:pw; anything else as it is. Only the user
/// part is expanded: a password may hold braces.
fn expand(spec: &str) -> Result<Vec<String>, String> {
    let (user, password) = match spec.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (spec, None),
    };
    let with = |u: String| match password {
        Some(p) => format!("{u}:{p}"),
        None => u,
    };
    let Some((head, rest)) = user.split_once('{') else { return Ok(vec![with(user.to_owned())]) };
    let (range, tail) = rest.split_once('}').ok_or_else(|| format!("`{user}`: unclosed `{{`"))?;
    let (a, b) = range.split_once("..").ok_or_else(|| format!("`{user}`: expected {{FIRST..LAST}}"))?;
    let (a, b): (u32, u32) = (
        a.parse().map_err(|_| format!("`{user}`: bad range"))?,
        b.parse().map_err(|_| format!("`{user}`: bad range"))?,
    );
    if a > b || b - a >= 100_000 {
        return Err(format!("`{user}`: bad range (FIRST..LAST, at most 100000 agents)"));
    }
    Ok((a..=b).map(|i| with(format!("{head}{i}{tail}"))).collect())
}

/// Agent credentials from `--agent` values (USER:PASSWORD, ranges expanded), for `run` and
/// `load` alike.
pub(super) fn credentials(list: &[String]) -> Result<Vec<crate::runner::Credentials>, String> {
    let mut out = Vec::new();
    for item in list {
        for s in expand(item)? {
            // Messages name the user only: what follows the colon is a password.
            let (u, p) = s.split_once(':').ok_or_else(|| {
                format!("agent credentials `{}…` must be USER:PASSWORD", s.chars().take(3).collect::<String>())
            })?;
            if u.is_empty() {
                return Err("agent credentials `:…` have an empty user name".to_owned());
            }
            out.push(crate::runner::Credentials { username: u.to_owned(), password: p.to_owned() });
        }
    }
    Ok(out)
}

pub(super) use output::write_file;

/// A problem with the command line or input files: print and exit 2.
fn invalid(message: impl std::fmt::Display) -> Outcome {
    eprintln!("error: {message}");
    Outcome::InvalidInput
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_the_user_only_and_messages_never_show_a_password() {
        let creds = credentials(&["agent{1..3}:pa{ss}".into(), "x:y".into()]).unwrap();
        let pairs: Vec<(String, String)> = creds.into_iter().map(|c| (c.username, c.password)).collect();
        assert_eq!(
            pairs,
            [("agent1", "pa{ss}"), ("agent2", "pa{ss}"), ("agent3", "pa{ss}"), ("x", "y")]
                .map(|(u, p)| (u.to_owned(), p.to_owned()))
        );
        for bad in ["nosecretcolon", ":s3cr3t-pw", "agent{1..x}:s3cr3t-pw", "agent{5..1}:s3cr3t-pw"] {
            let e = credentials(&[bad.into()]).unwrap_err();
            assert!(!e.contains("s3cr3t") && !e.contains("nosecretcolon"), "{e}");
        }
    }
}
