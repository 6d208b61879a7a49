//! The service's own Azure AD credential, found the way Azure's SDKs find it:
//! workload identity (`AZURE_FEDERATED_TOKEN_FILE`), then a client secret
//! (`AZURE_CLIENT_SECRET`), then the managed identity endpoint. The caller
//! reuses a token until shortly before it expires. `AZURE_AUTHORITY_HOST` moves the
//! token endpoint (sovereign clouds, tests).

use std::time::Duration;

use serde::Deserialize;

use crate::secret::Secret;

const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";
const IMDS: &str =
    "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com%2F";
/// Reuse a token until this long before it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

enum Source {
    WorkloadIdentity { token_url: String, client_id: String, token_file: String },
    ClientSecret { token_url: String, client_id: String, secret: Secret },
    ManagedIdentity { client_id: Option<String> },
}

/// The `AZURE_*` credential variables, as read by the configuration.
#[derive(Debug, Clone)]
pub struct AzureAdSettings {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub federated_token_file: Option<String>,
    /// Where tokens come from, e.g. `https://login.microsoftonline.com`.
    pub authority_host: String,
}

pub struct AzureCredential {
    source: Source,
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
#[error("Azure AD token ({via}): {reason}")]
pub struct TokenError {
    /// Which credential was tried.
    via: &'static str,
    reason: TokenRequestError,
}

#[derive(Debug, thiserror::Error)]
enum TokenRequestError {
    #[error("cannot read {path}: {source}")]
    TokenFile { path: String, source: std::io::Error },
    #[error(transparent)]
    Http(#[from] ureq::Error),
    #[error("the token endpoint answered {0}")]
    Status(http::StatusCode),
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl AzureCredential {
    pub fn new(settings: AzureAdSettings) -> Self {
        let AzureAdSettings { tenant_id, client_id, client_secret, federated_token_file, authority_host } = settings;
        let token_url = |tenant: &str| format!("{}/{tenant}/oauth2/v2.0/token", authority_host.trim_end_matches('/'));
        let source = match (tenant_id, client_id, federated_token_file, client_secret) {
            (Some(tenant), Some(client_id), Some(token_file), _) => {
                Source::WorkloadIdentity { token_url: token_url(&tenant), client_id, token_file }
            }
            (Some(tenant), Some(client_id), None, Some(secret)) => {
                Source::ClientSecret { token_url: token_url(&tenant), client_id, secret }
            }
            (_, client_id, _, _) => Source::ManagedIdentity { client_id },
        };
        Self { source }
    }

    pub fn describe(&self) -> &'static str {
        match self.source {
            Source::WorkloadIdentity { .. } => "workload identity",
            Source::ClientSecret { .. } => "client secret",
            Source::ManagedIdentity { .. } => "managed identity",
        }
    }

    /// A bearer token for Azure Storage, and how long it may be reused.
    pub fn fetch_token(&self, agent: &ureq::Agent) -> Result<(String, Duration), TokenError> {
        let response = self.request(agent).map_err(|reason| TokenError { via: self.describe(), reason })?;
        let lifetime = response.expires_in.as_ref().and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())).unwrap_or(3600);
        Ok((response.access_token, Duration::from_secs(lifetime).saturating_sub(REFRESH_MARGIN)))
    }

    fn request(&self, agent: &ureq::Agent) -> Result<TokenResponse, TokenRequestError> {
        let mut response = match &self.source {
            Source::WorkloadIdentity { token_url, client_id, token_file } => {
                let assertion = std::fs::read_to_string(token_file)
                    .map_err(|source| TokenRequestError::TokenFile { path: token_file.clone(), source })?;
                agent.post(token_url).send_form([
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id.as_str()),
                    ("scope", STORAGE_SCOPE),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", assertion.trim()),
                ])
            }
            Source::ClientSecret { token_url, client_id, secret } => agent.post(token_url).send_form([
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", secret.expose()),
                ("scope", STORAGE_SCOPE),
            ]),
            Source::ManagedIdentity { client_id } => {
                let url = match client_id {
                    Some(id) => format!("{IMDS}&client_id={id}"),
                    None => IMDS.to_string(),
                };
                agent.get(&url).header("metadata", "true").call()
            }
        }?;
        if response.status() != 200 {
            return Err(TokenRequestError::Status(response.status()));
        }
        Ok(response.body_mut().read_json::<TokenResponse>()?)
    }
}
