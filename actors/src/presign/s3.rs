//! S3 (and S3-compatible stores): SigV4 query-string presigned `PutObject`
//! URLs, path-style, with the Content-Type signed; bucket HEAD/PUT for
//! readiness and startup, signed the same way and sent with a small blocking client.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::url::encode_key;
use super::{
    BlobStore, BucketCreation, BucketName, BucketStatus, PresignError, SignedPut, SigningError, StoreError, StoreSetupError, STORE_TIMEOUT,
};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct S3Settings {
    /// Where the service reaches the store.
    pub endpoint: String,
    /// Where clients reach it, when different (presigned URLs use this host).
    pub public_endpoint: Option<String>,
    pub access_key: String,
    pub secret_key: Secret,
    pub bucket: String,
    pub region: String,
    /// `SSL_CERT_FILE`: PEM roots replacing the bundled ones.
    pub tls_roots: Option<PathBuf>,
}

pub struct S3Store {
    settings: S3Settings,
    bucket: BucketName,
    identity: Identity,
    agent: ureq::Agent,
}

impl S3Store {
    pub fn new(settings: S3Settings) -> Result<Self, StoreSetupError> {
        let identity = Credentials::new(&settings.access_key, settings.secret_key.expose(), None, None, "matyan-frontier").into();
        let agent = super::store_agent(STORE_TIMEOUT, settings.tls_roots.as_deref())?;
        Ok(Self { bucket: BucketName::bucket(&settings.bucket, "HEAD"), settings, identity, agent })
    }

    fn signing_settings(location: SignatureLocation, expires_in: Option<Duration>) -> SigningSettings {
        let mut settings = SigningSettings::default();
        // S3 keys are signed as sent: encoded once, never normalised.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.signature_location = location;
        settings.expires_in = expires_in;
        if location == SignatureLocation::Headers {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        settings
    }

    fn sign_request<B>(
        &self,
        request: &mut http::Request<B>,
        body: SignableBody<'_>,
        settings: SigningSettings,
        now: SystemTime,
    ) -> Result<(), SigningError> {
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.settings.region)
            .name("s3")
            .time(now)
            .settings(settings)
            .build()?
            .into();
        let headers = request.headers().iter().map(|(k, v)| (k.as_str(), v.to_str().unwrap_or_default()));
        let uri = request.uri().to_string();
        let signable = SignableRequest::new(request.method().as_str(), &uri, headers, body)?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }

    fn bucket_url(&self) -> String {
        format!("{}/{}", self.settings.endpoint.trim_end_matches('/'), encode_key(&self.settings.bucket))
    }

    /// Sends a signed request about the bucket; answers the HTTP status.
    fn bucket_request(&self, method: &str, body: &[u8]) -> Result<u16, StoreError> {
        let mut request = http::Request::builder().method(method).uri(self.bucket_url()).body(body.to_vec()).map_err(SigningError::from)?;
        let settings = Self::signing_settings(SignatureLocation::Headers, None);
        self.sign_request(&mut request, SignableBody::Bytes(body), settings, SystemTime::now())?;
        let response = self.agent.run(request).map_err(StoreError::unreachable(&self.settings.endpoint))?;
        Ok(response.status().as_u16())
    }

    /// Presigns a PUT for `key` on `base` (an endpoint URL).
    pub fn presign_url(
        &self,
        base: &str,
        key: &str,
        content_type: &str,
        expiry: Duration,
        now: SystemTime,
    ) -> Result<String, SigningError> {
        let url = format!("{}/{}/{}", base.trim_end_matches('/'), encode_key(&self.settings.bucket), encode_key(key));
        let mut request = http::Request::builder().method("PUT").uri(url).header("content-type", content_type).body(())?;
        let settings = Self::signing_settings(SignatureLocation::QueryParams, Some(expiry));
        self.sign_request(&mut request, SignableBody::UnsignedPayload, settings, now)?;
        Ok(request.uri().to_string())
    }
}

impl BlobStore for S3Store {
    fn presign_put(&self, key: &str, content_type: &str, expiry: Duration, now: SystemTime) -> Result<SignedPut, PresignError> {
        let base = self.settings.public_endpoint.as_deref().unwrap_or(&self.settings.endpoint);
        let url = self.presign_url(base, key, content_type, expiry, now)?;
        Ok(SignedPut { url, headers: None })
    }

    fn bucket(&self) -> &BucketName {
        &self.bucket
    }

    fn bucket_status(&self) -> Result<BucketStatus, StoreError> {
        self.bucket.lookup_answer(self.bucket_request("HEAD", b"")?)
    }

    fn create_bucket(&self) -> Result<BucketCreation, StoreError> {
        // Outside us-east-1, S3 wants the region in the body.
        let body = match self.settings.region.as_str() {
            "us-east-1" | "" => String::new(),
            region => format!("<CreateBucketConfiguration><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"),
        };
        self.bucket.creation_answer(self.bucket_request("PUT", body.as_bytes())?, 200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(region: &str, bucket: &str) -> S3Store {
        S3Store::new(S3Settings {
            endpoint: "http://127.0.0.1:1".into(),
            public_endpoint: None,
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            bucket: bucket.into(),
            region: region.into(),
            tls_roots: None,
        })
        .unwrap()
    }

    fn query_param<'u>(url: &'u str, name: &str) -> &'u str {
        url.split(['?', '&']).find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('='))).unwrap()
    }

    /// AWS's documented presigned-URL example (S3 API reference, "Authenticating
    /// Requests: Using Query Parameters"): GET examplebucket/test.txt, 2013-05-24.
    /// Our signing path (same settings, same signer) reproduces its signature.
    #[test]
    fn matches_the_aws_documented_presign_example() {
        let s3 = store("us-east-1", "examplebucket");
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        let mut request = http::Request::builder().method("GET").uri("https://examplebucket.s3.amazonaws.com/test.txt").body(()).unwrap();
        let settings = S3Store::signing_settings(SignatureLocation::QueryParams, Some(Duration::from_secs(86400)));
        s3.sign_request(&mut request, SignableBody::UnsignedPayload, settings, when).unwrap();
        let url = request.uri().to_string();
        assert_eq!(query_param(&url, "X-Amz-Signature"), "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
        assert_eq!(query_param(&url, "X-Amz-Credential"), "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request");
    }

    #[test]
    fn presigned_put_signs_content_type_and_encodes_the_key_once() {
        let s3 = store("us-east-1", "matyan-artifacts");
        let url = s3
            .presign_url("http://localhost:9000/", "run/a dir/ü+%#.bin", "image/png", Duration::from_secs(3600), SystemTime::now())
            .unwrap();
        assert!(url.starts_with("http://localhost:9000/matyan-artifacts/run/a%20dir/%C3%BC%2B%25%23.bin?"), "{url}");
        assert_eq!(query_param(&url, "X-Amz-SignedHeaders"), "content-type%3Bhost");
        assert_eq!(query_param(&url, "X-Amz-Expires"), "3600");
    }
}
