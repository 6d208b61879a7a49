//! The oracle's own JSON reader (RFC 8259), independent of serde: it keeps each
//! value's text, and unlike `serde_json::Value` it takes lone surrogate escapes
//! and numbers beyond f64, as the grammar does. Containers below the requested
//! depth are checked but not kept.

pub struct Node<'a> {
    /// The value's own text, without surrounding whitespace.
    pub raw: &'a str,
    pub kind: Kind<'a>,
}

#[derive(Debug)]
pub enum Kind<'a> {
    Null,
    Bool,
    Number,
    /// Decoded; a lone surrogate becomes U+FFFD.
    Str(String),
    Array(Vec<Node<'a>>),
    Object(Vec<(String, Node<'a>)>),
    /// A container deeper than the requested depth: valid, not kept.
    Opaque,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.raw)
    }
}

impl Kind<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "a boolean",
            Kind::Number => "a number",
            Kind::Str(_) => "a string",
            Kind::Array(_) => "an array",
            Kind::Object(_) => "an object",
            Kind::Opaque => "a container",
        }
    }
}

/// One JSON text: a value between optional whitespace, nothing else.
pub fn parse(text: &str, depth: usize) -> Result<Node<'_>, String> {
    let mut p = Parser { text, b: text.as_bytes(), i: 0 };
    let node = p.value(depth)?;
    p.ws();
    if p.i != p.b.len() {
        return Err(p.error("trailing characters"));
    }
    Ok(node)
}

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.i)
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", c as char)))
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Node<'a>, String> {
        self.ws();
        let start = self.i;
        let kind = match self.b.get(self.i) {
            None => return Err(self.error("expected a value, got the end")),
            Some(b'{' | b'[') if depth == 0 => {
                self.skip_container()?;
                Kind::Opaque
            }
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                } else {
                    loop {
                        let key = self.key()?;
                        let value = self.value(depth - 1)?;
                        members.push((key, value));
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.error("expected ',' or '}'")),
                        }
                    }
                }
                Kind::Object(members)
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if self.peek() == Some(b']') {
                    self.i += 1;
                } else {
                    loop {
                        items.push(self.value(depth - 1)?);
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.error("expected ',' or ']'")),
                        }
                    }
                }
                Kind::Array(items)
            }
            Some(_) => self.scalar()?,
        };
        Ok(Node { raw: &self.text[start..self.i], kind })
    }

    /// `"key"` then `:`.
    fn key(&mut self) -> Result<String, String> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string key"));
        }
        let key = self.string()?;
        self.expect(b':')?;
        Ok(key)
    }

    fn scalar(&mut self) -> Result<Kind<'a>, String> {
        let rest = &self.b[self.i..];
        for (word, kind) in [("null", Kind::Null), ("true", Kind::Bool), ("false", Kind::Bool)] {
            if rest.starts_with(word.as_bytes()) {
                self.i += word.len();
                return Ok(kind);
            }
        }
        match rest.first() {
            Some(b'"') => self.string().map(Kind::Str),
            Some(b'-' | b'0'..=b'9') => self.number().map(|()| Kind::Number),
            _ => Err(self.error("expected a value")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<(), String> {
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("expected a digit")),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.error("expected a fraction digit"));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("expected an exponent digit"));
            }
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.b.get(self.i..self.i + 4).ok_or_else(|| self.error("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("bad \\u escape"))?;
        if !text.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(self.error("bad \\u escape"));
        }
        self.i += 4;
        Ok(u32::from_str_radix(text, 16).expect("four hex digits"))
    }

    /// At the opening quote; returns the decoded text.
    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let run = self.i;
            while self.b.get(self.i).is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20) {
                self.i += 1;
            }
            out.push_str(&self.text[run..self.i]);
            match self.b.get(self.i) {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let escape = self.b.get(self.i).copied();
                    self.i += 1;
                    let c = match escape {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let unit = self.hex4()?;
                            if (0xD800..0xDC00).contains(&unit) && self.b[self.i..].starts_with(b"\\u") {
                                let save = self.i;
                                self.i += 2;
                                let low = self.hex4()?;
                                if (0xDC00..0xE000).contains(&low) {
                                    char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)).expect("a surrogate pair")
                                } else {
                                    self.i = save;
                                    '\u{FFFD}'
                                }
                            } else {
                                char::from_u32(unit).unwrap_or('\u{FFFD}')
                            }
                        }
                        _ => return Err(self.error("bad escape")),
                    };
                    out.push(c);
                }
                Some(_) => return Err(self.error("control character in a string")),
            }
        }
    }

    /// Checks one array or object without keeping it, with no recursion.
    fn skip_container(&mut self) -> Result<(), String> {
        let mut closers: Vec<u8> = Vec::new();
        loop {
            // A value is expected here.
            match self.peek() {
                Some(b'{') => {
                    self.i += 1;
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                    } else {
                        closers.push(b'}');
                        self.key()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    if self.peek() == Some(b']') {
                        self.i += 1;
                    } else {
                        closers.push(b']');
                        continue;
                    }
                }
                Some(_) => {
                    self.scalar()?;
                }
                None => return Err(self.error("expected a value, got the end")),
            }
            // After a value: close containers until the next value is due.
            loop {
                let Some(&closer) = closers.last() else {
                    return Ok(());
                };
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        if closer == b'}' {
                            self.key()?;
                        }
                        break;
                    }
                    Some(c) if c == closer => {
                        self.i += 1;
                        closers.pop();
                    }
                    _ => return Err(self.error("expected ',' or a closing bracket")),
                }
            }
        }
    }
}
