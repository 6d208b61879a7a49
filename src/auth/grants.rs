//! Static tokens and the runs each may write. Tokens are kept as SHA-256
//! digests and a presented token is compared with every one of them in
//! constant time, so neither a token's bytes nor its position in the list
//! shows in the time an answer takes.

use ring::digest::{digest, SHA256};
use subtle::ConstantTimeEq;

/// Which runs a credential may write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunScope {
    Any,
    /// Run ids starting with this (not empty).
    Prefix(String),
    /// This run id only.
    Exact(String),
}

impl RunScope {
    /// `PREFIX`, or `=RUN_ID` for one run (a prefix `run-1` also admits `run-10`).
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        match text.strip_prefix('=') {
            Some("") => Err(ScopeError::EmptyRun),
            Some(run_id) => Ok(Self::Exact(run_id.to_string())),
            None if text.is_empty() => Err(ScopeError::EmptyPrefix),
            None => Ok(Self::Prefix(text.to_string())),
        }
    }

    pub fn allows(&self, run_id: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Prefix(prefix) => run_id.starts_with(prefix.as_str()),
            Self::Exact(exact) => run_id == exact,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("empty run-id prefix (a token for every run has no ':')")]
    EmptyPrefix,
    #[error("empty run id after '='")]
    EmptyRun,
}

/// A refused token list. Entries are numbered from 1, comments not counted; tokens are never shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("entry {entry}: empty token")]
    EmptyToken { entry: usize },
    #[error("entry {entry}: {problem}")]
    BadScope { entry: usize, problem: ScopeError },
    #[error("entries {first} and {second} give the same token different runs")]
    Conflicting { first: usize, second: usize },
}

struct Grant {
    digest: [u8; 32],
    scope: RunScope,
    entry: usize,
}

#[derive(Clone, Default)]
pub struct StaticGrants {
    grants: std::sync::Arc<Vec<Grant>>,
}

fn sha256(token: &str) -> [u8; 32] {
    digest(&SHA256, token.as_bytes()).as_ref().try_into().expect("SHA-256 is 32 bytes")
}

impl StaticGrants {
    /// Entries are `TOKEN` (every run), `TOKEN:RUN_ID_PREFIX` or `TOKEN:=RUN_ID`, comma- or
    /// newline-separated; `#` starts a comment line. A token listed twice with the same runs counts once.
    pub fn parse(entries: &str) -> Result<Self, GrantError> {
        let mut grants: Vec<Grant> = Vec::new();
        let lines = entries.split([',', '\n']).map(str::trim).filter(|e| !e.is_empty() && !e.starts_with('#'));
        for (index, line) in lines.enumerate() {
            let entry = index + 1;
            let (token, scope) = match line.split_once(':') {
                Some((token, scope)) => (token, RunScope::parse(scope).map_err(|problem| GrantError::BadScope { entry, problem })?),
                None => (line, RunScope::Any),
            };
            if token.is_empty() {
                return Err(GrantError::EmptyToken { entry });
            }
            let digest = sha256(token);
            match grants.iter().find(|grant| grant.digest == digest) {
                Some(earlier) if earlier.scope != scope => return Err(GrantError::Conflicting { first: earlier.entry, second: entry }),
                Some(_) => {}
                None => grants.push(Grant { digest, scope, entry }),
            }
        }
        Ok(Self { grants: std::sync::Arc::new(grants) })
    }

    pub fn len(&self) -> usize {
        self.grants.len()
    }

    /// The runs `token` may write, or `None` for an unknown token; compares with every grant.
    pub fn scope_of(&self, token: &str) -> Option<&RunScope> {
        let presented = sha256(token);
        let mut found = None;
        for grant in self.grants.iter() {
            if bool::from(grant.digest.ct_eq(&presented)) {
                found = Some(&grant.scope);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_prefix_exact_and_any() {
        let grants = StaticGrants::parse("# ops\nall, team:team-a-, one:=run-1").unwrap();
        assert_eq!(grants.len(), 3);
        assert_eq!(grants.scope_of("all"), Some(&RunScope::Any));
        let exact = grants.scope_of("one").unwrap();
        assert!(exact.allows("run-1"));
        assert!(!exact.allows("run-10"), "an exact grant does not admit longer ids");
        assert!(grants.scope_of("team").unwrap().allows("team-a-7"));
        assert!(!grants.scope_of("team").unwrap().allows("team-b-7"));
        // Unknown: no scope; a token's prefix or extension is another token.
        assert_eq!(grants.scope_of("al"), None);
        assert_eq!(grants.scope_of("all "), None);
        assert_eq!(grants.scope_of(""), None);
    }

    #[test]
    fn bad_token_lists_are_refused_naming_the_entry() {
        let refusal = |entries: &str| StaticGrants::parse(entries).err().map(|e| e.to_string());
        // `tok:` would admit every run through a prefix nobody meant.
        assert_eq!(refusal("a, tok:"), Some("entry 2: empty run-id prefix (a token for every run has no ':')".into()));
        assert_eq!(refusal("tok:="), Some("entry 1: empty run id after '='".into()));
        assert_eq!(refusal(":team-"), Some("entry 1: empty token".into()));
        // Which grant would win is not for the order of the list to decide.
        assert_eq!(refusal("tok:team-a-\n# c\ntok:team-b-"), Some("entries 1 and 2 give the same token different runs".into()));
        assert_eq!(refusal("tok, tok:team-"), Some("entries 1 and 2 give the same token different runs".into()));
        assert_eq!(refusal("tok:=r, tok:r"), Some("entries 1 and 2 give the same token different runs".into()));
        // The same grant twice (a token in both AUTH_TOKENS and the file) is one grant.
        assert_eq!(StaticGrants::parse("tok:team-, tok:team-").unwrap().len(), 1);
    }
}
