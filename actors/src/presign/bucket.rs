//! The bucket (or container) primitives every store answers, and the policy
//! built on them, written once: create the bucket at startup if it is
//! missing, and call the store ready when the bucket is there.

use super::{BlobStore, StoreError};
use crate::health::Health;

/// What looking the bucket up found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BucketStatus {
    Exists,
    Missing,
}

/// What creating the bucket did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BucketCreation {
    Created,
    /// Someone else (another replica) created it first.
    AlreadyExists,
}

/// A store's bucket (or container), named as its messages name it.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketName {
    /// `bucket`, or Azure's `container`.
    kind: &'static str,
    name: String,
    /// The HTTP method of the lookup, when messages name it.
    lookup_method: Option<&'static str>,
}

impl BucketName {
    /// An S3 or GCS bucket, looked up with `lookup_method`.
    pub fn bucket(name: &str, lookup_method: &'static str) -> Self {
        Self { kind: "bucket", name: name.to_string(), lookup_method: Some(lookup_method) }
    }

    pub fn container(name: &str) -> Self {
        Self { kind: "container", name: name.to_string(), lookup_method: None }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How messages name the lookup, e.g. `bucket 'a' HEAD`.
    pub fn lookup(&self) -> String {
        match self.lookup_method {
            Some(method) => format!("{self} {method}"),
            None => self.to_string(),
        }
    }

    /// Reads the lookup's HTTP status: 200 found, 404 missing, anything else an error.
    pub fn lookup_answer(&self, status: u16) -> Result<BucketStatus, StoreError> {
        match status {
            200 => Ok(BucketStatus::Exists),
            404 => Ok(BucketStatus::Missing),
            status => Err(StoreError::LookupAnswered { bucket: self.clone(), status }),
        }
    }

    /// Reads the creation's HTTP status: `created` (the store's success code), or 409 when it exists.
    pub fn creation_answer(&self, status: u16, created: u16) -> Result<BucketCreation, StoreError> {
        match status {
            409 => Ok(BucketCreation::AlreadyExists),
            status if status == created => Ok(BucketCreation::Created),
            status => Err(StoreError::CreateAnswered { bucket: self.clone(), status }),
        }
    }
}

impl std::fmt::Display for BucketName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} '{}'", self.kind, self.name)
    }
}

/// Creates the bucket if the lookup finds it missing.
pub fn ensure_bucket(store: &dyn BlobStore) -> Result<(), StoreError> {
    match store.bucket_status()? {
        BucketStatus::Exists => Ok(()),
        BucketStatus::Missing => {
            if store.create_bucket()? == BucketCreation::Created {
                log::info!("created {}", store.bucket());
            }
            Ok(())
        }
    }
}

/// Readiness: the bucket is there.
pub fn bucket_health(store: &dyn BlobStore) -> Health<StoreError> {
    match store.bucket_status() {
        Ok(BucketStatus::Exists) => Health::Ready,
        Ok(BucketStatus::Missing) => Health::Unready(StoreError::BucketMissing(store.bucket().clone())),
        Err(error) => Health::Unready(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_as_before() {
        let s3 = BucketName::bucket("a", "HEAD");
        assert_eq!(s3.lookup_answer(200).unwrap(), BucketStatus::Exists);
        assert_eq!(s3.lookup_answer(404).unwrap(), BucketStatus::Missing);
        assert_eq!(s3.lookup_answer(403).unwrap_err().to_string(), "bucket 'a' HEAD answered 403");
        assert_eq!(StoreError::BucketMissing(s3.clone()).to_string(), "bucket 'a' HEAD answered 404");
        assert_eq!(s3.creation_answer(200, 200).unwrap(), BucketCreation::Created);
        assert_eq!(s3.creation_answer(409, 200).unwrap(), BucketCreation::AlreadyExists);
        assert_eq!(s3.creation_answer(201, 200).unwrap_err().to_string(), "creating bucket 'a' answered 201");
        let azure = BucketName::container("c");
        assert_eq!(azure.lookup_answer(500).unwrap_err().to_string(), "container 'c' answered 500");
        assert_eq!(azure.creation_answer(201, 201).unwrap(), BucketCreation::Created);
        assert_eq!(azure.creation_answer(403, 201).unwrap_err().to_string(), "creating container 'c' answered 403");
    }
}
