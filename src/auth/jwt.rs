//! JWT bearer tokens from an organisation's identity provider: signature by
//! a key of the JWKS (the algorithm must be one its key allows: no `none`, no
//! HMAC), `iss` and `aud` as configured, `exp` required and `nbf` honoured
//! with a small leeway; the runs it may write come from one claim.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Validation};
use serde_json::{Map, Value};

use super::grants::RunScope;
use super::jwks::JwksCache;

/// What a JWT must carry to be accepted.
pub struct JwtPolicy {
    pub issuer: String,
    pub audience: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// The claim naming the runs: a run-id prefix, `=RUN_ID`, or a list of them.
    pub run_claim: String,
}

pub struct JwtVerifier {
    keys: Arc<JwksCache>,
    policy: JwtPolicy,
}

/// Why a JWT was not accepted: 401 but for [`JwtRejection::NoRuns`] (403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtRejection {
    #[error("malformed or unsupported token")]
    Malformed,
    #[error("signed by an unknown key")]
    UnknownKey,
    #[error("algorithm not allowed for its key")]
    AlgorithmNotAllowed,
    #[error("bad signature")]
    BadSignature,
    #[error("expired")]
    Expired,
    #[error("not valid yet")]
    NotYetValid,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("claim '{0}' missing or of the wrong type")]
    BadClaim(String),
    #[error("no runs granted: claim '{0}' is missing or not a run-id prefix or list of them")]
    NoRuns(String),
}

impl JwtVerifier {
    pub fn new(keys: Arc<JwksCache>, policy: JwtPolicy) -> Self {
        Self { keys, policy }
    }

    pub fn keys(&self) -> &JwksCache {
        &self.keys
    }

    /// The runs a valid token may write.
    pub async fn verify(&self, token: &str) -> Result<Vec<RunScope>, JwtRejection> {
        // `alg: none` and unknown algorithms fail here: they are not `Algorithm`s.
        let header = decode_header(token).map_err(|_| JwtRejection::Malformed)?;
        let key = self.keys.key(header.kid.as_deref()).await.ok_or(JwtRejection::UnknownKey)?;
        if !key.algorithms.contains(&header.alg) {
            return Err(JwtRejection::AlgorithmNotAllowed);
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.policy.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.policy.issuer]);
        validation.set_audience(&[&self.policy.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = decode::<Map<String, Value>>(token, &key.key, &validation).map_err(|e| rejection(e.into_kind()))?.claims;
        run_scopes(claims.get(&self.policy.run_claim)).ok_or_else(|| JwtRejection::NoRuns(self.policy.run_claim.clone()))
    }
}

fn rejection(kind: ErrorKind) -> JwtRejection {
    match kind {
        ErrorKind::InvalidSignature => JwtRejection::BadSignature,
        ErrorKind::ExpiredSignature => JwtRejection::Expired,
        ErrorKind::ImmatureSignature => JwtRejection::NotYetValid,
        ErrorKind::InvalidIssuer => JwtRejection::WrongIssuer,
        ErrorKind::InvalidAudience => JwtRejection::WrongAudience,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidKeyFormat => JwtRejection::AlgorithmNotAllowed,
        ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim) => JwtRejection::BadClaim(claim),
        _ => JwtRejection::Malformed,
    }
}

/// The claim's runs; `None` (nothing granted) unless it is a run-id prefix or
/// `=RUN_ID`, or a non-empty list of them.
fn run_scopes(claim: Option<&Value>) -> Option<Vec<RunScope>> {
    let parse = |value: &Value| value.as_str().and_then(|text| RunScope::parse(text).ok());
    match claim? {
        Value::Array(items) if !items.is_empty() => items.iter().map(parse).collect(),
        single => parse(single).map(|scope| vec![scope]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_run_claim_is_a_prefix_an_exact_run_or_a_list() {
        let prefix = |p: &str| RunScope::Prefix(p.into());
        assert_eq!(run_scopes(Some(&json!("team-a-"))), Some(vec![prefix("team-a-")]));
        assert_eq!(run_scopes(Some(&json!(["team-a-", "=run-1"]))), Some(vec![prefix("team-a-"), RunScope::Exact("run-1".into())]));
        // Each grants nothing (403): missing, empty, empty list, not strings, one bad item in a list.
        for nothing in [None, Some(json!("")), Some(json!([])), Some(json!(7)), Some(json!({"p": "x"})), Some(json!(["a-", ""]))] {
            assert_eq!(run_scopes(nothing.as_ref()), None, "{nothing:?}");
        }
    }
}
