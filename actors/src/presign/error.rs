//! What can go wrong in presigning and in talking to a store, with the texts
//! clients and readiness show.

use std::sync::Arc;

use super::azure::DelegationKeyError;
use super::azure_credential::TokenError;
use super::bucket::BucketName;
use crate::ids::IdError;

#[derive(Debug, thiserror::Error)]
pub enum PresignError {
    #[error(transparent)]
    InvalidId(#[from] IdError),
    #[error("content_type must be 1 to 255 printable ASCII characters")]
    InvalidContentType,
    #[error("could not sign the upload URL: {0}")]
    Signing(#[from] SigningError),
    #[error("the blob store is unavailable: {0}")]
    StoreUnavailable(#[from] StoreError),
}

/// Why a URL or a request could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error(transparent)]
    SigV4Params(#[from] aws_sigv4::sign::v4::signing_params::BuildError),
    #[error(transparent)]
    SigV4(#[from] aws_sigv4::http_request::SigningError),
    #[error(transparent)]
    Request(#[from] http::Error),
    #[error("the key is not base64: {0}")]
    KeyNotBase64(#[from] base64::DecodeError),
    /// The blocking task that signs panicked or was cancelled.
    #[error(transparent)]
    Interrupted(#[from] tokio::task::JoinError),
}

/// Why a request to the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{endpoint} unreachable: {source}")]
    Unreachable { endpoint: String, source: ureq::Error },
    #[error("{} answered {status}", .bucket.lookup())]
    LookupAnswered { bucket: BucketName, status: u16 },
    #[error("{} answered 404", .0.lookup())]
    BucketMissing(BucketName),
    #[error("creating {bucket} answered {status}")]
    CreateAnswered { bucket: BucketName, status: u16 },
    #[error(transparent)]
    Signing(#[from] SigningError),
    #[error(transparent)]
    Token(#[from] Arc<TokenError>),
    #[error(transparent)]
    DelegationKey(#[from] Arc<DelegationKeyError>),
    /// The blocking task that talks to the store panicked or was cancelled.
    #[error(transparent)]
    Interrupted(#[from] tokio::task::JoinError),
}

impl StoreError {
    /// For `map_err`: no HTTP answer from `endpoint`.
    pub fn unreachable(endpoint: &str) -> impl FnOnce(ureq::Error) -> Self + '_ {
        move |source| Self::Unreachable { endpoint: endpoint.to_string(), source }
    }
}
