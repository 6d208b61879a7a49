//! Datetimes as the reference accepts them (ISO 8601 / RFC 3339 strings, plain
//! dates, Unix timestamps) and writes them back (Python's `isoformat()`).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};

/// A parsed datetime; naive ones have no offset and are written without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientDateTime {
    Naive(NaiveDateTime),
    Aware(DateTime<FixedOffset>),
}

/// Why a datetime field's value is not a datetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateTimeError {
    #[error("expected an ISO 8601 datetime, a date or a Unix timestamp")]
    Unreadable,
    #[error("a timestamp must be a finite number")]
    NonFinite,
    #[error("timestamp out of range")]
    OutOfRange,
}

/// Timestamps larger than this are milliseconds (pydantic's rule).
const MILLIS_THRESHOLD: f64 = 2e10;
/// Python's datetimes: years 1 to 9999, so 0001-01-01 to 9999-12-31T23:59:59 UTC.
const MIN_TIMESTAMP_MICROS: f64 = -62_135_596_800e6;
const MAX_TIMESTAMP_MICROS: f64 = 253_402_300_799e6;

impl ClientDateTime {
    pub fn parse_str(text: &str) -> Result<Self, DateTimeError> {
        let text = text.trim();
        if let Ok(ts) = text.parse::<f64>() {
            if text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+') {
                return Self::from_timestamp(ts);
            }
        }
        parse_iso(text.as_bytes()).ok_or(DateTimeError::Unreadable)
    }

    pub fn from_timestamp(ts: f64) -> Result<Self, DateTimeError> {
        if !ts.is_finite() {
            return Err(DateTimeError::NonFinite);
        }
        let seconds = if ts.abs() > MILLIS_THRESHOLD { ts / 1000.0 } else { ts };
        let micros = (seconds * 1e6).round();
        if !(MIN_TIMESTAMP_MICROS..=MAX_TIMESTAMP_MICROS).contains(&micros) {
            return Err(DateTimeError::OutOfRange);
        }
        Utc.timestamp_micros(micros as i64).single().map(|dt| Self::Aware(dt.fixed_offset())).ok_or(DateTimeError::OutOfRange)
    }

    /// Python `datetime.isoformat()`: microseconds only when non-zero, `+HH:MM` offset.
    /// Written digit by digit: this runs for most messages.
    pub fn write_isoformat(&self, out: &mut Vec<u8>) {
        let (naive, offset) = match self {
            Self::Naive(n) => (*n, None),
            Self::Aware(dt) => (dt.naive_local(), Some(dt.offset().local_minus_utc())),
        };
        // Parsing keeps years within 1..=9999, so always four digits.
        push_digits(out, naive.year() as u32, 4);
        for (separator, value) in
            [(b'-', naive.month()), (b'-', naive.day()), (b'T', naive.hour()), (b':', naive.minute()), (b':', naive.second())]
        {
            out.push(separator);
            push_digits(out, value, 2);
        }
        let micros = naive.nanosecond() / 1000;
        if micros != 0 {
            out.push(b'.');
            push_digits(out, micros, 6);
        }
        if let Some(secs) = offset {
            out.push(if secs < 0 { b'-' } else { b'+' });
            let secs = secs.unsigned_abs();
            push_digits(out, secs / 3600, 2);
            out.push(b':');
            push_digits(out, (secs % 3600) / 60, 2);
            if secs % 60 != 0 {
                out.push(b':');
                push_digits(out, secs % 60, 2);
            }
        }
    }
}

/// `value` in exactly `width` decimal digits, zero-padded.
fn push_digits(out: &mut Vec<u8>, value: u32, width: u32) {
    for position in (0..width).rev() {
        out.push(b'0' + (value / 10u32.pow(position) % 10) as u8);
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = b.get(at..at + n)?;
    part.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn parse_iso(b: &[u8]) -> Option<ClientDateTime> {
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let year = digits(b, 0, 4).filter(|&year| year >= 1)?;
    let date = NaiveDate::from_ymd_opt(year as i32, digits(b, 5, 2)?, digits(b, 8, 2)?)?;
    if b.len() == 10 {
        return Some(ClientDateTime::Naive(date.and_time(NaiveTime::MIN)));
    }
    if !matches!(b[10], b'T' | b't' | b' ' | b'_') || b.get(13) != Some(&b':') {
        return None;
    }
    let (hour, minute) = (digits(b, 11, 2)?, digits(b, 14, 2)?);
    let mut at = 16;
    let mut second = 0;
    let mut nanos = 0;
    if b.get(at) == Some(&b':') {
        second = digits(b, at + 1, 2)?;
        at += 3;
        if matches!(b.get(at), Some(b'.' | b',')) {
            at += 1;
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            let fraction = &b[start..at];
            if fraction.is_empty() {
                return None;
            }
            // Microsecond precision at most, truncated like the reference.
            let micros = fraction.iter().take(6).fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
            nanos = micros * 10u32.pow(6 - fraction.len().min(6) as u32) * 1000;
        }
    }
    let naive = date.and_time(NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?);
    let rest = &b[at..];
    let offset_secs = match rest {
        [] => return Some(ClientDateTime::Naive(naive)),
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), ..] => {
            let tail = &rest[1..];
            let (h, m) = match tail.len() {
                2 => (digits(tail, 0, 2)?, 0),
                4 => (digits(tail, 0, 2)?, digits(tail, 2, 2)?),
                5 if tail[2] == b':' => (digits(tail, 0, 2)?, digits(tail, 3, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let secs = (h * 3600 + m * 60) as i32;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let offset = FixedOffset::east_opt(offset_secs)?;
    offset.from_local_datetime(&naive).single().map(ClientDateTime::Aware)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(dt: ClientDateTime) -> String {
        let mut out = Vec::new();
        dt.write_isoformat(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_python_isoformat() {
        let cases = [
            ("2026-11-26T10:00:00Z", "2026-11-26T10:00:00+00:00"),
            ("2026-11-26T10:00:00.123456+02:00", "2026-11-26T10:00:00.123456+02:00"),
            ("2026-11-26T10:00:00.1-0530", "2026-11-26T10:00:00.100000-05:30"),
            ("2026-11-26T10:00:00.123456789Z", "2026-11-26T10:00:00.123456+00:00"),
            ("2026-11-26 10:00", "2026-11-26T10:00:00"),
            ("2026-11-26T10:00:00", "2026-11-26T10:00:00"),
            ("2026-11-26", "2026-11-26T00:00:00"),
            ("1795687200", "2026-11-26T10:00:00+00:00"),
            ("1795687200.5", "2026-11-26T10:00:00.500000+00:00"),
        ];
        for (input, expected) in cases {
            assert_eq!(iso(ClientDateTime::parse_str(input).unwrap()), expected, "{input}");
        }
    }

    #[test]
    fn timestamps_in_seconds_and_milliseconds() {
        assert_eq!(iso(ClientDateTime::from_timestamp(1795687200.0).unwrap()), "2026-11-26T10:00:00+00:00");
        assert_eq!(iso(ClientDateTime::from_timestamp(1795687200123.0).unwrap()), "2026-11-26T10:00:00.123000+00:00");
        assert!(ClientDateTime::from_timestamp(f64::NAN).is_err());
        assert!(ClientDateTime::from_timestamp(1e300).is_err());
        // Python's range: from 0001-01-01, not before.
        assert_eq!(iso(ClientDateTime::from_timestamp(-62135596800000.0).unwrap()), "0001-01-01T00:00:00+00:00");
        assert!(ClientDateTime::from_timestamp(-62135596800001.0).is_err());
        assert!(ClientDateTime::from_timestamp(-100000000000000.0).is_err());
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "0000-01-01",
            "0000-12-31T23:59:59",
            "2026-13-01",
            "2026-11-26T25:00:00",
            "2026-11-26T10:00:00+2",
            "2026-11-26T10:00:00.Z",
            "2026-02-30",
        ] {
            assert!(ClientDateTime::parse_str(bad).is_err(), "{bad}");
        }
    }
}
