//! Collector-side shaping of what the API server returned: list items get their apiVersion/kind
//! back, bookkeeping that can carry secrets (`managedFields`, kubectl's last-applied copy) is
//! dropped, and metadata-only kinds keep only what the rules read.

use serde_json::{Map, Value, json};

/// kubectl copies the whole applied object — Secret data included — into this annotation.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `(namespace, name)` of an object.
pub(crate) fn object_key(object: &Value) -> (String, String) {
    let text = |field: &str| {
        object
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    (text("namespace"), text("name"))
}

fn strip_bookkeeping(object: &mut Value) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
        if let Some(annotations) = metadata
            .get_mut("annotations")
            .and_then(Value::as_object_mut)
        {
            annotations.remove(LAST_APPLIED);
            if annotations.is_empty() {
                metadata.remove("annotations");
            }
        }
    }
}

/// A list item as a standalone object: list responses omit each item's apiVersion and kind.
pub(crate) fn listed(mut item: Value, api_version: &str, kind: &str) -> Value {
    if let Some(object) = item.as_object_mut() {
        object.insert("apiVersion".to_owned(), json!(api_version));
        object.insert("kind".to_owned(), json!(kind));
    }
    strip_bookkeeping(&mut item);
    item
}

/// The metadata fields kept from a metadata-only list.
fn kept_metadata(item: &Value, with_annotations: bool) -> Map<String, Value> {
    let mut kept = Map::new();
    if let Some(metadata) = item.get("metadata").and_then(Value::as_object) {
        for field in ["name", "namespace", "labels", "uid", "creationTimestamp"] {
            if let Some(value) = metadata.get(field) {
                kept.insert(field.to_owned(), value.clone());
            }
        }
        if with_annotations && let Some(Value::Object(annotations)) = metadata.get("annotations") {
            let annotations: Map<String, Value> = annotations
                .iter()
                .filter(|(key, _)| key.as_str() != LAST_APPLIED)
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            if !annotations.is_empty() {
                kept.insert("annotations".to_owned(), Value::Object(annotations));
            }
        }
    }
    kept
}

/// An object known only by its metadata (ConfigMaps whose data is not needed).
pub(crate) fn metadata_only(item: Value, api_version: &str, kind: &str) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": kept_metadata(&item, true),
    })
}

/// A Secret as the archive keeps it: name, namespace, labels and type — no data, no annotations.
pub(crate) fn secret_metadata(item: Value, api_version: &str, secret_type: Option<&str>) -> Value {
    let mut metadata = kept_metadata(&item, false);
    metadata.remove("uid");
    metadata.remove("creationTimestamp");
    let mut secret = json!({
        "apiVersion": api_version,
        "kind": "Secret",
        "metadata": metadata,
    });
    if let Some(secret_type) = secret_type {
        secret["type"] = json!(secret_type);
    }
    secret
}

/// Istio's mesh, mesh-networks and injector ConfigMaps (`istio`, `istio-<revision>`,
/// `istio-sidecar-injector[-<revision>]`) are read in full; the root certificate ConfigMap is not.
pub(crate) fn is_mesh_configmap(name: &str) -> bool {
    name == "istio" || (name.starts_with("istio-") && name != "istio-ca-root-cert")
}

/// A CRD reduced to what identifies it: group, names, scope and versions (no schema).
pub(crate) fn crd_summary(crd: Value) -> Value {
    let spec = crd.get("spec").cloned().unwrap_or_default();
    let versions: Vec<Value> = spec
        .get("versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|version| {
            let mut kept = Map::new();
            for field in ["name", "served", "storage", "deprecated"] {
                if let Some(value) = version.get(field) {
                    kept.insert(field.to_owned(), value.clone());
                }
            }
            Value::Object(kept)
        })
        .collect();
    let mut metadata = Map::new();
    for field in ["name", "labels"] {
        if let Some(value) = crd.pointer(&format!("/metadata/{field}")) {
            metadata.insert(field.to_owned(), value.clone());
        }
    }
    json!({
        "apiVersion": crd.get("apiVersion").cloned().unwrap_or(json!("apiextensions.k8s.io/v1")),
        "kind": "CustomResourceDefinition",
        "metadata": metadata,
        "spec": {
            "group": spec.get("group").cloned().unwrap_or_default(),
            "names": spec.get("names").cloned().unwrap_or_default(),
            "scope": spec.get("scope").cloned().unwrap_or_default(),
            "versions": versions,
        },
    })
}

/// When an event last happened: `lastTimestamp`, `eventTime`, then creation time (RFC 3339
/// strings of one timezone compare correctly as text once fractional seconds are trimmed).
fn event_time(event: &Value) -> &str {
    ["lastTimestamp", "eventTime", "firstTimestamp"]
        .iter()
        .filter_map(|field| event.get(*field).and_then(Value::as_str))
        .chain(
            event
                .pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str),
        )
        .next()
        .map(|text| text.get(..19).unwrap_or(text))
        .unwrap_or_default()
}

/// The newest `cap` events, newest first.
pub(crate) fn newest_events(mut events: Vec<Value>, cap: usize) -> Vec<Value> {
    events.sort_by(|a, b| {
        event_time(b)
            .cmp(event_time(a))
            .then_with(|| object_key(a).cmp(&object_key(b)))
    });
    events.truncate(cap);
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_items_get_their_type_back_and_lose_bookkeeping() {
        let item = json!({"metadata": {"name": "a", "managedFields": [{}],
            "annotations": {LAST_APPLIED: "{\"data\":{\"password\":\"c2VjcmV0\"}}"}}});
        let object = listed(item, "v1", "Service");
        assert_eq!(
            object,
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}})
        );
    }

    #[test]
    fn secrets_keep_name_namespace_labels_and_type_only() {
        let item = json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
            "metadata": {"name": "tls", "namespace": "istio-system", "labels": {"a": "b"},
            "annotations": {"note": "x"}, "uid": "1"}});
        assert_eq!(
            secret_metadata(item, "v1", Some("kubernetes.io/tls")),
            json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                "metadata": {"name": "tls", "namespace": "istio-system", "labels": {"a": "b"}}})
        );
    }

    #[test]
    fn crd_summary_drops_schemas() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "gateways.networking.istio.io"},
            "spec": {"group": "networking.istio.io", "scope": "Namespaced",
                "names": {"kind": "Gateway", "plural": "gateways"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object"}}}]}});
        let summary = crd_summary(crd);
        assert!(summary.pointer("/spec/versions/0/schema").is_none());
        assert_eq!(summary.pointer("/spec/versions/0/name"), Some(&json!("v1")));
    }

    #[test]
    fn events_newest_first_and_capped() {
        let events = vec![
            json!({"metadata": {"name": "old"}, "lastTimestamp": "2026-01-01T00:00:00Z"}),
            json!({"metadata": {"name": "new"}, "eventTime": "2026-03-01T00:00:00.000000Z"}),
            json!({"metadata": {"name": "mid"}, "lastTimestamp": "2026-02-01T00:00:00Z"}),
        ];
        let kept = newest_events(events, 2);
        let names: Vec<_> = kept.iter().map(|event| object_key(event).1).collect();
        assert_eq!(names, ["new", "mid"]);
    }

    #[test]
    fn mesh_configmaps() {
        assert!(is_mesh_configmap("istio"));
        assert!(is_mesh_configmap("istio-canary"));
        assert!(is_mesh_configmap("istio-sidecar-injector"));
        assert!(!is_mesh_configmap("istio-ca-root-cert"));
        assert!(!is_mesh_configmap("app-config"));
    }
}
