//! The presign actor: owns the blob store client and answers presign
//! requests, bucket creation and readiness checks through its mailbox.
//!
//! Each backend is a [`BlobStore`]; the actor and the HTTP route do not change
//! when a backend is added.

mod azure;
mod azure_credential;
pub mod azure_sas;
mod bucket;
mod error;
mod gcs;
mod gcs_signer;
mod s3;
mod url;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix::prelude::*;
use serde::Serialize;

pub use azure::{AzureConfigError, AzureSettings, AzureStore, DelegationKeyError};
pub use azure_credential::{AzureAdSettings, TokenError};
pub use bucket::{BucketCreation, BucketName, BucketStatus};
pub use error::{PresignError, SigningError, StoreError};
pub use gcs::{GcsSettings, GcsStore};
pub use gcs_signer::GcsKeyError;
pub use s3::{S3Settings, S3Store};

use crate::health::{Health, PROBE_TTL};
use crate::ids::artifact_key;
use crate::ttl_cache::TtlCache;

/// Time limit of each request to a store. Readiness waits for the bucket
/// lookup beside Kafka's 2 s metadata check, so a hung store should not hold
/// a probe much longer; Azure's token and delegation-key fetches are separate
/// requests, each with this limit, so they need no larger one.
const STORE_TIMEOUT: Duration = Duration::from_secs(3);

/// A URL the client PUTs the bytes to, with the headers it must send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PresignedUpload {
    pub upload_url: String,
    pub s3_key: String,
    pub headers: UploadHeaders,
}

/// Extra headers the client must send with its PUT (Azure needs one).
pub type UploadHeaders = Option<serde_json::Map<String, serde_json::Value>>;

/// What a store signs: the URL, and the headers to send with the PUT.
pub struct SignedPut {
    pub url: String,
    pub headers: UploadHeaders,
}

/// One blob backend: signs uploads offline, and talks to the store about its
/// bucket (blocking calls, run off the actor's thread). What to do with the
/// answers is written once, in `bucket`.
pub trait BlobStore: Send + Sync + 'static {
    fn presign_put(&self, key: &str, content_type: &str, expiry: Duration, now: SystemTime) -> Result<SignedPut, PresignError>;
    /// The bucket (or container) uploads go to.
    fn bucket(&self) -> &BucketName;
    fn bucket_status(&self) -> Result<BucketStatus, StoreError>;
    fn create_bucket(&self) -> Result<BucketCreation, StoreError>;
}

/// The blob store's readiness; the reason is shared by the probes that reuse it.
pub type BlobHealth = Health<Arc<StoreError>>;

/// Why a blob store could not be set up at startup.
#[derive(Debug, thiserror::Error)]
pub enum StoreSetupError {
    #[error("GOOGLE_APPLICATION_CREDENTIALS: {0}")]
    GcsKey(#[from] GcsKeyError),
    #[error(transparent)]
    Azure(#[from] AzureConfigError),
    #[error("{0}")]
    Tls(String),
}

/// The blocking HTTP client of the stores. `tls_roots` (`SSL_CERT_FILE`), when
/// set, replaces the bundled root certificates (as with OpenSSL), e.g. for a private CA.
fn store_agent(timeout: Duration, tls_roots: Option<&Path>) -> Result<ureq::Agent, StoreSetupError> {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(path) = tls_roots {
        let pem = std::fs::read(path).map_err(|e| StoreSetupError::Tls(format!("SSL_CERT_FILE {}: {e}", path.display())))?;
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert.to_owned()),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(StoreSetupError::Tls(format!("SSL_CERT_FILE {}: no certificate", path.display())));
        }
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    Ok(ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(timeout)).tls_config(tls.build()).build().new_agent())
}

#[derive(Debug, Message)]
#[rtype(result = "Result<PresignedUpload, PresignError>")]
pub struct Presign {
    pub run_id: String,
    pub artifact_path: String,
    pub content_type: String,
}

/// Create the bucket if it is missing (at startup).
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct EnsureBucket;

/// Is the bucket there? (cached for a second)
#[derive(Message)]
#[rtype(result = "BlobHealth")]
pub struct CheckBlobStore;

pub struct PresignActor {
    store: Arc<dyn BlobStore>,
    expiry: Duration,
    bucket_check: Arc<TtlCache<BlobHealth>>,
}

impl PresignActor {
    pub fn new(store: Arc<dyn BlobStore>, expiry: Duration) -> Self {
        Self { store, expiry, bucket_check: Arc::default() }
    }
}

impl Actor for PresignActor {
    type Context = Context<Self>;
}

fn valid_content_type(content_type: &str) -> bool {
    (1..=255).contains(&content_type.len()) && content_type.bytes().all(|b| (0x20..0x7f).contains(&b))
}

impl Handler<Presign> for PresignActor {
    type Result = ResponseFuture<Result<PresignedUpload, PresignError>>;

    fn handle(&mut self, msg: Presign, _: &mut Context<Self>) -> Self::Result {
        let store = Arc::clone(&self.store);
        let expiry = self.expiry;
        Box::pin(async move {
            let s3_key = artifact_key(&msg.run_id, &msg.artifact_path)?;
            if !valid_content_type(&msg.content_type) {
                return Err(PresignError::InvalidContentType);
            }
            // Signing is offline for S3 and GCS, but Azure's delegation key may need a fetch.
            let (signed, s3_key) =
                tokio::task::spawn_blocking(move || (store.presign_put(&s3_key, &msg.content_type, expiry, SystemTime::now()), s3_key))
                    .await
                    .map_err(SigningError::from)?;
            let SignedPut { url: upload_url, headers } = signed?;
            Ok(PresignedUpload { upload_url, s3_key, headers })
        })
    }
}

impl Handler<EnsureBucket> for PresignActor {
    type Result = ResponseFuture<Result<(), StoreError>>;

    fn handle(&mut self, _: EnsureBucket, _: &mut Context<Self>) -> Self::Result {
        let store = Arc::clone(&self.store);
        Box::pin(async move { tokio::task::spawn_blocking(move || bucket::ensure_bucket(&*store)).await? })
    }
}

impl Handler<CheckBlobStore> for PresignActor {
    type Result = ResponseFuture<BlobHealth>;

    fn handle(&mut self, _: CheckBlobStore, _: &mut Context<Self>) -> Self::Result {
        let store = Arc::clone(&self.store);
        let cache = Arc::clone(&self.bucket_check);
        let check =
            tokio::task::spawn_blocking(move || cache.get_or_refresh(|| (bucket::bucket_health(&*store).map_reason(Arc::new), PROBE_TTL)));
        Box::pin(async move { check.await.unwrap_or_else(|e| Health::Unready(Arc::new(StoreError::Interrupted(e)))) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(valid_content_type("image/png"));
        assert!(valid_content_type("text/plain; charset=utf-8"));
        assert!(!valid_content_type(""));
        assert!(!valid_content_type("text/plain\r\nX-Evil: 1"));
        assert!(!valid_content_type(&"a".repeat(256)));
    }
}
