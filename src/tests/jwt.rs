//! JWT bearer tokens, in-process: keys generated here, a JWKS from a file or
//! from a loopback HTTP server, and what each bad token gets at the upgrade.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::fakes::{FakeProducer, FakeStore};
use super::gateway::TestGateway;

const ISSUER: &str = "https://idp.test";
const AUDIENCE: &str = "matyan";

/// A signing key and its public JWK.
struct TestKey {
    signing: EncodingKey,
    public: Value,
    /// What an attacker has: the public key's bytes (X.509 DER for RSA).
    public_bytes: Vec<u8>,
}

/// The content of the DER element at the start of `der`, and what follows it.
fn der_element(der: &[u8]) -> (&[u8], &[u8]) {
    let (length, header) = match der[1] {
        short if short < 0x80 => (short as usize, 2),
        long => {
            let count = (long & 0x7f) as usize;
            (der[2..2 + count].iter().fold(0, |n, byte| n << 8 | *byte as usize), 2 + count)
        }
    };
    (&der[header..header + length], &der[header + length..])
}

fn rsa_key(kid: &str) -> TestKey {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    // PKCS#8 { version, algorithm, OCTET STRING { PKCS#1 key } }: jsonwebtoken signs with PKCS#1.
    let pkcs8 = pair.as_der().unwrap();
    let (info, _) = der_element(pkcs8.as_ref());
    let (_, after_version) = der_element(info);
    let (_, after_algorithm) = der_element(after_version);
    let (pkcs1, _) = der_element(after_algorithm);
    let public = pair.public_key();
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    TestKey {
        signing: EncodingKey::from_rsa_der(pkcs1),
        public: json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero())}),
        public_bytes: public.as_der().unwrap().as_ref().to_vec(),
    }
}

fn ec_key(kid: &str) -> TestKey {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    TestKey {
        signing: EncodingKey::from_ec_der(pkcs8.as_ref()),
        public: json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..])}),
        public_bytes: point,
    }
}

fn jwks(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|key| key.public.clone()).collect::<Vec<_>>()}).to_string()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Claims good for an hour, for runs starting `team-a-`.
fn claims() -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "ci-job", "exp": now() + 3600, "matyan_run_prefix": "team-a-"})
}

fn sign(alg: Algorithm, kid: &str, key: &EncodingKey, claims: &Value) -> String {
    let header = Header { kid: Some(kid.to_string()), ..Header::new(alg) };
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn with(changes: Value) -> Value {
    let mut claims = claims();
    for (name, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => claims.as_object_mut().unwrap().remove(name),
            value => claims.as_object_mut().unwrap().insert(name.clone(), value.clone()),
        };
    }
    claims
}

/// The upgrade's answer to `token` for `run_id`: 101, or the refusal's status.
fn status(gateway: &TestGateway, run_id: &str, token: &str) -> u16 {
    gateway.ws(run_id, Some(token)).map_or_else(|status| status, |_| 101)
}

fn jwt_gateway(extra: &[(&str, &str)]) -> TestGateway {
    let vars = [("AUTH_JWT_ISSUER", ISSUER), ("AUTH_JWT_AUDIENCE", AUDIENCE), ("AUTH_TOKENS", "static-token:=run-1")];
    TestGateway::start(&[&vars[..], extra].concat(), FakeProducer::acking(), FakeStore::healthy())
}

#[test]
fn jwts_signed_by_a_jwks_file_key_and_what_each_bad_one_gets() {
    let (rsa, ec, stranger) = (rsa_key("rsa-1"), ec_key("ec-1"), rsa_key("rsa-1"));
    let file = std::env::temp_dir().join(format!("matyan-jwks-{}.json", std::process::id()));
    std::fs::write(&file, jwks(&[&rsa, &ec])).unwrap();
    let gateway = jwt_gateway(&[("AUTH_JWKS_FILE", file.to_str().unwrap())]);
    let rs256 = |claims: &Value| sign(Algorithm::RS256, "rsa-1", &rsa.signing, claims);

    // Accepted: RS256 and ES256 for their runs; a prefix list; an exact run; 10 s past `exp` (30 s leeway).
    assert_eq!(status(&gateway, "team-a-1", &rs256(&claims())), 101);
    assert_eq!(status(&gateway, "team-a-1", &sign(Algorithm::ES256, "ec-1", &ec.signing, &claims())), 101);
    assert_eq!(status(&gateway, "team-b-1", &rs256(&with(json!({"matyan_run_prefix": ["team-a-", "team-b-"]})))), 101);
    assert_eq!(status(&gateway, "run-7", &rs256(&with(json!({"matyan_run_prefix": "=run-7"})))), 101);
    assert_eq!(status(&gateway, "team-a-1", &rs256(&with(json!({"exp": now() - 10})))), 101);
    // Static tokens still work beside JWTs.
    assert_eq!(status(&gateway, "run-1", "static-token"), 101);

    // 401: expired past the leeway; wrong audience; wrong issuer; not valid yet; no `exp`;
    // `nbf` of the wrong type (must not pass as absent); no `aud`.
    for claims in [
        json!({"exp": now() - 120}),
        json!({"aud": "someone-else"}),
        json!({"iss": "https://evil.test"}),
        json!({"nbf": now() + 600}),
        json!({"exp": null}),
        json!({"nbf": "99999999999"}),
        json!({"aud": null}),
    ] {
        assert_eq!(status(&gateway, "team-a-1", &rs256(&with(claims.clone()))), 401, "{claims}");
    }
    // 401: signed by another key under the known kid; an unknown kid.
    assert_eq!(status(&gateway, "team-a-1", &sign(Algorithm::RS256, "rsa-1", &stranger.signing, &claims())), 401);
    assert_eq!(status(&gateway, "team-a-1", &sign(Algorithm::RS256, "rsa-9", &stranger.signing, &claims())), 401);
    // 401: tampered (the payload swapped for one granting every run, the signature kept).
    let good = rs256(&claims());
    let parts: Vec<&str> = good.split('.').collect();
    let forged_payload = URL_SAFE_NO_PAD.encode(with(json!({"matyan_run_prefix": "t"})).to_string());
    assert_eq!(status(&gateway, "team-a-1", &format!("{}.{forged_payload}.{}", parts[0], parts[2])), 401);
    // 401: `alg: none`, unsigned.
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#);
    assert_eq!(status(&gateway, "team-a-1", &format!("{none_header}.{}.", parts[1])), 401);
    // 401: HS256 keyed with the RSA or EC public key (algorithm confusion).
    for public in [&rsa.public_bytes, &ec.public_bytes] {
        let kid = if public == &rsa.public_bytes { "rsa-1" } else { "ec-1" };
        assert_eq!(status(&gateway, "team-a-1", &sign(Algorithm::HS256, kid, &EncodingKey::from_secret(public), &claims())), 401);
    }
    // 401: RS256 claimed for the EC key.
    assert_eq!(status(&gateway, "team-a-1", &sign(Algorithm::RS256, "ec-1", &rsa.signing, &claims())), 401);

    // 403: no run claim; an empty one; a run outside the prefix.
    assert_eq!(status(&gateway, "team-a-1", &rs256(&with(json!({"matyan_run_prefix": null})))), 403);
    assert_eq!(status(&gateway, "team-a-1", &rs256(&with(json!({"matyan_run_prefix": ""})))), 403);
    assert_eq!(status(&gateway, "team-b-1", &rs256(&claims())), 403);
    std::fs::remove_file(file).unwrap();
}

#[test]
fn the_run_claim_is_configurable() {
    let rsa = rsa_key("k");
    let file = std::env::temp_dir().join(format!("matyan-jwks-claim-{}.json", std::process::id()));
    std::fs::write(&file, jwks(&[&rsa])).unwrap();
    let gateway = jwt_gateway(&[("AUTH_JWKS_FILE", file.to_str().unwrap()), ("AUTH_JWT_RUN_CLAIM", "runs")]);
    let token = |claims: &Value| sign(Algorithm::RS256, "k", &rsa.signing, claims);
    assert_eq!(status(&gateway, "team-c-1", &token(&with(json!({"runs": ["team-c-"]})))), 101);
    assert_eq!(status(&gateway, "team-a-1", &token(&claims())), 403, "the default claim is not read");
    std::fs::remove_file(file).unwrap();
}

/// A JWKS server on 127.0.0.1: serves `jwks`, counts requests.
struct JwksServer {
    url: String,
    jwks: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    fn start(jwks: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        let (jwks, fetches) = (Arc::new(Mutex::new(jwks)), Arc::new(AtomicUsize::new(0)));
        let (served, count) = (Arc::clone(&jwks), Arc::clone(&fetches));
        std::thread::spawn(move || {
            for mut stream in listener.incoming().map_while(Result::ok) {
                let mut request = Vec::new();
                let mut buffer = [0; 1024];
                while !request.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                count.fetch_add(1, Ordering::SeqCst);
                let body = served.lock().unwrap().clone();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(format!("{head}{body}").as_bytes());
            }
        });
        Self { url, jwks, fetches }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[test]
fn a_rotated_key_is_fetched_from_the_jwks_url_without_letting_unknown_kids_hammer_it() {
    let (old, new) = (rsa_key("2026-old"), ec_key("2026-new"));
    let server = JwksServer::start(jwks(&[&old]));
    let gateway = jwt_gateway(&[("AUTH_JWKS_URL", &server.url), ("AUTH_JWKS_MIN_REFETCH", "1"), ("AUTH_JWKS_REFRESH", "3600")]);
    let old_token = sign(Algorithm::RS256, "2026-old", &old.signing, &claims());
    let new_token = sign(Algorithm::ES256, "2026-new", &new.signing, &claims());
    assert_eq!(server.fetches(), 0, "fetched on first use, not at startup");
    assert_eq!(status(&gateway, "team-a-1", &old_token), 101);
    assert_eq!(server.fetches(), 1);

    // The provider rotates. Within AUTH_JWKS_MIN_REFETCH of the last fetch, unknown kids
    // get 401 without a fetch: fifty made-up kids cost nothing.
    *server.jwks.lock().unwrap() = jwks(&[&new]);
    for n in 0..50 {
        let made_up = sign(Algorithm::RS256, &format!("made-up-{n}"), &old.signing, &claims());
        assert_eq!(status(&gateway, "team-a-1", &made_up), 401);
    }
    assert_eq!(status(&gateway, "team-a-1", &new_token), 401, "not fetched again yet");
    assert_eq!(server.fetches(), 1);

    // Past it, the first unknown kid fetches the set once: the new key is in, the old one out.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(status(&gateway, "team-a-1", &new_token), 101);
    assert_eq!(server.fetches(), 2);
    assert_eq!(status(&gateway, "team-a-1", &new_token), 101, "cached");
    assert_eq!(status(&gateway, "team-a-1", &old_token), 401, "the retired key no longer verifies");
    assert_eq!(server.fetches(), 2);
}

#[test]
fn the_jwks_is_refreshed_in_the_background_when_old() {
    let (first, second) = (ec_key("a"), ec_key("b"));
    let server = JwksServer::start(jwks(&[&first, &second]));
    let gateway = jwt_gateway(&[("AUTH_JWKS_URL", &server.url), ("AUTH_JWKS_REFRESH", "1"), ("AUTH_JWKS_MIN_REFETCH", "3600")]);
    let token = |key: &TestKey, kid: &str| sign(Algorithm::ES256, kid, &key.signing, &claims());
    assert_eq!(status(&gateway, "team-a-1", &token(&first, "a")), 101);
    assert_eq!(server.fetches(), 1);
    // Key `b` is withdrawn; once the set is older than AUTH_JWKS_REFRESH, a request served
    // from the cache starts a fetch in the background, and the next one sees the new set.
    *server.jwks.lock().unwrap() = jwks(&[&first]);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(status(&gateway, "team-a-1", &token(&second, "b")), 101, "served from the cache, not held up");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.fetches() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.fetches(), 2);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(status(&gateway, "team-a-1", &token(&second, "b")), 401, "withdrawn key refused after the refresh");
    assert_eq!(status(&gateway, "team-a-1", &token(&first, "a")), 101);
}
