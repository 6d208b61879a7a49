//! Percent-encoding shared by the signers: RFC 3986 unreserved characters stay,
//! everything else is escaped, so any key travels in a URL unchanged.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Escapes everything but unreserved characters (`/` included).
pub fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// Escapes each `/`-separated segment of an object key, keeping the slashes.
pub fn encode_key(key: &str) -> String {
    key.split('/').map(encode_component).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_slashes_and_escape_the_rest() {
        assert_eq!(encode_key("run/a dir/ü+%#.bin"), "run/a%20dir/%C3%BC%2B%25%23.bin");
        assert_eq!(encode_key("/a//b"), "/a//b");
        assert_eq!(encode_component("a/b=c"), "a%2Fb%3Dc");
    }
}
