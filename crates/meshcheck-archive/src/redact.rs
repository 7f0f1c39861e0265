//! Redaction: pure functions that strip secrets from objects before they are archived. The writer
//! applies [`redact_object`] to every object; [`RedactionStats`] counts what was removed (never
//! the values) for the manifest.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

/// What was removed, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Redaction {
    /// A Secret's `data`/`stringData`/annotations.
    SecretData,
    /// `metadata.managedFields`.
    ManagedFields,
    /// The `kubectl.kubernetes.io/last-applied-configuration` annotation (it repeats the object,
    /// Secret data included).
    LastAppliedConfiguration,
    /// A literal container `env[].value` (Istio feature flags excepted).
    EnvValue,
    /// A ConfigMap `data`/`binaryData` entry outside the Istio mesh-config allowlist.
    ConfigMapData,
    /// A webhook or APIService `caBundle`.
    CaBundle,
    /// A PEM block (or a base64-encoded one) inside any string.
    Pem,
    /// A JWT-shaped token inside any string.
    Jwt,
    /// An Event message, dropped when anonymizing (it repeats names in free text).
    EventMessage,
    /// The value of a credential-looking container flag (`--db-password=...`, `--token X`).
    CredentialArg,
}

impl Redaction {
    pub fn as_str(self) -> &'static str {
        match self {
            Redaction::SecretData => "secret-data",
            Redaction::ManagedFields => "managed-fields",
            Redaction::LastAppliedConfiguration => "last-applied-configuration",
            Redaction::EnvValue => "env-value",
            Redaction::ConfigMapData => "configmap-data",
            Redaction::CaBundle => "ca-bundle",
            Redaction::Pem => "pem",
            Redaction::Jwt => "jwt",
            Redaction::EventMessage => "event-message",
            Redaction::CredentialArg => "credential-arg",
        }
    }
}

/// How many values each redaction removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactionStats {
    counts: BTreeMap<Redaction, u64>,
}

impl RedactionStats {
    pub fn record(&mut self, redaction: Redaction) {
        *self.counts.entry(redaction).or_default() += 1;
    }

    pub fn count(&self, redaction: Redaction) -> u64 {
        self.counts.get(&redaction).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// The manifest's `redaction` map: kind name → count.
    pub fn to_map(&self) -> BTreeMap<String, u64> {
        self.counts
            .iter()
            .map(|(redaction, count)| (redaction.as_str().to_owned(), *count))
            .collect()
    }
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Redacts one object in place (any kind) and counts what it removed.
pub fn redact_object(object: &mut Value, stats: &mut RedactionStats) {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match kind.as_str() {
        "Secret" => redact_secret(object, stats),
        "ConfigMap" => redact_config_map(object, stats),
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => {
            for webhook in array_mut(object, "webhooks") {
                if let Some(config) = webhook.get_mut("clientConfig") {
                    drop_key(config, "caBundle", Redaction::CaBundle, stats);
                }
            }
        }
        "CustomResourceDefinition" => {
            if let Some(config) = object.pointer_mut("/spec/conversion/webhook/clientConfig") {
                drop_key(config, "caBundle", Redaction::CaBundle, stats);
            }
            // apiextensions/v1beta1 kept the client config one level up.
            if let Some(conversion) = object.pointer_mut("/spec/conversion/webhookClientConfig") {
                drop_key(conversion, "caBundle", Redaction::CaBundle, stats);
            }
        }
        "APIService" => {
            if let Some(spec) = object.get_mut("spec") {
                drop_key(spec, "caBundle", Redaction::CaBundle, stats);
            }
        }
        _ => {}
    }
    redact_metadata(object, stats);
    for pod_spec in pod_specs(object) {
        redact_pod_spec(pod_spec, stats);
    }
    redact_strings(object, stats);
}

/// Drops `managedFields` and the last-applied annotation (removing `annotations` when it empties).
fn redact_metadata(object: &mut Value, stats: &mut RedactionStats) {
    let Some(metadata) = object.get_mut("metadata") else {
        return;
    };
    drop_key(metadata, "managedFields", Redaction::ManagedFields, stats);
    if let Some(annotations) = metadata.get_mut("annotations") {
        drop_key(
            annotations,
            LAST_APPLIED,
            Redaction::LastAppliedConfiguration,
            stats,
        );
        if annotations.as_object().is_some_and(Map::is_empty)
            && let Some(metadata) = metadata.as_object_mut()
        {
            metadata.remove("annotations");
        }
    }
}

/// A Secret keeps only what names it: apiVersion, kind, metadata name/namespace/labels, type.
fn redact_secret(object: &mut Value, stats: &mut RedactionStats) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let mut kept = Map::new();
    for key in ["apiVersion", "kind"] {
        if let Some(value) = map.remove(key) {
            kept.insert(key.to_owned(), value);
        }
    }
    if let Some(Value::Object(mut metadata)) = map.remove("metadata") {
        let mut kept_metadata = Map::new();
        for key in ["name", "namespace", "labels"] {
            if let Some(value) = metadata.remove(key) {
                kept_metadata.insert(key.to_owned(), value);
            }
        }
        kept.insert("metadata".to_owned(), Value::Object(kept_metadata));
    }
    if let Some(value) = map.remove("type") {
        kept.insert("type".to_owned(), value);
    }
    for field in ["data", "stringData"] {
        if let Some(Value::Object(entries)) = map.get(field) {
            for _ in entries {
                stats.record(Redaction::SecretData);
            }
        }
    }
    *map = kept;
}

/// The ConfigMap keys that hold Istio's mesh configuration and carry no secrets.
fn allowed_config_map_keys(name: &str) -> &'static [&'static str] {
    if name.starts_with("istio-sidecar-injector") {
        &["config", "values"]
    } else if name == "istio" || name.starts_with("istio-") {
        // `istio-<revision>`; other `istio-*` maps never hold these keys with anything else.
        &["mesh", "meshNetworks"]
    } else {
        &[]
    }
}

fn redact_config_map(object: &mut Value, stats: &mut RedactionStats) {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let allowed = allowed_config_map_keys(&name);
    for field in ["data", "binaryData"] {
        let Some(Value::Object(entries)) = object.get_mut(field) else {
            continue;
        };
        let before = entries.len();
        // Binary data is never mesh config.
        entries.retain(|key, _| field == "data" && allowed.contains(&key.as_str()));
        for _ in entries.len()..before {
            stats.record(Redaction::ConfigMapData);
        }
        if entries.is_empty()
            && let Some(map) = object.as_object_mut()
        {
            map.remove(field);
        }
    }
}

/// Every pod spec an object carries: a Pod's spec, a workload's pod template, a CronJob's job
/// template, a PodTemplate's template. Recognized by shape so that custom workloads with a
/// `spec.template.spec.containers` (Argo Rollouts, ...) are covered too.
fn pod_specs(object: &mut Value) -> Vec<&mut Value> {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let pointer = match kind {
        "Pod" => "/spec",
        "CronJob" => "/spec/jobTemplate/spec/template/spec",
        "PodTemplate" => "/template/spec",
        _ => "/spec/template/spec",
    };
    object
        .pointer_mut(pointer)
        .filter(|spec| spec.get("containers").is_some_and(Value::is_array))
        .into_iter()
        .collect()
}

fn redact_pod_spec(pod_spec: &mut Value, stats: &mut RedactionStats) {
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for container in array_mut(pod_spec, list) {
            for list in ["command", "args"] {
                redact_credential_args(container, list, stats);
            }
            for variable in array_mut(container, "env") {
                let name = variable.get("name").and_then(Value::as_str);
                if !name.is_some_and(is_istio_setting) {
                    drop_key(variable, "value", Redaction::EnvValue, stats);
                }
            }
        }
    }
}

/// A flag whose name says it carries a credential: `--db-password`, `-token`, `--api-key`,
/// `--client-secret`, `--access-key`...
static CREDENTIAL_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(--?[a-z0-9_.-]*(?:password|passwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential)[a-z0-9_.-]*)(?:([=:])(.*))?$",
    )
    .expect("valid pattern")
});

/// Redacts credential flag values in a container's `command`/`args`, both `--flag=value` and
/// `--flag value` forms. Values that are references (`$(VAR)`) or file paths are kept.
fn redact_credential_args(container: &mut Value, list: &str, stats: &mut RedactionStats) {
    let Some(items) = container.get_mut(list).and_then(Value::as_array_mut) else {
        return;
    };
    // References and paths are not secrets; tokens and PEM blocks get their own marker from the
    // string sweep that follows.
    let is_reference = |value: &str| {
        value.starts_with("$(")
            || value.starts_with('/')
            || JWT.is_match(value)
            || PEM.is_match(value)
    };
    let mut value_follows = false;
    for item in items.iter_mut() {
        let Value::String(text) = item else {
            value_follows = false;
            continue;
        };
        if value_follows && !text.starts_with('-') && !is_reference(text) {
            *text = "<redacted:credential>".to_owned();
            stats.record(Redaction::CredentialArg);
            value_follows = false;
            continue;
        }
        value_follows = false;
        let Some(captures) = CREDENTIAL_FLAG.captures(text) else {
            continue;
        };
        match (captures.get(2), captures.get(3)) {
            (Some(separator), Some(value)) if !value.as_str().is_empty() => {
                if !is_reference(value.as_str()) {
                    let flag = captures.get(1).map_or("", |flag| flag.as_str());
                    *text = format!("{flag}{}<redacted:credential>", separator.as_str());
                    stats.record(Redaction::CredentialArg);
                }
            }
            _ => value_follows = true,
        }
    }
}

/// Istio reads its feature flags from the environment of istiod and the proxies, and rules
/// check them (IST0175 reads `BLOCKED_CIDRS_IN_JWKS_URIS`). They are switches, addresses and
/// names, not credentials; the PEM/JWT walk still runs over them.
fn is_istio_setting(name: &str) -> bool {
    name.starts_with("PILOT_")
        || name.starts_with("ISTIO_")
        || matches!(
            name,
            "BLOCKED_CIDRS_IN_JWKS_URIS" | "CLUSTER_ID" | "REVISION" | "EXTERNAL_ISTIOD"
        )
}

static PEM: LazyLock<Regex> = LazyLock::new(|| {
    // An unterminated block (truncated text) is redacted to the end of the string.
    Regex::new(r"-----BEGIN [A-Z0-9 ]{1,64}-----(?s:.*?)(?:-----END [A-Z0-9 ]{1,64}-----|\z)")
        .expect("valid PEM pattern")
});

/// `-----BEGIN` base64-encoded, as in a kubeconfig's `certificate-authority-data`.
static BASE64_PEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]*").expect("valid pattern"));

static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*").expect("valid pattern")
});

/// Replaces PEM blocks and JWT-shaped tokens in every string of `value`.
pub fn redact_strings(value: &mut Value, stats: &mut RedactionStats) {
    match value {
        Value::String(text) => {
            if let Some(redacted) = redact_text(text, stats) {
                *text = redacted;
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| redact_strings(item, stats)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| redact_strings(item, stats)),
        _ => {}
    }
}

/// The text with secrets replaced, or `None` when it holds none (the common case, no copy).
pub fn redact_text(text: &str, stats: &mut RedactionStats) -> Option<String> {
    let candidate =
        text.contains("-----BEGIN ") || text.contains("LS0tLS1CRUdJTi") || text.contains("eyJ");
    if !candidate {
        return None;
    }
    let mut changed = false;
    let mut current = text.to_owned();
    for (pattern, redaction, marker) in [
        (&*PEM, Redaction::Pem, "<redacted:pem>"),
        (&*BASE64_PEM, Redaction::Pem, "<redacted:pem>"),
        (&*JWT, Redaction::Jwt, "<redacted:jwt>"),
    ] {
        let found = pattern.find_iter(&current).count();
        if found > 0 {
            for _ in 0..found {
                stats.record(redaction);
            }
            current = pattern.replace_all(&current, marker).into_owned();
            changed = true;
        }
    }
    changed.then_some(current)
}

fn drop_key(map: &mut Value, key: &str, redaction: Redaction, stats: &mut RedactionStats) {
    if let Some(map) = map.as_object_mut()
        && map.remove(key).is_some()
    {
        stats.record(redaction);
    }
}

fn array_mut<'a>(value: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    value
        .get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
