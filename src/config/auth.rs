//! Who may open a run's stream and presign: static tokens, and JWTs checked against a JWKS.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{values, ConfigError, Problem};
use crate::auth::{Authenticator, JwksCache, JwksSource, JwtPolicy, JwtVerifier, KeySet, StaticGrants};

#[derive(clap::Args, Clone)]
#[command(next_help_heading = "Authentication")]
pub struct AuthConfig {
    /// Tokens, `TOKEN` (every run), `TOKEN:RUN_ID_PREFIX` or `TOKEN:=RUN_ID` (one run), comma- or line-separated.
    /// When this, `AUTH_TOKENS_FILE` or a JWKS is set, the WebSocket upgrade and presign need a token
    /// (`Authorization: Bearer`, Basic with the token as password, or a `token` query parameter): 401 without or with
    /// a wrong one, 403 for a run the token may not write. An empty prefix (`TOKEN:`) or a token listed twice with
    /// different runs is refused at startup. Unset: no authentication.
    #[arg(long, env = "AUTH_TOKENS", value_name = "TOKENS")]
    pub auth_tokens: Option<String>,
    /// File of more tokens, one per line; `#` starts a comment line.
    #[arg(long, env = "AUTH_TOKENS_FILE", value_name = "FILE")]
    pub auth_tokens_file: Option<PathBuf>,
    /// JWKS file whose keys sign accepted JWT bearer tokens (RS*/PS*, ES256/ES384, EdDSA; never HS* or `none`).
    /// Read at startup, and again on a token with an unknown key id. Needs `AUTH_JWT_ISSUER` and `AUTH_JWT_AUDIENCE`.
    #[arg(long, env = "AUTH_JWKS_FILE", value_name = "FILE")]
    pub auth_jwks_file: Option<PathBuf>,
    /// JWKS URL (an identity provider's `jwks_uri`), as `AUTH_JWKS_FILE` but fetched: on first use, in the
    /// background every `AUTH_JWKS_REFRESH`, and on a token with an unknown key id (rotation).
    #[arg(long, env = "AUTH_JWKS_URL", value_name = "URL", value_parser = values::http_url)]
    pub auth_jwks_url: Option<String>,
    /// The `iss` a JWT must carry.
    #[arg(long, env = "AUTH_JWT_ISSUER", value_name = "ISSUER")]
    pub auth_jwt_issuer: Option<String>,
    /// The `aud` a JWT must carry (or include).
    #[arg(long, env = "AUTH_JWT_AUDIENCE", value_name = "AUDIENCE")]
    pub auth_jwt_audience: Option<String>,
    /// The JWT claim naming the runs it may write: a run-id prefix, `=RUN_ID`, or a list of them. A JWT without it
    /// gets 403.
    #[arg(long, env = "AUTH_JWT_RUN_CLAIM", value_name = "CLAIM", default_value = "matyan_run_prefix", value_parser = values::non_empty)]
    pub auth_jwt_run_claim: String,
    /// Clock skew allowed on a JWT's `exp` and `nbf`.
    #[arg(long, env = "AUTH_JWT_LEEWAY", value_name = "SECONDS", default_value = "30", value_parser = values::seconds)]
    pub auth_jwt_leeway: Duration,
    /// How old the JWKS may get before it is fetched again, in the background.
    #[arg(long, env = "AUTH_JWKS_REFRESH", value_name = "SECONDS", default_value = "300", value_parser = values::seconds)]
    pub auth_jwks_refresh: Duration,
    /// The least time between two JWKS fetches for unknown key ids: a flood of tokens with made-up key ids costs
    /// the key server one request per this many seconds.
    #[arg(long, env = "AUTH_JWKS_MIN_REFETCH", value_name = "SECONDS", default_value = "30", value_parser = values::seconds)]
    pub auth_jwks_min_refetch: Duration,
}

impl AuthConfig {
    pub fn authenticator(self) -> Result<Authenticator, ConfigError> {
        let mut entries = self.auth_tokens.clone().unwrap_or_default();
        let mut var = "AUTH_TOKENS";
        if let Some(path) = &self.auth_tokens_file {
            let file = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new("AUTH_TOKENS_FILE", Problem::Unreadable { path: path.display().to_string(), reason: e.to_string() })
            })?;
            entries = format!("{entries}\n{file}");
            var = "AUTH_TOKENS, AUTH_TOKENS_FILE";
        }
        let grants = StaticGrants::parse(&entries).map_err(|e| ConfigError::new(var, Problem::BadGrant(e)))?;
        Ok(Authenticator::new(grants, self.jwt_verifier()?))
    }

    fn jwt_verifier(self) -> Result<Option<JwtVerifier>, ConfigError> {
        let (source, initial) = match (self.auth_jwks_file, self.auth_jwks_url) {
            (Some(_), Some(_)) => return Err(ConfigError::new("AUTH_JWKS_URL", Problem::TwoJwksSources)),
            (Some(path), None) => {
                let source = JwksSource::File(path);
                let keys = source.load().map_err(|e| ConfigError::new("AUTH_JWKS_FILE", Problem::BadJwks(e)))?;
                (source, Some(keys))
            }
            (None, Some(url)) => (JwksSource::Url(url), None::<KeySet>),
            (None, None) => return Ok(None),
        };
        let needed = |var: &str, value: Option<String>| value.ok_or_else(|| ConfigError::new(var, Problem::NeededForJwt));
        let policy = JwtPolicy {
            issuer: needed("AUTH_JWT_ISSUER", self.auth_jwt_issuer)?,
            audience: needed("AUTH_JWT_AUDIENCE", self.auth_jwt_audience)?,
            leeway: self.auth_jwt_leeway,
            run_claim: self.auth_jwt_run_claim,
        };
        let keys = JwksCache::new(source, initial, self.auth_jwks_refresh, self.auth_jwks_min_refetch);
        Ok(Some(JwtVerifier::new(Arc::new(keys), policy)))
    }
}
