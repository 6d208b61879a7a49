//! The presign actor: owns the blob store client and answers presign
//! requests, bucket creation and readiness checks through its mailbox.
//!
//! Each backend is a [`BlobStore`]; the actor and the HTTP route do not change
//! when a backend is added.

mod gcs;
mod gcs_signer;
mod s3;
mod url;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix::prelude::*;
use serde::Serialize;

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
    #[error("presigning for BLOB_BACKEND_TYPE={0} is not implemented yet; use s3")]
    BackendNotImplemented(&'static str),
    #[error("could not sign the upload URL: {0}")]
    Signing(String),
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

/// Stands in for the gcs and azure backends until they are implemented.
pub struct NotImplementedStore(pub &'static str);

impl BlobStore for NotImplementedStore {
    fn presign_put(&self, _: &str, _: &str, _: Duration, _: SystemTime) -> Result<(String, UploadHeaders), PresignError> {
        Err(PresignError::BackendNotImplemented(self.0))
    }

    fn ensure_bucket(&self) -> CheckResult {
        Ok(())
    }

    fn check(&self) -> CheckResult {
        Err(format!("the {} backend is not implemented yet", self.0))
    }
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
    type Result = Result<PresignedUpload, PresignError>;

    fn handle(&mut self, msg: Presign, _: &mut Context<Self>) -> Self::Result {
        let s3_key = artifact_key(&msg.run_id, &msg.artifact_path)?;
        if !valid_content_type(&msg.content_type) {
            return Err(PresignError::InvalidContentType);
        }
        let (upload_url, headers) = self.store.presign_put(&s3_key, &msg.content_type, self.expiry, SystemTime::now())?;
        Ok(PresignedUpload { upload_url, s3_key, headers })
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
