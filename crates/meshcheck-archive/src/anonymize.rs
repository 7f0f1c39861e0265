//! `--anonymize`: replaces names, namespaces, hosts and label values with keyed hashes, the same
//! everywhere, so that references still resolve (a VirtualService host still names its Service)
//! and a report reads coherently.
//!
//! Two passes over the whole snapshot: [`Anonymizer::learn`] collects every identifier (object
//! names and namespaces, host labels, values of name-like labels) as *tokens* — maximal runs of
//! `[A-Za-z0-9_-]` — then [`Anonymizer::apply`] rewrites every learned token wherever it occurs
//! in a string, so `reviews`, `reviews.shop.svc.cluster.local`, `shop/gateway` and
//! `cluster.local/ns/shop/sa/reviews` all change the same way. Kinds, API versions, protocols,
//! port names, image tags, well-known label keys, structural host parts (`svc.cluster.local`, `*`)
//! and system namespaces / Istio component names stay readable.

use std::collections::HashSet;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Tokens that never identify a user and that rules depend on.
const KEEP: &[&str] = &[
    // Kubernetes and Istio system namespaces.
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "local-path-storage",
    "istio-system",
    "istio-ingress",
    "istio-egress",
    "istio-gateways",
    "istio-cni",
    // Component and object names rules look up.
    "istio",
    "istiod",
    "pilot",
    "ztunnel",
    "waypoint",
    "ingressgateway",
    "egressgateway",
    "kubernetes",
    "kube-dns",
    "coredns",
    "kube-root-ca",
    "mesh",
    // Structural host parts and common words that also occur as label values.
    "svc",
    "cluster",
    "local",
    "global",
    "com",
    "org",
    "net",
    "crt",
    "pem",
    "yaml",
    "json",
    "true",
    "false",
    "enabled",
    "disabled",
    "http",
    "https",
    "http2",
    "grpc",
    "grpc-web",
    "tcp",
    "tls",
    "udp",
    "mongo",
    "mysql",
    "redis",
];

/// Keys whose string values are never rewritten: types, protocols, versions.
const VERBATIM_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "protocol",
    "appProtocol",
    "imagePullPolicy",
    "type",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "gitVersion",
];

/// Label keys whose values name a workload or team: their values are learned as identifiers.
/// Values of other well-known keys (`istio.io/rev`, `version`, `sidecar.istio.io/inject`...)
/// are configuration and stay readable unless they repeat a learned name.
const NAME_LIKE_LABEL_KEYS: &[&str] = &[
    "app",
    "name",
    "release",
    "team",
    "owner",
    "service",
    "component",
    "part-of",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/component",
    "service.istio.io/canonical-name",
    "kubernetes.io/metadata.name",
    "statefulset.kubernetes.io/pod-name",
];

/// Maps whose keys are label keys and whose values are label values.
const LABEL_MAPS: &[&str] = &["labels", "matchLabels", "nodeSelector", "selector"];

/// Replaces identifiers with keyed hashes; see the module documentation.
#[derive(Clone)]
pub struct Anonymizer {
    key: Vec<u8>,
    learned: HashSet<String>,
}

impl std::fmt::Debug for Anonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key would undo the anonymization: never print it.
        f.debug_struct("Anonymizer")
            .field("learned", &self.learned.len())
            .finish_non_exhaustive()
    }
}

impl Anonymizer {
    /// A random key, kept only in memory: two archives of the same cluster do not correlate.
    pub fn with_random_key() -> Result<Anonymizer, getrandom::Error> {
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(Anonymizer::from_key_bytes(key))
    }

    /// A stable key (`--anonymize-key`): archives taken with the same key correlate.
    pub fn with_key(key: &str) -> Anonymizer {
        Anonymizer::from_key_bytes(Sha256::digest(key.as_bytes()).to_vec())
    }

    fn from_key_bytes(key: Vec<u8>) -> Anonymizer {
        Anonymizer {
            key,
            learned: HashSet::new(),
        }
    }

    /// The hashed form of one token: `x` + 10 hex digits, a valid DNS label.
    pub fn hash_token(&self, token: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key size");
        mac.update(token.as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest[..5]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("x{hex}")
    }

    /// Pass 1: learns the identifiers of one object.
    pub fn learn(&mut self, object: &Value) {
        if let Some(metadata) = object.get("metadata") {
            for key in ["name", "namespace", "generateName"] {
                if let Some(text) = metadata.get(key).and_then(Value::as_str) {
                    self.learn_text(text);
                }
            }
            for owner in metadata
                .get("ownerReferences")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = owner.get("name").and_then(Value::as_str) {
                    self.learn_text(name);
                }
            }
        }
        self.learn_walk(object);
    }

    /// Hosts and label values anywhere in the object.
    fn learn_walk(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    match key.as_str() {
                        "host" | "hosts" | "hostname" | "hostnames" => self.learn_hosts(child),
                        "serviceAccountName" | "serviceName" | "credentialName" => {
                            if let Some(text) = child.as_str() {
                                self.learn_text(text);
                            }
                        }
                        key if LABEL_MAPS.contains(&key) => {
                            if let Some(labels) = child.as_object() {
                                for (label, label_value) in labels {
                                    let learn_value = NAME_LIKE_LABEL_KEYS
                                        .contains(&label.as_str())
                                        || !is_well_known_key(label);
                                    if learn_value && let Some(text) = label_value.as_str() {
                                        self.learn_text(text);
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                    self.learn_walk(child);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.learn_walk(item)),
            _ => {}
        }
    }

    fn learn_hosts(&mut self, value: &Value) {
        let hosts: Vec<&str> = match value {
            Value::String(host) => vec![host.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => return,
        };
        for host in hosts {
            // `namespace/host` (Gateway servers, Sidecar egress) learns both parts.
            let (namespace, host) = host.rsplit_once('/').unwrap_or(("", host));
            self.learn_text(namespace);
            let labels: Vec<&str> = host.split('.').collect();
            // The last label of an external host is its top-level domain.
            let keep_last = labels.len() > 1;
            let learned = if keep_last {
                &labels[..labels.len() - 1]
            } else {
                &labels[..]
            };
            for label in learned {
                self.learn_text(label);
            }
        }
    }

    fn learn_text(&mut self, text: &str) {
        for token in tokens(text) {
            if is_identifier(token) {
                self.learned.insert(token.to_owned());
            }
        }
    }

    /// Pass 2: rewrites one object.
    pub fn apply(&self, object: &mut Value) {
        self.apply_walk(object);
    }

    /// Rewrites learned tokens in free text (proxy stats, collection errors).
    pub fn apply_text(&self, text: &str) -> String {
        self.rewrite_tokens(text, |token| self.learned.contains(token))
    }

    /// Rewrites every token that could identify something, learned or not (names given beside
    /// the objects: proxy stats dump names, the kubeconfig context).
    pub fn apply_name(&self, text: &str) -> String {
        self.rewrite_tokens(text, |token| {
            self.learned.contains(token) || is_identifier(token)
        })
    }

    fn rewrite_tokens(&self, text: &str, rewrite: impl Fn(&str) -> bool) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(is_token_char) {
            out.push_str(&rest[..start]);
            let after = &rest[start..];
            let end = after.find(|c| !is_token_char(c)).unwrap_or(after.len());
            let token = &after[..end];
            if rewrite(token) {
                out.push_str(&self.hash_token(token));
            } else {
                out.push_str(token);
            }
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    }

    fn apply_walk(&self, value: &mut Value) {
        match value {
            Value::String(text) => *text = self.apply_text(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.apply_walk(item)),
            Value::Object(map) => {
                let is_port = ["port", "containerPort", "number", "targetPort"]
                    .iter()
                    .any(|key| map.contains_key(*key));
                // A label selector requirement: `key` is a label key.
                let is_requirement = map.contains_key("operator");
                for (key, child) in map.iter_mut() {
                    if is_requirement && key == "key" {
                        if let Value::String(text) = child {
                            *text = self.anonymize_key(text);
                        }
                        continue;
                    }
                    let verbatim = VERBATIM_KEYS.contains(&key.as_str())
                        // Port names carry the protocol (`http-web`): keep them.
                        || (is_port && key == "name");
                    if verbatim && child.is_string() {
                        continue;
                    }
                    match key.as_str() {
                        "annotations" => self.apply_annotations(child),
                        key if LABEL_MAPS.contains(&key) && is_string_map(child) => {
                            self.apply_label_map(child)
                        }
                        _ => self.apply_walk(child),
                    }
                }
            }
            _ => {}
        }
    }

    fn apply_label_map(&self, labels: &mut Value) {
        let Some(map) = labels.as_object_mut() else {
            return;
        };
        let rewritten: Map<String, Value> = std::mem::take(map)
            .into_iter()
            .map(|(key, value)| {
                let value = match value {
                    Value::String(text) => Value::String(self.apply_text(&text)),
                    other => other,
                };
                (self.anonymize_key(&key), value)
            })
            .collect();
        *map = rewritten;
    }

    /// Annotations under well-known keys are configuration (rewritten like any string); the
    /// values of other annotations are free text and are hashed whole.
    fn apply_annotations(&self, annotations: &mut Value) {
        let Some(map) = annotations.as_object_mut() else {
            return;
        };
        let rewritten: Map<String, Value> = std::mem::take(map)
            .into_iter()
            .map(|(key, value)| {
                let value = match value {
                    Value::String(text) if is_well_known_key(&key) => {
                        Value::String(self.apply_text(&text))
                    }
                    Value::String(text) if text.is_empty() => Value::String(text),
                    Value::String(text) => Value::String(self.hash_token(&text)),
                    other => other,
                };
                (self.anonymize_key(&key), value)
            })
            .collect();
        *map = rewritten;
    }

    /// A label or annotation key: a custom prefix domain is hashed label by label (its
    /// top-level domain kept); the name part is kept.
    fn anonymize_key(&self, key: &str) -> String {
        match key.split_once('/') {
            Some((prefix, name)) if !is_well_known_key(key) => {
                let labels: Vec<&str> = prefix.split('.').collect();
                let last = labels.len() - 1;
                let prefix: Vec<String> = labels
                    .iter()
                    .enumerate()
                    .map(|(index, label)| {
                        if (index == last && last > 0) || KEEP.contains(label) {
                            (*label).to_owned()
                        } else {
                            self.hash_token(label)
                        }
                    })
                    .collect();
                format!("{}/{name}", prefix.join("."))
            }
            _ => key.to_owned(),
        }
    }

    /// How many distinct identifiers were learned.
    pub fn learned_count(&self) -> usize {
        self.learned.len()
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_token_char(c))
        .filter(|token| !token.is_empty())
}

/// Keys owned by Kubernetes, Istio or common tooling, and plain keys without a prefix.
fn is_well_known_key(key: &str) -> bool {
    let Some((prefix, _)) = key.split_once('/') else {
        return true;
    };
    [
        "kubernetes.io",
        "k8s.io",
        "istio.io",
        "helm.sh",
        "openshift.io",
        "x-k8s.io",
    ]
    .iter()
    .any(|domain| prefix == *domain || prefix.ends_with(&format!(".{domain}")))
}

/// Whether a token identifies something: not a kept word, not a number or an API version
/// (`v1`, `v1beta1`), not an Istio component name (`istio-*`, `istiod-*`).
fn is_identifier(token: &str) -> bool {
    if token.len() < 3 || KEEP.contains(&token) {
        return false;
    }
    if token.starts_with("istio-") || token.starts_with("istiod-") {
        return false;
    }
    if token.bytes().all(|byte| byte.is_ascii_digit()) {
        return false;
    }
    let is_api_version = token.strip_prefix('v').is_some_and(|rest| {
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        rest.len() < token.len() - 1
            && ["", "alpha", "beta"].iter().any(|stage| {
                rest.strip_prefix(stage)
                    .is_some_and(|tail| tail.bytes().all(|byte| byte.is_ascii_digit()))
            })
    });
    !is_api_version
}

fn is_string_map(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|map| map.values().all(Value::is_string))
}

#[cfg(test)]
#[path = "anonymize_tests.rs"]
mod tests;
