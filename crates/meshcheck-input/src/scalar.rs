//! What an untagged plain scalar means, the way Kubernetes reads manifests (YAML 1.1 style) and
//! exactly as serde-saphyr resolves it for `serde_json::Value` with `legacy_octal_numbers`:
//! `~`/`null` are null, `yes`/`no`/`on`/`off`/`y`/`n` (any case) are booleans, `0644` is octal
//! (420), `0x`/`0o`/`0b` prefixes and `_` separators are integers, YAML/Rust decimal forms are
//! floats, and everything else stays a string.

use crate::{Number, Value};

/// The meaning of a plain scalar.
#[derive(Debug, PartialEq)]
pub(crate) enum Plain {
    Value(Value),
    /// Keep the scalar's text as a string.
    Text,
    /// `.inf`, `.nan` or an overflowing float: serde-saphyr rejects these for untyped values,
    /// so the caller defers to it for the exact error.
    NonFinite,
}

/// Padding serde-saphyr ignores when converting scalars.
fn trim(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\r', '\n'])
}

/// Resolves an untagged plain scalar.
pub(crate) fn resolve_plain(text: &str) -> Plain {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Plain::Value(Value::Null);
    }
    let trimmed = trim(text);
    if let Some(flag) = yaml11_bool(trimmed) {
        return Plain::Value(Value::Bool(flag));
    }
    let unsigned = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    // Upper-case radix prefixes and signed NaN spellings stay text (YAML 1.2 core schema).
    if matches!(unsigned.as_bytes(), [b'0', b'X' | b'O' | b'B', ..])
        || (unsigned.len() < trimmed.len() && matches!(unsigned, ".nan" | ".NaN" | ".NAN"))
    {
        return Plain::Text;
    }
    if let Some(negative) = trimmed.strip_prefix('-') {
        if let Some(value) = integer(negative).and_then(negate) {
            return Plain::Value(Value::Number(value.into()));
        }
    } else if let Some(value) = integer(trimmed.strip_prefix('+').unwrap_or(trimmed))
        .and_then(|magnitude| u64::try_from(magnitude).ok())
    {
        return Plain::Value(Value::Number(value.into()));
    }
    float(trimmed)
}

fn yaml11_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 4] = ["true", "yes", "y", "on"];
    const FALSE: [&str; 4] = ["false", "no", "n", "off"];
    if text.len() > 5 {
        return None;
    }
    if TRUE.iter().any(|word| text.eq_ignore_ascii_case(word)) {
        Some(true)
    } else if FALSE.iter().any(|word| text.eq_ignore_ascii_case(word)) {
        Some(false)
    } else {
        None
    }
}

fn negate(magnitude: u128) -> Option<i64> {
    if magnitude == u128::from(i64::MIN.unsigned_abs()) {
        return Some(i64::MIN);
    }
    i64::try_from(magnitude).ok().map(|value| -value)
}

/// The magnitude of an unsigned integer spelling: `0x`/`0o`/`0b` radixes, a leading `0` for
/// octal (YAML 1.1), decimal otherwise; `_` allowed between digits.
fn integer(text: &str) -> Option<u128> {
    let (radix, digits) = if let Some(rest) = text.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = text.strip_prefix("0o") {
        (8, rest)
    } else if let Some(rest) = text.strip_prefix("0b") {
        (2, rest)
    } else if text == "0" {
        return Some(0);
    } else if let Some(rest) = text.strip_prefix('0') {
        (8, rest)
    } else {
        return digits_value(text, 10);
    };
    // YAML 1.1 allows a separator right after the radix prefix (`0x_1F`, `0_644`).
    digits_value(digits.strip_prefix('_').unwrap_or(digits), radix)
}

fn digits_value(digits: &str, radix: u32) -> Option<u128> {
    let bytes = digits.as_bytes();
    let mut value: u128 = 0;
    let mut seen_digit = false;
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'_' {
            let between_digits = index > 0
                && bytes[index - 1] != b'_'
                && bytes.get(index + 1).is_some_and(|&next| next != b'_');
            if !between_digits {
                return None;
            }
            continue;
        }
        let digit = (byte as char).to_digit(radix)?;
        value = value
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(digit))?;
        seen_digit = true;
    }
    seen_digit.then_some(value)
}

fn float(trimmed: &str) -> Plain {
    let unsigned = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if matches!(
        unsigned,
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF"
    ) {
        return Plain::NonFinite;
    }
    match trimmed.parse::<f64>() {
        Ok(value) if value.is_finite() => {
            Number::from_f64(value).map_or(Plain::Text, |number| Plain::Value(number.into()))
        }
        // Rust also reads `inf`/`nan`, which YAML keeps as text; only numerals overflow.
        Ok(_) if unsigned.as_bytes().first().is_some_and(u8::is_ascii_digit) => Plain::NonFinite,
        _ => Plain::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn value(text: &str) -> Value {
        match resolve_plain(text) {
            Plain::Value(value) => value,
            Plain::Text => Value::String(text.into()),
            Plain::NonFinite => panic!("{text} is non-finite"),
        }
    }

    #[test]
    fn kubernetes_yaml_1_1_scalars() {
        assert_eq!(value("0644"), json!(420));
        assert_eq!(value("0_644"), json!(420));
        assert_eq!(value("+0644"), json!(420));
        assert_eq!(value("00"), json!(0));
        assert_eq!(value("09"), json!(9.0));
        assert_eq!(value("yes"), json!(true));
        assert_eq!(value("Off"), json!(false));
        assert_eq!(value("y"), json!(true));
        assert_eq!(value("~"), Value::Null);
        assert_eq!(value(""), Value::Null);
        assert_eq!(value("nULL"), json!("nULL"));
    }

    #[test]
    fn numbers_and_text() {
        assert_eq!(value("0x1F"), json!(31));
        assert_eq!(value("0x_1F"), json!(31));
        assert_eq!(value("0X1F"), json!("0X1F"));
        assert_eq!(value("0o17"), json!(15));
        assert_eq!(value("-0x10"), json!(-16));
        assert_eq!(value("1_000"), json!(1000));
        assert_eq!(value("1__0"), json!("1__0"));
        assert_eq!(value("-0"), json!(0));
        assert_eq!(value("-9223372036854775808"), json!(i64::MIN));
        assert_eq!(value("18446744073709551616"), json!(18446744073709551616.0));
        assert_eq!(value("1e3"), json!(1000.0));
        assert_eq!(value("1."), json!(1.0));
        assert_eq!(value("+.5"), json!(0.5));
        assert_eq!(value("0x"), json!("0x"));
        assert_eq!(value("inf"), json!("inf"));
        assert_eq!(value("-.nan"), json!("-.nan"));
        assert_eq!(value("2001-12-14"), json!("2001-12-14"));
        assert_eq!(value("12:30"), json!("12:30"));
        assert_eq!(resolve_plain(".inf"), Plain::NonFinite);
        assert_eq!(resolve_plain("1e999"), Plain::NonFinite);
    }
}
