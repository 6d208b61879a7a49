//! Optional token authentication (off unless `AUTH_TOKENS` or
//! `AUTH_TOKENS_FILE` is set, for drop-in compatibility). A token may be bound
//! to a run-id prefix. Tokens never reach logs.

mod credentials;

use actix_web::HttpRequest;

/// One accepted token and the run ids it may write to.
#[derive(Clone)]
struct Grant {
    token: String,
    run_prefix: Option<String>,
}

#[derive(Clone, Default)]
pub struct Authenticator {
    grants: Vec<Grant>,
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

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Authenticator {
    /// Entries are `TOKEN` or `TOKEN:RUN_ID_PREFIX`, comma- or newline-separated;
    /// `#` starts a comment line.
    pub fn parse(entries: &str) -> Self {
        let grants = entries
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.starts_with('#'))
            .map(|entry| match entry.split_once(':') {
                Some((token, prefix)) => Grant { token: token.to_string(), run_prefix: Some(prefix.to_string()) },
                None => Grant { token: entry.to_string(), run_prefix: None },
            })
            .collect();
        Self { grants }
    }

    pub fn enabled(&self) -> bool {
        !self.grants.is_empty()
    }

    /// Checks the request's token against the run it writes to.
    pub fn authorize(&self, req: &HttpRequest, run_id: &str) -> Result<(), AuthError> {
        if !self.enabled() {
            return Ok(());
        }
        let token = credentials::presented_token(req).ok_or(AuthError::Missing)?;
        let grant = self.grants.iter().find(|g| same(&g.token, &token)).ok_or(AuthError::Invalid)?;
        match &grant.run_prefix {
            Some(prefix) if !run_id.starts_with(prefix.as_str()) => Err(AuthError::RunNotAllowed(run_id.to_string())),
            _ => Ok(()),
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
        let auth = Authenticator::parse("# ops\nalpha, beta:team-a-");
        let header = |t: &str| TestRequest::default().insert_header((AUTHORIZATION, format!("Bearer {t}"))).to_http_request();
        assert_eq!(auth.authorize(&header("alpha"), "any"), Ok(()));
        assert_eq!(auth.authorize(&header("beta"), "team-a-1"), Ok(()));
        assert_eq!(auth.authorize(&header("beta"), "team-b-1"), Err(AuthError::RunNotAllowed("team-b-1".into())));
        assert_eq!(auth.authorize(&header("gamma"), "x"), Err(AuthError::Invalid));
        assert_eq!(auth.authorize(&TestRequest::default().to_http_request(), "x"), Err(AuthError::Missing));
        let query = TestRequest::with_uri("/ws?x=1&token=alpha").to_http_request();
        assert_eq!(auth.authorize(&query, "x"), Ok(()));
        assert!(!Authenticator::parse("").enabled());
        assert_eq!(format!("{auth:?}"), "Authenticator(2 tokens)");
    }
}
