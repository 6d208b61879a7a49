//! The token a request presents: `Authorization: Bearer TOKEN`, `Authorization:
//! Basic base64(USER:TOKEN)` (what the stock client sends for URL user-info such
//! as `http://ingest:TOKEN@host`; the user name is ignored), or a `token` query
//! parameter. Scheme names are case-insensitive (RFC 9110 §11.1).

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;
use base64::Engine;

/// The presented token, or `None` when the request carries none this module understands.
pub fn presented_token(req: &HttpRequest) -> Option<String> {
    match req.headers().get(AUTHORIZATION) {
        Some(value) => value.to_str().ok().and_then(from_authorization),
        None => req.query_string().split('&').find_map(|pair| pair.strip_prefix("token=")).map(percent_decode),
    }
}

/// The token in an `Authorization` value, if its scheme is Bearer or Basic.
fn from_authorization(value: &str) -> Option<String> {
    let (scheme, credentials) = value.trim().split_once(' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(credentials.to_string())
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(credentials).ok()?;
        let (_user, token) = String::from_utf8(decoded).ok()?.split_once(':').map(|(u, t)| (u.to_string(), t.to_string()))?;
        Some(token)
    } else {
        None
    }
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn with_authorization(value: &str) -> Option<String> {
        presented_token(&TestRequest::default().insert_header((AUTHORIZATION, value)).to_http_request())
    }

    fn basic(user_and_token: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_and_token))
    }

    #[test]
    fn bearer_basic_and_query_tokens() {
        assert_eq!(with_authorization("Bearer tok"), Some("tok".into()));
        // What the stock client sends for `http://ingest:tok@host`: the user name is ignored.
        assert_eq!(with_authorization(&basic("ingest:tok")), Some("tok".into()));
        assert_eq!(with_authorization(&basic("anyone:tok")), Some("tok".into()));
        // Only the first colon separates the user: the rest is the token.
        assert_eq!(with_authorization(&basic("u:a:b")), Some("a:b".into()));
        assert_eq!(with_authorization(&basic(":tok")), Some("tok".into()));
        let query = TestRequest::with_uri("/ws?x=1&token=a%2Bb").to_http_request();
        assert_eq!(presented_token(&query), Some("a+b".into()));
    }

    #[test]
    fn malformed_credentials_present_no_token() {
        // Each gets `None`, hence 401 "authentication required".
        assert_eq!(with_authorization("Basic not-base64!"), None, "not base64");
        assert_eq!(with_authorization(&basic("no-colon")), None, "no user:token separator");
        assert_eq!(with_authorization("Digest tok"), None, "an unknown scheme");
        assert_eq!(with_authorization("Bearer"), None, "a scheme without credentials");
        assert_eq!(with_authorization("Bearertok"), None, "no space after the scheme");
        assert_eq!(presented_token(&TestRequest::default().to_http_request()), None, "nothing at all");
        // A header wins over the query: a bad header is not rescued by a good query token.
        let both = TestRequest::with_uri("/ws?token=tok").insert_header((AUTHORIZATION, "Digest x")).to_http_request();
        assert_eq!(presented_token(&both), None);
    }
}
