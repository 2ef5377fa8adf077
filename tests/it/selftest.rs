//! The self-test in-process: every simulator fault is caught by its expected rule on top of a
//! variant seed, the variant preset and every default seed pass the whole conformance suite with
//! no violation, and the variant really differs from the default where the documentation allows
//! (ids, timestamp forms, extra fields, batching, referenceId in responses, the External
//! participant).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chatprobe::api;
use chatprobe::client::ClientConfig;
use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::scenario::{self, Scenario};
use chatprobe::selftest::{self, Options};
use chatprobe::sim::{self, DEFAULT_SEEDS, Fault, Latitudes, RunningSim, SimConfig};
use reqwest::Client;
use serde_json::{Value, json};

/// The scenarios that, between them, exercise what every fault breaks: the suite's login
/// (CSRF), messages both ways (transcript, correlation, state, shapes, Bayeux), the standard
/// response files (attachments, uploads), agents-only messages (visibility), user data (the
/// delayed PropertiesUpdated) and the refused targets (another agent's chat). The command
/// line runs the whole suite; this keeps the test to a few seconds per fault.
const FAULT_SUBSET: &[&str] = &[
    "gws/01-login-and-session.yaml",
    "gws/03-messages-both-ways.yaml",
    "gws/files/standard-response.yaml",
    "gws/ops/agents-only.yaml",
    "gws/ops/userdata.yaml",
    "gws/errors/targets.yaml",
];

fn conformance() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/conformance")
}

fn parse(path: &Path) -> Scenario {
    scenario::parse_file(path).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()))
}

/// Every scenario of the conformance suite, all subfolders, in path order.
fn whole_suite() -> Vec<Scenario> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&conformance(), &mut files);
    files.sort();
    files.iter().map(|f| parse(f)).collect()
}

fn options(scenarios: Vec<Scenario>, faults: Vec<Fault>, seeds: &[u64]) -> Options {
    Options {
        scenarios,
        faults,
        seeds: seeds.to_vec(),
        jobs: 16,
        schemas: Arc::new(SchemaRegistry::embedded().unwrap()),
        client: ClientConfig::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_caught_by_its_expected_rule() {
    let subset = FAULT_SUBSET.iter().map(|f| parse(&conformance().join(f))).collect();
    let report = selftest::run(&options(subset, Fault::ALL.to_vec(), DEFAULT_SEEDS)).await.unwrap();
    assert_eq!(report.faults.len(), Fault::ALL.len());
    assert_eq!(report.variants.len(), DEFAULT_SEEDS.len());
    let mut matrix = Vec::new();
    selftest::write_matrix(&report, &mut matrix).unwrap();
    let matrix = String::from_utf8(matrix).unwrap();
    for run in &report.faults {
        assert!(run.caught(), "{} was not caught by {}:\n{matrix}", run.fault, run.expected.id);
        assert_eq!(run.scenarios, FAULT_SUBSET.len());
        assert!(run.scenarios_failed > 0, "{}", run.fault);
        let seed = run.seed.expect("every fault rides on a seed");
        let label = format!("{} @ seed {seed}", run.fault.name());
        assert!(matrix.lines().any(|l| l.starts_with(&label) && l.ends_with("caught")), "{matrix}");
    }
    // The faults take the seeds in turn.
    let seeds: Vec<u64> = report.faults.iter().filter_map(|f| f.seed).take(DEFAULT_SEEDS.len()).collect();
    assert_eq!(seeds, DEFAULT_SEEDS);
    assert!(report.passed());
    assert!(matrix.contains(&format!("{n} of {n} faults caught", n = Fault::ALL.len())), "{matrix}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_variant_and_every_default_seed_pass_the_whole_conformance_suite() {
    let suite = whole_suite();
    let count = suite.len();
    let opts = options(suite, Vec::new(), DEFAULT_SEEDS);
    let preset = selftest::run_latitudes(0, Latitudes::variant(), &opts).await.unwrap();
    let report = selftest::run(&opts).await.unwrap();
    for variant in std::iter::once(&preset).chain(&report.variants) {
        let mut console = Vec::new();
        chatprobe::report::console::write(&variant.result, &Default::default(), &mut console).unwrap();
        let lat = variant.latitudes;
        assert!(variant.passed(), "seed {} ({lat}):\n{}", variant.seed, String::from_utf8_lossy(&console));
        assert_eq!(variant.scenarios, count);
        assert!(variant.raised.is_empty());
        assert!(variant.result.counts.notifications_validated > 0);
    }
    assert_eq!(report.variants.iter().map(|v| v.seed).collect::<Vec<_>>(), DEFAULT_SEEDS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_alone_fails_the_suite_and_the_report_says_so() {
    let subset = vec![parse(&conformance().join("gws/01-login-and-session.yaml"))];
    let run = selftest::run_fault(Fault::CsrfNotEnforced, None, &options(subset, Vec::new(), &[])).await.unwrap();
    assert!(run.caught(), "{:?}", run.raised);
    assert_eq!(run.raised.get("security.csrf"), Some(&1));
    assert_eq!((run.scenarios, run.scenarios_failed), (1, 1));
}

/// Raw HTTP and Bayeux against a simulator, to look at what the variant sends.
struct Peer {
    http: Client,
    base: String,
    csrf: String,
    client_id: String,
    /// The agent's user URI, as Consult takes it.
    uri: String,
}

impl Peer {
    /// Log in, handshake, subscribe, start the session and, if `ready`, go Ready.
    async fn agent(sim: &RunningSim, n: usize, ready: bool) -> Peer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Client::builder().cookie_store(true).timeout(Duration::from_secs(10)).build().unwrap();
        let base = sim.base_url();
        let me = http.get(format!("{base}/api/v2/me")).basic_auth(format!("agent{n}"), Some("password"));
        let response = me.send().await.unwrap();
        let csrf = response.headers()[api::CSRF_TOKEN_HEADER].to_str().unwrap().to_owned();
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["statusCode"], 0);
        assert!(me.get("serverVersion").is_some(), "an undocumented field in a success: {me}");
        let uri = me["user"]["uri"].as_str().unwrap().to_owned();
        let mut peer = Peer { http, base, csrf, client_id: String::new(), uri };
        let hs =
            json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]);
        peer.client_id = peer.bayeux(hs).await[0]["clientId"].as_str().unwrap().to_owned();
        let sub = json!([{"channel": "/meta/subscribe", "clientId": peer.client_id, "subscription": "/v2/me/chats"}]);
        assert_eq!(peer.bayeux(sub).await[0]["successful"], true);
        let start = json!({"operationName": "StartContactCenterSession", "channels": ["chat"]});
        assert_eq!(peer.post("/api/v2/me", start).await["statusCode"], 0);
        if ready {
            let ready = json!({"operationName": "Ready"});
            assert_eq!(peer.post("/api/v2/me/channels/chat", ready).await["statusCode"], 0);
        }
        peer.connect().await;
        peer
    }

    async fn bayeux(&self, messages: Value) -> Vec<Value> {
        let url = format!("{}{}", self.base, api::NOTIFICATIONS_PATH);
        let request = self.http.post(url).header(api::CSRF_TOKEN_HEADER, &self.csrf).json(&messages);
        match request.send().await.unwrap().json::<Value>().await.unwrap() {
            Value::Array(replies) => replies,
            other => panic!("not an array: {other}"),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let request = self.http.post(format!("{}{path}", self.base)).header(api::CSRF_TOKEN_HEADER, &self.csrf);
        request.json(&body).send().await.unwrap().json().await.unwrap()
    }

    /// One connect asking for an answer at once: the whole answer, reply and events.
    async fn connect(&self) -> Vec<Value> {
        let connect = json!([{"channel": "/meta/connect", "clientId": self.client_id,
            "connectionType": "long-polling", "advice": {"timeout": 0}}]);
        self.bayeux(connect).await
    }
}

fn events(answer: &[Value]) -> Vec<&Value> {
    answer.iter().filter(|m| m["channel"] == api::CHANNEL_CHATS).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_variant_differs_from_the_default_where_the_docs_allow() {
    let mut config = SimConfig { agents: 3, cometd_timeout: Duration::from_secs(2), ..SimConfig::variant() };
    config.latitudes.pin("bayeux-batching", "two-per-reply").unwrap();
    let sim = sim::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let agent = Peer::agent(&sim, 1, true).await;

    let request = json!({"operationName": "RequestChat", "nickname": "Pat"});
    let customer = Client::new().post(format!("{}/api/v2/chats", sim.base_url()));
    let customer = customer.header(api::CONTACT_CENTER_ID_HEADER, "selftest").json(&request).send().await.unwrap();
    let customer: Value = customer.json().await.unwrap();
    let customer_id = customer["id"].as_str().unwrap().to_owned();
    assert!(customer_id.len() == 32 && !customer_id.contains('-'), "{customer_id}");

    let offer = agent.connect().await;
    assert_eq!(offer[0]["channel"], "/meta/connect", "the reply comes first: {offer:#?}");
    let offer = events(&offer)[0];
    assert!(offer["id"].is_string(), "events carry an id: {offer}");
    let data = &offer["data"];
    assert!(data.get("serverTime").is_some(), "{data}");
    let chat = &data["chat"];
    let chat_id = chat["id"].as_str().unwrap().to_owned();
    assert!(chat_id.starts_with("00") && chat_id.len() == 16 && chat_id != customer_id, "{chat_id}");
    assert!(chat["receivedDate"].as_str().unwrap().contains('T'), "{chat}");
    assert_eq!(chat["mediaType"], "chat");
    let bot = json!({"type": "External", "nickname": "PoD service", "visibility": "All"});
    let is_bot = |p: &Value| bot.as_object().unwrap().iter().all(|(k, v)| &p[k] == v);
    assert!(chat["participants"].as_array().unwrap().iter().any(is_bot), "{chat}");

    let accepted = agent.post(&format!("/api/v2/me/chats/{chat_id}"), json!({"operationName": "Accept"})).await;
    assert_eq!(accepted["statusCode"], 0);
    assert!(accepted.get("referenceId").is_none(), "Accept's page shows no referenceId: {accepted}");
    let first = agent.connect().await;
    let second = agent.connect().await;
    assert_eq!(events(&first).len(), 2, "two events per connect at most: {first:#?}");
    let mut notes: Vec<&Value> = events(&first);
    notes.extend(events(&second));
    let kinds: Vec<&str> = notes.iter().map(|n| n["data"]["notificationType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["StatusChange", "ParticipantsUpdated", "NewMessages"]);
    assert!(notes.iter().all(|n| n["data"]["referenceId"].is_u64()), "notifications keep the referenceId");
    let message = &notes[2]["data"]["messages"][0];
    let timestamp = message["timestamp"].as_str().unwrap();
    assert!(timestamp.as_bytes()[10] == b' ', "the form without T: {timestamp}");
    assert!(message.get("messageId").is_some(), "{message}");

    let customer_view = Client::new().get(format!("{}/api/v2/chats/{customer_id}", sim.base_url()));
    let customer_view = customer_view.header(api::CONTACT_CENTER_ID_HEADER, "selftest").send().await.unwrap();
    let customer_view: Value = customer_view.json().await.unwrap();
    assert!(customer_view["chat"]["participants"].as_array().unwrap().iter().any(|p| p["type"] == "External"));

    let consultant = Peer::agent(&sim, 2, false).await;
    let consult = json!({"operationName": "Consult", "targetUri": consultant.uri});
    let consulted = agent.post(&format!("/api/v2/me/chats/{chat_id}"), consult).await;
    assert!(consulted["referenceId"].is_u64(), "Consult's page shows a referenceId: {consulted}");
    sim.shutdown().await;
}
