//! TLS on the listener (`TLS_CERT_FILE`, `TLS_KEY_FILE`): a CA made here
//! signs the frontier's certificate for localhost and 127.0.0.1, and the
//! clients trust that CA only: ours (health over https, a frame over wss://)
//! and the stock Python client (`SSL_CERT_FILE`, which httpx and the
//! `websockets` library both honour). Bad settings stop the frontier at startup.

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};

use crate::support::*;

const WAIT: Duration = Duration::from_secs(20);

/// A test CA and a server certificate it signed, as PEM files in a directory
/// of their own (removed when dropped).
struct TestPki {
    dir: PathBuf,
    ca: CertificateDer<'static>,
}

impl TestPki {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("matyan-tls-{}", unique_run_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "matyan test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let server_key = KeyPair::generate().unwrap();
        // rcgen makes an IP address entry of 127.0.0.1, a DNS name of localhost.
        let mut server_params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        server_params.distinguished_name.push(DnType::CommonName, "localhost");
        let server = server_params.signed_by(&server_key, &Issuer::new(ca_params, ca_key)).unwrap();
        let pki = Self { dir, ca: ca.der().clone() };
        std::fs::write(pki.path("ca.pem"), ca.pem()).unwrap();
        std::fs::write(pki.path("cert.pem"), server.pem()).unwrap();
        std::fs::write(pki.path("key.pem"), server_key.serialize_pem()).unwrap();
        pki
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// A frontier serving this certificate.
    fn frontier(&self) -> Frontier {
        Frontier::start(&[("TLS_CERT_FILE", &self.path("cert.pem")), ("TLS_KEY_FILE", &self.path("key.pem"))])
    }

    /// An HTTP client that trusts this CA only.
    fn https(&self) -> ureq::Agent {
        let roots = ureq::tls::RootCerts::new_with_certs(&[ureq::tls::Certificate::from_der(&self.ca).to_owned()]);
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(WAIT))
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
            .build()
            .into()
    }

    /// A WebSocket over TLS to `run_id`, trusting this CA only; reads time out after 20 s.
    fn wss(&self, frontier: &Frontier, run_id: &str) -> WsClient {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.clone()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let stream = TcpStream::connect(("127.0.0.1", frontier.port)).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let url = format!("wss://localhost:{}/api/v1/ws/runs/{run_id}", frontier.port);
        let connector = tungstenite::Connector::Rustls(Arc::new(config));
        let (socket, _) = tungstenite::client_tls_with_config(url, stream, None, Some(connector)).expect("wss:// upgrade");
        WsClient { socket }
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn health_over_https_and_a_frame_over_wss_land_in_kafka() {
    let pki = TestPki::new();
    let frontier = pki.frontier();
    let https = pki.https();
    for host in ["localhost", "127.0.0.1"] {
        let mut response = https.get(format!("https://{host}:{}/health/live/", frontier.port)).call().expect("GET over https");
        assert_eq!(response.status(), 200, "{host}: {}", response.body_mut().read_to_string().unwrap());
    }
    assert!(frontier.log_text().contains(&format!("listening on https://127.0.0.1:{}", frontier.port)), "{}", frontier.log_text());
    // Plain HTTP on the TLS port gets no HTTP answer; a client that does not trust the CA gets no connection.
    assert!(http().get(frontier.url("/health/live/")).call().is_err(), "plain HTTP is not served beside TLS");
    let untrusting = http().get(format!("https://localhost:{}/health/live/", frontier.port)).call();
    assert!(untrusting.is_err(), "a client with the public roots only refuses the test CA's certificate");

    let run_id = unique_run_id();
    let mut ws = pki.wss(&frontier, &run_id);
    let frame = json!({"type": "add_tag", "tag_name": "over-tls"});
    assert_eq!(ws.roundtrip(&frame.to_string()), ok_answer());
    let records = records_for(&run_id, 1, WAIT);
    assert_eq!(records[0].value["payload"], json!({"tag_name": "over-tls"}));
}

/// The stock client's driver (`tests/client/drive_real_client.py`) against `frontier_url`, with `ssl_cert_file` as its trust.
fn drive_stock_client(frontier_url: &str, ssl_cert_file: Option<&str>) -> Output {
    let python =
        std::env::var("MATYAN_STACK_PYTHON").expect("MATYAN_STACK_PYTHON is set by scripts/local-stack.sh env (run scripts/test.sh)");
    let driver = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/client/drive_real_client.py");
    let mut command = Command::new(python);
    command.arg(driver).arg(frontier_url).env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
    if let Some(file) = ssl_cert_file {
        command.env("SSL_CERT_FILE", file);
    }
    command.output().expect("run the Python client")
}

#[test]
fn the_stock_client_streams_a_run_over_https_and_wss_trusting_the_test_ca() {
    let pki = TestPki::new();
    let frontier = pki.frontier();
    let url = format!("https://localhost:{}", frontier.port);

    // Without the CA, the client's WebSocket refuses the certificate, retries quietly, and gives up after its 15 s.
    let refused = drive_stock_client(&url, None);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("ConnectionError: WS connection timeout"), "{stderr}");

    let output = drive_stock_client(&url, Some(&pki.path("ca.pem")));
    assert!(output.status.success(), "client failed: {}", String::from_utf8_lossy(&output.stderr));
    let sent: Value = serde_json::from_slice(output.stdout.trim_ascii()).expect("driver prints one JSON line");
    // create_run, set_run_property, log_hparams, 4 log_metric, add_tag, log_custom_object, blob_ref, finish_run.
    let records = records_for(sent["run_id"].as_str().unwrap(), 11, WAIT);
    let types: BTreeSet<&str> = records.iter().map(|record| record.value["type"].as_str().unwrap()).collect();
    let expected =
        ["add_tag", "blob_ref", "create_run", "finish_run", "log_custom_object", "log_hparams", "log_metric", "set_run_property"];
    assert_eq!(types, expected.into(), "{records:#?}");
    // The image went through presign over https: its object holds the bytes.
    let blob = records.iter().find(|record| record.value["type"] == "blob_ref").unwrap();
    let image: Vec<u8> = sent["image_bytes"].as_array().unwrap().iter().map(|byte| byte.as_u64().unwrap() as u8).collect();
    assert_eq!(s3_get(blob.value["payload"]["s3_key"].as_str().unwrap()), (200, image));
}

#[test]
fn bad_tls_settings_stop_the_frontier_at_startup() {
    let pki = TestPki::new();
    let (cert, key) = (pki.path("cert.pem"), pki.path("key.pem"));
    let missing = pki.path("missing.pem");
    let garbage = pki.path("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\n!!garbage!!\n-----END CERTIFICATE-----\n").unwrap();
    let other = TestPki::new();
    let other_key = other.path("key.pem");
    // Each bad setting and the line the frontier exits with (status 2) before it listens.
    let cases: [(&[(&str, &str)], String); 4] = [
        (
            &[("TLS_CERT_FILE", &cert)],
            "TLS_KEY_FILE: unset while TLS_CERT_FILE is set: TLS needs the certificate chain and its key (neither serves plain HTTP)"
                .to_string(),
        ),
        (
            &[("TLS_CERT_FILE", &missing), ("TLS_KEY_FILE", &key)],
            format!("TLS_CERT_FILE: cannot read {missing}: No such file or directory (os error 2)"),
        ),
        (&[("TLS_CERT_FILE", &garbage), ("TLS_KEY_FILE", &key)], format!("TLS_CERT_FILE: {garbage} is not valid PEM: base64 decode error")),
        (
            &[("TLS_CERT_FILE", &cert), ("TLS_KEY_FILE", &other_key)],
            format!("TLS_KEY_FILE: the key in {other_key} is not the key of the certificate in {cert}"),
        ),
    ];
    for (settings, expected) in cases {
        let Err(refusal) = Frontier::try_start(settings) else { panic!("started with {settings:?}") };
        assert!(refusal.starts_with("frontier exited with exit status: 2"), "{refusal}");
        assert!(refusal.contains(&format!("matyan-frontier: invalid configuration: {expected}")), "{settings:?}: {refusal}");
    }
}
