//! The Tegsoft webchat file API over loopback: TegsoftClient against the simulator's UploadFile
//! and SendMessage under each built-in profile, every success and refusal answered as the profile
//! says, the files arriving unchanged in the customer's chat, and the download allow-list holding
//! before any connection is made.

use std::time::Duration;

use chatprobe::api::tegsoft::{BUILTIN_NAMES, FileType, Refusal, TegsoftProfile};
use chatprobe::client::tegsoft::{FileDetails, TegsoftClient};
use chatprobe::client::{ClientConfig, CustomerClient, Exchange};
use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::contract::tegsoft::{FAILURE_RESPONSE, SUCCESS_RESPONSE, schema_for_status};
use chatprobe::sim::tegsoft::TegsoftConfig;
use chatprobe::sim::{self, RunningSim, SimConfig};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Longest any single wait in these tests may take.
const DEADLINE: Duration = Duration::from_secs(10);

const CONTACT_CENTER: &str = "cc-tegsoft";

fn profiles() -> Vec<TegsoftProfile> {
    BUILTIN_NAMES.iter().map(|n| TegsoftProfile::builtin(n).unwrap()).collect()
}

fn config(profile: &TegsoftProfile) -> SimConfig {
    let mut cfg = SimConfig { agents: 2, ..SimConfig::default() };
    cfg.tegsoft.profile = profile.clone();
    cfg
}

async fn start(cfg: SimConfig) -> RunningSim {
    sim::start(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn client_config() -> ClientConfig {
    ClientConfig { request_timeout: DEADLINE, ..ClientConfig::default() }
}

fn tegsoft(sim: &RunningSim, profile: &TegsoftProfile) -> TegsoftClient {
    TegsoftClient::new(&sim.base_url(), profile.services.clone(), &client_config()).unwrap()
}

fn customer(sim: &RunningSim) -> CustomerClient {
    CustomerClient::new(&sim.base_url(), CONTACT_CENTER, &client_config()).unwrap()
}

/// A new customer chat; its customer-side id is what CHATID names.
async fn new_chat(customer: &CustomerClient) -> String {
    let ex = customer.request_chat(&json!({"operationName": "RequestChat", "nickname": "Tess"})).await.unwrap();
    ex.json.unwrap()["id"].as_str().unwrap().to_owned()
}

/// The customer's transcript.
async fn transcript(customer: &CustomerClient, chat: &str) -> Vec<Value> {
    let ex = customer.messages(chat, None).await.unwrap();
    assert_eq!(ex.status, 200, "{}", ex.body_text);
    ex.json.unwrap()["messages"].as_array().unwrap().clone()
}

fn sample_url(sim: &RunningSim, profile: &TegsoftProfile, file_type: FileType) -> String {
    format!("{}{}", sim.base_url(), profile.samples.get(file_type).path)
}

fn sample_file(sim: &RunningSim, profile: &TegsoftProfile, file_type: FileType) -> FileDetails {
    FileDetails::new(&sample_url(sim, profile, file_type), &profile.samples.get(file_type).name, file_type)
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(DEADLINE).build().unwrap()
}

/// GET a URL; status, content type and bytes.
async fn get_bytes(url: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
    let mut request = http().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, content_type, response.bytes().await.unwrap().to_vec())
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

/// The answer's body, checked against the schema the profile generates for its status.
fn checked(ex: &Exchange, profile: &TegsoftProfile) -> Value {
    let body = ex.json.clone().unwrap_or_else(|| panic!("not JSON: {}", ex.body_text));
    let registry = SchemaRegistry::embedded().unwrap().with_tegsoft_profile(profile.clone()).unwrap();
    assert!(profile.service(&ex.method, &ex.path).is_some(), "{} is a Tegsoft service of {}", ex.path, profile.name);
    let schema = schema_for_status(ex.status);
    let violations = registry.validate(schema, &body).unwrap();
    assert!(violations.is_empty(), "{schema}: {violations:?} in {body}");
    body
}

fn assert_success(ex: &Exchange, profile: &TegsoftProfile) -> Value {
    let body = checked(ex, profile);
    let r = &profile.responses;
    assert_eq!(schema_for_status(ex.status), SUCCESS_RESPONSE);
    assert_eq!((ex.status, &body[&r.keys.result]), (r.success.status, &json!(r.success.result)), "{body}");
    body
}

/// A refusal with the profile's status and code for `refusal`; its message.
fn assert_failure(ex: &Exchange, profile: &TegsoftProfile, refusal: Refusal) -> String {
    let body = checked(ex, profile);
    let (keys, spec) = (&profile.responses.keys, profile.responses.errors.get(refusal));
    assert_eq!(schema_for_status(ex.status), FAILURE_RESPONSE);
    assert_eq!((ex.status, &body[&keys.error_code]), (spec.status, &json!(spec.code)), "{refusal:?}: {body}");
    body[&keys.message].as_str().unwrap().to_owned()
}

/// The file-uploaded message carrying `file_id`.
fn file_message<'a>(messages: &'a [Value], file_id: &str) -> &'a Value {
    messages
        .iter()
        .find(|m| m["type"] == "SystemCommand" && m["attachment"]["fileId"] == file_id)
        .unwrap_or_else(|| panic!("no file-uploaded message with fileId {file_id}: {messages:?}"))
}

/// What the customer downloads of an uploaded file, and the file it came from, must be equal.
async fn assert_downloads_unchanged(sim: &RunningSim, chat: &str, message: &Value, source_url: &str) {
    let document = message["attachment"]["id"].as_str().unwrap();
    let url = format!("{}/api/v2/chats/{chat}/attachments/{document}", sim.base_url());
    let (status, content_type, bytes) = get_bytes(&url, &[("ContactCenterId", CONTACT_CENTER)]).await;
    let (_, source_type, source) = get_bytes(source_url, &[]).await;
    assert_eq!(status, 200, "{url}");
    assert_eq!(sha256(&bytes), sha256(&source), "{source_url}");
    assert_eq!(content_type, source_type, "{source_url}");
    assert_eq!(message["attachment"]["size"], json!(source.len()));
}

#[tokio::test]
async fn a_text_reaches_the_customer_transcript() {
    for profile in profiles() {
        let sim = start(config(&profile)).await;
        let (tegsoft, customer) = (tegsoft(&sim, &profile), customer(&sim));
        let chat = new_chat(&customer).await;
        let ex = tegsoft.send_message(&chat, Some("hello from the webchat API"), None).await.unwrap();
        let body = assert_success(&ex, &profile);
        let keys = &profile.responses.keys;
        assert!(body[&keys.message_id].as_str().is_some_and(|id| !id.is_empty()), "{body}");
        assert!(body.get(&keys.file_id).is_none(), "{body}");
        let messages = transcript(&customer, &chat).await;
        let texts: Vec<&Value> = messages.iter().filter(|m| m["type"] == "Text").collect();
        assert_eq!(texts.len(), 1, "{messages:?}");
        assert_eq!(texts[0]["text"], "hello from the webchat API");
        assert_eq!(texts[0]["from"]["type"], "Customer");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn every_file_type_uploads_and_downloads_unchanged() {
    for profile in profiles() {
        let sim = start(config(&profile)).await;
        let (tegsoft, customer) = (tegsoft(&sim, &profile), customer(&sim));
        let chat = new_chat(&customer).await;
        for file_type in FileType::ALL {
            let file = sample_file(&sim, &profile, file_type);
            let body = assert_success(&tegsoft.upload_file(&chat, &file).await.unwrap(), &profile);
            let file_id = body[&profile.responses.keys.file_id].as_str().expect("an upload answers its fileId");
            let messages = transcript(&customer, &chat).await;
            let message = file_message(&messages, file_id);
            assert_eq!(message["noticeText"], "file-uploaded");
            assert_eq!(message["visibility"], "All");
            assert_eq!(message["from"]["type"], "Customer");
            assert_eq!(message["attachment"]["name"], json!(profile.samples.get(file_type).name));
            assert_downloads_unchanged(&sim, &chat, message, &sample_url(&sim, &profile, file_type)).await;
        }
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn send_message_takes_a_file_alone_or_with_a_text() {
    let profile = TegsoftProfile::default();
    let sim = start(config(&profile)).await;
    let (tegsoft, customer) = (tegsoft(&sim, &profile), customer(&sim));
    let chat = new_chat(&customer).await;
    let wav = sample_file(&sim, &profile, FileType::Audio);
    let alone = assert_success(&tegsoft.send_message(&chat, None, Some(&wav)).await.unwrap(), &profile);
    let pdf = sample_file(&sim, &profile, FileType::Document);
    let both = assert_success(&tegsoft.send_message(&chat, Some("file and text"), Some(&pdf)).await.unwrap(), &profile);
    assert_ne!(alone["messageId"], both["messageId"]);
    let messages = transcript(&customer, &chat).await;
    let first = file_message(&messages, alone["fileId"].as_str().unwrap());
    assert_downloads_unchanged(&sim, &chat, first, &wav.file_url).await;
    let second = file_message(&messages, both["fileId"].as_str().unwrap());
    assert_downloads_unchanged(&sim, &chat, second, &pdf.file_url).await;
    let text = messages.iter().find(|m| m["type"] == "Text").expect("the text");
    assert_eq!(text["text"], "file and text");
    // The text comes first, the file right after it, and nothing else was added.
    assert!(text["index"].as_u64() < second["index"].as_u64());
    assert!(first["index"].as_u64() < text["index"].as_u64());
    assert_eq!(messages.iter().filter(|m| m["type"] == "Text" || m["type"] == "SystemCommand").count(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn every_refusal_has_the_profile_status_and_code_and_changes_nothing() {
    use Refusal::*;
    for profile in profiles() {
        let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (listener, files) = file_listener().await;
        let mut cfg = allowing(&profile, files);
        cfg.tegsoft.fetch_allow.push(format!("http://127.0.0.1:{closed_port}/"));
        let allow_list = cfg.tegsoft.fetch_allow.clone();
        let server = file_server(listener, axum::Router::new());
        let sim = start(cfg).await;
        let (tegsoft, customer) = (tegsoft(&sim, &profile), customer(&sim));
        let chat = new_chat(&customer).await;
        let before = transcript(&customer, &chat).await.len();
        let documents = sim.handle.stats().documents;
        let png = sample_file(&sim, &profile, FileType::Image);
        let mut gif = png.clone();
        gif.file_type = "GIF".into();
        let unreachable = FileDetails::new(&format!("http://127.0.0.1:{closed_port}/x.png"), "x.png", FileType::Image);
        let missing = FileDetails::new(&format!("http://{files}/nowhere/missing.png"), "missing.png", FileType::Image);
        // The simulator's own origin outside its sample files: another service's answer must not
        // be read back as a download.
        let own_api =
            FileDetails::new(&format!("{}/api/v2/diagnostics/version", sim.base_url()), "v.png", FileType::Image);
        let foreign = FileDetails::new("http://files.example.invalid/x.png", "x.png", FileType::Image);
        let ftp = FileDetails::new("ftp://127.0.0.1/x.png", "x.png", FileType::Image);
        let png_json = png.to_json();
        let mut no_url = png_json.clone();
        no_url.as_object_mut().unwrap().remove("fileUrl");

        let cases: Vec<(&str, Exchange, Refusal)> = vec![
            ("no CHATID", tegsoft.upload_file_raw(&json!({"fileDetails": png_json})).await.unwrap(), MissingChatId),
            ("empty CHATID", tegsoft.send_message("", Some("x"), None).await.unwrap(), MissingChatId),
            ("unknown CHATID", tegsoft.send_message("no-such-chat", Some("x"), None).await.unwrap(), UnknownChatId),
            ("empty message", tegsoft.send_message(&chat, None, None).await.unwrap(), EmptyMessage),
            ("no message", tegsoft.send_message_raw(&json!({"CHATID": chat})).await.unwrap(), EmptyMessage),
            ("unknown fileType", tegsoft.upload_file(&chat, &gif).await.unwrap(), InvalidFileType),
            (
                "no fileUrl",
                tegsoft.send_message_raw(&json!({"CHATID": chat, "message": {"fileDetails": no_url}})).await.unwrap(),
                MissingParameter,
            ),
            ("no fileDetails", tegsoft.upload_file_raw(&json!({"CHATID": chat})).await.unwrap(), MissingParameter),
            ("ftp fileUrl", tegsoft.upload_file(&chat, &ftp).await.unwrap(), InvalidFileUrl),
            ("not JSON", tegsoft.upload_file_raw(&json!("CHATID")).await.unwrap(), InvalidRequest),
            ("unreachable fileUrl", tegsoft.upload_file(&chat, &unreachable).await.unwrap(), FetchFailed),
            ("fileUrl answering 404", tegsoft.upload_file(&chat, &missing).await.unwrap(), FetchFailed),
            ("host not allowed", tegsoft.upload_file(&chat, &foreign).await.unwrap(), FetchNotAllowed),
            ("own origin off the samples", tegsoft.upload_file(&chat, &own_api).await.unwrap(), FetchNotAllowed),
            // The text is not posted when the file cannot be.
            (
                "text with a bad file",
                tegsoft.send_message(&chat, Some("x"), Some(&foreign)).await.unwrap(),
                FetchNotAllowed,
            ),
        ];
        for (what, ex, refusal) in &cases {
            let message = assert_failure(ex, &profile, *refusal);
            assert!(!message.is_empty(), "{what}");
        }
        let named = |what: &str| {
            let (_, ex, refusal) = cases.iter().find(|c| c.0 == what).unwrap();
            assert_failure(ex, &profile, *refusal)
        };
        assert!(named("no fileUrl").contains("message.fileDetails.fileUrl"));
        assert!(named("unknown fileType").contains("GIF"));
        assert!(named("unreachable fileUrl").contains(&format!("127.0.0.1:{closed_port}")));
        assert!(named("fileUrl answering 404").contains("404"));
        let host_refusal = named("host not allowed");
        assert!(
            host_refusal.starts_with(
                "fileUrl http://files.example.invalid/x.png is under none of the download allow-list's prefixes ["
            ) && host_refusal.ends_with("]; the file was not fetched"),
            "{host_refusal}"
        );
        for prefix in allow_list.iter().chain([&sample_url(&sim, &profile, FileType::Image)]) {
            assert!(host_refusal.contains(prefix.as_str()), "{prefix} missing from: {host_refusal}");
        }
        assert_eq!(
            transcript(&customer, &chat).await.len(),
            before,
            "{}: a refused request changed the chat",
            profile.name
        );
        assert_eq!(sim.handle.stats().documents, documents, "{}: a refused request stored a document", profile.name);
        server.abort();
        sim.shutdown().await;
    }
}

/// `default` requires fileName; `upper` names the file after its URL.
#[tokio::test]
async fn a_file_without_a_name_follows_the_profile() {
    for profile in profiles() {
        let sim = start(config(&profile)).await;
        let (tegsoft, customer) = (tegsoft(&sim, &profile), customer(&sim));
        let chat = new_chat(&customer).await;
        let mut unnamed = sample_file(&sim, &profile, FileType::Image).to_json();
        unnamed.as_object_mut().unwrap().remove("fileName");
        let ex = tegsoft.upload_file_raw(&json!({"CHATID": chat, "fileDetails": unnamed})).await.unwrap();
        if profile.requests.file_name_required {
            let message = assert_failure(&ex, &profile, Refusal::MissingParameter);
            assert!(message.contains("fileDetails.fileName"), "{message}");
        } else {
            let body = assert_success(&ex, &profile);
            let messages = transcript(&customer, &chat).await;
            let message = file_message(&messages, body[&profile.responses.keys.file_id].as_str().unwrap());
            let last_segment = profile.samples.image.path.rsplit('/').next().unwrap();
            assert_eq!(message["attachment"]["name"], last_segment);
        }
        sim.shutdown().await;
    }
    assert_ne!(profiles()[0].requests, profiles()[1].requests, "the built-ins take both ways");
}

#[tokio::test]
async fn a_finished_chat_takes_nothing_more() {
    for profile in profiles() {
        let sim = start(config(&profile)).await;
        let (tegsoft, customer) = (tegsoft(&sim, &profile), customer(&sim));
        let chat = new_chat(&customer).await;
        let done = customer.operation(&chat, &json!({"operationName": "Complete"})).await.unwrap();
        assert_eq!(done.status, 200, "{}", done.body_text);
        let ex = tegsoft.send_message(&chat, Some("too late"), None).await.unwrap();
        assert_failure(&ex, &profile, Refusal::ChatClosed);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_file_over_the_upload_limit_is_refused_and_not_kept() {
    let profile = TegsoftProfile::builtin("upper").unwrap();
    let sim = start(SimConfig { max_upload: 100, ..config(&profile) }).await;
    let (tegsoft, customer) = (tegsoft(&sim, &profile), customer(&sim));
    let chat = new_chat(&customer).await;
    let documents = sim.handle.stats().documents;
    let wav = sample_file(&sim, &profile, FileType::Audio);
    let message = assert_failure(&tegsoft.upload_file(&chat, &wav).await.unwrap(), &profile, Refusal::FileTooLarge);
    assert!(message.contains("100 bytes"), "{message}");
    assert_eq!(sim.handle.stats().documents, documents);
    let left = std::fs::read_dir(sim.handle.upload_dir()).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "a partial download was left in the upload directory");
    sim.shutdown().await;
}

/// A loopback listener for a file server, bound before the simulator so that the simulator can
/// be told to allow it (`fetch_allow`).
async fn file_listener() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// A file server for the cases the simulator's own samples cannot show.
fn file_server(
    listener: tokio::net::TcpListener,
    router: axum::Router,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    tokio::spawn(async move { axum::serve(listener, router).await })
}

/// The configuration with `addr` allowed besides the simulator's own samples.
fn allowing(profile: &TegsoftProfile, addr: std::net::SocketAddr) -> SimConfig {
    let mut cfg = config(profile);
    cfg.tegsoft.fetch_allow = vec![format!("http://{addr}/")];
    cfg
}

#[tokio::test]
async fn a_file_streamed_past_the_limit_is_cut_off() {
    let profile = TegsoftProfile::default();
    let (listener, addr) = file_listener().await;
    let sim = start(SimConfig { max_upload: 1000, ..allowing(&profile, addr) }).await;
    let (tegsoft, customer) = (tegsoft(&sim, &profile), customer(&sim));
    let chat = new_chat(&customer).await;
    let documents = sim.handle.stats().documents;
    // Chunked, with no Content-Length: only counting while reading can catch it.
    let endless = axum::Router::new().route(
        "/big.pdf",
        axum::routing::get(|| async {
            let chunks = futures_util::stream::iter((0..100).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 100])));
            axum::body::Body::from_stream(chunks)
        }),
    );
    let server = file_server(listener, endless);
    let big = FileDetails::new(&format!("http://{addr}/big.pdf"), "big.pdf", FileType::Document);
    let message = assert_failure(&tegsoft.upload_file(&chat, &big).await.unwrap(), &profile, Refusal::FileTooLarge);
    assert!(message.contains("1000 bytes"), "{message}");
    assert_eq!(sim.handle.stats().documents, documents);
    let left = std::fs::read_dir(sim.handle.upload_dir()).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "a partial download was left in the upload directory");
    server.abort();
    sim.shutdown().await;
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let profile = TegsoftProfile::default();
    let (listener, addr) = file_listener().await;
    let sim = start(allowing(&profile, addr)).await;
    let (tegsoft, customer) = (tegsoft(&sim, &profile), customer(&sim));
    let chat = new_chat(&customer).await;
    let target = sample_url(&sim, &profile, FileType::Image);
    let redirect = axum::Router::new().route(
        "/moved.png",
        axum::routing::get(move || {
            let target = target.clone();
            async move { axum::response::Redirect::temporary(&target) }
        }),
    );
    let server = file_server(listener, redirect);
    let moved = FileDetails::new(&format!("http://{addr}/moved.png"), "moved.png", FileType::Image);
    let message = assert_failure(&tegsoft.upload_file(&chat, &moved).await.unwrap(), &profile, Refusal::FetchFailed);
    assert!(message.contains("307") && message.contains("redirects are not followed"), "{message}");
    server.abort();
    sim.shutdown().await;
}

/// The allow-list is checked on the URL: a host not on it is refused and never connected to,
/// while the same host once allowed is connected to.
#[tokio::test]
async fn a_host_off_the_allow_list_is_never_contacted() {
    let listener = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}/x.png");
    let file = FileDetails::new(&url, "x.png", FileType::Image);

    let profile = TegsoftProfile::default();
    let only_localhost = TegsoftConfig { fetch_allow: vec!["http://127.0.0.1:9/".into()], ..TegsoftConfig::default() };
    let sim = start(SimConfig { tegsoft: only_localhost, ..config(&profile) }).await;
    let (tegsoft_client, customer_client) = (tegsoft(&sim, &profile), customer(&sim));
    let chat = new_chat(&customer_client).await;
    let refused = tegsoft_client.upload_file(&chat, &file).await.unwrap();
    let message = assert_failure(&refused, &profile, Refusal::FetchNotAllowed);
    assert_eq!(
        message.rsplit_once(", ").map(|(head, tail)| (head.split_once('[').unwrap().0, tail)),
        Some((
            format!("fileUrl {url} is under none of the download allow-list's prefixes ").as_str(),
            "http://127.0.0.1:9/]; the file was not fetched"
        )),
        "{message}"
    );
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the refused host was connected to: {accepted:?}"
    );
    sim.shutdown().await;

    // The same URL with its host allowed is fetched: the listener sees the connection, and the
    // download, never answered, fails at its deadline.
    let allowed = TegsoftConfig {
        fetch_allow: vec![format!("http://{addr}/")],
        fetch_timeout: Duration::from_secs(1),
        ..TegsoftConfig::default()
    };
    let sim = start(SimConfig { tegsoft: allowed, ..config(&profile) }).await;
    let (tegsoft_client, customer_client) = (tegsoft(&sim, &profile), customer(&sim));
    let chat = new_chat(&customer_client).await;
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let (upload, connection) =
        tokio::join!(tegsoft_client.upload_file(&chat, &file), tokio::time::timeout(DEADLINE, listener.accept()));
    assert!(matches!(connection, Ok(Ok(_))), "the allowed host was not connected to: {connection:?}");
    assert_failure(&upload.unwrap(), &profile, Refusal::FetchFailed);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_sample_files_carry_their_types_where_the_profile_puts_them() {
    let expected = [
        (FileType::Image, "image/png"),
        (FileType::Audio, "audio/wav"),
        (FileType::Video, "video/mp4"),
        (FileType::Document, "application/pdf"),
    ];
    let all = profiles();
    for profile in &all {
        let sim = start(config(profile)).await;
        for (file_type, content_type) in expected {
            let (status, got, bytes) = get_bytes(&sample_url(&sim, profile, file_type), &[]).await;
            assert_eq!((status, got.as_str()), (200, content_type), "{} {file_type:?}", profile.name);
            assert_eq!(bytes, sim::tegsoft::sample(file_type).bytes);
        }
        // The other profile's paths are not served.
        for other in all.iter().filter(|o| o.name != profile.name) {
            let (status, _, _) = get_bytes(&sample_url(&sim, other, FileType::Image), &[]).await;
            assert_eq!(status, 404, "{} serves {}'s sample path", profile.name, other.name);
            let services = tegsoft(&sim, other);
            let ex = services.send_message("any", Some("x"), None).await.unwrap();
            assert_eq!(ex.status, 404, "{} serves {}'s SendMessage path", profile.name, other.name);
        }
        sim.shutdown().await;
    }
}
