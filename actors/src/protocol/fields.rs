//! Lax field decoding, mirroring the coercions the reference (pydantic) accepts.
//! Every decoder reads a field's raw JSON text and either returns the value to
//! publish or why it is refused.

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::datetime::ClientDateTime;
use super::error::FieldError;
use super::nonfinite::SanitizedFrame;
use super::table::{FieldKind, MAX_NESTING};

/// A decoded field, ready to be written into a payload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// JSON text published as it is: the client's own, or a default.
    Json(&'a str),
    Float(f64),
    Int(i128),
    Bool(bool),
    DateTime(ClientDateTime),
    Null,
}

/// Decodes a present, non-`null` (or refused-when-`null`) field of `kind`.
#[inline]
pub fn decode<'a>(kind: FieldKind, raw: &'a RawValue, frame: &SanitizedFrame) -> Result<Value<'a>, FieldError> {
    Ok(match kind {
        FieldKind::String => Value::Json(string(raw)?),
        FieldKind::Object => Value::Json(object(raw)?),
        FieldKind::Array => Value::Json(array(raw)?),
        FieldKind::Float => Value::Float(float(raw, frame)?),
        FieldKind::Int => Value::Int(int(raw, frame)?),
        FieldKind::Bool => Value::Bool(boolean(raw)?),
        FieldKind::DateTime => Value::DateTime(datetime(raw, frame)?),
    })
}

fn first_byte(raw: &RawValue) -> u8 {
    raw.get().as_bytes()[0]
}

fn kind_of(raw: &RawValue) -> &'static str {
    match first_byte(raw) {
        b'"' => "a string",
        b'{' => "an object",
        b'[' => "an array",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "a number",
    }
}

fn expected(what: &'static str, raw: &RawValue) -> FieldError {
    FieldError::WrongType { expected: what, got: kind_of(raw) }
}

fn decode_str(raw: &RawValue) -> Result<Cow<'_, str>, FieldError> {
    serde_json::from_str::<Cow<'_, str>>(raw.get()).map_err(|e| FieldError::InvalidString(e.to_string()))
}

/// A string field: its JSON literal, ready to be written back unchanged.
pub fn string(raw: &RawValue) -> Result<&str, FieldError> {
    if first_byte(raw) == b'"' {
        Ok(raw.get())
    } else {
        Err(expected("a string", raw))
    }
}

/// A string field's decoded text.
pub fn string_value(raw: &RawValue) -> Result<Cow<'_, str>, FieldError> {
    string(raw)?;
    decode_str(raw)
}

/// A float: numbers, numeric strings and booleans; a non-finite value is kept
/// (and published as `null`), a literal `null` is refused.
pub fn float(raw: &RawValue, frame: &SanitizedFrame) -> Result<f64, FieldError> {
    let text = raw.get();
    match first_byte(raw) {
        b'n' if frame.is_nonfinite(text) => Ok(f64::NAN),
        b'-' | b'0'..=b'9' => text.parse::<f64>().map_err(|_| FieldError::NumberOutOfRange),
        b't' => Ok(1.0),
        b'f' => Ok(0.0),
        b'"' => parse_float_str(&decode_str(raw)?).ok_or(FieldError::NonNumericString),
        _ => Err(expected("a number", raw)),
    }
}

fn parse_float_str(s: &str) -> Option<f64> {
    let s = s.trim();
    let plain = s.trim_start_matches(['+', '-']);
    let is_word = plain.eq_ignore_ascii_case("nan") || plain.eq_ignore_ascii_case("inf") || plain.eq_ignore_ascii_case("infinity");
    if is_word || plain.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.') {
        s.parse().ok()
    } else {
        None
    }
}

/// An integer: integral numbers (`3`, `3.0`), numeric strings and booleans.
/// Integer literals may exceed i64 (Python ints are unbounded); i128 holds them.
pub fn int(raw: &RawValue, frame: &SanitizedFrame) -> Result<i128, FieldError> {
    let text = raw.get();
    match first_byte(raw) {
        b'n' if frame.is_nonfinite(text) => Err(FieldError::NonFiniteInteger),
        b'-' | b'0'..=b'9' => int_from_number_text(text),
        b't' => Ok(1),
        b'f' => Ok(0),
        b'"' => int_from_number_text(decode_str(raw)?.trim()).map_err(|_| FieldError::NonIntegerString),
        _ => Err(expected("an integer", raw)),
    }
}

/// Floats convert to ints only within i64, as pydantic's `int_parsing_size`.
const MAX_INT_FROM_FLOAT: f64 = 9.223_372_036_854_775e18;

fn int_from_number_text(text: &str) -> Result<i128, FieldError> {
    // i64 first: it is what steps and epochs are, and it parses faster.
    if let Ok(i) = text.parse::<i64>() {
        return Ok(i.into());
    }
    if let Ok(i) = text.parse::<i128>() {
        return Ok(i);
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < MAX_INT_FROM_FLOAT => Ok(f as i128),
        Ok(f) if f.is_finite() && f.fract() != 0.0 => Err(FieldError::FractionalInteger),
        Ok(_) => Err(FieldError::IntegerOutOfRange),
        Err(_) => Err(FieldError::NotAnInteger),
    }
}

/// A boolean: JSON booleans, 0/1, and the strings pydantic knows.
pub fn boolean(raw: &RawValue) -> Result<bool, FieldError> {
    match raw.get() {
        "true" | "1" | "1.0" => Ok(true),
        "false" | "0" | "0.0" => Ok(false),
        _ if first_byte(raw) == b'"' => match decode_str(raw)?.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "on" | "1" => Ok(true),
            "false" | "f" | "no" | "n" | "off" | "0" => Ok(false),
            _ => Err(FieldError::NotABooleanString),
        },
        _ => Err(expected("a boolean", raw)),
    }
}

/// A JSON object, kept as raw text.
pub fn object(raw: &RawValue) -> Result<&str, FieldError> {
    if first_byte(raw) == b'{' {
        within_nesting(raw.get())
    } else {
        Err(expected("an object", raw))
    }
}

/// A JSON array, kept as raw text.
pub fn array(raw: &RawValue) -> Result<&str, FieldError> {
    if first_byte(raw) == b'[' {
        within_nesting(raw.get())
    } else {
        Err(expected("an array", raw))
    }
}

/// `json` (valid JSON) if it nests at most [`MAX_NESTING`] levels.
fn within_nesting(json: &str) -> Result<&str, FieldError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in json.as_bytes() {
        match (in_string, byte) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (true, b'"') | (false, b'"') => in_string = !in_string,
            (false, b'[' | b'{') => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(FieldError::TooDeep);
                }
            }
            (false, b']' | b'}') => depth -= 1,
            _ => {}
        }
    }
    Ok(json)
}

pub fn is_null(raw: &RawValue, frame: &SanitizedFrame) -> bool {
    raw.get() == "null" && !frame.is_nonfinite(raw.get())
}

/// A datetime: ISO 8601 strings, dates, Unix timestamps (numbers or numeric strings).
pub fn datetime(raw: &RawValue, frame: &SanitizedFrame) -> Result<ClientDateTime, FieldError> {
    match first_byte(raw) {
        b'"' => Ok(ClientDateTime::parse_str(&decode_str(raw)?)?),
        b'-' | b'0'..=b'9' => Ok(ClientDateTime::from_timestamp(float(raw, frame)?)?),
        _ => Err(expected("a datetime", raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_raw<T>(json: &str, f: impl FnOnce(&RawValue, &SanitizedFrame) -> T) -> T {
        let frame = SanitizedFrame::new(json);
        let raw: &RawValue = serde_json::from_str(&frame.text).unwrap();
        f(raw, &frame)
    }

    /// The refusal's text, as the client reads it.
    fn refusal<T: std::fmt::Debug>(decoded: Result<T, FieldError>) -> String {
        decoded.expect_err("a refusal").to_string()
    }

    #[test]
    fn float_coercions() {
        assert_eq!(with_raw("1", float), Ok(1.0));
        assert_eq!(with_raw("-2.5e-3", float), Ok(-0.0025));
        assert_eq!(with_raw(r#""0.5""#, float), Ok(0.5));
        assert_eq!(with_raw(r#"" 7 ""#, float), Ok(7.0));
        assert_eq!(with_raw("true", float), Ok(1.0));
        assert_eq!(with_raw("false", float), Ok(0.0));
        assert!(with_raw("NaN", float).unwrap().is_nan());
        assert!(with_raw("-Infinity", float).unwrap().is_nan());
        assert_eq!(with_raw(r#""inf""#, float), Ok(f64::INFINITY));
        assert_eq!(refusal(with_raw("null", float)), "expected a number, got null");
        assert_eq!(refusal(with_raw(r#""abc""#, float)), "expected a number, got a non-numeric string");
        assert_eq!(refusal(with_raw("{}", float)), "expected a number, got an object");
    }

    #[test]
    fn int_coercions() {
        assert_eq!(with_raw("3", int), Ok(3));
        assert_eq!(with_raw("3.0", int), Ok(3));
        assert_eq!(with_raw(r#""3""#, int), Ok(3));
        assert_eq!(with_raw("true", int), Ok(1));
        assert_eq!(refusal(with_raw("1.5", int)), "expected an integer, got a number with a fractional part");
        assert_eq!(refusal(with_raw("1e300", int)), "integer out of range");
        assert_eq!(refusal(with_raw("1e20", int)), "integer out of range");
        assert_eq!(with_raw("18446744073709551616", int), Ok(1 << 64));
        assert!(with_raw("NaN", int).is_err());
        assert!(with_raw(r#""x""#, int).is_err());
        assert!(with_raw("null", is_null));
        assert!(!with_raw("NaN", is_null));
    }

    #[test]
    fn string_object_and_bool_rules() {
        assert_eq!(with_raw(r#""a\"b""#, |r, _| string(r).map(str::to_owned)), Ok(r#""a\"b""#.to_owned()));
        assert_eq!(refusal(with_raw("5", |r, _| string(r).map(str::to_owned))), "expected a string, got a number");
        assert_eq!(refusal(with_raw(r#""{}""#, |r, _| object(r).map(str::to_owned))), "expected an object, got a string");
        assert_eq!(with_raw(r#""yes""#, |r, _| boolean(r)), Ok(true));
        assert_eq!(with_raw("0", |r, _| boolean(r)), Ok(false));
        assert!(with_raw("2", |r, _| boolean(r)).is_err());
        assert!(with_raw("[1]", |r, _| array(r).map(str::to_owned)).is_ok());
    }

    #[test]
    fn nesting_is_bounded_and_brackets_in_strings_do_not_count() {
        let nested = |levels: usize| format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels));
        assert!(with_raw(&nested(MAX_NESTING), |r, _| object(r).map(str::to_owned)).is_ok());
        assert_eq!(refusal(with_raw(&nested(MAX_NESTING + 1), |r, _| object(r).map(str::to_owned))), "nested deeper than 500 levels");
        let brackets_in_strings = format!(r#"{{"a":"{}\"{}"}}"#, "[".repeat(1000), "{".repeat(1000));
        assert!(with_raw(&brackets_in_strings, |r, _| object(r).map(str::to_owned)).is_ok());
    }
}
