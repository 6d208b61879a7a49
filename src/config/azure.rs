//! Azure Blob Storage: SAS signed with an account key (connection string), or
//! user-delegation SAS with the service's own Azure AD credential.

use std::path::PathBuf;

use matyan_actors::presign::{AzureAdSettings, AzureSettings};
use matyan_actors::secret::Secret;

use super::{values, ConfigError, Problem};

/// The local Azurite emulator, the development default.
const DEV_AZURE_CONN_STR: &str = "UseDevelopmentStorage=true";

#[derive(clap::Args, Clone)]
#[command(next_help_heading = "Azure")]
pub struct AzureConfig {
    /// Azure container, created at startup if missing.
    #[arg(long, env = "AZURE_CONTAINER", value_name = "CONTAINER", default_value = "matyan-artifacts", value_parser = values::non_empty)]
    pub azure_container: String,
    /// Storage connection string: SAS signed with its account key, URLs on its blob endpoint. Without it and
    /// `AZURE_ACCOUNT_URL`, development uses Azurite's; production refuses to start.
    #[arg(long, env = "AZURE_CONN_STR", value_name = "CONNECTION_STRING")]
    pub azure_conn_str: Option<String>,
    /// Without a connection string: user-delegation SAS, the key fetched with the service's AD credential below.
    #[arg(long, env = "AZURE_ACCOUNT_URL", value_name = "URL", value_parser = values::http_url)]
    pub azure_account_url: Option<String>,
    /// AD tenant of the service's credential. The credential is chosen as Azure's SDKs choose it: workload identity
    /// (tenant, client id and `AZURE_FEDERATED_TOKEN_FILE`), else a client secret (tenant, client id and
    /// `AZURE_CLIENT_SECRET`), else the managed identity.
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "ID")]
    pub azure_tenant_id: Option<String>,
    /// Client id of the application, or of a user-assigned managed identity.
    #[arg(long, env = "AZURE_CLIENT_ID", value_name = "ID")]
    pub azure_client_id: Option<String>,
    /// Client secret; never logged.
    #[arg(long, env = "AZURE_CLIENT_SECRET", value_name = "SECRET")]
    pub azure_client_secret: Option<String>,
    /// File holding the workload identity's federated token.
    #[arg(long, env = "AZURE_FEDERATED_TOKEN_FILE", value_name = "FILE")]
    pub azure_federated_token_file: Option<String>,
    /// Where AD tokens come from (sovereign clouds, tests).
    #[arg(long, env = "AZURE_AUTHORITY_HOST", value_name = "URL", default_value = "https://login.microsoftonline.com")]
    pub azure_authority_host: String,
}

impl AzureConfig {
    pub fn settings(self, production: bool, tls_roots: Option<PathBuf>) -> Result<AzureSettings, ConfigError> {
        let conn_str = match (self.azure_conn_str, &self.azure_account_url) {
            (None, None) if production => return Err(ConfigError::new("AZURE_CONN_STR", Problem::NoAzureCredential)),
            (None, None) => Some(DEV_AZURE_CONN_STR.to_string()),
            (conn_str, _) => conn_str,
        };
        Ok(AzureSettings {
            container: self.azure_container,
            conn_str: conn_str.map(Secret::from),
            account_url: self.azure_account_url,
            credential: AzureAdSettings {
                tenant_id: self.azure_tenant_id,
                client_id: self.azure_client_id,
                client_secret: self.azure_client_secret.map(Secret::from),
                federated_token_file: self.azure_federated_token_file,
                authority_host: self.azure_authority_host,
            },
            tls_roots,
        })
    }
}
