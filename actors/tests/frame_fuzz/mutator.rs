//! The mutations: bytes, JSON tokens, interesting values, nesting, splicing,
//! on inputs that may be broken JSON. Keys and type names come from the
//! protocol's table, so a new field or type is fuzzed without an edit here.

use std::ops::Range;

use matyan_actors::protocol::{MESSAGE_TYPES, WIRE_FIELDS};

/// Larger inputs are cut to this.
const MAX_INPUT: usize = 2 << 20;

/// xorshift64*: small, fast, and the same sequence for the same seed everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that nearby seeds give unrelated sequences.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`; `n` > 0.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Bytes JSON is made of, and a few it must refuse.
const JSON_BYTES: &[u8] = b"{}[]\":,\\-+.0123456789eEntrufalsNIyi \t\n\r\x00\x1f\x7f";

/// Whole values to put in place of a value.
const VALUES: &[&str] = &[
    "NaN",
    "Infinity",
    "-Infinity",
    "-NaN",
    "nan",
    "1e400",
    "-1e400",
    "1e-400",
    "0",
    "-0",
    "-0.0",
    "1",
    "1.0",
    "1.5",
    "-1",
    "1e20",
    "1E+2",
    "5e-324",
    "2e10",
    "20000000001",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "9.223372036854775e18",
    "170141183460469231731687303715884105727",
    "170141183460469231731687303715884105728",
    "-170141183460469231731687303715884105729",
    "1234567890123456789012345678901234567890",
    "253402300799",
    "253402300800",
    "-62135596800",
    "253402300799999",
    "null",
    "true",
    "false",
    "\"\"",
    "[]",
    "{}",
    "[null]",
    "[{}]",
    "{\"\":null}",
    "{\"type\":\"finish_run\"}",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\udc00\\ud800\"",
    "\"\\ud83d\\ude00\"",
    "\"1\"",
    "\" 7 \"",
    "\"1e-7\"",
    "\"inf\"",
    "\"-Infinity\"",
    "\"NaN\"",
    "\"yes\"",
    "\"off\"",
    "\"2026-11-26T10:00:00Z\"",
    "\"2026-11-26\"",
    "\"0001-01-01T00:00:00+23:59\"",
    "\"9999-12-31T23:59:59-23:59\"",
    "\"2024-02-29T23:59:59.9999999\"",
    "\"1764151200.5\"",
];

/// String contents (already JSON-escaped) to put between a string's quotes,
/// besides the message type names.
const STRINGS: &[&str] = &[
    "",
    "\\u0000",
    "\\ud800",
    "\\udfff",
    "\\ud800\\u0041",
    "\\\"",
    "\\\\",
    "\\\\\\\"NaN",
    "NaN",
    "-Infinity",
    "\\/",
    "é",
    "😀",
    "\\u2028",
    "</script>",
    "\\u005f",
    " 1 ",
    "+1",
    "1_000",
    "0x10",
    "1e400",
    "-0",
    "t",
    "F",
    "On",
    "2026-11-26T10:00:00.1234567+05:30",
    "2026-11-26 10:00",
    "2026-11-26T10:00:00+0000",
    "2026-11-26t10:00:00z",
    "0001-01-01",
    "9999-12-31T23:59:59.999999",
    "2026-11-26T10:00:00.Z",
    "delete_run",
    "Add_Tag",
    "add_tag ",
    "add\\u005ftag",
];

fn pick_string(rng: &mut Rng) -> &'static str {
    if rng.one_in(4) {
        rng.pick(&MESSAGE_TYPES).name
    } else {
        rng.pick::<&str>(STRINGS)
    }
}

/// Keys to put in place of a key: the wire fields, and these near misses.
const ODD_KEYS: &[&str] = &["run_id", "", "Type", "type ", "t\\u0079pe"];

fn pick_key(rng: &mut Rng) -> &'static str {
    if rng.below(WIRE_FIELDS.len() + ODD_KEYS.len()) < WIRE_FIELDS.len() {
        rng.pick::<&str>(&WIRE_FIELDS)
    } else {
        rng.pick::<&str>(ODD_KEYS)
    }
}

/// JSON whitespace, and whitespace JSON does not allow.
const WHITESPACE: &[&str] = &[" ", "\t", "\n", "\r", "\x0b", "\x0c", "\u{85}", "\u{a0}", "\u{2028}", "\u{3000}", "\u{feff}"];

/// Byte sequences that are not UTF-8 (they reach the parser as U+FFFD).
const NOT_UTF8: &[&[u8]] = &[b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"];

/// A seed or a kept input, mutated 1–8 times.
pub fn next_input(rng: &mut Rng, seeds: &[Vec<u8>], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut input = pick_input(rng, seeds, pool).to_vec();
    for _ in 0..1 + rng.below(8) {
        mutate(rng, &mut input, seeds, pool);
        input.truncate(MAX_INPUT);
    }
    input
}

fn pick_input<'a>(rng: &mut Rng, seeds: &'a [Vec<u8>], pool: &'a [Vec<u8>]) -> &'a [u8] {
    if pool.is_empty() || rng.one_in(2) {
        &seeds[rng.below(seeds.len())]
    } else {
        &pool[rng.below(pool.len())]
    }
}

/// A random range of `0..len`, short more often than not.
fn random_range(rng: &mut Rng, len: usize) -> Range<usize> {
    let start = rng.below(len + 1);
    let room = len - start;
    let n = if rng.one_in(4) { rng.below(room + 1) } else { rng.below(room.min(16) + 1) };
    start..start + n
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    (0..1 + rng.below(8)).map(|_| if rng.one_in(3) { rng.next_u64() as u8 } else { *rng.pick(JSON_BYTES) }).collect()
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>], pool: &[Vec<u8>]) {
    let len = input.len();
    match rng.below(23) {
        0 if len > 0 => {
            let at = rng.below(len);
            input[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            input[at] = if rng.one_in(3) { rng.next_u64() as u8 } else { *rng.pick(JSON_BYTES) };
        }
        2 => {
            let at = rng.below(len + 1);
            let bytes = random_bytes(rng);
            input.splice(at..at, bytes);
        }
        3 | 4 => {
            let range = random_range(rng, len);
            input.drain(range);
        }
        5 => {
            let range = random_range(rng, len);
            let copy = input[range].to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, copy);
        }
        6 => {
            let other = pick_input(rng, seeds, pool).to_vec();
            let piece = random_range(rng, other.len());
            if rng.one_in(2) {
                let at = rng.below(len + 1);
                input.splice(at..at, other[piece].iter().copied());
            } else {
                // Crossover: this input's head, the other's tail.
                let cut = rng.below(len + 1);
                input.truncate(cut);
                input.extend_from_slice(&other[piece.start..]);
            }
        }
        7 | 8 => {
            let lexed = Lexed::new(input);
            if let Some(span) = lexed.random_value(rng) {
                let value = if rng.one_in(8) { format!("\"{}\"", pick_string(rng)) } else { rng.pick(VALUES).to_string() };
                input.splice(span, value.into_bytes());
            }
        }
        9 => {
            let lexed = Lexed::new(input);
            if let Some(span) = lexed.random_string(rng) {
                let content = pick_string(rng).as_bytes().to_vec();
                input.splice(span.start + 1..span.end.saturating_sub(1).max(span.start + 1), content);
            }
        }
        10 => {
            let lexed = Lexed::new(input);
            if let Some(span) = lexed.random_of(rng, Tok::Num) {
                let number = tweak_number(rng, &input[span.clone()]);
                input.splice(span, number);
            }
        }
        11 => {
            let lexed = Lexed::new(input);
            if let Some(k) = lexed.random_key(rng) {
                let (_, start, end) = lexed.toks[k];
                let key = format!("\"{}\"", pick_key(rng));
                input.splice(start..end, key.into_bytes());
            }
        }
        12 => {
            let lexed = Lexed::new(input);
            if let Some(k) = lexed.random_key(rng) {
                let span = lexed.member(k);
                input.drain(span);
            }
        }
        13 => {
            let lexed = Lexed::new(input);
            if let Some(k) = lexed.random_of_index(rng, Tok::Open, b'{', input) {
                let (_, _, end) = lexed.toks[k];
                let empty = lexed.toks.get(k + 1).is_some_and(|t| t.0 == Tok::Close);
                let value = if rng.one_in(3) { format!("\"{}\"", pick_string(rng)) } else { rng.pick(VALUES).to_string() };
                let member = format!("\"{}\":{value}{}", pick_key(rng), if empty { "" } else { "," });
                input.splice(end..end, member.into_bytes());
            }
        }
        14 => {
            let lexed = Lexed::new(input);
            if let Some(span) = lexed.random_value(rng) {
                let depth = *rng.pick(&[1, 1, 1, 2, 3, 100, 127, 128, 129, 1000]);
                let (open, close) = if rng.one_in(2) { ("[", "]") } else { ("{\"k\":", "}") };
                input.splice(span.end..span.end, close.repeat(depth).into_bytes());
                input.splice(span.start..span.start, open.repeat(depth).into_bytes());
            }
        }
        15 => {
            let at = if rng.one_in(3) { 0 } else { rng.below(len + 1) };
            let space = rng.pick(WHITESPACE).as_bytes().to_vec();
            input.splice(at..at, space);
        }
        16 => {
            let at = rng.below(len + 1);
            let bytes = rng.pick(NOT_UTF8).to_vec();
            input.splice(at..at, bytes);
        }
        17 => {
            let other = pick_input(rng, seeds, pool).to_vec();
            match rng.below(4) {
                0 => {
                    input.insert(0, b'[');
                    input.push(b']');
                }
                1 => {
                    input.insert(0, b'[');
                    input.push(b',');
                    input.extend_from_slice(&other);
                    input.push(b']');
                }
                2 if input.first() == Some(&b'[') && input.last() == Some(&b']') => {
                    input.pop();
                    input.remove(0);
                }
                _ => {
                    input.push(b' ');
                    input.extend_from_slice(&other);
                }
            }
        }
        18 => {
            let lexed = Lexed::new(input);
            if let Some(span) = lexed.random_string(rng) {
                let n = if rng.one_in(16) { 1_000_001 } else { *rng.pick(&[64, 4096, 70_000]) };
                let filler = if rng.one_in(2) { "x".repeat(n) } else { "\\u00e9".repeat(n / 6 + 1) };
                input.splice(span.start + 1..span.end.saturating_sub(1).max(span.start + 1), filler.into_bytes());
            }
        }
        19 if len > 0 => {
            input.truncate(rng.below(len));
        }
        20 => {
            // A run of ASCII digits anywhere, strings included (dates, numeric strings).
            let runs = digit_runs(input);
            if !runs.is_empty() {
                let run = rng.pick(&runs).clone();
                let digits = change_digits(rng, &input[run.clone()]);
                input.splice(run, digits);
            }
        }
        21 => {
            let lexed = Lexed::new(input);
            let bracket = if rng.one_in(2) { b'{' } else { b'[' };
            if let Some(k) = lexed.random_of_index(rng, Tok::Open, bracket, input) {
                let flipped = lexed.flip(rng, k, input);
                input.splice(lexed.value_span(k), flipped);
            }
        }
        _ => {
            // Non-finite literals where a number or word stood (the sanitizer's input).
            let lexed = Lexed::new(input);
            let span = if rng.one_in(2) { lexed.random_of(rng, Tok::Num) } else { lexed.random_of(rng, Tok::Word) };
            if let Some(span) = span {
                let token = *rng.pick(&["NaN", "Infinity", "-Infinity"]);
                input.splice(span, token.bytes());
            }
        }
    }
}

fn digit_runs(b: &[u8]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            runs.push(start..i);
        } else {
            i += 1;
        }
    }
    runs
}

/// libFuzzer's ASCII-integer mutation: zero, all nines, ±1, random digits, ×10, ÷10.
fn change_digits(rng: &mut Rng, digits: &[u8]) -> Vec<u8> {
    let mut d = digits.to_vec();
    match rng.below(7) {
        0 => d.iter_mut().for_each(|c| *c = b'0'),
        1 => d.iter_mut().for_each(|c| *c = b'9'),
        2 | 3 => {
            // Add or take one, in decimal, on the digits as they are.
            let up = rng.one_in(2);
            for c in d.iter_mut().rev() {
                match (up, *c) {
                    (true, b'9') => *c = b'0',
                    (false, b'0') => *c = b'9',
                    (true, _) => {
                        *c += 1;
                        break;
                    }
                    (false, _) => {
                        *c -= 1;
                        break;
                    }
                }
            }
        }
        4 => d.iter_mut().for_each(|c| *c = b'0' + rng.below(10) as u8),
        5 => d.push(b'0'),
        _ => {
            d.pop();
        }
    }
    d
}

fn tweak_number(rng: &mut Rng, number: &[u8]) -> Vec<u8> {
    let mut n = number.to_vec();
    match rng.below(7) {
        0 => {
            if n.first() == Some(&b'-') {
                n.remove(0);
            } else {
                n.insert(0, b'-');
            }
        }
        1 => n.extend_from_slice(rng.pick(&["0", "000", "000000", "9"]).as_bytes()),
        2 => {
            let at = rng.below(n.len() + 1);
            n.insert(at, b'0' + rng.below(10) as u8);
        }
        3 => n.extend_from_slice(rng.pick(&[".5", "e308", "e-7", "E+2", "e400", ".0"]).as_bytes()),
        4 if !n.is_empty() => {
            n.remove(rng.below(n.len()));
        }
        5 => n = rng.pick(VALUES).as_bytes().to_vec(),
        _ => {
            // A digit changed in place: nearby values, other magnitudes.
            if !n.is_empty() {
                let at = rng.below(n.len());
                if n[at].is_ascii_digit() {
                    n[at] = b'0' + rng.below(10) as u8;
                }
            }
        }
    }
    n
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    Str,
    Num,
    Word,
    Open,
    Close,
    Colon,
    Comma,
}

/// A forgiving tokenizer: enough structure to mutate values, keys and members
/// of inputs that may be broken JSON.
pub struct Lexed {
    toks: Vec<(Tok, usize, usize)>,
    /// For an opening bracket, the index of its closing one (or the last token).
    close_of: Vec<usize>,
}

impl Lexed {
    pub fn new(b: &[u8]) -> Self {
        let mut toks = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let start = i;
            let tok = match b[i] {
                b'"' => {
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                    i = (i + 1).min(b.len());
                    Tok::Str
                }
                b'-' | b'0'..=b'9' => {
                    i += 1;
                    while i < b.len() && matches!(b[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                        i += 1;
                    }
                    Tok::Num
                }
                c if c.is_ascii_alphabetic() => {
                    while i < b.len() && b[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                    Tok::Word
                }
                b'{' | b'[' => {
                    i += 1;
                    Tok::Open
                }
                b'}' | b']' => {
                    i += 1;
                    Tok::Close
                }
                b':' => {
                    i += 1;
                    Tok::Colon
                }
                b',' => {
                    i += 1;
                    Tok::Comma
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            toks.push((tok, start, i));
        }
        let mut close_of: Vec<usize> = (0..toks.len()).collect();
        let mut open = Vec::new();
        for (k, &(tok, _, _)) in toks.iter().enumerate() {
            match tok {
                Tok::Open => open.push(k),
                Tok::Close => {
                    if let Some(o) = open.pop() {
                        close_of[o] = k;
                    }
                }
                _ => {}
            }
        }
        for o in open {
            close_of[o] = toks.len() - 1;
        }
        Self { toks, close_of }
    }

    fn is_key(&self, k: usize) -> bool {
        self.toks[k].0 == Tok::Str && self.toks.get(k + 1).is_some_and(|t| t.0 == Tok::Colon)
    }

    /// The byte span of the value starting at token `k`.
    fn value_span(&self, k: usize) -> Range<usize> {
        self.toks[k].1..self.toks[self.close_of[k]].2
    }

    fn random_value(&self, rng: &mut Rng) -> Option<Range<usize>> {
        let values: Vec<usize> = (0..self.toks.len())
            .filter(|&k| matches!(self.toks[k].0, Tok::Num | Tok::Word | Tok::Open) || (self.toks[k].0 == Tok::Str && !self.is_key(k)))
            .collect();
        (!values.is_empty()).then(|| self.value_span(*rng.pick(&values)))
    }

    fn random_string(&self, rng: &mut Rng) -> Option<Range<usize>> {
        let strings: Vec<usize> = (0..self.toks.len()).filter(|&k| self.toks[k].0 == Tok::Str && !self.is_key(k)).collect();
        (!strings.is_empty()).then(|| {
            let (_, start, end) = self.toks[*rng.pick(&strings)];
            start..end
        })
    }

    fn random_of(&self, rng: &mut Rng, tok: Tok) -> Option<Range<usize>> {
        let found: Vec<usize> = (0..self.toks.len()).filter(|&k| self.toks[k].0 == tok).collect();
        (!found.is_empty()).then(|| {
            let (_, start, end) = self.toks[*rng.pick(&found)];
            start..end
        })
    }

    /// A token of kind `tok` starting with the byte `first`.
    fn random_of_index(&self, rng: &mut Rng, tok: Tok, first: u8, b: &[u8]) -> Option<usize> {
        let found: Vec<usize> = (0..self.toks.len()).filter(|&k| self.toks[k].0 == tok && b[self.toks[k].1] == first).collect();
        (!found.is_empty()).then(|| *rng.pick(&found))
    }

    fn random_key(&self, rng: &mut Rng) -> Option<usize> {
        let keys: Vec<usize> = (0..self.toks.len()).filter(|&k| self.is_key(k)).collect();
        (!keys.is_empty()).then(|| *rng.pick(&keys))
    }

    /// The values directly inside the container opened at token `k`.
    fn children(&self, k: usize) -> Vec<Range<usize>> {
        let mut spans = Vec::new();
        let mut j = k + 1;
        while j < self.close_of[k] {
            let start = if self.is_key(j) { j + 2 } else { j };
            if start < self.close_of[k] && matches!(self.toks[start].0, Tok::Str | Tok::Num | Tok::Word | Tok::Open) {
                spans.push(self.value_span(start));
                j = self.close_of[start] + 1;
            } else {
                j = start + 1;
            }
        }
        spans
    }

    /// Every object member and array item, each with one neighbouring comma.
    pub fn members_and_items(&self, b: &[u8]) -> Vec<Range<usize>> {
        let mut spans: Vec<Range<usize>> = (0..self.toks.len()).filter(|&k| self.is_key(k)).map(|k| self.member(k)).collect();
        for k in (0..self.toks.len()).filter(|&k| self.toks[k].0 == Tok::Open && b[self.toks[k].1] == b'[') {
            for item in self.children(k) {
                let after = item.end + b[item.end..].iter().take_while(|c| c.is_ascii_whitespace()).count();
                let before = item.start - b[..item.start].iter().rev().take_while(|c| c.is_ascii_whitespace()).count();
                spans.push(if b.get(after) == Some(&b',') {
                    item.start..after + 1
                } else if before > 0 && b[before - 1] == b',' {
                    before - 1..item.end
                } else {
                    item
                });
            }
        }
        spans
    }

    /// An object as an array of its values, or an array as an object with known keys.
    fn flip(&self, rng: &mut Rng, k: usize, b: &[u8]) -> Vec<u8> {
        let children = self.children(k);
        let object = b[self.toks[k].1] == b'{';
        let mut out = vec![if object { b'[' } else { b'{' }];
        for (n, child) in children.into_iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            if !object {
                let key = if n == 0 { "type" } else { pick_key(rng) };
                out.extend_from_slice(format!("\"{key}\":").as_bytes());
            }
            out.extend_from_slice(&b[child]);
        }
        out.push(if object { b']' } else { b'}' });
        out
    }

    /// The byte span of the member whose key is token `k`, with one neighbouring comma.
    fn member(&self, k: usize) -> Range<usize> {
        let start = self.toks[k].1;
        let Some(value) = (k + 2 < self.toks.len()).then_some(k + 2) else {
            return start..self.toks[k].2;
        };
        let last = self.close_of[value];
        match self.toks.get(last + 1) {
            Some(&(Tok::Comma, _, comma_end)) => start..comma_end,
            _ if k > 0 && self.toks[k - 1].0 == Tok::Comma => self.toks[k - 1].1..self.toks[last].2,
            _ => start..self.toks[last].2,
        }
    }
}
