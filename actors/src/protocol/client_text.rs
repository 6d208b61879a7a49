//! Text a client chose, quoted in an error answer and so in the log line that
//! reports it: bounded and escaped, so a 16 MiB `type` cannot make a 16 MiB
//! line, nor a newline or a quote in it forge one.

use std::fmt;

/// Characters of client text shown; the rest is counted, not shown.
pub const SHOWN_CHARS: usize = 64;

/// Client text as shown: `'text'`, escaped as Rust's `escape_debug` does
/// (control characters, quotes, backslashes, invisible format characters), at
/// most [`SHOWN_CHARS`] characters of it, then `…' (N bytes)` when cut.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientText {
    shown: String,
    /// The whole text's length, when it was cut.
    cut_from: Option<usize>,
}

impl ClientText {
    pub fn new(text: &str) -> Self {
        let end = text.char_indices().nth(SHOWN_CHARS).map_or(text.len(), |(at, _)| at);
        Self { shown: text[..end].escape_debug().to_string(), cut_from: (end < text.len()).then_some(text.len()) }
    }
}

impl fmt::Display for ClientText {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.cut_from {
            None => write!(f, "'{}'", self.shown),
            Some(bytes) => write!(f, "'{}…' ({bytes} bytes)", self.shown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What each text is shown as.
    #[test]
    fn shows_text_escaped_and_bounded() {
        let shown = |text: &str| ClientText::new(text).to_string();
        assert_eq!(shown("delete_run"), "'delete_run'", "plain names as they are");
        assert_eq!(shown("é\u{1F600}"), "'é\u{1F600}'", "printable non-ASCII as it is");
        assert_eq!(shown("a\nb\r\"c'\\\0\u{1b}[31m"), r#"'a\nb\r\"c\'\\\0\u{1b}[31m'"#, "line breaks, quotes, NUL, terminal escapes");
        assert_eq!(shown("\u{202e}gpj.exe"), r"'\u{202e}gpj.exe'", "bidirectional overrides");
        let long = "x".repeat(16 << 20);
        assert_eq!(shown(&long), format!("'{}…' (16777216 bytes)", "x".repeat(SHOWN_CHARS)));
        assert_eq!(shown(&"x".repeat(SHOWN_CHARS)), format!("'{}'", "x".repeat(SHOWN_CHARS)), "64 characters are not cut");
        assert_eq!(shown(&"ü".repeat(100)), format!("'{}…' (200 bytes)", "ü".repeat(SHOWN_CHARS)), "cut between characters");
        assert!(shown(&"\n".repeat(1000)).len() < 200, "escaped, still bounded");
    }
}
