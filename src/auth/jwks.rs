//! The keys JWTs are checked with: a JWKS (RFC 7517) read from a file or
//! fetched from a URL, kept in memory. Requests read the cached set; a fetch
//! happens on a token whose key id is unknown (at most once per
//! `min_refetch`, one at a time, so a flood of made-up key ids costs the key
//! server one request) and, in the background, once the set is older than
//! `refresh_every`. A failed fetch keeps the keys already held.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// How long a JWKS fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the key set comes from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    File(PathBuf),
    Url(String),
}

/// One public key and the signature algorithms it may check. Symmetric (`oct`)
/// keys are never taken, so HS256 signed with a public key cannot pass.
pub struct VerifyKey {
    pub key: DecodingKey,
    pub algorithms: Vec<Algorithm>,
}

#[derive(Default)]
pub struct KeySet {
    keys: Vec<(Option<String>, Arc<VerifyKey>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("cannot read {0}")]
    Unreadable(String),
    #[error("not a JWKS (a JSON object with a 'keys' list): {0}")]
    NotJwks(String),
    #[error("no usable signature key (RSA, EC P-256/P-384 or Ed25519)")]
    NoUsableKey,
}

impl KeySet {
    /// The set's signature keys; other entries (encryption keys, symmetric keys,
    /// unknown types) are skipped with a log line.
    pub fn parse(text: &str) -> Result<Self, JwksError> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document = serde_json::from_str(text).map_err(|e| JwksError::NotJwks(e.to_string()))?;
        let mut keys = Vec::new();
        for entry in document.keys {
            let kid = entry.get("kid").and_then(|kid| kid.as_str()).map(str::to_string);
            match serde_json::from_value::<Jwk>(entry).ok().and_then(|jwk| verify_key(&jwk)) {
                Some(key) => keys.push((kid, Arc::new(key))),
                None => log::info!("JWKS: key {kid:?} skipped (not a usable signature key)"),
            }
        }
        if keys.is_empty() {
            return Err(JwksError::NoUsableKey);
        }
        Ok(Self { keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key named `kid`; a token without one may use the set's only key.
    fn find(&self, kid: Option<&str>) -> Option<Arc<VerifyKey>> {
        match kid {
            Some(kid) => self.keys.iter().find(|(id, _)| id.as_deref() == Some(kid)).map(|(_, key)| Arc::clone(key)),
            None if self.keys.len() == 1 => Some(Arc::clone(&self.keys[0].1)),
            None => None,
        }
    }
}

fn verify_key(jwk: &Jwk) -> Option<VerifyKey> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => {
            vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::PS384, Algorithm::PS512]
        }
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => vec![Algorithm::EdDSA],
        AlgorithmParameters::OctetKeyPair(_) | AlgorithmParameters::OctetKey(_) => return None,
    };
    // A key that names its algorithm checks that one only.
    let algorithms = match jwk.common.key_algorithm {
        None => by_type,
        Some(named) => by_type.into_iter().filter(|alg| signing_algorithm(named) == Some(*alg)).collect(),
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    (!algorithms.is_empty()).then_some(VerifyKey { key, algorithms })
}

fn signing_algorithm(named: KeyAlgorithm) -> Option<Algorithm> {
    Some(match named {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

impl JwksSource {
    /// Reads or fetches the set (blocking: call it off the event loop).
    pub fn load(&self) -> Result<KeySet, JwksError> {
        let text = match self {
            Self::File(path) => std::fs::read_to_string(path).map_err(|e| JwksError::Unreadable(format!("{}: {e}", path.display())))?,
            Self::Url(url) => {
                let agent = ureq::Agent::config_builder().timeout_global(Some(FETCH_TIMEOUT)).build().new_agent();
                let fetched = agent.get(url).call().and_then(|mut response| response.body_mut().read_to_string());
                fetched.map_err(|e| JwksError::Unreadable(format!("{url}: {e}")))?
            }
        };
        KeySet::parse(&text)
    }
}

/// The cached key set and when to renew it.
pub struct JwksCache {
    source: JwksSource,
    keys: RwLock<Arc<KeySet>>,
    /// When the last fetch began (taken or not).
    last_fetch: Mutex<Option<Instant>>,
    /// Held during a fetch: one at a time.
    fetching: tokio::sync::Mutex<()>,
    refresh_every: Duration,
    min_refetch: Duration,
}

impl JwksCache {
    /// `initial` is the set already read (a file is read at startup); `None` fetches on first use.
    pub fn new(source: JwksSource, initial: Option<KeySet>, refresh_every: Duration, min_refetch: Duration) -> Self {
        let last_fetch = initial.as_ref().map(|_| Instant::now());
        Self {
            source,
            keys: RwLock::new(Arc::new(initial.unwrap_or_default())),
            last_fetch: Mutex::new(last_fetch),
            fetching: tokio::sync::Mutex::new(()),
            refresh_every,
            min_refetch,
        }
    }

    pub fn source(&self) -> &JwksSource {
        &self.source
    }

    fn current(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys.read().expect("the key set lock is never poisoned"))
    }

    fn fetched_within(&self, age: Duration) -> bool {
        self.last_fetch.lock().expect("never poisoned").is_some_and(|at| at.elapsed() < age)
    }

    /// The key for `kid`: from the cache, or after one refetch if it is unknown and none was tried lately.
    pub async fn key(self: &Arc<Self>, kid: Option<&str>) -> Option<Arc<VerifyKey>> {
        if let Some(key) = self.current().find(kid) {
            if !self.fetched_within(self.refresh_every) && self.fetching.try_lock().is_ok() {
                let cache = Arc::clone(self);
                actix_web::rt::spawn(async move { cache.refetch_unless_within(cache.refresh_every).await });
            }
            return Some(key);
        }
        if self.fetched_within(self.min_refetch) {
            return None;
        }
        self.refetch_unless_within(self.min_refetch).await;
        self.current().find(kid)
    }

    /// Fetches the set unless a fetch began less than `age` ago; callers that
    /// queue behind a fetch then find it recent and return.
    async fn refetch_unless_within(&self, age: Duration) {
        let _one_at_a_time = self.fetching.lock().await;
        if self.fetched_within(age) {
            return;
        }
        *self.last_fetch.lock().expect("never poisoned") = Some(Instant::now());
        let source = self.source.clone();
        match actix_web::rt::task::spawn_blocking(move || source.load()).await {
            Ok(Ok(set)) => {
                log::info!("JWKS: {} keys from {:?}", set.len(), self.source);
                *self.keys.write().expect("never poisoned") = Arc::new(set);
            }
            Ok(Err(error)) => log::warn!("JWKS: keeping the keys held: {error}"),
            Err(panic) => log::error!("JWKS: the fetch panicked: {panic}"),
        }
    }
}
