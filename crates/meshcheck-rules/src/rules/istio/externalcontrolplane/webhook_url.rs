//! Just enough of Go's `net/url.Parse` to tell, as Istio does, whether a webhook URL parses and
//! which host it names.

/// Go's `validOptionalPort`: empty, or `:` followed by digits only.
fn valid_optional_port(port: &str) -> bool {
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|digits| digits.bytes().all(|byte| byte.is_ascii_digit()))
}

/// Characters Go refuses, unescaped, in a URL host.
fn invalid_host_byte(byte: u8) -> bool {
    if byte >= 0x80 || byte.is_ascii_alphanumeric() {
        return false;
    }
    !matches!(
        byte,
        b'!' | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b':'
            | b'['
            | b']'
            | b'<'
            | b'>'
            | b'"'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'%'
    )
}

/// Checks `%XX` escapes; in a host only escapes of non-ASCII bytes (and `%25`) are allowed.
fn check_escapes(text: &str, host: bool) -> Result<(), ()> {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%' {
            let hex = bytes.get(index + 1..index + 3).ok_or(())?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err(());
            }
            if host && hex[0] < b'8' && &text[index..index + 3] != "%25" {
                return Err(());
            }
            index += 3;
            continue;
        }
        if host && invalid_host_byte(byte) {
            return Err(());
        }
        index += 1;
    }
    Ok(())
}

fn parse_host(host: &str) -> Result<(), ()> {
    if host.starts_with('[') {
        let close = host.rfind(']').ok_or(())?;
        if !valid_optional_port(&host[close + 1..]) {
            return Err(());
        }
    } else if let Some(colon) = host.rfind(':')
        && !valid_optional_port(&host[colon..])
    {
        return Err(());
    }
    check_escapes(host, true)
}

/// The host name of `url` (without port or IPv6 brackets), or `Err` when Go's URL parser rejects
/// it. URLs without an authority (`https:opaque`, relative paths) have an empty host.
pub(crate) fn hostname(url: &str) -> Result<String, ()> {
    if url.bytes().any(|byte| byte < 0x20 || byte == 0x7f) {
        return Err(());
    }
    let (url, fragment) = url.split_once('#').unwrap_or((url, ""));
    check_escapes(fragment, false)?;
    if url == "*" {
        return Ok(String::new());
    }
    // Scheme: a letter, then letters, digits, `+`, `-`, `.`, up to the first `:`.
    let mut scheme = "";
    let mut rest = url;
    for (index, character) in url.char_indices() {
        if character.is_ascii_alphabetic() {
            continue;
        }
        if character.is_ascii_digit() || matches!(character, '+' | '-' | '.') {
            if index == 0 {
                break;
            }
            continue;
        }
        if character == ':' {
            if index == 0 {
                return Err(());
            }
            scheme = &url[..index];
            rest = &url[index + 1..];
        }
        break;
    }
    let rest = match rest.split_once('?') {
        Some((before, _)) => before,
        None => rest,
    };
    if !rest.starts_with('/') {
        if !scheme.is_empty() {
            return Ok(String::new());
        }
        let segment = rest.split('/').next().unwrap_or_default();
        if segment.contains(':') {
            return Err(());
        }
    }
    let mut host = String::new();
    let mut path = rest;
    if (!scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, remainder) = match after.find('/') {
            Some(slash) => after.split_at(slash),
            None => (after, ""),
        };
        let host_port = match authority.rfind('@') {
            Some(at) => &authority[at + 1..],
            None => authority,
        };
        parse_host(host_port)?;
        host = host_port.to_owned();
        path = remainder;
    }
    check_escapes(path, false)?;
    // Hostname(): drop a valid `:port`, then IPv6 brackets.
    if let Some(colon) = host.rfind(':')
        && valid_optional_port(&host[colon..])
    {
        host.truncate(colon);
    }
    if host.starts_with('[') && host.ends_with(']') {
        host = host[1..host.len() - 1].to_owned();
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::hostname;

    #[test]
    fn hosts() {
        assert_eq!(
            hostname("https://test.com:15017/validate"),
            Ok("test.com".into())
        );
        assert_eq!(
            hostname("https://1.1.1.1:5100/inject"),
            Ok("1.1.1.1".into())
        );
        assert_eq!(
            hostname("https://[2001:db8::1]:443/x"),
            Ok("2001:db8::1".into())
        );
        assert_eq!(hostname(""), Ok(String::new()));
        assert!(hostname("1.1.1.1:5100/inject").is_err());
        assert!(hostname("https://test.com:port/inject").is_err());
        assert!(hostname("https://te st.com/inject").is_err());
        assert!(hostname("://test.com").is_err());
        assert!(hostname("https://test.com/%zz").is_err());
    }
}
