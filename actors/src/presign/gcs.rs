//! Google Cloud Storage: V4 signed PUT URLs (Content-Type signed) with a
//! service-account key; with `STORAGE_EMULATOR_HOST`, the emulator's unsigned
//! media-upload URL. Bucket creation and readiness use the JSON API (the
//! emulator's, or Google's with a self-signed JWT).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::gcs_signer::{GcsKeyError, SignRequest, V4Signer};
use super::url::encode_component;
use super::{BlobStore, BucketCreation, BucketName, BucketStatus, PresignError, SignedPut, StoreError, StoreSetupError, STORE_TIMEOUT};

const GOOGLE_STORAGE: &str = "https://storage.googleapis.com";

#[derive(Debug, Clone)]
pub struct GcsSettings {
    pub bucket: String,
    /// `GOOGLE_APPLICATION_CREDENTIALS`: the service-account JSON key file.
    pub credentials_file: Option<String>,
    /// `STORAGE_EMULATOR_HOST`, e.g. `http://127.0.0.1:4443`.
    pub emulator_host: Option<String>,
    /// `SSL_CERT_FILE`: PEM roots replacing the bundled ones.
    pub tls_roots: Option<PathBuf>,
}

enum Access {
    Emulator { base_url: String },
    Google { signer: Box<V4Signer> },
}

pub struct GcsStore {
    bucket: BucketName,
    access: Access,
    agent: ureq::Agent,
}

impl GcsStore {
    pub fn new(settings: GcsSettings) -> Result<Self, StoreSetupError> {
        let access = match (&settings.emulator_host, &settings.credentials_file) {
            (Some(host), _) => {
                let base_url = if host.contains("://") { host.clone() } else { format!("http://{host}") };
                Access::Emulator { base_url: base_url.trim_end_matches('/').to_string() }
            }
            (None, Some(file)) => Access::Google { signer: Box::new(V4Signer::from_key_file(file)?) },
            (None, None) => return Err(GcsKeyError::Key("set GOOGLE_APPLICATION_CREDENTIALS (or STORAGE_EMULATOR_HOST)".into()).into()),
        };
        let agent = super::store_agent(STORE_TIMEOUT, settings.tls_roots.as_deref())?;
        Ok(Self { bucket: BucketName::bucket(&settings.bucket, "GET"), access, agent })
    }

    fn api_base(&self) -> &str {
        match &self.access {
            Access::Emulator { base_url } => base_url,
            Access::Google { .. } => GOOGLE_STORAGE,
        }
    }

    fn authorize<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.access {
            Access::Emulator { .. } => request,
            Access::Google { signer } => {
                request.header("authorization", format!("Bearer {}", signer.self_signed_jwt(&format!("{GOOGLE_STORAGE}/"), Utc::now())))
            }
        }
    }
}

impl BlobStore for GcsStore {
    fn presign_put(&self, key: &str, content_type: &str, expiry: Duration, now: SystemTime) -> Result<SignedPut, PresignError> {
        let url = match &self.access {
            Access::Emulator { base_url } => {
                format!(
                    "{base_url}/upload/storage/v1/b/{}/o?uploadType=media&name={}",
                    encode_component(self.bucket.name()),
                    encode_component(key)
                )
            }
            Access::Google { signer } => {
                let path = format!("/{}/{key}", self.bucket.name());
                let signed = signer.sign(&SignRequest {
                    method: "PUT",
                    base_url: GOOGLE_STORAGE,
                    host: "storage.googleapis.com",
                    path: &path,
                    headers: &[("content-type", content_type)],
                    query: &[],
                    expires_in: expiry,
                    now: DateTime::<Utc>::from(now),
                });
                // What Google compares when it answers SignatureDoesNotMatch.
                log::trace!("gcs canonical request {:?}, string to sign {:?}", signed.canonical_request, signed.string_to_sign);
                signed.url
            }
        };
        Ok(SignedPut { url, headers: None })
    }

    fn bucket(&self) -> &BucketName {
        &self.bucket
    }

    fn bucket_status(&self) -> Result<BucketStatus, StoreError> {
        let url = format!("{}/storage/v1/b/{}", self.api_base(), encode_component(self.bucket.name()));
        let response = self.authorize(self.agent.get(&url)).call().map_err(StoreError::unreachable(self.api_base()))?;
        self.bucket.lookup_answer(response.status().as_u16())
    }

    fn create_bucket(&self) -> Result<BucketCreation, StoreError> {
        let project = match &self.access {
            Access::Emulator { .. } => "matyan",
            Access::Google { signer } => signer.project_id(),
        };
        let url = format!("{}/storage/v1/b?project={}", self.api_base(), encode_component(project));
        let response = self
            .authorize(self.agent.post(&url))
            .send_json(json!({"name": self.bucket.name()}))
            .map_err(StoreError::unreachable(self.api_base()))?;
        self.bucket.creation_answer(response.status().as_u16(), 200)
    }
}
