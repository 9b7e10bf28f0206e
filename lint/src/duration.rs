//! Durations as people write them in attributes and flags (`500ms`, `2s`,
//! `5m`), parsed by one function so that `#[migration(lock_timeout = ...)]`
//! and `migrate up --statement-lock-timeout` accept the same text.

use std::time::Duration;

/// Parses a whole number followed by `ms`, `s`, `m` or `h` (`2s`,
/// `500ms`). A bare number is refused: a unit cannot be guessed safely.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let expected = "write a whole number and a unit: `500ms`, `2s`, `5m` or `1h`";
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; {expected}"))?;
    let millis = match unit.trim() {
        "ms" => Some(number),
        "s" => number.checked_mul(1_000),
        "m" | "min" => number.checked_mul(60_000),
        "h" => number.checked_mul(3_600_000),
        "" => return Err(format!("`{text}` has no unit; {expected}")),
        _ => return Err(format!("`{text}` has an unknown unit; {expected}")),
    };
    match millis {
        Some(0) => Err(format!("`{text}` is zero; a timeout must be positive")),
        Some(millis) => Ok(Duration::from_millis(millis)),
        None => Err(format!("`{text}` is too long")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn units_are_required_and_read() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_duration("2").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("2 days")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
        assert!(parse_duration("s").is_err());
    }
}
