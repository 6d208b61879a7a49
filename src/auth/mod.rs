//! Optional token authentication (off unless static tokens or a JWKS are
//! configured, for drop-in compatibility): static tokens, each bound to every
//! run, a run-id prefix or one run; and JWTs checked against a JWKS, whose
//! claim names the runs. Tokens never reach logs.

mod credentials;
mod grants;
mod jwks;
mod jwt;

use std::sync::Arc;

use actix_web::HttpRequest;

pub use grants::{GrantError, StaticGrants};
pub use jwks::{JwksCache, JwksError, JwksSource, KeySet};
pub use jwt::{JwtPolicy, JwtRejection, JwtVerifier};

#[derive(Clone, Default)]
pub struct Authenticator {
    grants: StaticGrants,
    jwt: Option<Arc<JwtVerifier>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Authenticator({} tokens", self.grants.len())?;
        match &self.jwt {
            Some(jwt) => write!(f, ", JWTs from {:?})", jwt.keys().source()),
            None => write!(f, ")"),
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required: send 'Authorization: Bearer <token>', Basic auth with the token as password, or a 'token' query parameter")]
    Missing,
    #[error("invalid token")]
    Invalid,
    #[error("invalid token: {0}")]
    Jwt(JwtRejection),
    #[error("this token may not write run '{0}'")]
    RunNotAllowed(String),
}

impl AuthError {
    /// 403 (the token is good but not for this run) rather than 401.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Self::RunNotAllowed(_) | Self::Jwt(JwtRejection::NoRuns(_)))
    }
}

impl Authenticator {
    pub fn new(grants: StaticGrants, jwt: Option<JwtVerifier>) -> Self {
        Self { grants, jwt: jwt.map(Arc::new) }
    }

    pub fn enabled(&self) -> bool {
        self.grants.len() > 0 || self.jwt.is_some()
    }

    /// Checks the request's token against the run it writes to: a static token
    /// first, else (when JWTs are on and it has a JWT's three parts) a JWT.
    pub async fn authorize(&self, req: &HttpRequest, run_id: &str) -> Result<(), AuthError> {
        if !self.enabled() {
            return Ok(());
        }
        let token = credentials::presented_token(req).ok_or(AuthError::Missing)?;
        let scopes = match (self.grants.scope_of(&token), &self.jwt) {
            (Some(scope), _) => vec![scope.clone()],
            (None, Some(jwt)) if token.split('.').count() == 3 => jwt.verify(&token).await.map_err(|rejection| {
                // The stock client shows the status only: the reason is for the operator.
                log::info!("JWT refused: {rejection}");
                AuthError::Jwt(rejection)
            })?,
            (None, _) => return Err(AuthError::Invalid),
        };
        if scopes.iter().any(|scope| scope.allows(run_id)) {
            Ok(())
        } else {
            Err(AuthError::RunNotAllowed(run_id.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::AUTHORIZATION;
    use actix_web::test::TestRequest;

    #[actix_web::test]
    async fn tokens_from_header_or_query_and_prefixes() {
        let auth = Authenticator::new(StaticGrants::parse("# ops\nalpha, beta:team-a-, gamma:=run-1").unwrap(), None);
        let header = |value: &str| TestRequest::default().insert_header((AUTHORIZATION, value.to_string())).to_http_request();
        assert_eq!(auth.authorize(&header("Bearer alpha"), "any").await, Ok(()));
        assert_eq!(auth.authorize(&header("Bearer beta"), "team-a-1").await, Ok(()));
        assert_eq!(auth.authorize(&header("Bearer beta"), "team-b-1").await, Err(AuthError::RunNotAllowed("team-b-1".into())));
        assert_eq!(auth.authorize(&header("Bearer gamma"), "run-1").await, Ok(()));
        assert_eq!(auth.authorize(&header("Bearer gamma"), "run-10").await, Err(AuthError::RunNotAllowed("run-10".into())));
        assert_eq!(auth.authorize(&header("Bearer delta"), "x").await, Err(AuthError::Invalid));
        // Scheme names are case-insensitive (RFC 9110 §11.1); the token is not.
        assert_eq!(auth.authorize(&header("bearer alpha"), "x").await, Ok(()));
        assert_eq!(auth.authorize(&header("BEARER alpha"), "x").await, Ok(()));
        assert_eq!(auth.authorize(&header("Bearer ALPHA"), "x").await, Err(AuthError::Invalid));
        // Basic with the token as password (the stock client's URL user-info), any user name.
        assert_eq!(auth.authorize(&header("basic aW5nZXN0OmFscGhh"), "x").await, Ok(()), "ingest:alpha");
        assert_eq!(auth.authorize(&header("Basic aW5nZXN0OndST25n"), "x").await, Err(AuthError::Invalid), "ingest:wROng");
        assert_eq!(auth.authorize(&TestRequest::default().to_http_request(), "x").await, Err(AuthError::Missing));
        let query = TestRequest::with_uri("/ws?x=1&token=alpha").to_http_request();
        assert_eq!(auth.authorize(&query, "x").await, Ok(()));
        assert!(!Authenticator::default().enabled());
        assert_eq!(format!("{auth:?}"), "Authenticator(3 tokens)");
    }
}
