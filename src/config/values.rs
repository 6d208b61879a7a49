//! Value parsers shared by the sections: each turns one variable's text into a
//! typed value or a [`Problem`], which clap reports with the variable's name.

use std::time::Duration;

use super::Problem;

pub fn non_empty(value: &str) -> Result<String, Problem> {
    if value.trim().is_empty() {
        return Err(Problem::Empty);
    }
    Ok(value.to_string())
}

pub fn at_least_one(value: &str) -> Result<usize, Problem> {
    match value.parse::<usize>() {
        Ok(0) => Err(Problem::Zero),
        Ok(n) => Ok(n),
        Err(e) => Err(Problem::Unparsable { value: value.to_string(), reason: e.to_string() }),
    }
}

/// A whole number from `min` to `max`; `unit` ends the message that says so.
pub fn in_range(value: &str, min: u64, max: u64, unit: &'static str) -> Result<u64, Problem> {
    let n = value.parse::<u64>().map_err(|e| Problem::Unparsable { value: value.to_string(), reason: e.to_string() })?;
    if !(min..=max).contains(&n) {
        return Err(Problem::OutOfRange { min, max, unit });
    }
    Ok(n)
}

pub fn boolean(value: &str) -> Result<bool, Problem> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(Problem::NotBoolean(other.to_string())),
    }
}

/// Seconds as a decimal number, e.g. `5.0`.
pub fn seconds(value: &str) -> Result<Duration, Problem> {
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(Problem::NotSeconds),
    }
}

pub fn http_url(url: &str) -> Result<String, Problem> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    match rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default()) {
        Some(authority) if !authority.is_empty() && !authority.starts_with(':') => Ok(url.to_string()),
        _ => Err(Problem::NotHttpUrl(url.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers_refuse_with_a_typed_problem() {
        assert_eq!(non_empty(" "), Err(Problem::Empty));
        assert_eq!(at_least_one("0"), Err(Problem::Zero));
        assert_eq!(in_range("0", 1, 9, " seconds").unwrap_err().to_string(), "must be 1 to 9 seconds");
        assert_eq!((boolean(" On "), boolean("off")), (Ok(true), Ok(false)));
        assert_eq!(seconds("-1"), Err(Problem::NotSeconds));
        assert_eq!(seconds("NaN"), Err(Problem::NotSeconds));
        assert_eq!(seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(http_url("https://a:1/x"), Ok("https://a:1/x".to_string()));
        for bad in ["localhost:9000", "http://", "http://:80", "ftp://x"] {
            assert_eq!(http_url(bad), Err(Problem::NotHttpUrl(bad.to_string())), "{bad}");
        }
    }
}
