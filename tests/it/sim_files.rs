//! The simulator's documents over real loopback sockets: Add New Document (multipart upload,
//! size limit, file names), AddAttachment of standard responses, UploadFile, DeleteFile,
//! RemoveAttachment, and downloads by agents and by the customer, checked byte for byte by
//! sha256. Notifications are drained with `timeout: 0` connects after each answer: everything an
//! operation causes is queued before its HTTP answer leaves.

use std::time::{Duration, Instant};

use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::sim::{LARGE_LOG, RunningSim, STANDARD_RESPONSES, SimConfig};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::support::{answer, start};
use sha2::{Digest, Sha256};

/// Longest any single wait in these tests may take.
const DEADLINE: Duration = Duration::from_secs(20);

/// sha256 of the generated 20,053,630-byte standard response: the generator is part of the
/// simulator's contract, so it may never change silently.
const LARGE_LOG_SHA256: &str = "3f0121326a60e7dd1985fe0abe8bbe44695ac0d8f7ca8129e426817006a184e5";

const BOUNDARY: &str = "chatprobe-test-boundary-7MA4YWxkTrZu0gW";

fn config() -> SimConfig {
    SimConfig { agents: 3, cometd_timeout: Duration::from_secs(2), ..SimConfig::default() }
}

fn http() -> Client {
    crate::support::http(DEADLINE)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes that are not text, so nothing along the way can mistake them for it.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(131) as u8) ^ seed ^ ((i >> 8) as u8)).collect()
}

/// One part of a multipart body: field, file name, content type, bytes.
type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body.
fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, file_name, content_type, bytes) in parts {
        body.extend(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"").as_bytes());
        if let Some(name) = file_name {
            body.extend(b"; filename=\"");
            body.extend(name.as_bytes());
            body.extend(b"\"");
        }
        body.extend(b"\r\n");
        if let Some(ct) = content_type {
            body.extend(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend(b"\r\n");
        body.extend(*bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// A downloaded document: status, headers and the sha256 and length of the body, read in
/// chunks as they come.
struct Fetched {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    sha256: String,
    len: usize,
    json: Option<Value>,
}

async fn fetch(request: reqwest::RequestBuilder) -> Fetched {
    let mut response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let mut hasher = Sha256::new();
    let mut len = 0;
    let mut head = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        hasher.update(&chunk);
        len += chunk.len();
        if head.len() < 4096 {
            head.extend_from_slice(&chunk[..chunk.len().min(4096 - head.len())]);
        }
    }
    let json = serde_json::from_slice(&head).ok();
    Fetched { status, headers, sha256: hex(&hasher.finalize()), len, json }
}

impl Fetched {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }

    #[track_caller]
    fn refused(&self, status: StatusCode, code: i64) {
        assert_eq!(self.status, status);
        let body = self.json.as_ref().expect("a JSON refusal");
        assert_eq!(body["statusCode"], code, "{body}");
        assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
    }
}

/// A logged-in agent with a Bayeux client, chatting with a customer.
struct Agent {
    http: Client,
    base: String,
    csrf: String,
    client_id: String,
}

impl Agent {
    async fn ready(sim: &RunningSim, n: usize) -> Agent {
        let http = http();
        let base = sim.base_url();
        let me = http.get(format!("{base}/api/v2/me")).basic_auth(format!("agent{n}"), Some("password"));
        let response = me.send().await.unwrap();
        let csrf = response.headers()["X-CSRF-TOKEN"].to_str().unwrap().to_owned();
        let mut agent = Agent { http, base, csrf, client_id: String::new() };
        let hs =
            json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]);
        agent.client_id = agent.bayeux(hs).await[0]["clientId"].as_str().unwrap().to_owned();
        let sub = json!([{"channel": "/meta/subscribe", "clientId": agent.client_id, "subscription": "/v2/me/chats"}]);
        assert_eq!(agent.bayeux(sub).await[0]["successful"], true);
        let start = json!({"operationName": "StartContactCenterSession", "channels": ["chat"]});
        assert_eq!(agent.post("/api/v2/me", start).await.1["statusCode"], 0);
        let ready = json!({"operationName": "Ready"});
        assert_eq!(agent.post("/api/v2/me/channels/chat", ready).await.1["statusCode"], 0);
        agent
    }

    async fn bayeux(&self, messages: Value) -> Vec<Value> {
        let response = self
            .http
            .post(format!("{}/api/v2/notifications", self.base))
            .header("X-CSRF-TOKEN", &self.csrf)
            .json(&messages);
        let response = response.send().await;
        response.unwrap().json::<Vec<Value>>().await.unwrap()
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        answer(self.http.get(format!("{}{path}", self.base)).send().await.unwrap()).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let request = self.http.post(format!("{}{path}", self.base)).header("X-CSRF-TOKEN", &self.csrf).json(&body);
        answer(request.send().await.unwrap()).await
    }

    async fn op(&self, chat: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/api/v2/me/chats/{chat}"), body).await
    }

    /// Add New Document with a multipart body.
    async fn upload(&self, chat: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let request = self
            .http
            .post(format!("{}/api/v2/me/chats/{chat}/attachments", self.base))
            .header("X-CSRF-TOKEN", &self.csrf)
            .header("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(body);
        answer(request.send().await.unwrap()).await
    }

    /// One connect, held until events arrive unless `hold` is false.
    async fn connect(&self, hold: bool) -> Vec<Value> {
        let mut connect =
            json!({"channel": "/meta/connect", "clientId": self.client_id, "connectionType": "long-polling"});
        if !hold {
            connect["advice"] = json!({"timeout": 0});
        }
        let replies = self.bayeux(json!([connect])).await;
        let registry = SchemaRegistry::embedded().unwrap();
        let events: Vec<&Value> = replies.iter().filter(|r| r["channel"] == "/v2/me/chats").collect();
        for event in &events {
            let violations = registry.validate("notification-chats", event).unwrap();
            assert!(violations.is_empty(), "{event:#}\nbreaks notification-chats: {violations:?}");
        }
        events.into_iter().map(|r| r["data"].clone()).collect()
    }

    /// Every notification queued for the agent now.
    async fn drain(&self) -> Vec<Value> {
        self.connect(false).await
    }

    /// The next offer, accepted; its agent-side chat id.
    async fn accept_next(&self) -> String {
        let start = Instant::now();
        let offer = loop {
            assert!(start.elapsed() < DEADLINE, "no offer");
            if let Some(offer) = self.connect(true).await.into_iter().next() {
                break offer;
            }
        };
        assert_eq!(offer["chat"]["state"], "Invited", "{offer}");
        let chat = offer["chat"]["id"].as_str().unwrap().to_owned();
        assert_eq!(self.op(&chat, json!({"operationName": "Accept"})).await.1["statusCode"], 0);
        self.drain().await;
        chat
    }

    /// The chat as `GET /api/v2/me/chats` lists it.
    async fn chat(&self, id: &str) -> Value {
        let (_, listed) = self.get("/api/v2/me/chats").await;
        listed["chats"].as_array().unwrap().iter().find(|c| c["id"] == id).cloned().unwrap_or(Value::Null)
    }
}

/// A customer with one chat.
struct Customer {
    http: Client,
    base: String,
    id: String,
}

impl Customer {
    async fn request(sim: &RunningSim) -> Customer {
        let http = http();
        let base = sim.base_url();
        let body = json!({"operationName": "RequestChat", "nickname": "Pat"});
        let request = http.post(format!("{base}/api/v2/chats")).header("ContactCenterId", "it").json(&body);
        let (_, reply) = answer(request.send().await.unwrap()).await;
        Customer { http, base, id: reply["id"].as_str().unwrap().to_owned() }
    }

    async fn messages(&self) -> Vec<Value> {
        let url = format!("{}/api/v2/chats/{}/messages", self.base, self.id);
        let (_, page) = answer(self.http.get(url).header("ContactCenterId", "it").send().await.unwrap()).await;
        page["messages"].as_array().cloned().unwrap_or_default()
    }

    async fn download(&self, document: &str) -> Fetched {
        let url = format!("{}/api/v2/chats/{}/attachments/{document}", self.base, self.id);
        fetch(self.http.get(url).header("ContactCenterId", "it")).await
    }
}

/// A simulator, agent 1 chatting with a customer.
async fn chatting(cfg: SimConfig) -> (RunningSim, Agent, Customer, String) {
    let sim = start(cfg).await;
    let agent = Agent::ready(&sim, 1).await;
    let customer = Customer::request(&sim).await;
    let chat = agent.accept_next().await;
    (sim, agent, customer, chat)
}

/// A successful answer: statusCode 0 and its referenceId, valid against `operation-response`.
#[track_caller]
fn accepted((status, body): &(StatusCode, Value)) -> u64 {
    assert_eq!((*status, &body["statusCode"]), (StatusCode::OK, &json!(0)), "{body}");
    let violations = SchemaRegistry::embedded().unwrap().validate("operation-response", body).unwrap();
    assert!(violations.is_empty(), "{body} breaks operation-response: {violations:?}");
    body["referenceId"].as_u64().unwrap_or_else(|| panic!("no referenceId in {body}"))
}

/// A refusal: that HTTP status, that statusCode, and nothing but statusCode and statusMessage.
#[track_caller]
fn refused((status, body): &(StatusCode, Value), http: StatusCode, code: i64) {
    assert_eq!((*status, body["statusCode"].as_i64()), (http, Some(code)), "{body}");
    assert!(body["statusMessage"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["notificationType"].as_str().unwrap_or("?")).collect()
}

/// Files in the simulator's upload directory (none if it was never made).
fn uploaded_files(sim: &RunningSim) -> Vec<String> {
    match std::fs::read_dir(sim.handle.upload_dir()) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test]
async fn an_uploaded_document_is_linked_and_downloads_byte_for_byte() {
    let (sim, agent, _customer, chat) = chatting(config()).await;
    let documents = sim.handle.stats().documents;
    let bytes = payload(300_000, 7);
    let body = multipart(&[
        ("description", None, None, b"ignored"),
        ("attachment", Some("notes.bin"), Some("application/x-chatprobe"), &bytes),
    ]);
    let reply = agent.upload(&chat, body).await;
    let reference = accepted(&reply);
    let document = reply.1["documentId"].as_str().unwrap().to_owned();
    assert_eq!(sim.handle.stats().documents, documents + 1);

    let events = agent.drain().await;
    assert_eq!(kinds(&events), ["AttachmentAdded"], "{events:#?}");
    assert_eq!(events[0]["messageType"], "ChatStateChangeMessage");
    assert_eq!(events[0]["referenceId"], reference);
    let listed = &events[0]["chat"]["attachments"];
    let expected_uri = format!("{}/api/v2/chats/{chat}/attachments/{document}", sim.base_url());
    assert_eq!(
        listed,
        &json!([{"id": document, "mime": "application/x-chatprobe", "name": "notes.bin",
                 "path": format!("/attachments/{document}"), "size": 300_000, "uri": expected_uri}])
    );
    assert_eq!(&agent.chat(&chat).await["attachments"], listed);

    for url in [expected_uri.clone(), format!("{}/api/v2/attachments/{document}", sim.base_url())] {
        let got = fetch(agent.http.get(&url)).await;
        assert_eq!(got.status, StatusCode::OK, "{url}");
        assert_eq!((got.len, got.sha256.as_str()), (bytes.len(), sha256_hex(&bytes).as_str()), "{url}");
        assert_eq!(got.header("content-type"), "application/x-chatprobe");
        assert_eq!(got.header("content-length"), "300000");
        assert_eq!(got.header("content-disposition"), "attachment; filename=\"notes.bin\"");
    }
    assert_eq!(uploaded_files(&sim), [document]);
    let dir = sim.handle.upload_dir().to_owned();
    sim.shutdown().await;
    assert!(!dir.exists(), "{} is left after shutdown", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_large_standard_response_streams_with_a_stable_digest() {
    let (sim, agent, _customer, chat) = chatting(config()).await;
    assert_eq!(
        (LARGE_LOG.id, LARGE_LOG.name, LARGE_LOG.size),
        ("0000YaB6ARKB0019", "cloud-2015-12-01.log", 20_053_630)
    );
    let reference =
        accepted(&agent.op(&chat, json!({"operationName": "AddAttachment", "documentId": LARGE_LOG.id})).await);
    let events = agent.drain().await;
    assert_eq!(kinds(&events), ["AttachmentAdded"]);
    assert_eq!(events[0]["referenceId"], reference);
    let attached = &events[0]["chat"]["attachments"][0];
    assert_eq!((&attached["size"], &attached["mime"]), (&json!(20_053_630), &json!("application/octet-stream")));

    let mut digests = Vec::new();
    for url in [
        attached["uri"].as_str().unwrap().to_owned(),
        format!("{}/api/v2/attachments/{}", sim.base_url(), LARGE_LOG.id),
    ] {
        let got = fetch(agent.http.get(&url)).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.len, 20_053_630);
        assert_eq!(got.header("content-length"), "20053630");
        assert_eq!(got.header("content-type"), "application/octet-stream");
        assert_eq!(got.header("content-disposition"), "attachment; filename=\"cloud-2015-12-01.log\"");
        digests.push(got.sha256);
    }
    assert_eq!(digests, [LARGE_LOG_SHA256, LARGE_LOG_SHA256]);
    assert!(uploaded_files(&sim).is_empty(), "a standard response needs no file");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_oversized_upload_is_refused_with_413_and_leaves_nothing() {
    assert_eq!(SimConfig::default().max_upload, 52_428_800);
    let (sim, agent, _customer, chat) = chatting(SimConfig { max_upload: 64 * 1024, ..config() }).await;
    let documents = sim.handle.stats().documents;
    for (label, parts) in [
        ("one big part", vec![("attachment", 64 * 1024 + 1)]),
        ("parts adding up", vec![("note", 40 * 1024), ("attachment", 40 * 1024)]),
        ("a big part after the document", vec![("attachment", 1000), ("note", 200 * 1024)]),
        ("far over the limit", vec![("attachment", 8 * 1024 * 1024)]),
    ] {
        let data: Vec<Vec<u8>> = parts.iter().map(|(_, len)| payload(*len, 3)).collect();
        let parts: Vec<_> = parts
            .iter()
            .zip(&data)
            .map(|((field, _), bytes)| (*field, Some("big.bin"), None, bytes.as_slice()))
            .collect();
        let reply = agent.upload(&chat, multipart(&parts)).await;
        assert_eq!(
            (reply.0, &reply.1),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!({"statusCode": 10, "statusMessage": "attachment is larger than 65536 bytes"})
            ),
            "{label}"
        );
        assert!(uploaded_files(&sim).is_empty(), "{label}: a partial file is left");
    }
    assert!(agent.drain().await.is_empty());
    assert_eq!(sim.handle.stats().documents, documents);
    assert_eq!(agent.chat(&chat).await["attachments"], json!([]));

    // Exactly the limit is accepted, on the same connection pool.
    let bytes = payload(64 * 1024, 9);
    accepted(&agent.upload(&chat, multipart(&[("attachment", Some("fits.bin"), None, &bytes)])).await);
    assert_eq!(agent.chat(&chat).await["attachments"][0]["size"], 65_536);
    assert_eq!(agent.chat(&chat).await["attachments"][0]["mime"], "application/octet-stream");
    sim.shutdown().await;
}

#[tokio::test]
async fn file_names_are_sanitised() {
    let (sim, agent, _customer, chat) = chatting(config()).await;
    let cases = [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\win.ini", "win.ini"),
        ("C:\\Users\\me\\..\\report.pdf", "report.pdf"),
        ("a..b.txt", "ab.txt"),
        // Headers carry no other control character than the tab (the parser refuses them).
        ("\t..\t", "attachment"),
        ("tab\tname.txt", "tabname.txt"),
        ("../", "attachment"),
        ("", "attachment"),
    ];
    let mut documents = Vec::new();
    for (raw, expected) in cases {
        let body = multipart(&[("attachment", Some(raw), Some("text/plain"), b"hello")]);
        let reply = agent.upload(&chat, body).await;
        accepted(&reply);
        let document = reply.1["documentId"].as_str().unwrap().to_owned();
        let events = agent.drain().await;
        let listed = events[0]["chat"]["attachments"].as_array().unwrap();
        let entry = listed.iter().find(|a| a["id"] == document.as_str()).unwrap();
        assert_eq!(entry["name"], expected, "{raw:?}");
        let got = fetch(agent.http.get(entry["uri"].as_str().unwrap())).await;
        assert_eq!(got.header("content-disposition"), format!("attachment; filename=\"{expected}\""), "{raw:?}");
        documents.push(document);
    }
    // Files are named by document id inside the simulator's own directory, whatever the client said.
    let mut files = uploaded_files(&sim);
    files.sort();
    documents.sort();
    assert_eq!(files, documents);
    sim.shutdown().await;
}

#[tokio::test]
async fn uploads_are_refused_without_the_part_the_token_or_a_chat_to_join() {
    let (sim, agent, _customer, chat) = chatting(config()).await;
    let documents = sim.handle.stats().documents;
    let without_attachment = multipart(&[("file", Some("a.txt"), Some("text/plain"), b"hello")]);
    refused(&agent.upload(&chat, without_attachment).await, StatusCode::BAD_REQUEST, 1);
    refused(&agent.upload(&chat, multipart(&[])).await, StatusCode::BAD_REQUEST, 1);
    let json_body = agent.post(&format!("/api/v2/me/chats/{chat}/attachments"), json!({"attachment": "x"})).await;
    refused(&json_body, StatusCode::BAD_REQUEST, 1);
    let unterminated = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachment\"\r\n\r\nhello");
    refused(&agent.upload(&chat, unterminated.into_bytes()).await, StatusCode::BAD_REQUEST, 10);
    let ok = || multipart(&[("attachment", Some("a.txt"), Some("text/plain"), b"hello")]);
    refused(&agent.upload("0001NoSuchChat00", ok()).await, StatusCode::NOT_FOUND, 6);

    let no_token = agent
        .http
        .post(format!("{}/api/v2/me/chats/{chat}/attachments", sim.base_url()))
        .header("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(ok());
    let response = no_token.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.text().await.unwrap(), "Missing or invalid Csrf token");

    accepted(&agent.op(&chat, json!({"operationName": "Leave"})).await);
    agent.drain().await;
    refused(&agent.upload(&chat, ok()).await, StatusCode::BAD_REQUEST, 2);
    assert!(agent.drain().await.is_empty());
    assert_eq!(sim.handle.stats().documents, documents);
    assert!(uploaded_files(&sim).is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn upload_file_needs_the_document_linked_first() {
    let (sim, agent, customer, chat) = chatting(config()).await;
    let welcome = STANDARD_RESPONSES.iter().find(|d| d.name == "welcome.txt").unwrap();
    let upload = json!({"operationName": "UploadFile", "documentId": welcome.id, "uploadType": "standard-response"});
    refused(&agent.op(&chat, upload.clone()).await, StatusCode::BAD_REQUEST, 2);
    let unknown = json!({"operationName": "AddAttachment", "documentId": "0000NoSuchDoc000"});
    refused(&agent.op(&chat, unknown).await, StatusCode::NOT_FOUND, 6);
    let bad_size = json!({"operationName": "AddAttachment", "documentId": welcome.id, "size": "big"});
    refused(&agent.op(&chat, bad_size).await, StatusCode::BAD_REQUEST, 10);
    let bad_type = json!({"operationName": "UploadFile", "documentId": welcome.id, "uploadType": "ftp"});
    refused(&agent.op(&chat, bad_type).await, StatusCode::BAD_REQUEST, 10);
    refused(&agent.op(&chat, json!({"operationName": "UploadFile"})).await, StatusCode::BAD_REQUEST, 1);
    assert!(agent.drain().await.is_empty(), "refusals notify nobody");

    accepted(&agent.op(&chat, json!({"operationName": "AddAttachment", "documentId": welcome.id})).await);
    assert_eq!(kinds(&agent.drain().await), ["AttachmentAdded"]);
    let mut file_ids = Vec::new();
    for _ in 0..2 {
        let reference = accepted(&agent.op(&chat, upload.clone()).await);
        let events = agent.drain().await;
        assert_eq!(kinds(&events), ["NewMessages"]);
        assert_eq!(events[0]["referenceId"], reference);
        let message = &events[0]["messages"][0];
        assert_eq!((&message["type"], &message["noticeText"]), (&json!("SystemCommand"), &json!("file-uploaded")));
        assert_eq!((&message["visibility"], &message["from"]["type"]), (&json!("All"), &json!("Agent")));
        let attachment = &message["attachment"];
        let file_id = attachment["fileId"].as_str().unwrap().to_owned();
        assert_eq!(
            attachment,
            &json!({"fileId": file_id, "id": welcome.id, "name": "welcome.txt",
                    "path": format!("/attachments/{}", welcome.id), "size": welcome.size,
                    "uri": format!("{}/api/v2/attachments/{}", sim.base_url(), welcome.id)})
        );
        file_ids.push(file_id);
    }
    assert_ne!(file_ids[0], file_ids[1], "each upload gets its own fileId");
    let seen: Vec<Value> =
        customer.messages().await.into_iter().filter(|m| m["noticeText"] == "file-uploaded").collect();
    assert_eq!(seen.len(), 2, "the customer sees both uploads");
    assert_eq!(seen[0]["attachment"]["fileId"], file_ids[0].as_str());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_customer_downloads_only_files_uploaded_to_its_chat() {
    let (sim, agent, customer, chat) = chatting(config()).await;
    let bytes = payload(5000, 1);
    let body = multipart(&[("attachment", Some("scan.pdf"), Some("application/pdf"), &bytes)]);
    let reply = agent.upload(&chat, body).await;
    accepted(&reply);
    let document = reply.1["documentId"].as_str().unwrap().to_owned();
    agent.drain().await;
    customer.download(&document).await.refused(StatusCode::NOT_FOUND, 6);
    customer.download(LARGE_LOG.id).await.refused(StatusCode::NOT_FOUND, 6);

    accepted(&agent.op(&chat, json!({"operationName": "UploadFile", "documentId": document})).await);
    let file_id = agent.drain().await[0]["messages"][0]["attachment"]["fileId"].as_str().unwrap().to_owned();
    let got = customer.download(&document).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!((got.len, got.sha256.as_str()), (bytes.len(), sha256_hex(&bytes).as_str()));
    assert_eq!(got.header("content-type"), "application/pdf");
    assert_eq!(got.header("content-disposition"), "attachment; filename=\"scan.pdf\"");
    // Without its ContactCenterId the customer is nobody.
    let anonymous =
        fetch(customer.http.get(format!("{}/api/v2/chats/{}/attachments/{document}", sim.base_url(), customer.id)))
            .await;
    anonymous.refused(StatusCode::UNAUTHORIZED, 20);

    accepted(&agent.op(&chat, json!({"operationName": "DeleteFile", "fileId": file_id})).await);
    agent.drain().await;
    customer.download(&document).await.refused(StatusCode::NOT_FOUND, 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn delete_file_and_remove_attachment() {
    let (sim, agent, customer, chat) = chatting(config()).await;
    let welcome = STANDARD_RESPONSES[0].id;
    let hours = STANDARD_RESPONSES[1].id;
    for document in [welcome, hours] {
        accepted(&agent.op(&chat, json!({"operationName": "AddAttachment", "documentId": document})).await);
    }
    let upload = json!({"operationName": "UploadFile", "documentId": welcome});
    accepted(&agent.op(&chat, upload.clone()).await);
    let events = agent.drain().await;
    let file_id = events[2]["messages"][0]["attachment"]["fileId"].as_str().unwrap().to_owned();

    refused(
        &agent.op(&chat, json!({"operationName": "DeleteFile", "fileId": "0003NoSuchFile00"})).await,
        StatusCode::NOT_FOUND,
        6,
    );
    refused(&agent.op(&chat, json!({"operationName": "DeleteFile"})).await, StatusCode::BAD_REQUEST, 1);
    let reference = accepted(&agent.op(&chat, json!({"operationName": "DeleteFile", "fileId": file_id})).await);
    let events = agent.drain().await;
    assert_eq!(kinds(&events), ["NewMessages"]);
    assert_eq!(events[0]["referenceId"], reference);
    let message = &events[0]["messages"][0];
    assert_eq!(
        (&message["type"], &message["noticeText"], &message["attachment"]),
        (&json!("SystemCommand"), &json!("file-deleted"), &json!({"fileId": file_id}))
    );
    assert!(customer.messages().await.iter().any(|m| m["noticeText"] == "file-deleted"));
    refused(
        &agent.op(&chat, json!({"operationName": "DeleteFile", "fileId": file_id})).await,
        StatusCode::NOT_FOUND,
        6,
    );

    let remove = json!({"operationName": "RemoveAttachment", "documentId": welcome});
    let reference = accepted(&agent.op(&chat, remove.clone()).await);
    let events = agent.drain().await;
    assert_eq!(kinds(&events), ["PropertiesUpdated"]);
    assert_eq!(events[0]["referenceId"], reference);
    let ids: Vec<&Value> = events[0]["chat"]["attachments"].as_array().unwrap().iter().map(|a| &a["id"]).collect();
    assert_eq!(ids, [hours]);
    refused(&agent.op(&chat, remove).await, StatusCode::NOT_FOUND, 6);
    refused(&agent.op(&chat, upload).await, StatusCode::BAD_REQUEST, 2);
    // Unlinked from the chat, not deleted from UCS.
    assert_eq!(
        fetch(agent.http.get(format!("{}/api/v2/attachments/{welcome}", sim.base_url()))).await.status,
        StatusCode::OK
    );
    fetch(agent.http.get(format!("{}/api/v2/chats/{chat}/attachments/{welcome}", sim.base_url())))
        .await
        .refused(StatusCode::NOT_FOUND, 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_or_unauthenticated_downloads_are_refused() {
    let (sim, agent, _customer, chat) = chatting(config()).await;
    let base = sim.base_url();
    fetch(agent.http.get(format!("{base}/api/v2/attachments/0000NoSuchDoc000")))
        .await
        .refused(StatusCode::NOT_FOUND, 6);
    let not_linked = format!("{base}/api/v2/chats/{chat}/attachments/{}", LARGE_LOG.id);
    fetch(agent.http.get(&not_linked)).await.refused(StatusCode::NOT_FOUND, 6);
    let other_chat = format!("{base}/api/v2/chats/0001NoSuchChat00/attachments/{}", LARGE_LOG.id);
    fetch(agent.http.get(&other_chat)).await.refused(StatusCode::NOT_FOUND, 6);
    fetch(http().get(format!("{base}/api/v2/attachments/{}", LARGE_LOG.id)))
        .await
        .refused(StatusCode::UNAUTHORIZED, 20);
    // Basic credentials open a session for a download as for any read.
    let basic = http()
        .get(format!("{base}/api/v2/attachments/{}", STANDARD_RESPONSES[0].id))
        .basic_auth("agent2", Some("password"));
    let got = fetch(basic).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.len as u64, STANDARD_RESPONSES[0].size);
    assert!(got.header("set-cookie").starts_with("JSESSIONID="));
    sim.shutdown().await;
}

/// Another agent's upload is unknown to an agent that was never offered its chat, by either
/// download path and to AddAttachment; the uploader, and any agent for a standard response, may
/// read it.
#[tokio::test]
async fn an_agent_reads_only_documents_of_chats_offered_to_it() {
    let (sim, agent, _customer, chat) = chatting(config()).await;
    let bytes = payload(1_000, 3);
    let reply = agent.upload(&chat, multipart(&[("attachment", Some("private.bin"), None, &bytes)])).await;
    accepted(&reply);
    let document = reply.1["documentId"].as_str().unwrap().to_owned();
    let base = sim.base_url();
    let other = Agent::ready(&sim, 2).await;
    let _second_customer = Customer::request(&sim).await;
    let other_chat = other.accept_next().await;

    let by_id = format!("{base}/api/v2/attachments/{document}");
    assert_eq!(fetch(agent.http.get(&by_id)).await.status, StatusCode::OK);
    fetch(other.http.get(&by_id)).await.refused(StatusCode::NOT_FOUND, 6);
    fetch(other.http.get(format!("{base}/api/v2/chats/{chat}/attachments/{document}")))
        .await
        .refused(StatusCode::NOT_FOUND, 6);
    let attach = json!({"operationName": "AddAttachment", "documentId": document});
    refused(&other.op(&other_chat, attach).await, StatusCode::NOT_FOUND, 6);
    let standard = format!("{base}/api/v2/attachments/{}", STANDARD_RESPONSES[0].id);
    assert_eq!(fetch(other.http.get(&standard)).await.status, StatusCode::OK);
    sim.shutdown().await;
}
