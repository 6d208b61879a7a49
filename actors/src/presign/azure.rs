//! Azure Blob Storage: a write-only SAS (`cw`) for one blob, signed with the
//! account key from `AZURE_CONN_STR`, or with a user delegation key that the
//! service fetches with its own Azure AD credential for `AZURE_ACCOUNT_URL`
//! (reused until shortly before it expires). Container creation and readiness
//! use an account SAS, or the AD token.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use super::azure_credential::{AzureAdSettings, AzureCredential, TokenError};
use super::azure_sas::{hmac_sha256_base64, iso, BlobSas, SasKey, UserDelegationKey, SAS_VERSION};
use super::url::{encode_component, encode_key};
use super::{
    BlobStore, BucketCreation, BucketName, BucketStatus, PresignError, SignedPut, SigningError, StoreError, StoreSetupError, STORE_TIMEOUT,
};
use crate::secret::Secret;
use crate::ttl_cache::TtlCache;

/// A delegation key is asked for this long (Azure allows 7 days at most).
const DELEGATION_KEY_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600 - 3600);
/// A key signs a SAS only while the SAS, plus this margin (clocks), ends before the key does.
const DELEGATION_KEY_MARGIN: Duration = Duration::from_secs(3600);
/// A key too short-lived to cover even one SAS and the margin is still reused
/// this long (the SAS is then cut to the key's end): not a fetch per presign.
const SHORT_KEY_REUSE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct AzureSettings {
    pub container: String,
    pub conn_str: Option<Secret>,
    pub account_url: Option<String>,
    /// The AD credential for user-delegation SAS (without `conn_str`).
    pub credential: AzureAdSettings,
    /// `SSL_CERT_FILE`: PEM roots replacing the bundled ones.
    pub tls_roots: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum AzureConfigError {
    #[error("AZURE_CONN_STR: {0}")]
    ConnectionString(String),
    #[error("AZURE_ACCOUNT_URL: {0}")]
    AccountUrl(String),
    #[error("azure needs AZURE_CONN_STR or AZURE_ACCOUNT_URL")]
    Missing,
}

/// Why no user delegation key could be had.
#[derive(Debug, thiserror::Error)]
pub enum DelegationKeyError {
    #[error(transparent)]
    Token(#[from] Arc<TokenError>),
    #[error("Get User Delegation Key: {0}")]
    Request(ureq::Error),
    #[error(transparent)]
    Body(ureq::Error),
    #[error("Get User Delegation Key answered {status}: {body}")]
    Status { status: http::StatusCode, body: String },
    #[error("Get User Delegation Key: no <{0}> in the answer")]
    MissingField(&'static str),
}

/// A user delegation key and when Azure ends it: a SAS signed with it is void from then on.
#[derive(Clone)]
struct DelegationKey {
    key: UserDelegationKey,
    expires: DateTime<Utc>,
}

impl DelegationKey {
    /// How long this key may sign SAS tokens valid for `sas_life`: while
    /// `now + sas_life + margin` is before its end, or a short while when even a fresh key is too short.
    fn reuse_for(&self, now: DateTime<Utc>, sas_life: Duration) -> Duration {
        let until_margin = (self.expires - now).to_std().unwrap_or_default().saturating_sub(DELEGATION_KEY_MARGIN);
        match until_margin.checked_sub(sas_life) {
            Some(reuse) if !reuse.is_zero() => reuse,
            _ => until_margin.min(SHORT_KEY_REUSE),
        }
    }

    /// A SAS's end: `now + sas_life`, never after the key's own.
    fn sas_expiry(&self, now: DateTime<Utc>, sas_life: Duration) -> DateTime<Utc> {
        let wanted = chrono::Duration::from_std(sas_life).map_or(self.expires, |life| now + life);
        wanted.min(self.expires)
    }
}

/// The service's AD credential, and the token and delegation key it last fetched.
struct Delegation {
    credential: AzureCredential,
    token: TtlCache<Result<String, Arc<TokenError>>>,
    key: TtlCache<Result<DelegationKey, Arc<DelegationKeyError>>>,
}

impl Delegation {
    fn token(&self, agent: &ureq::Agent) -> Result<String, Arc<TokenError>> {
        self.token.get_or_try_refresh(|| self.credential.fetch_token(agent))
    }
}

enum Auth {
    AccountKey(String),
    Delegation(Box<Delegation>),
}

pub struct AzureStore {
    account: String,
    /// `https://<account>.blob.core.windows.net`, or an emulator's `http://host:port/<account>`.
    blob_endpoint: String,
    container: BucketName,
    auth: Auth,
    agent: ureq::Agent,
}

/// Account name, key and blob endpoint from a storage connection string.
fn parse_connection_string(conn_str: &str) -> Result<(String, String, String), AzureConfigError> {
    let field = |name: &str| {
        conn_str
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    if field("UseDevelopmentStorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        let account = "devstoreaccount1".to_string();
        let key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==".to_string();
        return Ok((account, key, "http://127.0.0.1:10000/devstoreaccount1".into()));
    }
    let missing = |name: &str| AzureConfigError::ConnectionString(format!("no {name}"));
    let account = field("AccountName").ok_or_else(|| missing("AccountName"))?;
    let key = field("AccountKey").ok_or_else(|| missing("AccountKey"))?;
    let endpoint = match field("BlobEndpoint") {
        Some(endpoint) => endpoint,
        None => {
            let protocol = field("DefaultEndpointsProtocol").unwrap_or_else(|| "https".into());
            let suffix = field("EndpointSuffix").unwrap_or_else(|| "core.windows.net".into());
            format!("{protocol}://{account}.blob.{suffix}")
        }
    };
    Ok((account, key, endpoint.trim_end_matches('/').to_string()))
}

/// The account of an account URL: the first path segment for emulator-style
/// URLs (`http://127.0.0.1:10000/devstoreaccount1`), else the host's first label.
fn account_of(url: &str) -> Result<String, AzureConfigError> {
    let rest = url.split_once("://").map(|(_, rest)| rest).ok_or_else(|| AzureConfigError::AccountUrl(format!("'{url}' is not a URL")))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let account = match path.split('/').find(|s| !s.is_empty()) {
        Some(segment) => segment,
        None => host.split('.').next().unwrap_or_default(),
    };
    if account.is_empty() {
        return Err(AzureConfigError::AccountUrl(format!("no account name in '{url}'")));
    }
    Ok(account.to_string())
}

fn xml_text<'x>(xml: &'x str, tag: &str) -> Option<&'x str> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

impl AzureStore {
    pub fn new(settings: AzureSettings) -> Result<Self, StoreSetupError> {
        let agent = super::store_agent(STORE_TIMEOUT, settings.tls_roots.as_deref())?;
        let (account, blob_endpoint, auth) = match (&settings.conn_str, &settings.account_url) {
            (Some(conn_str), _) => {
                let (account, key, endpoint) = parse_connection_string(conn_str.expose())?;
                (account, endpoint, Auth::AccountKey(key))
            }
            (None, Some(url)) => {
                let credential = AzureCredential::new(settings.credential.clone());
                let auth = Auth::Delegation(Box::new(Delegation { credential, token: TtlCache::default(), key: TtlCache::default() }));
                (account_of(url)?, url.trim_end_matches('/').to_string(), auth)
            }
            (None, None) => return Err(AzureConfigError::Missing.into()),
        };
        Ok(Self { account, blob_endpoint, container: BucketName::container(&settings.container), auth, agent })
    }

    /// An account SAS for container management (create, get properties).
    fn account_sas(&self, account_key: &str) -> Result<String, SigningError> {
        let expiry = iso(Utc::now() + chrono::Duration::minutes(10));
        let string_to_sign = format!("{}\nrc\nb\nc\n\n{expiry}\n\n\n{SAS_VERSION}\n\n", self.account);
        let signature = hmac_sha256_base64(account_key, &string_to_sign)?;
        Ok(format!("sv={SAS_VERSION}&ss=b&srt=c&sp=rc&se={}&sig={}", encode_component(&expiry), encode_component(&signature)))
    }

    /// Sends a container request; answers the HTTP status.
    fn container_request(&self, method: &str) -> Result<u16, StoreError> {
        let mut url = format!("{}/{}?restype=container", self.blob_endpoint, encode_component(self.container.name()));
        let mut request = http::Request::builder().method(method).header("x-ms-version", SAS_VERSION);
        match &self.auth {
            Auth::AccountKey(key) => url = format!("{url}&{}", self.account_sas(key)?),
            Auth::Delegation(delegation) => request = request.header("authorization", format!("Bearer {}", delegation.token(&self.agent)?)),
        }
        let request = request.uri(url).body(Vec::new()).map_err(SigningError::from)?;
        let response = self.agent.run(request).map_err(StoreError::unreachable(&self.blob_endpoint))?;
        Ok(response.status().as_u16())
    }

    /// The user delegation key for SAS tokens valid for `sas_life`, fetched
    /// again before a SAS signed with it could outlive it.
    fn delegation_key(&self, delegation: &Delegation, sas_life: Duration) -> Result<DelegationKey, Arc<DelegationKeyError>> {
        delegation.key.get_or_try_refresh(|| {
            let key = self.fetch_delegation_key(delegation)?;
            let reuse_for = key.reuse_for(Utc::now(), sas_life);
            Ok((key, reuse_for))
        })
    }

    /// A new delegation key.
    fn fetch_delegation_key(&self, delegation: &Delegation) -> Result<DelegationKey, DelegationKeyError> {
        let start = Utc::now() - chrono::Duration::minutes(5);
        let expiry = Utc::now() + DELEGATION_KEY_LIFETIME;
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><KeyInfo><Start>{}</Start><Expiry>{}</Expiry></KeyInfo>",
            iso(start),
            iso(expiry)
        );
        let url = format!("{}/?restype=service&comp=userdelegationkey", self.blob_endpoint);
        let mut response = self
            .agent
            .post(&url)
            .header("authorization", format!("Bearer {}", delegation.token(&self.agent)?))
            .header("x-ms-version", SAS_VERSION)
            .send(body)
            .map_err(DelegationKeyError::Request)?;
        let xml = response.body_mut().read_to_string().map_err(DelegationKeyError::Body)?;
        if response.status() != 200 {
            return Err(DelegationKeyError::Status { status: response.status(), body: xml });
        }
        let field = |tag| xml_text(&xml, tag).map(str::to_string).ok_or(DelegationKeyError::MissingField(tag));
        let key = UserDelegationKey {
            signed_oid: field("SignedOid")?,
            signed_tid: field("SignedTid")?,
            signed_start: field("SignedStart")?,
            signed_expiry: field("SignedExpiry")?,
            signed_service: field("SignedService")?,
            signed_version: field("SignedVersion")?,
            value: field("Value")?,
        };
        // Azure may shorten what was asked: its answer says when the key ends.
        let expires = DateTime::parse_from_rfc3339(&key.signed_expiry).map(|t| t.with_timezone(&Utc)).unwrap_or(expiry);
        Ok(DelegationKey { key, expires })
    }
}

impl BlobStore for AzureStore {
    fn presign_put(&self, key: &str, _content_type: &str, expiry: Duration, now: SystemTime) -> Result<SignedPut, PresignError> {
        let now = DateTime::<Utc>::from(now);
        let mut sas = BlobSas {
            account: &self.account,
            container: self.container.name(),
            blob: key,
            permissions: "cw",
            // A little slack for clocks that run behind ours.
            start: Some(now - chrono::Duration::minutes(5)),
            expiry: now + expiry,
            protocol: None,
            version: SAS_VERSION,
        };
        let token = match &self.auth {
            Auth::AccountKey(account_key) => sas.token(&SasKey::Account(account_key)),
            Auth::Delegation(delegation) => {
                let key = self.delegation_key(delegation, expiry).map_err(StoreError::from)?;
                sas.expiry = key.sas_expiry(now, expiry);
                sas.token(&SasKey::Delegation(&key.key))
            }
        }?;
        let url = format!("{}/{}/{}?{token}", self.blob_endpoint, encode_component(self.container.name()), encode_key(key));
        let headers = serde_json::Map::from_iter([("x-ms-blob-type".to_string(), serde_json::Value::from("BlockBlob"))]);
        Ok(SignedPut { url, headers: Some(headers) })
    }

    fn bucket(&self) -> &BucketName {
        &self.container
    }

    fn bucket_status(&self) -> Result<BucketStatus, StoreError> {
        self.container.lookup_answer(self.container_request("GET")?)
    }

    fn create_bucket(&self) -> Result<BucketCreation, StoreError> {
        self.container.creation_answer(self.container_request("PUT")?, 201)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings() {
        let azurite = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";
        assert_eq!(
            parse_connection_string(azurite).unwrap(),
            ("devstoreaccount1".into(), "a2V5".into(), "http://127.0.0.1:10000/devstoreaccount1".into())
        );
        let cloud = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net";
        assert_eq!(parse_connection_string(cloud).unwrap().2, "https://acct.blob.core.windows.net");
        assert_eq!(parse_connection_string("UseDevelopmentStorage=true").unwrap().0, "devstoreaccount1");
        assert!(matches!(parse_connection_string("AccountName=a"), Err(AzureConfigError::ConnectionString(_))));
    }

    #[test]
    fn account_urls() {
        assert_eq!(account_of("https://acct.blob.core.windows.net").unwrap(), "acct");
        assert_eq!(account_of("https://127.0.0.1:10000/devstoreaccount1/").unwrap(), "devstoreaccount1");
        assert!(account_of("not a url").is_err());
    }

    /// A stand-in for Azure AD and Get User Delegation Key on 127.0.0.1: each
    /// key it hands out ends `key_life` after it is asked for; counts the keys.
    struct FakeAzure {
        port: u16,
        key_life: Arc<std::sync::Mutex<Duration>>,
        keys_fetched: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl FakeAzure {
        fn start() -> Self {
            use std::io::{Read, Write};
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let key_life = Arc::new(std::sync::Mutex::new(Duration::from_secs(3600)));
            let keys_fetched = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let (life, fetched) = (Arc::clone(&key_life), Arc::clone(&keys_fetched));
            std::thread::spawn(move || {
                for mut stream in listener.incoming().map_while(Result::ok) {
                    let mut request = Vec::new();
                    let mut buf = [0; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        let n = stream.read(&mut buf).unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        request.extend_from_slice(&buf[..n]);
                    }
                    let head = String::from_utf8_lossy(&request).to_string();
                    let body = if head.contains("comp=userdelegationkey") {
                        fetched.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let now = Utc::now();
                        let expiry = iso(now + *life.lock().unwrap());
                        format!(
                            "<UserDelegationKey><SignedOid>o</SignedOid><SignedTid>t</SignedTid><SignedStart>{}</SignedStart>\
<SignedExpiry>{expiry}</SignedExpiry><SignedService>b</SignedService><SignedVersion>{SAS_VERSION}</SignedVersion>\
<Value>a2V5</Value></UserDelegationKey>",
                            iso(now)
                        )
                    } else {
                        r#"{"access_token": "token", "expires_in": 3600}"#.to_string()
                    };
                    let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                    let _ = stream.write_all(answer.as_bytes());
                }
            });
            Self { port, key_life, keys_fetched }
        }

        fn store(&self) -> AzureStore {
            let authority_host = format!("http://127.0.0.1:{}", self.port);
            let credential = AzureAdSettings {
                tenant_id: Some("tenant".into()),
                client_id: Some("client".into()),
                client_secret: Some("secret".into()),
                federated_token_file: None,
                authority_host: authority_host.clone(),
            };
            let account_url = Some(format!("{authority_host}/devstoreaccount1"));
            AzureStore::new(AzureSettings { container: "c".into(), conn_str: None, account_url, credential, tls_roots: None }).unwrap()
        }

        fn keys_fetched(&self) -> usize {
            self.keys_fetched.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    /// A query parameter of a presigned URL, as a time.
    fn time_param(url: &str, name: &str) -> DateTime<Utc> {
        let value = url.split(['?', '&']).find_map(|pair| pair.strip_prefix(&format!("{name}="))).unwrap();
        let value = percent_encoding::percent_decode_str(value).decode_utf8().unwrap();
        DateTime::parse_from_rfc3339(&value).unwrap().with_timezone(&Utc)
    }

    /// With keys that end soon after a SAS would: each SAS ends no later than
    /// its key (`se` <= `ske`), and a key is replaced once a SAS signed now,
    /// plus the margin, would outlive it.
    #[test]
    fn a_user_delegation_sas_never_outlives_its_key() {
        let azure = FakeAzure::start();
        let store = azure.store();
        let sas_life = Duration::from_secs(600);
        let presign = || store.presign_put("run/a.png", "image/png", sas_life, SystemTime::now()).unwrap().url;

        // Keys that cover a SAS and the margin for 2 more seconds: reused that long, then replaced.
        *azure.key_life.lock().unwrap() = sas_life + DELEGATION_KEY_MARGIN + Duration::from_secs(2);
        let first = presign();
        assert_eq!(time_param(&first, "se") - time_param(&first, "st"), chrono::Duration::minutes(15), "the full life while it fits");
        assert!(time_param(&first, "se") <= time_param(&first, "ske"));
        presign();
        assert_eq!(azure.keys_fetched(), 1, "reused while a SAS signed now ends a margin before the key");
        std::thread::sleep(Duration::from_millis(2100));
        let later = presign();
        assert_eq!(azure.keys_fetched(), 2, "replaced once a SAS signed now could outlive it");
        assert!(time_param(&later, "ske") > time_param(&first, "ske"));

        // Keys shorter than one SAS (Azure may shorten what was asked): the SAS is cut to the key's end.
        *azure.key_life.lock().unwrap() = Duration::from_secs(300);
        std::thread::sleep(Duration::from_millis(2100));
        let cut = presign();
        assert_eq!(azure.keys_fetched(), 3);
        assert_eq!(time_param(&cut, "se"), time_param(&cut, "ske"), "cut to the key's end: {cut}");
    }

    #[test]
    fn delegation_key_xml() {
        let xml = "<UserDelegationKey><SignedOid>o</SignedOid><Value>dmFs</Value></UserDelegationKey>";
        assert_eq!(xml_text(xml, "SignedOid"), Some("o"));
        assert_eq!(xml_text(xml, "Value"), Some("dmFs"));
        assert_eq!(xml_text(xml, "SignedTid"), None);
    }
}
