//! HTTPS targets: the GWS suite against the simulator behind TLS, with a private CA generated
//! here (`--cacert`), with `--insecure`, and refused without either; a client certificate for a
//! server that requires one (`--cert`, `--key`); and `--proxy` routing every request through
//! the proxy named.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

use chatprobe::sim::{self, SimConfig};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by it.
struct Pki {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server: (CertificateDer<'static>, PrivateKeyDer<'static>),
    client_pem: (String, String),
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "chatprobe test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server.subject_alt_names.push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client.distinguished_name.push(DnType::CommonName, "chatprobe agent");
    let client_cert = client.signed_by(&client_key, &issuer).unwrap();

    Pki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().clone(),
        server: (server_cert.der().clone(), PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()))),
        client_pem: (client_cert.pem(), client_key.serialize_pem()),
    }
}

/// TLS in front of `backend`: every connection decrypted and copied through.
async fn tls_front(pki: &Pki, backend: SocketAddr, require_client_cert: bool) -> SocketAddr {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let builder = ServerConfig::builder();
    let builder = if require_client_cert {
        let mut roots = RootCertStore::empty();
        roots.add(pki.ca_der.clone()).unwrap();
        builder.with_client_cert_verifier(WebPkiClientVerifier::builder(Arc::new(roots)).build().unwrap())
    } else {
        builder.with_no_client_auth()
    };
    let config = builder.with_single_cert(vec![pki.server.0.clone()], pki.server.1.clone_key()).unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { continue };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = TcpStream::connect(backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn tempdir(name: &str) -> PathBuf {
    crate::support::fresh_dir("tls", name)
}

/// `chatprobe run` on `what` against `target` with `extra` flags, off the async runtime.
async fn run(what: &str, target: String, extra: Vec<String>, reports: PathBuf) -> std::process::Output {
    let what = what.to_owned();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_chatprobe"))
            .args(["run", &what, "--target", &target, "--agent", "agent{1..6}:password", "--progress", "off"])
            .arg("--report-dir")
            .arg(&reports)
            .args(extra)
            .current_dir(root())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_runs_against_an_https_target_with_a_private_ca() {
    let pki = pki();
    let running = sim::start(SimConfig { behind_tls: true, ..SimConfig::default() }, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let front = tls_front(&pki, running.addr, false).await;
    let dir = tempdir("ca");
    let ca = write(&dir, "ca.pem", &pki.ca_pem);
    let target = format!("https://127.0.0.1:{}", front.port());

    let out = run(
        "scenarios/conformance/gws",
        target.clone(),
        vec!["--cacert".into(), ca.display().to_string()],
        dir.join("ca"),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains(" passed, 0 failed"), "{}", text(&out));

    let out = run(
        "scenarios/conformance/gws/03-messages-both-ways.yaml",
        target.clone(),
        vec!["--insecure".into()],
        dir.join("insecure"),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The certificate is not trusted without either: the run cannot start, and says why.
    let out =
        run("scenarios/conformance/gws/03-messages-both-ways.yaml", target, Vec::new(), dir.join("untrusted")).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).to_lowercase().contains("certificate"), "{}", text(&out));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_requires_a_client_certificate_gets_one() {
    let pki = pki();
    let running = sim::start(SimConfig { behind_tls: true, ..SimConfig::default() }, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let front = tls_front(&pki, running.addr, true).await;
    let dir = tempdir("mtls");
    let ca = write(&dir, "ca.pem", &pki.ca_pem).display().to_string();
    let cert = write(&dir, "agent.pem", &pki.client_pem.0).display().to_string();
    let key = write(&dir, "agent.key", &pki.client_pem.1).display().to_string();
    let target = format!("https://127.0.0.1:{}", front.port());
    let one = "scenarios/conformance/gws/03-messages-both-ways.yaml";

    let with = vec!["--cacert".into(), ca.clone(), "--cert".into(), cert, "--key".into(), key];
    let out = run(one, target.clone(), with, dir.join("with")).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(one, target.clone(), vec!["--cacert".into(), ca.clone()], dir.join("without")).await;
    assert_eq!(out.status.code(), Some(3), "without a client certificate: {}", text(&out));
    // A key that is not PEM is bad input, found before anything is sent.
    let bad = write(&dir, "bad.key", "not a key").display().to_string();
    let pem = write(&dir, "agent2.pem", &pki.client_pem.0).display().to_string();
    let out =
        run(one, target, vec!["--cacert".into(), ca, "--cert".into(), pem, "--key".into(), bad], dir.join("bad")).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--cert/--key"), "{}", text(&out));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_routes_every_request_through_it() {
    // A proxy that counts what it is asked and refuses it all.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else { continue };
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                if conn.read(&mut buf).await.unwrap_or(0) > 0 {
                    counter.fetch_add(1, Ordering::Relaxed);
                    let _ = conn
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                }
            });
        }
    });
    let running = sim::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempdir("proxy");
    let out = run(
        "scenarios/conformance/gws/03-messages-both-ways.yaml",
        running.base_url(),
        vec!["--proxy".into(), format!("http://{proxy}")],
        dir,
    )
    .await;
    assert!(asked.load(Ordering::Relaxed) > 0, "the proxy was never asked: {}", text(&out));
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    running.shutdown().await;
}

/// The request journey against an https target goes through the general client (its fast path
/// is plain http), says so, and validates every answer over TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_journey_runs_over_tls_and_says_which_client() {
    let pki = pki();
    let running = sim::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let front = tls_front(&pki, running.addr, false).await;
    let dir = tempdir("load");
    let reports = dir.join("reports");
    let ca = write(&dir, "ca.pem", &pki.ca_pem);
    let file = write(
        &dir,
        "version.yaml",
        "name: version\njourney: request\nrequest: { name: version, method: GET, path: /api/v2/diagnostics/version }\n\
         load: { model: closed, concurrency: 2, duration: 1s }\nthresholds: [\"error_rate == 0\"]\n",
    );
    let target = format!("https://127.0.0.1:{}", front.port());
    let report_file = reports.join("load-report.json");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_chatprobe"))
            .args(["load", file.to_str().unwrap(), "--target", &target, "--progress", "off", "--cacert"])
            .arg(&ca)
            .arg("--report-dir")
            .arg(&reports)
            .current_dir(root())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("the request journey goes through the general HTTP client"), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(report_file).unwrap()).unwrap();
    assert!(report["counts"]["ops"].as_u64().unwrap_or(0) > 0, "{}", report["counts"]);
    assert_eq!(report["counts"]["violations"], 0);
    running.shutdown().await;
}
