//! Python's `json.dumps` writes `NaN`, `Infinity` and `-Infinity`, which are not
//! JSON. Before parsing, such tokens (outside strings) are rewritten to `null`,
//! and their positions are kept so that a float field can tell a rewritten
//! non-finite number (accepted, published as `null`, as the reference does) from
//! a literal `null` (rejected where a number is required).

use std::borrow::Cow;

/// A frame's text, ready for `serde_json`, plus where non-finite numbers stood.
pub struct SanitizedFrame<'a> {
    pub text: Cow<'a, str>,
    nonfinite_offsets: Vec<usize>,
}

impl<'a> SanitizedFrame<'a> {
    pub fn new(raw: &'a str) -> Self {
        if !might_hold_nonfinite(raw) {
            return Self { text: Cow::Borrowed(raw), nonfinite_offsets: Vec::new() };
        }
        let bytes = raw.as_bytes();
        let mut out = String::with_capacity(raw.len() + 8);
        let mut offsets = Vec::new();
        let mut in_string = false;
        let mut escaped = false;
        let mut copied_up_to = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                i += 1;
                continue;
            }
            if b == b'"' {
                in_string = true;
                i += 1;
                continue;
            }
            let token_len = ["-Infinity", "Infinity", "NaN"].iter().find(|t| bytes[i..].starts_with(t.as_bytes())).map(|t| t.len());
            match token_len {
                Some(len) => {
                    out.push_str(&raw[copied_up_to..i]);
                    offsets.push(out.len());
                    out.push_str("null");
                    i += len;
                    copied_up_to = i;
                }
                None => i += 1,
            }
        }
        if offsets.is_empty() {
            return Self { text: Cow::Borrowed(raw), nonfinite_offsets: offsets };
        }
        out.push_str(&raw[copied_up_to..]);
        Self { text: Cow::Owned(out), nonfinite_offsets: offsets }
    }

    /// Whether `slice` (borrowed from `self.text`) is a rewritten non-finite number.
    pub fn is_nonfinite(&self, slice: &str) -> bool {
        if self.nonfinite_offsets.is_empty() {
            return false;
        }
        let offset = (slice.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        self.nonfinite_offsets.binary_search(&offset).is_ok()
    }
}

/// Cheap pre-check: most frames hold no `N`/`I` outside strings at all.
fn might_hold_nonfinite(raw: &str) -> bool {
    raw.contains("NaN") || raw.contains("Infinity")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_tokens_outside_strings_only() {
        let f = SanitizedFrame::new(r#"[NaN, "NaN", {"a": -Infinity, "b": "x\"Infinity"}, Infinity]"#);
        assert_eq!(f.text, r#"[null, "NaN", {"a": null, "b": "x\"Infinity"}, null]"#);
        assert!(f.is_nonfinite(&f.text[1..5]));
        assert!(!f.is_nonfinite(&f.text[2..6]));
    }

    #[test]
    fn leaves_plain_frames_borrowed() {
        let f = SanitizedFrame::new(r#"{"value": null, "name": "NaN"}"#);
        assert!(matches!(f.text, Cow::Borrowed(_)));
        assert!(!f.is_nonfinite(&f.text[10..14]));
    }
}
