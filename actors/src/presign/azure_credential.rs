//! The service's own Azure AD credential, found the way Azure's SDKs find it:
//! workload identity (`AZURE_FEDERATED_TOKEN_FILE`), then a client secret
//! (`AZURE_CLIENT_SECRET`), then the managed identity endpoint. Tokens are
//! cached until shortly before they expire. `AZURE_AUTHORITY_HOST` moves the
//! token endpoint (sovereign clouds, tests).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";
const IMDS: &str =
    "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com%2F";
/// Refresh this long before a token expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

enum Source {
    WorkloadIdentity { token_url: String, client_id: String, token_file: String },
    ClientSecret { token_url: String, client_id: String, secret: String },
    ManagedIdentity { client_id: Option<String> },
}

/// The `AZURE_*` credential variables, as read by the configuration.
#[derive(Clone)]
pub struct AzureAdSettings {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub federated_token_file: Option<String>,
    /// Where tokens come from, e.g. `https://login.microsoftonline.com`.
    pub authority_host: String,
}

impl std::fmt::Debug for AzureAdSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureAdSettings")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("federated_token_file", &self.federated_token_file)
            .field("authority_host", &self.authority_host)
            .finish()
    }
}

pub struct AzureCredential {
    source: Source,
    cached: Mutex<Option<(String, Instant)>>,
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
        Self { source, cached: Mutex::new(None) }
    }

    pub fn describe(&self) -> &'static str {
        match self.source {
            Source::WorkloadIdentity { .. } => "workload identity",
            Source::ClientSecret { .. } => "client secret",
            Source::ManagedIdentity { .. } => "managed identity",
        }
    }

    /// A bearer token for Azure Storage.
    pub fn token(&self, agent: &ureq::Agent) -> Result<String, String> {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((token, expires)) = cached.as_ref() {
            if Instant::now() + REFRESH_MARGIN < *expires {
                return Ok(token.clone());
            }
        }
        let response = self.request(agent).map_err(|e| format!("Azure AD token ({}): {e}", self.describe()))?;
        let lifetime = response.expires_in.as_ref().and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())).unwrap_or(3600);
        *cached = Some((response.access_token.clone(), Instant::now() + Duration::from_secs(lifetime)));
        Ok(response.access_token)
    }

    fn request(&self, agent: &ureq::Agent) -> Result<TokenResponse, String> {
        let mut response = match &self.source {
            Source::WorkloadIdentity { token_url, client_id, token_file } => {
                let assertion = std::fs::read_to_string(token_file).map_err(|e| format!("cannot read {token_file}: {e}"))?;
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
                ("client_secret", secret.as_str()),
                ("scope", STORAGE_SCOPE),
            ]),
            Source::ManagedIdentity { client_id } => {
                let url = match client_id {
                    Some(id) => format!("{IMDS}&client_id={id}"),
                    None => IMDS.to_string(),
                };
                agent.get(&url).header("metadata", "true").call()
            }
        }
        .map_err(|e| e.to_string())?;
        if response.status() != 200 {
            return Err(format!("the token endpoint answered {}", response.status()));
        }
        response.body_mut().read_json::<TokenResponse>().map_err(|e| e.to_string())
    }
}
