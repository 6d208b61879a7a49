//! Run ids and artifact paths become Kafka keys and object-store keys: refuse
//! the ones that could escape a run's prefix or break a URL or a log line.

/// Longest accepted run id, in characters.
pub const MAX_RUN_ID_CHARS: usize = 128;
/// Longest accepted object key (`<run_id>/<artifact_path>`), in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("run_id must not be empty")]
    EmptyRunId,
    #[error("run_id must be at most {MAX_RUN_ID_CHARS} characters")]
    RunIdTooLong,
    #[error("run_id must not contain '/' or control characters, nor be '.' or '..'")]
    RunIdCharacters,
    #[error("artifact_path must not be empty")]
    EmptyArtifactPath,
    #[error("artifact_path gives a key longer than {MAX_KEY_BYTES} bytes")]
    KeyTooLong,
    #[error("artifact_path must not contain NUL or control characters")]
    ArtifactPathCharacters,
    #[error("artifact_path must be relative: no leading '/' or '\\', and no '.' or '..' segment (also when percent-decoded)")]
    ArtifactPathEscapes,
}

/// Why an object key a message names is not one of its run's (checked when
/// authentication is on: a token bound to some runs must not reach others' objects).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyScopeError {
    #[error("does not start with '{0}/'")]
    OtherRun(String),
    #[error("names no object after '{0}/'")]
    Empty(String),
    #[error("is longer than {MAX_KEY_BYTES} bytes")]
    TooLong,
    #[error("contains NUL or control characters")]
    ControlCharacters,
    #[error("leaves '{0}/': a leading '/' or '\\', or a '.' or '..' segment (also when percent-decoded, with '\\' as a separator)")]
    Escapes(String),
}

pub fn validate_run_id(run_id: &str) -> Result<(), IdError> {
    if run_id.is_empty() {
        return Err(IdError::EmptyRunId);
    }
    if run_id.chars().count() > MAX_RUN_ID_CHARS {
        return Err(IdError::RunIdTooLong);
    }
    if run_id == "." || run_id == ".." || run_id.chars().any(|c| c == '/' || c.is_control()) {
        return Err(IdError::RunIdCharacters);
    }
    Ok(())
}

/// Validates both parts and returns the object key `<run_id>/<artifact_path>`.
pub fn artifact_key(run_id: &str, artifact_path: &str) -> Result<String, IdError> {
    validate_run_id(run_id)?;
    if artifact_path.is_empty() {
        return Err(IdError::EmptyArtifactPath);
    }
    if artifact_path.chars().any(char::is_control) {
        return Err(IdError::ArtifactPathCharacters);
    }
    // Before the escape check, which decodes the path once per level of percent-encoding.
    let key = format!("{run_id}/{artifact_path}");
    if key.len() > MAX_KEY_BYTES {
        return Err(IdError::KeyTooLong);
    }
    if escapes(artifact_path) {
        return Err(IdError::ArtifactPathEscapes);
    }
    Ok(key)
}

/// Checks that `key` is an object key of `run_id`'s: `<run_id>/` and an
/// artifact path that presign would accept.
pub fn key_in_run(run_id: &str, key: &str) -> Result<(), KeyScopeError> {
    // Before anything reads it whole: a message may carry megabytes here.
    if key.len() > MAX_KEY_BYTES {
        return Err(KeyScopeError::TooLong);
    }
    let Some(path) = key.strip_prefix(run_id).and_then(|rest| rest.strip_prefix('/')) else {
        return Err(KeyScopeError::OtherRun(run_id.to_string()));
    };
    if path.is_empty() {
        return Err(KeyScopeError::Empty(run_id.to_string()));
    }
    if path.chars().any(char::is_control) {
        return Err(KeyScopeError::ControlCharacters);
    }
    if escapes(path) {
        return Err(KeyScopeError::Escapes(run_id.to_string()));
    }
    Ok(())
}

/// Whether a path inside a run could name something outside it: a leading
/// separator, or a `.` or `..` segment. Stores and the tools behind them may
/// take `\` for `/` (Azure does) or percent-decode a key, once or more: the
/// path is checked as written and after each decoding, with both separators.
fn escapes(path: &str) -> bool {
    let mut path = std::borrow::Cow::Borrowed(path);
    loop {
        let dot_segment = path.split(['/', '\\']).any(|segment| segment == "." || segment == "..");
        if path.starts_with(['/', '\\']) || dot_segment {
            return true;
        }
        // Each decoding that changes the path shortens it: this ends.
        let decoded = percent_encoding::percent_decode_str(&path).decode_utf8_lossy().into_owned();
        if decoded == *path {
            return false;
        }
        path = decoded.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids() {
        assert_eq!(validate_run_id("b5cbc18e2aca42ec96d793e1e5b16ecb"), Ok(()));
        assert_eq!(validate_run_id("ünï run"), Ok(()));
        assert_eq!(validate_run_id(""), Err(IdError::EmptyRunId));
        assert_eq!(validate_run_id(&"x".repeat(129)), Err(IdError::RunIdTooLong));
        assert_eq!(validate_run_id(&"é".repeat(128)), Ok(()));
        for bad in [".", "..", "a/b", "a\nb", "a\0b", "\u{7f}"] {
            assert_eq!(validate_run_id(bad), Err(IdError::RunIdCharacters), "{bad:?}");
        }
    }

    #[test]
    fn artifact_paths() {
        assert_eq!(artifact_key("r", "a dir/art+1%#ü.bin").as_deref(), Ok("r/a dir/art+1%#ü.bin"));
        assert_eq!(artifact_key("r", "..x/y..").as_deref(), Ok("r/..x/y.."));
        assert_eq!(artifact_key("r", ""), Err(IdError::EmptyArtifactPath));
        assert_eq!(artifact_key("r", "a\0b"), Err(IdError::ArtifactPathCharacters));
        assert_eq!(artifact_key("r", "a\rb"), Err(IdError::ArtifactPathCharacters));
        for bad in ["/etc/passwd", "../other/x", "a/../../x", "a/./b", ".", "\\x", "a\\..\\..\\x", "%2e%2e/x", "a/%252E%252E%252fx"] {
            assert_eq!(artifact_key("r", bad), Err(IdError::ArtifactPathEscapes), "{bad}");
        }
        assert_eq!(
            artifact_key("r", "100%25 done/a%2fb%.png").as_deref(),
            Ok("r/100%25 done/a%2fb%.png"),
            "percent signs that hide no escape"
        );
        assert_eq!(artifact_key("r", &"x".repeat(1022)).map(|k| k.len()), Ok(1024));
        assert_eq!(artifact_key("r", &"x".repeat(1023)), Err(IdError::KeyTooLong));
        assert_eq!(artifact_key("a/b", "x"), Err(IdError::RunIdCharacters));
        let nested_encoding = format!("%{}2e", "25".repeat(30_000));
        assert_eq!(artifact_key("r", &nested_encoding), Err(IdError::KeyTooLong), "refused before it is decoded 30 000 times");
        let within_the_limit = format!("%{}2e", "25".repeat(500));
        assert_eq!(artifact_key("r", &within_the_limit), Err(IdError::ArtifactPathEscapes), "decoded to '.' at last");
    }

    /// Each key a message may name under `team-a-run` gets: `Ok`, or why it is not the run's.
    #[test]
    fn keys_in_a_run() {
        let run = "team-a-run";
        for good in ["team-a-run/model.bin", "team-a-run/seq/img/0.png", "team-a-run/a dir/x+1%25#ü..png", "team-a-run/..x/y.."] {
            assert_eq!(key_in_run(run, good), Ok(()), "{good}");
        }
        let other = Err(KeyScopeError::OtherRun(run.into()));
        for bad in
            ["team-b-run/model.bin", "team-a-run", "team-a-runner/x", "/team-a-run/x", "team-a-run\\x", "team-a-run%2fx", "x/team-a-run/y"]
        {
            assert_eq!(key_in_run(run, bad), other, "{bad}");
        }
        let escapes = Err(KeyScopeError::Escapes(run.into()));
        let climbing = [
            "team-a-run/../team-b-run/model.bin",
            "team-a-run//etc/passwd",
            "team-a-run/\\x",
            "team-a-run/a/./b",
            "team-a-run/..\\team-b-run\\x",
            "team-a-run/%2e%2e/team-b-run/x",
            "team-a-run/%2E%2e%2Fteam-b-run",
            "team-a-run/..%5cteam-b-run",
            "team-a-run/%252e%252e/x",
            "team-a-run/%2f%2fx",
        ];
        for bad in climbing {
            assert_eq!(key_in_run(run, bad), escapes, "{bad}");
        }
        assert_eq!(key_in_run(run, "team-a-run/"), Err(KeyScopeError::Empty(run.into())));
        assert_eq!(key_in_run(run, "team-a-run/a\nb"), Err(KeyScopeError::ControlCharacters));
        assert_eq!(key_in_run(run, &format!("team-a-run/{}", "x".repeat(1024))), Err(KeyScopeError::TooLong));
    }
}
