//! JSON-pointer lookups without allocation. serde_json's `Value::pointer` unescapes every
//! segment with `str::replace`, which allocates; rules look paths up millions of times on a
//! large mesh, so the common case (no `~` escapes) is walked directly.

use meshcheck_input::Value;

/// `value.at("/spec/template/metadata/labels")`: what `Value::pointer` answers, faster.
pub trait ValueAt {
    fn at(&self, pointer: &str) -> Option<&Value>;
}

impl ValueAt for Value {
    fn at(&self, pointer: &str) -> Option<&Value> {
        if pointer.is_empty() {
            return Some(self);
        }
        pointer
            .strip_prefix('/')?
            .split('/')
            .try_fold(self, |target, token| match target {
                // Escaped tokens (`proxy.istio.io~1config`) name keys of small maps
                // (annotations): compare while unescaping instead of allocating.
                Value::Object(map) if token.contains('~') => map
                    .iter()
                    .find(|(key, _)| escaped_token_names(token, key))
                    .map(|(_, value)| value),
                Value::Object(map) => map.get(token),
                Value::Array(list) => array_index(token).and_then(|index| list.get(index)),
                _ => None,
            })
    }
}

/// Whether the RFC 6901 token (`~1` for `/`, `~0` for `~`) names `key`.
fn escaped_token_names(token: &str, key: &str) -> bool {
    let mut unescaped = token.split('~');
    let first = unescaped.next().unwrap_or_default();
    let Some(mut rest) = key.strip_prefix(first) else {
        return false;
    };
    for part in unescaped {
        let (replacement, tail) = match part.as_bytes().first() {
            Some(b'1') => ('/', &part[1..]),
            Some(b'0') => ('~', &part[1..]),
            // A lone or unknown escape names no key (serde_json answers None too).
            _ => return false,
        };
        let Some(after) = rest.strip_prefix(replacement) else {
            return false;
        };
        let Some(after) = after.strip_prefix(tail) else {
            return false;
        };
        rest = after;
    }
    rest.is_empty()
}

/// An array index as RFC 6901 writes it: digits, no sign, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() > 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_input::json;

    #[test]
    fn answers_what_pointer_answers() {
        let value = json!({"a": {"b/c": 1, "m~n": 2, "list": [10, 20], "": 3}, "x": null});
        for pointer in [
            "",
            "/a",
            "/a/b~1c",
            "/a/m~0n",
            "/a/list/1",
            "/a/list/01",
            "/a/list/+1",
            "/a/list/9",
            "/a/",
            "/x",
            "/x/y",
            "a",
            "/a/list/-",
        ] {
            assert_eq!(value.at(pointer), value.pointer(pointer), "{pointer}");
        }
    }
}
