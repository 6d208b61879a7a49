//! An S3-compatible store, signed with SigV4.

use std::path::PathBuf;

use matyan_actors::presign::S3Settings;

use super::{values, ConfigError, Problem};

const DEV_S3_ENDPOINT: &str = "http://localhost:9000";
/// The local stack's root credential; refused in production.
const DEV_CREDENTIAL: &str = "rustfsadmin";

#[derive(clap::Args, Clone)]
#[command(next_help_heading = "S3")]
pub struct S3Config {
    /// S3 URL the service itself uses (bucket creation, readiness).
    #[arg(long, env = "S3_ENDPOINT", value_name = "URL", default_value = DEV_S3_ENDPOINT, value_parser = values::http_url)]
    pub s3_endpoint: String,
    /// S3 URL written into presigned URLs, when clients reach the store elsewhere; `S3_ENDPOINT` when unset.
    #[arg(long, env = "S3_PUBLIC_ENDPOINT", value_name = "URL", value_parser = values::http_url)]
    pub s3_public_endpoint: Option<String>,
    /// S3 access key.
    #[arg(long, env = "S3_ACCESS_KEY", value_name = "KEY", default_value = DEV_CREDENTIAL)]
    pub s3_access_key: String,
    /// S3 secret key; never logged.
    #[arg(long, env = "S3_SECRET_KEY", value_name = "KEY", default_value = DEV_CREDENTIAL)]
    pub s3_secret_key: String,
    /// Bucket of the artifacts, created at startup if missing.
    #[arg(long, env = "S3_BUCKET", value_name = "BUCKET", default_value = "matyan-artifacts", value_parser = values::non_empty)]
    pub s3_bucket: String,
    /// Signing region.
    #[arg(long, env = "S3_REGION", value_name = "REGION", default_value = "us-east-1")]
    pub s3_region: String,
}

impl S3Config {
    pub fn settings(self, production: bool, tls_roots: Option<PathBuf>) -> Result<S3Settings, ConfigError> {
        if production {
            if self.s3_endpoint == DEV_S3_ENDPOINT {
                return Err(ConfigError::new("S3_ENDPOINT", Problem::DevelopmentDefault(DEV_S3_ENDPOINT)));
            }
            for (var, value) in [("S3_ACCESS_KEY", &self.s3_access_key), ("S3_SECRET_KEY", &self.s3_secret_key)] {
                if value == DEV_CREDENTIAL {
                    return Err(ConfigError::new(var, Problem::DevelopmentCredential));
                }
            }
        }
        Ok(S3Settings {
            endpoint: self.s3_endpoint,
            public_endpoint: self.s3_public_endpoint,
            access_key: self.s3_access_key,
            secret_key: self.s3_secret_key.into(),
            bucket: self.s3_bucket,
            region: self.s3_region,
            tls_roots,
        })
    }
}
