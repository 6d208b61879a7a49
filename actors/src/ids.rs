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
    #[error("artifact_path must be relative: no leading '/' and no '.' or '..' segment")]
    ArtifactPathEscapes,
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
    if artifact_path.starts_with('/') || artifact_path.split('/').any(|segment| segment == "." || segment == "..") {
        return Err(IdError::ArtifactPathEscapes);
    }
    let key = format!("{run_id}/{artifact_path}");
    if key.len() > MAX_KEY_BYTES {
        return Err(IdError::KeyTooLong);
    }
    Ok(key)
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
        for bad in ["/etc/passwd", "../other/x", "a/../../x", "a/./b", "."] {
            assert_eq!(artifact_key("r", bad), Err(IdError::ArtifactPathEscapes), "{bad}");
        }
        assert_eq!(artifact_key("r", &"x".repeat(1022)).map(|k| k.len()), Ok(1024));
        assert_eq!(artifact_key("r", &"x".repeat(1023)), Err(IdError::KeyTooLong));
        assert_eq!(artifact_key("a/b", "x"), Err(IdError::RunIdCharacters));
    }
}
