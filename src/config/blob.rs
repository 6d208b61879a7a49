//! Which blob store presigned uploads go to, and what every store shares.

use std::path::PathBuf;
use std::time::Duration;

use matyan_actors::presign::{AzureSettings, GcsSettings, S3Settings};

use super::azure::AzureConfig;
use super::gcs::GcsConfig;
use super::s3::S3Config;
use super::{values, ConfigError, Problem};

/// SigV4 presigned URLs live at most 7 days.
const MAX_PRESIGN_EXPIRY: u64 = 604_800;

#[derive(clap::Args, Clone)]
#[command(next_help_heading = "Blob store")]
pub struct BlobConfig {
    /// Where artifacts are uploaded.
    #[arg(long, env = "BLOB_BACKEND_TYPE", value_enum, ignore_case = true, default_value = "s3")]
    pub blob_backend_type: BlobBackend,
    /// Lifetime of presigned URLs, seconds (1–604800), whatever the backend.
    #[arg(long, env = "S3_PRESIGN_EXPIRY", value_name = "SECONDS", default_value = "3600", value_parser = presign_expiry)]
    pub s3_presign_expiry: Duration,
    /// PEM file of root certificates that replace the bundled ones for the blob store's TLS (a private CA).
    #[arg(long, env = "SSL_CERT_FILE", value_name = "FILE")]
    pub ssl_cert_file: Option<PathBuf>,
    #[command(flatten)]
    pub s3: S3Config,
    #[command(flatten)]
    pub gcs: GcsConfig,
    #[command(flatten)]
    pub azure: AzureConfig,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum BlobBackend {
    S3,
    Gcs,
    Azure,
}

fn presign_expiry(seconds: &str) -> Result<Duration, Problem> {
    values::in_range(seconds, 1, MAX_PRESIGN_EXPIRY, " seconds").map(Duration::from_secs)
}

#[derive(Debug, Clone)]
pub enum BlobSettings {
    S3(S3Settings),
    Gcs(GcsSettings),
    Azure(AzureSettings),
}

impl BlobConfig {
    /// The chosen backend's settings; the other backends' variables are ignored.
    pub fn settings(self, production: bool) -> Result<BlobSettings, ConfigError> {
        let tls_roots = self.ssl_cert_file;
        Ok(match self.blob_backend_type {
            BlobBackend::S3 => BlobSettings::S3(self.s3.settings(production, tls_roots)?),
            BlobBackend::Gcs => BlobSettings::Gcs(self.gcs.settings(tls_roots)?),
            BlobBackend::Azure => BlobSettings::Azure(self.azure.settings(production, tls_roots)?),
        })
    }
}

impl std::fmt::Display for BlobSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::S3(s3) => write!(f, "s3 bucket '{}' at {}", s3.bucket, s3.endpoint),
            Self::Gcs(gcs) => match &gcs.emulator_host {
                Some(emulator) => write!(f, "gcs bucket '{}' on the emulator at {emulator}", gcs.bucket),
                None => write!(f, "gcs bucket '{}'", gcs.bucket),
            },
            Self::Azure(azure) => match &azure.account_url {
                Some(url) if azure.conn_str.is_none() => write!(f, "azure container '{}' at {url} (user delegation SAS)", azure.container),
                _ => write!(f, "azure container '{}' (account key SAS)", azure.container),
            },
        }
    }
}
