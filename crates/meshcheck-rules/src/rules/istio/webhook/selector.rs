//! Kubernetes `LabelSelector` evaluation as admission webhooks apply it (`namespaceSelector`,
//! `objectSelector`), shared by the webhook and injection rules.

use std::collections::BTreeMap;

use meshcheck_model::selector::value_text;
use serde_json::Value;

/// Labels as plain strings.
pub(crate) type Labels = BTreeMap<String, String>;

/// Converts a JSON label map (absent = empty).
pub(crate) fn labels_of(map: Option<&Value>) -> Labels {
    map.and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(key, value)| (key.clone(), value_text(value)))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a webhook selector matches `labels`. An absent (or null) selector matches everything,
/// as does an empty one; a malformed selector (unknown operator, `In` without values,
/// `Exists` with values) matches nothing, as in Kubernetes.
pub(crate) fn selector_matches(selector: Option<&Value>, labels: &Labels) -> bool {
    let Some(selector) = selector.filter(|selector| !selector.is_null()) else {
        return true;
    };
    if let Some(match_labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, wanted) in match_labels {
            if labels.get(key) != Some(&value_text(wanted)) {
                return false;
            }
        }
    }
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    expressions.iter().all(|expression| {
        let key = expression.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<String> = expression
            .get("values")
            .and_then(Value::as_array)
            .map(|values| values.iter().map(value_text).collect())
            .unwrap_or_default();
        let have = labels.get(key);
        match expression.get("operator").and_then(Value::as_str) {
            Some("In") => !values.is_empty() && have.is_some_and(|have| values.contains(have)),
            Some("NotIn") => !values.is_empty() && have.is_none_or(|have| !values.contains(have)),
            Some("Exists") => values.is_empty() && have.is_some(),
            Some("DoesNotExist") => values.is_empty() && have.is_none(),
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn webhook_selectors() {
        let enabled = labels(&[("istio-injection", "enabled")]);
        assert!(selector_matches(None, &enabled));
        assert!(selector_matches(Some(&json!({})), &Labels::new()));
        let selector = json!({"matchLabels": {"istio-injection": "enabled"}});
        assert!(selector_matches(Some(&selector), &enabled));
        assert!(!selector_matches(Some(&selector), &Labels::new()));
        let selector = json!({"matchExpressions": [{"key": "istio-injection", "operator": "DoesNotExist"}, {"key": "istio.io/rev", "operator": "In", "values": ["canary"]}]});
        assert!(selector_matches(
            Some(&selector),
            &labels(&[("istio.io/rev", "canary")])
        ));
        let malformed =
            json!({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": []}]});
        assert!(!selector_matches(Some(&malformed), &Labels::new()));
    }
}
