//! Content hashes of objects that ignore what the API server changes on its own, so that collecting
//! an unchanged cluster twice gives the same hashes.

use meshcheck_input::Object;
use meshcheck_input::{Map, Value};
use sha2::{Digest, Sha256};

/// `metadata` fields the API server maintains (bookkeeping, not configuration).
pub const VOLATILE_METADATA: &[&str] = &[
    "resourceVersion",
    "uid",
    "generation",
    "managedFields",
    "creationTimestamp",
    "selfLink",
];

/// Top-level fields left out of the hash: `status` is observed state, not configuration, and the
/// served `apiVersion` changes when a newer version of a CRD becomes the preferred one.
pub const VOLATILE_TOP_LEVEL: &[&str] = &["status", "apiVersion"];

/// Hex digits kept of the SHA-256: 64 bits tell a changed object from an unchanged one with a
/// chance of error far below anything that matters here, at a quarter of the digest's size.
const HASH_HEX_DIGITS: usize = 16;

/// Type tags fed before each value, so that `"1"` and `1`, or `[]` and `{}`, never hash alike.
mod tag {
    pub const NULL: u8 = 0;
    pub const FALSE: u8 = 1;
    pub const TRUE: u8 = 2;
    pub const NUMBER: u8 = 3;
    pub const STRING: u8 = 4;
    pub const ARRAY: u8 = 5;
    pub const OBJECT: u8 = 6;
}

thread_local! {
    /// The canonical encoding of the object being hashed, reused across objects: one hash update
    /// over a buffer is several times faster than an update per field.
    static ENCODING: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The content hash of an object (lowercase hex): SHA-256 of a canonical encoding of its JSON —
/// keys in sorted order whatever order the map keeps, volatile fields left out, every value tagged
/// with its type and every string with its length, so that distinct documents never encode alike.
pub fn content_hash(object: &Object) -> String {
    let digest = ENCODING.with_borrow_mut(|buffer| {
        buffer.clear();
        match &object.value {
            Value::Object(map) => encode_map(buffer, map, Skip::TopLevel),
            other => encode_value(buffer, other),
        }
        let digest = Sha256::digest(buffer.as_slice());
        // A huge object should not pin its buffer for the rest of the run.
        if buffer.capacity() > 1 << 20 {
            *buffer = Vec::new();
        }
        digest
    });
    let mut hex = String::with_capacity(HASH_HEX_DIGITS);
    for byte in digest.iter().take(HASH_HEX_DIGITS / 2) {
        hex.push(char::from_digit(u32::from(byte >> 4), 16).expect("a nibble"));
        hex.push(char::from_digit(u32::from(byte & 0xf), 16).expect("a nibble"));
    }
    hex
}

/// Which keys of a map to leave out.
#[derive(Clone, Copy)]
enum Skip {
    /// None (every map below the object's top level and its metadata).
    Nothing,
    /// The object itself: volatile top-level fields, and volatile fields inside `metadata`.
    TopLevel,
    /// `metadata`: the fields the API server maintains.
    Metadata,
}

impl Skip {
    /// Whether `key` is left out, and how the map under it (if any) is encoded.
    fn entry(self, key: &str) -> Option<Skip> {
        match self {
            Skip::Nothing => Some(Skip::Nothing),
            Skip::TopLevel if VOLATILE_TOP_LEVEL.contains(&key) => None,
            Skip::TopLevel if key == "metadata" => Some(Skip::Metadata),
            Skip::TopLevel => Some(Skip::Nothing),
            Skip::Metadata if VOLATILE_METADATA.contains(&key) => None,
            Skip::Metadata => Some(Skip::Nothing),
        }
    }
}

fn encode_len(buffer: &mut Vec<u8>, len: usize) {
    buffer.extend_from_slice(&(len as u64).to_le_bytes());
}

fn encode_str(buffer: &mut Vec<u8>, text: &str) {
    encode_len(buffer, text.len());
    buffer.extend_from_slice(text.as_bytes());
}

fn encode_entry(buffer: &mut Vec<u8>, key: &str, value: &Value, skip: Skip) {
    let Some(inner) = skip.entry(key) else {
        return;
    };
    encode_str(buffer, key);
    match value {
        Value::Object(map) => encode_map(buffer, map, inner),
        other => encode_value(buffer, other),
    }
}

fn encode_map(buffer: &mut Vec<u8>, map: &Map, skip: Skip) {
    buffer.push(tag::OBJECT);
    // The model's maps always iterate in key order.
    for (key, value) in map {
        encode_entry(buffer, key, value, skip);
    }
    // The end marker keeps `{a: {}, b: 1}` apart from `{a: {b: 1}}`.
    buffer.push(tag::OBJECT);
}

fn encode_value(buffer: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => buffer.push(tag::NULL),
        Value::Bool(false) => buffer.push(tag::FALSE),
        Value::Bool(true) => buffer.push(tag::TRUE),
        Value::Number(number) => {
            buffer.push(tag::NUMBER);
            // Integers and integral floats that are equal numbers (`1` and `1.0`) encode alike:
            // YAML and JSON writers disagree on how to spell them.
            if let Some(integer) = number.as_i64() {
                buffer.push(0);
                buffer.extend_from_slice(&i128::from(integer).to_le_bytes());
                return;
            }
            let integer = number.as_u64().map(i128::from).or_else(|| {
                number
                    .as_f64()
                    .filter(|float| float.fract() == 0.0 && float.abs() < 9.0e18)
                    .map(|float| float as i128)
            });
            match (integer, number.as_f64()) {
                (Some(integer), _) => {
                    buffer.push(0);
                    buffer.extend_from_slice(&integer.to_le_bytes());
                }
                (None, Some(float)) => {
                    buffer.push(1);
                    buffer.extend_from_slice(&float.to_le_bytes());
                }
                (None, None) => {
                    buffer.push(2);
                    encode_str(buffer, &number.to_string());
                }
            }
        }
        Value::String(text) => {
            buffer.push(tag::STRING);
            encode_str(buffer, text);
        }
        Value::Array(items) => {
            buffer.push(tag::ARRAY);
            encode_len(buffer, items.len());
            for item in items {
                encode_value(buffer, item);
            }
        }
        Value::Object(map) => encode_map(buffer, map, Skip::Nothing),
    }
}

#[cfg(test)]
mod tests {
    use meshcheck_input::json;

    use super::*;

    fn object(value: Value) -> Object {
        Object::from_value(value, None).expect("a Kubernetes object")
    }

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "reviews", "namespace": "shop", "labels": {"app": "reviews"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "reviews:1"}]}}}
        })
    }

    #[test]
    fn volatile_fields_do_not_change_the_hash() {
        let plain = content_hash(&object(deployment()));
        let mut collected = deployment();
        collected["metadata"]["resourceVersion"] = json!("12345");
        collected["metadata"]["uid"] = json!("0b5c-77");
        collected["metadata"]["generation"] = json!(7);
        collected["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        collected["metadata"]["managedFields"] = json!([{"manager": "kubectl"}]);
        collected["status"] = json!({"readyReplicas": 2});
        collected["apiVersion"] = json!("apps/v1beta2");
        assert_eq!(content_hash(&object(collected)), plain);
        assert_eq!(plain.len(), HASH_HEX_DIGITS);
        assert!(
            plain
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    /// Stored digests are compared with new ones: the encoding must not change within a digest
    /// format (bump `DIGEST_FORMAT` if it ever has to).
    #[test]
    fn hashes_are_stable_across_releases() {
        assert_eq!(content_hash(&object(deployment())), "cc359bd68778469c");
    }

    #[test]
    fn configuration_changes_change_the_hash() {
        let plain = content_hash(&object(deployment()));
        let mut scaled = deployment();
        scaled["spec"]["replicas"] = json!(3);
        assert_ne!(content_hash(&object(scaled)), plain);
        let mut relabeled = deployment();
        relabeled["metadata"]["labels"]["app"] = json!("ratings");
        assert_ne!(content_hash(&object(relabeled)), plain);
        // A field named like a volatile one, but below spec, is configuration.
        let mut nested = deployment();
        nested["spec"]["template"]["metadata"] = json!({"generation": 1});
        assert_ne!(content_hash(&object(nested)), plain);
    }

    #[test]
    fn equal_numbers_and_key_order_hash_alike_but_types_do_not() {
        let a = object(
            json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "x"}, "spec": {"a": 1, "b": [true, null]}}),
        );
        let b = object(
            json!({"kind": "K", "spec": {"b": [true, null], "a": 1.0}, "metadata": {"name": "x"}, "apiVersion": "v1"}),
        );
        assert_eq!(content_hash(&a), content_hash(&b));
        let c = object(
            json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "x"}, "spec": {"a": "1", "b": [true, null]}}),
        );
        assert_ne!(content_hash(&a), content_hash(&c));
        let nested = object(
            json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "x"}, "spec": {"a": {}, "b": 1}}),
        );
        let flat = object(
            json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "x"}, "spec": {"a": {"b": 1}}}),
        );
        assert_ne!(content_hash(&nested), content_hash(&flat));
    }
}
