//! Google Cloud Storage, V4-signed with a service-account key, or its emulator.

use std::path::PathBuf;

use matyan_actors::presign::GcsSettings;

use super::{values, ConfigError, Problem};

#[derive(clap::Args, Clone)]
#[command(next_help_heading = "GCS")]
pub struct GcsConfig {
    /// GCS bucket, created at startup if missing.
    #[arg(long, env = "GCS_BUCKET", value_name = "BUCKET", default_value = "matyan-artifacts", value_parser = values::non_empty)]
    pub gcs_bucket: String,
    /// Service-account JSON key file; GCS URLs are V4-signed with it.
    #[arg(long, env = "GOOGLE_APPLICATION_CREDENTIALS", value_name = "FILE")]
    pub google_application_credentials: Option<String>,
    /// GCS emulator, e.g. `http://127.0.0.1:4443`: unsigned media-upload URLs, bucket calls go there.
    #[arg(long, env = "STORAGE_EMULATOR_HOST", value_name = "URL")]
    pub storage_emulator_host: Option<String>,
}

impl GcsConfig {
    pub fn settings(self, tls_roots: Option<PathBuf>) -> Result<GcsSettings, ConfigError> {
        if self.storage_emulator_host.is_none() && self.google_application_credentials.is_none() {
            return Err(ConfigError::new("GOOGLE_APPLICATION_CREDENTIALS", Problem::NoGcsKey));
        }
        Ok(GcsSettings {
            bucket: self.gcs_bucket,
            credentials_file: self.google_application_credentials,
            emulator_host: self.storage_emulator_host,
            tls_roots,
        })
    }
}
