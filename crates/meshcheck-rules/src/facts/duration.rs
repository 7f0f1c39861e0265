//! Istio durations (`timeout: 1.5s`, `perTryTimeout: 300ms`, `interval: 1m`): Go's
//! `time.ParseDuration` syntax, which Istio's validation accepts (and protobuf's `<seconds>s`).

/// Seconds in a duration that may not be negative (a route `timeout`, a `perTryTimeout`), or
/// `None` when the text is not such a duration.
pub(crate) fn seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.starts_with('-') {
        return None;
    }
    signed_seconds(text)
}

/// Go's `time.ParseDuration`: an optional sign, then `0` or one or more `<number><unit>` runs
/// (`1.5s`, `1m30s`, `-300ms`). Seconds, negative after a `-`; `None` when the text is not a
/// duration.
pub(crate) fn signed_seconds(text: &str) -> Option<f64> {
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_end..];
    }
    Some(if negative { -total } else { total })
}

/// A duration as written back in messages: `1.5s`, `300ms`, `2m`.
pub(crate) fn show(seconds: f64) -> String {
    if seconds >= 60.0 && (seconds / 60.0).fract() == 0.0 {
        format!("{}m", seconds / 60.0)
    } else if seconds >= 1.0 || seconds == 0.0 {
        format!("{}s", (seconds * 1000.0).round() / 1000.0)
    } else {
        format!("{}ms", (seconds * 1000.0).round())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(seconds("1.5s"), Some(1.5));
        assert_eq!(seconds("300ms"), Some(0.3));
        assert_eq!(seconds("1m30s"), Some(90.0));
        assert_eq!(seconds("1h"), Some(3600.0));
        assert_eq!(seconds("0"), Some(0.0));
        assert_eq!(seconds("10"), None);
        assert_eq!(seconds("-1s"), None);
        assert_eq!(seconds("abc"), None);
        assert_eq!(seconds(""), None);
        assert_eq!(seconds(" 2s "), Some(2.0));
        assert_eq!(signed_seconds("-1m30s"), Some(-90.0));
        assert_eq!(signed_seconds("+5s"), Some(5.0));
        assert_eq!(signed_seconds("-0"), Some(0.0));
        assert_eq!(signed_seconds("-"), None);
        assert_eq!(signed_seconds("5"), None);
        assert_eq!(signed_seconds("5x"), None);
        assert_eq!(show(90.0), "90s");
        assert_eq!(show(120.0), "2m");
        assert_eq!(show(0.25), "250ms");
        assert_eq!(show(1.5), "1.5s");
    }
}
