//! The presign actor: owns the blob store client and answers presign
//! requests, bucket creation and readiness checks through its mailbox.
//!
//! Each backend is a [`BlobStore`]; the actor and the HTTP route do not change
//! when a backend is added.

mod azure;
mod azure_credential;
pub mod azure_sas;
mod gcs;
mod gcs_signer;
mod s3;
mod url;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix::prelude::*;
use serde::Serialize;

pub use azure::{AzureConfigError, AzureSettings, AzureStore};
pub use azure_credential::AzureAdSettings;
pub use gcs::{GcsSettings, GcsStore};
pub use gcs_signer::GcsKeyError;
pub use s3::{S3Settings, S3Store};

use crate::ids::{artifact_key, IdError};
use crate::probe_cache::{CachedCheck, CheckResult, PROBE_TTL};

/// A URL the client PUTs the bytes to, with the headers it must send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PresignedUpload {
    pub upload_url: String,
    pub s3_key: String,
    pub headers: UploadHeaders,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PresignError {
    #[error(transparent)]
    InvalidId(#[from] IdError),
    #[error("content_type must be 1 to 255 printable ASCII characters")]
    InvalidContentType,
    #[error("could not sign the upload URL: {0}")]
    Signing(String),
    #[error("the blob store is unavailable: {0}")]
    StoreUnavailable(String),
}

/// Extra headers the client must send with its PUT (Azure needs one).
pub type UploadHeaders = Option<serde_json::Map<String, serde_json::Value>>;

/// One blob backend: signs uploads offline, and talks to the store for bucket
/// creation and readiness (blocking calls, run off the actor's thread).
pub trait BlobStore: Send + Sync + 'static {
    fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        expiry: Duration,
        now: SystemTime,
    ) -> Result<(String, UploadHeaders), PresignError>;
    fn ensure_bucket(&self) -> CheckResult;
    fn check(&self) -> CheckResult;
}

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
#[rtype(result = "CheckResult")]
pub struct EnsureBucket;

/// Is the bucket reachable? (cached for a second)
#[derive(Message)]
#[rtype(result = "CheckResult")]
pub struct CheckBlobStore;

pub struct PresignActor {
    store: Arc<dyn BlobStore>,
    expiry: Duration,
    last_check: CachedCheck,
}

impl PresignActor {
    pub fn new(store: Arc<dyn BlobStore>, expiry: Duration) -> Self {
        Self { store, expiry, last_check: CachedCheck::new(PROBE_TTL) }
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
            let signed = tokio::task::spawn_blocking(move || {
                store.presign_put(&s3_key, &msg.content_type, expiry, SystemTime::now()).map(|(url, headers)| (url, headers, s3_key))
            })
            .await
            .map_err(|e| PresignError::Signing(e.to_string()))?;
            let (upload_url, headers, s3_key) = signed?;
            Ok(PresignedUpload { upload_url, s3_key, headers })
        })
    }
}

impl Handler<EnsureBucket> for PresignActor {
    type Result = ResponseFuture<CheckResult>;

    fn handle(&mut self, _: EnsureBucket, _: &mut Context<Self>) -> Self::Result {
        let store = Arc::clone(&self.store);
        Box::pin(async move { tokio::task::spawn_blocking(move || store.ensure_bucket()).await.unwrap_or_else(|e| Err(e.to_string())) })
    }
}

impl Handler<CheckBlobStore> for PresignActor {
    type Result = ResponseActFuture<Self, CheckResult>;

    fn handle(&mut self, _: CheckBlobStore, _: &mut Context<Self>) -> Self::Result {
        if let Some(result) = self.last_check.fresh() {
            return Box::pin(fut::ready(result));
        }
        let store = Arc::clone(&self.store);
        let check = tokio::task::spawn_blocking(move || store.check());
        Box::pin(check.into_actor(self).map(|joined, act, _| act.last_check.store(joined.unwrap_or_else(|e| Err(e.to_string())))))
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
