//! Label selectors: Istio's `matchLabels` maps and Kubernetes `matchLabels` + `matchExpressions`.

use std::hash::{Hash, Hasher};

use meshcheck_input::{Map, Value};

/// Whether every `key: value` of `selector` is present in `labels`. An empty selector matches all.
pub fn matches_labels(selector: &Map, labels: &Map) -> bool {
    selector
        .iter()
        .all(|(key, wanted)| labels.get(key).is_some_and(|have| same_text(have, wanted)))
}

/// `value_text(a) == value_text(b)` without allocating in the common case (both strings).
pub fn same_text(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a == b,
        _ => value_text(a) == value_text(b),
    }
}

/// Evaluates a Kubernetes `LabelSelector` (`matchLabels` and `matchExpressions`).
pub fn matches_label_selector(selector: &Value, labels: &Map) -> bool {
    matches_label_selector_with(selector, |key| labels.get(key).map(value_text))
}

/// Evaluates a Kubernetes `LabelSelector` against any label lookup (`key` → value), for callers
/// whose labels are not a JSON map (webhook selectors over synthetic label sets).
pub fn matches_label_selector_with(
    selector: &Value,
    label: impl Fn(&str) -> Option<String>,
) -> bool {
    let match_labels = selector.get("matchLabels").and_then(Value::as_object);
    if let Some(match_labels) = match_labels
        && !match_labels
            .iter()
            .all(|(key, wanted)| label(key).is_some_and(|have| have == value_text(wanted)))
    {
        return false;
    }
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    expressions.iter().all(|expression| {
        let key = expression.get("key").and_then(Value::as_str).unwrap_or("");
        let operator = expression
            .get("operator")
            .and_then(Value::as_str)
            .unwrap_or("");
        let values: Vec<String> = expression
            .get("values")
            .and_then(Value::as_array)
            .map(|values| values.iter().map(value_text).collect())
            .unwrap_or_default();
        let have = label(key);
        // A malformed requirement (unknown operator, In/NotIn without values, Exists with values)
        // selects nothing, as in Kubernetes.
        match operator {
            "In" => !values.is_empty() && have.is_some_and(|have| values.contains(&have)),
            "NotIn" => !values.is_empty() && have.is_none_or(|have| !values.contains(&have)),
            "Exists" => values.is_empty() && have.is_some(),
            "DoesNotExist" => values.is_empty() && have.is_none(),
            _ => false,
        }
    })
}

/// A label value as text (manifests sometimes carry unquoted numbers or booleans).
pub fn value_text(value: &Value) -> String {
    value_str(value).into_owned()
}

/// [`value_text`] borrowed when the value is a string.
pub fn value_str(value: &Value) -> std::borrow::Cow<'_, str> {
    match value {
        Value::String(text) => std::borrow::Cow::Borrowed(text),
        Value::Null => std::borrow::Cow::Borrowed(""),
        other => std::borrow::Cow::Owned(other.to_string()),
    }
}

/// A hash of a label (`key`, `value`) in a namespace (`""` for any), used as the key of label
/// indexes so that neither building nor querying them copies strings. Two labels can share a
/// slot, so an index keyed by it yields candidates that the caller must still match.
pub fn label_slot(namespace: &str, key: &str, value: &str) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    (namespace, key, value).hash(&mut hasher);
    hasher.finish()
}

/// Adds `id` to a label index slot, once even when two labels of one object share the slot
/// (ids are added in increasing order).
pub fn push_once<T: PartialEq>(slot: &mut Vec<T>, id: T) {
    if slot.last() != Some(&id) {
        slot.push(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_input::json;

    fn map(value: Value) -> Map {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn match_labels_subset() {
        let labels = map(json!({"app": "a", "version": "v1"}));
        assert!(matches_labels(&map(json!({"app": "a"})), &labels));
        assert!(!matches_labels(&map(json!({"app": "b"})), &labels));
        assert!(matches_labels(&Map::new(), &labels));
    }

    #[test]
    fn match_expressions() {
        let labels = map(json!({"app": "a"}));
        let selector = json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "b"]}, {"key": "x", "operator": "DoesNotExist"}]});
        assert!(matches_label_selector(&selector, &labels));
        let selector =
            json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a"]}]});
        assert!(!matches_label_selector(&selector, &labels));
        let malformed =
            json!({"matchExpressions": [{"key": "app", "operator": "In", "values": []}]});
        assert!(!matches_label_selector(&malformed, &labels));
    }
}
