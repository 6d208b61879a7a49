//! Presign for Azure Blob against Azurite, which verifies SAS signatures: the
//! URL and headers upload exactly the bytes to exactly the key; a tampered or
//! expired SAS is refused; the user-delegation path works end to end against
//! Azurite over HTTPS with `--oauth basic` (it decodes bearer tokens without
//! verifying them, so a local token endpoint stands in for Azure AD).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use crate::support::*;
use base64::Engine;
use chrono::Utc;
use matyan_actors::presign::azure_sas::{BlobSas, SasKey};
use serde_json::{json, Value};

const ACCOUNT: &str = "devstoreaccount1";
const ACCOUNT_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn azurite() -> String {
    std::env::var("MATYAN_AZURITE").unwrap_or_else(|_| format!("http://127.0.0.1:10000/{ACCOUNT}"))
}

fn connection_string() -> String {
    format!("DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};BlobEndpoint={};", azurite())
}

fn container() -> String {
    format!("c{}", &unique_run_id()[..20])
}

fn presign(frontier: &Frontier, run_id: &str, artifact_path: &str) -> Value {
    let (status, answer) = post_json(
        &frontier.url("/api/v1/rest/artifacts/presign"),
        &json!({"run_id": run_id, "artifact_path": artifact_path, "content_type": "image/png"}).to_string(),
    );
    assert_eq!(status, 200, "{answer}");
    answer
}

/// PUTs with the returned headers, as matyan-client does.
fn upload(agent: &ureq::Agent, answer: &Value, bytes: &[u8]) -> u16 {
    let mut request = agent.put(answer["upload_url"].as_str().unwrap()).header("content-type", "image/png");
    for (name, value) in answer["headers"].as_object().unwrap() {
        request = request.header(name, value.as_str().unwrap());
    }
    request.send(bytes).unwrap().status().as_u16()
}

/// Reads a blob back with a read SAS signed by the account key.
fn read_blob(container: &str, key: &str) -> (u16, Vec<u8>) {
    let sas = BlobSas {
        account: ACCOUNT,
        container,
        blob: key,
        permissions: "r",
        start: None,
        expiry: Utc::now() + chrono::Duration::minutes(5),
        protocol: None,
        version: "2026-04-06",
    };
    let token = sas.token(&SasKey::Account(ACCOUNT_KEY)).unwrap();
    let mut response = http().get(&format!("{}/{container}/{}?{token}", azurite(), url_path(key))).call().unwrap();
    (response.status().as_u16(), response.body_mut().read_to_vec().unwrap())
}

#[test]
fn account_key_sas_uploads_the_exact_bytes_to_the_exact_key() {
    let container = container();
    let frontier =
        Frontier::start(&[("BLOB_BACKEND_TYPE", "azure"), ("AZURE_CONN_STR", &connection_string()), ("AZURE_CONTAINER", &container)]);
    let (status, _, body) = get(&frontier.url("/health/ready/"));
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()["checks"]["blob"].clone()),
        (200, json!("ok")),
        "container created at startup"
    );
    let run_id = unique_run_id();
    for (i, artifact_path) in ["images/step 1.png", "a+b=c;(d).bin", "100% done#1.txt", "ünï/日本/файл.bin"].into_iter().enumerate()
    {
        let answer = presign(&frontier, &run_id, artifact_path);
        let key = format!("{run_id}/{artifact_path}");
        assert_eq!(answer["s3_key"], key.as_str());
        assert_eq!(answer["headers"], json!({"x-ms-blob-type": "BlockBlob"}));
        let url = answer["upload_url"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/{container}/{}?", azurite(), url_path(&key))), "{url}");
        assert!(url.contains("sp=cw") && url.contains("sr=b"), "write-only, one blob: {url}");
        let bytes: Vec<u8> = (0..=255u8).cycle().skip(i).take(2500 + i).collect();
        assert_eq!(upload(&http(), &answer, &bytes), 201, "{artifact_path}");
        assert_eq!(read_blob(&container, &key), (200, bytes), "{artifact_path}");
    }
}

#[test]
fn tampered_and_expired_sas_are_refused() {
    let container = container();
    let frontier = Frontier::start(&[
        ("BLOB_BACKEND_TYPE", "azure"),
        ("AZURE_CONN_STR", &connection_string()),
        ("AZURE_CONTAINER", &container),
        ("S3_PRESIGN_EXPIRY", "2"),
    ]);
    let answer = presign(&frontier, "r1", "a.bin");
    let mut tampered = answer.clone();
    let url = answer["upload_url"].as_str().unwrap();
    tampered["upload_url"] = Value::from(url.replace("sp=cw", "sp=rcw"));
    assert_eq!(upload(&http(), &tampered, b"x"), 403, "a changed permission breaks the signature");
    let other_key = answer.clone();
    let mut other = other_key;
    other["upload_url"] = Value::from(url.replace("/r1/a.bin?", "/r1/b.bin?"));
    assert_eq!(upload(&http(), &other, b"x"), 403, "the SAS is for one blob only");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(upload(&http(), &answer, b"x"), 403, "expired");
}

/// A stand-in for Azure AD's token endpoint: answers every request with a
/// token whose claims Azurite checks (issuer, audience, validity).
fn token_endpoint() -> (String, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let tenant = "ab1f708d-50f6-404c-a006-d71b2ac7a606";
    let now = Utc::now().timestamp();
    let claims = json!({"aud": "https://storage.azure.com", "iss": format!("https://sts.windows.net/{tenant}/"), "nbf": now - 60, "iat": now - 60, "exp": now + 3600,
        "oid": "11059fcc-5514-4800-b5f8-49808b9cfab6", "tid": tenant});
    let jwt = format!("{}.{}.c2lnbmF0dXJl", b64(&json!({"alg": "RS256", "typ": "JWT"})), b64(&claims));
    let body = json!({"token_type": "Bearer", "expires_in": 3600, "access_token": jwt}).to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut request_body = vec![0; length];
            let _ = reader.read_exact(&mut request_body);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (format!("http://127.0.0.1:{port}"), jwt)
}

#[test]
fn user_delegation_sas_works_against_azurite_over_https() {
    let account_url = std::env::var("MATYAN_AZURITE_TLS").unwrap_or_else(|_| format!("https://127.0.0.1:10010/{ACCOUNT}"));
    let ca = std::env::var("MATYAN_AZURITE_CA").expect("MATYAN_AZURITE_CA is set by scripts/local-stack.sh env");
    let (authority, jwt) = token_endpoint();
    let container = container();
    let frontier = Frontier::start(&[
        ("BLOB_BACKEND_TYPE", "azure"),
        ("AZURE_ACCOUNT_URL", &account_url),
        ("AZURE_CONTAINER", &container),
        ("SSL_CERT_FILE", &ca),
        ("AZURE_AUTHORITY_HOST", &authority),
        ("AZURE_TENANT_ID", "ab1f708d-50f6-404c-a006-d71b2ac7a606"),
        ("AZURE_CLIENT_ID", "frontier"),
        ("AZURE_CLIENT_SECRET", "not-a-secret"),
    ]);
    let (status, _, body) = get(&frontier.url("/health/ready/"));
    assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()["checks"]["blob"].clone()), (200, json!("ok")), "{body}");

    let answer = presign(&frontier, "run-ud", "a dir/ü+1.png");
    let url = answer["upload_url"].as_str().unwrap();
    assert!(url.contains("skoid=11059fcc-5514-4800-b5f8-49808b9cfab6") && url.contains("sktid="), "a user-delegation SAS: {url}");
    let pem = std::fs::read(&ca).unwrap();
    let roots: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item.unwrap() {
            ureq::tls::PemItem::Certificate(cert) => Some(cert.to_owned()),
            _ => None,
        })
        .collect();
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::new_with_certs(&roots)).build();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).tls_config(tls).build().into();
    assert_eq!(upload(&agent, &answer, b"delegated bytes"), 201);
    let mut tampered = answer.clone();
    tampered["upload_url"] = Value::from(url.replace("sp=cw", "sp=rcw"));
    assert_eq!(upload(&agent, &tampered, b"x"), 403);
    let mut read = agent
        .get(&format!("{account_url}/{container}/run-ud/a%20dir/%C3%BC%2B1.png"))
        .header("authorization", format!("Bearer {jwt}"))
        .header("x-ms-version", "2026-04-06")
        .call()
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(read.body_mut().read_to_vec().unwrap(), b"delegated bytes");
}
