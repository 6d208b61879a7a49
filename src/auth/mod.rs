//! Optional token authentication (off unless `AUTH_TOKENS` or
//! `AUTH_TOKENS_FILE` is set, for drop-in compatibility). A token may be bound
//! to a run-id prefix or to one run. Tokens never reach logs.

mod credentials;
mod grants;

use actix_web::HttpRequest;

pub use grants::{GrantError, StaticGrants};

#[derive(Clone, Default)]
pub struct Authenticator {
    grants: StaticGrants,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Authenticator({} tokens)", self.grants.len())
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required: send 'Authorization: Bearer <token>', Basic auth with the token as password, or a 'token' query parameter")]
    Missing,
    #[error("invalid token")]
    Invalid,
    #[error("this token may not write run '{0}'")]
    RunNotAllowed(String),
}

impl Authenticator {
    pub fn new(grants: StaticGrants) -> Self {
        Self { grants }
    }

    pub fn enabled(&self) -> bool {
        self.grants.len() > 0
    }

    /// Checks the request's token against the run it writes to.
    pub fn authorize(&self, req: &HttpRequest, run_id: &str) -> Result<(), AuthError> {
        if !self.enabled() {
            return Ok(());
        }
        let token = credentials::presented_token(req).ok_or(AuthError::Missing)?;
        let scope = self.grants.scope_of(&token).ok_or(AuthError::Invalid)?;
        if scope.allows(run_id) {
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

    #[test]
    fn tokens_from_header_or_query_and_prefixes() {
        let auth = Authenticator::new(StaticGrants::parse("# ops\nalpha, beta:team-a-, gamma:=run-1").unwrap());
        let header = |value: &str| TestRequest::default().insert_header((AUTHORIZATION, value.to_string())).to_http_request();
        assert_eq!(auth.authorize(&header("Bearer alpha"), "any"), Ok(()));
        assert_eq!(auth.authorize(&header("Bearer beta"), "team-a-1"), Ok(()));
        assert_eq!(auth.authorize(&header("Bearer beta"), "team-b-1"), Err(AuthError::RunNotAllowed("team-b-1".into())));
        assert_eq!(auth.authorize(&header("Bearer gamma"), "run-1"), Ok(()));
        assert_eq!(auth.authorize(&header("Bearer gamma"), "run-10"), Err(AuthError::RunNotAllowed("run-10".into())));
        assert_eq!(auth.authorize(&header("Bearer delta"), "x"), Err(AuthError::Invalid));
        // Scheme names are case-insensitive (RFC 9110 §11.1); the token is not.
        assert_eq!(auth.authorize(&header("bearer alpha"), "x"), Ok(()));
        assert_eq!(auth.authorize(&header("BEARER alpha"), "x"), Ok(()));
        assert_eq!(auth.authorize(&header("Bearer ALPHA"), "x"), Err(AuthError::Invalid));
        // Basic with the token as password (the stock client's URL user-info), any user name.
        assert_eq!(auth.authorize(&header("basic aW5nZXN0OmFscGhh"), "x"), Ok(()), "ingest:alpha");
        assert_eq!(auth.authorize(&header("Basic aW5nZXN0OndST25n"), "x"), Err(AuthError::Invalid), "ingest:wROng");
        assert_eq!(auth.authorize(&TestRequest::default().to_http_request(), "x"), Err(AuthError::Missing));
        let query = TestRequest::with_uri("/ws?x=1&token=alpha").to_http_request();
        assert_eq!(auth.authorize(&query, "x"), Ok(()));
        assert!(!Authenticator::default().enabled());
        assert_eq!(format!("{auth:?}"), "Authenticator(3 tokens)");
    }
}
