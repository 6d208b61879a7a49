//! Bearer tokens for the WebSocket upgrade and presign.

use std::path::PathBuf;

use super::{ConfigError, Problem};
use crate::auth::{Authenticator, StaticGrants};

#[derive(clap::Args, Clone)]
#[command(next_help_heading = "Authentication")]
pub struct AuthConfig {
    /// Tokens, `TOKEN` (every run), `TOKEN:RUN_ID_PREFIX` or `TOKEN:=RUN_ID` (one run), comma- or line-separated.
    /// When this or `AUTH_TOKENS_FILE` is set, the WebSocket upgrade and presign need one (`Authorization: Bearer`,
    /// Basic with the token as password, or a `token` query parameter): 401 without or with a wrong one, 403 for a
    /// run the token may not write. An empty prefix (`TOKEN:`) or a token listed twice with different runs is
    /// refused at startup. Unset: no authentication.
    #[arg(long, env = "AUTH_TOKENS", value_name = "TOKENS")]
    pub auth_tokens: Option<String>,
    /// File of more tokens, one per line; `#` starts a comment line.
    #[arg(long, env = "AUTH_TOKENS_FILE", value_name = "FILE")]
    pub auth_tokens_file: Option<PathBuf>,
}

impl AuthConfig {
    pub fn authenticator(self) -> Result<Authenticator, ConfigError> {
        let mut entries = self.auth_tokens.unwrap_or_default();
        let mut var = "AUTH_TOKENS";
        if let Some(path) = &self.auth_tokens_file {
            let file = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new("AUTH_TOKENS_FILE", Problem::Unreadable { path: path.display().to_string(), reason: e.to_string() })
            })?;
            entries = format!("{entries}\n{file}");
            var = "AUTH_TOKENS, AUTH_TOKENS_FILE";
        }
        let grants = StaticGrants::parse(&entries).map_err(|e| ConfigError::new(var, Problem::BadGrant(e)))?;
        Ok(Authenticator::new(grants))
    }
}
