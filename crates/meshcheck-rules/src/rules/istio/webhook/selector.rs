//! Kubernetes `LabelSelector` evaluation as admission webhooks apply it (`namespaceSelector`,
//! `objectSelector`), shared by the webhook and injection rules.

use std::collections::BTreeMap;

use meshcheck_input::Value;
use meshcheck_model::selector::{matches_label_selector_with, value_text};

/// Labels as plain strings.
pub(crate) type Labels = BTreeMap<String, String>;

/// Converts a JSON label map (absent = empty).
pub(crate) fn labels_of(map: Option<&Value>) -> Labels {
    map.and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(key, value)| (key.to_string(), value_text(value)))
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
    matches_label_selector_with(selector, |key| labels.get(key).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_input::json;

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
