use crate::Context;
use std::collections::HashSet;

use meshcheck_input::{Map, Value};
use meshcheck_model::selector::value_text;
use meshcheck_model::{Kind, Mesh, Resource, items, strings};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks that every AuthorizationPolicy applies to something:
    /// - a policy with a `selector` must match at least one pod in the mesh (with a sidecar or in
    ///   ambient mode) in its namespace, or anywhere in the mesh for a policy in the root
    ///   namespace (`istio-system`);
    /// - a namespace-wide policy (no selector, outside the root namespace) needs at least one
    ///   such pod in its namespace;
    /// - every namespace named in `source.namespaces` / `source.notNamespaces` must exist
    ///   (`*`, `prefix*` and `*suffix` patterns match against existing namespaces). Namespaces are
    ///   known from the Namespace objects of the input; without any, this check is skipped.
    ///
    /// ## Why is this bad?
    /// A policy that selects nothing does not protect what its author meant to protect, and a
    /// rule on a namespace that does not exist is usually a typo: an `ALLOW` rule then never
    /// matches (requests are denied) and a `DENY` rule never applies (requests get through).
    ///
    /// ## How to fix
    /// Fix the selector labels to match the workload's pod labels, move the policy to the
    /// workload's namespace, or correct the namespace names.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   selector:
    ///     matchLabels:
    ///       app: httbin          # typo: pods are labelled app=httpbin
    ///   rules:
    ///   - from:
    ///     - source:
    ///         namespaces: ["frontent"]   # typo: the namespace is frontend
    /// ```
    pub static AUTHORIZATION_POLICY_TARGETS = {
        code: "MC007",
        name: "authorization-policy-targets",
        category: Security,
        severity: Warning,
        summary: "AuthorizationPolicies must select workloads and name namespaces that exist",
        istio_analyzer: Some("authz.AuthorizationPoliciesAnalyzer"),
        istio_codes: &["IST0101", "IST0127"],
        inputs: &[Kind::AuthorizationPolicy, Kind::Namespace, Kind::Pod, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/reference/config/security/authorization-policy/",
        remediation: "Make the selector match running pods of the mesh, and fix namespace names in source.namespaces/notNamespaces.",
        check: check,
    }
}

/// A selector as Kubernetes prints it: `key=value,...` sorted by key.
fn selector_text(labels: &Map) -> String {
    let mut pairs: Vec<String> = labels
        .iter()
        .map(|(key, value)| format!("{key}={}", value_text(value)))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// Whether a pod counts as a workload of the mesh (sidecar or ambient).
fn in_mesh(mesh: &Mesh, pod: &Resource) -> bool {
    mesh.pod_resource_in_mesh(pod) || mesh.pod_in_ambient(pod)
}

/// Namespace names, to resolve `source.namespaces` patterns.
struct Namespaces<'a> {
    exact: HashSet<String>,
    all: Vec<&'a str>,
}

impl Namespaces<'_> {
    fn matches(&self, pattern: &str) -> bool {
        if pattern == "*" {
            return true;
        }
        if let Some(suffix) = pattern.strip_prefix('*') {
            return self.all.iter().any(|name| name.ends_with(suffix));
        }
        if let Some(prefix) = pattern.strip_suffix('*') {
            return self.all.iter().any(|name| name.starts_with(prefix));
        }
        self.exact.contains(&pattern.to_lowercase())
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let root = mesh.root_namespace();
    let all: Vec<&str> = mesh.of_kind(Kind::Namespace).map(Resource::name).collect();
    let namespaces = Namespaces {
        exact: all.iter().map(|name| name.to_lowercase()).collect(),
        all,
    };
    for policy in mesh.of_kind(Kind::AuthorizationPolicy) {
        check_workloads(mesh, root, policy, sink);
        // Without any Namespace object in the input there is nothing to check names against.
        if !namespaces.all.is_empty() {
            check_namespaces(&namespaces, policy, sink);
        }
    }
}

fn check_workloads(mesh: &Mesh, root: &str, policy: &Resource, sink: &mut Sink) {
    let selector = policy
        .spec()
        .get("selector")
        .filter(|selector| !selector.is_null());
    let mesh_wide = policy.namespace == root;
    let Some(selector) = selector else {
        if !mesh_wide
            && !mesh
                .pods_in(&policy.namespace)
                .any(|pod| in_mesh(mesh, pod))
        {
            sink.istio(
                "IST0127",
                policy,
                &["metadata", "name"],
                format!(
                    "AuthorizationPolicy {} applies to namespace {}, which has no pods in the mesh",
                    policy.display_name(),
                    policy.namespace
                ),
            )
            .about_workloads();
        }
        return;
    };
    let empty = Map::new();
    let labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let scope = (!mesh_wide).then_some(policy.namespace.as_str());
    let selected = mesh
        .pods_matching(scope, labels)
        .into_iter()
        .any(|pod| in_mesh(mesh, pod));
    if selected {
        return;
    }
    let place = if mesh_wide {
        "in any namespace".to_owned()
    } else {
        format!("in namespace {}", policy.namespace)
    };
    sink.istio(
        "IST0127",
        policy,
        &["spec", "selector"],
        format!(
            "AuthorizationPolicy {} selects no pods of the mesh {place} (selector {:?})",
            policy.display_name(),
            selector_text(labels)
        ),
    )
    .about_workloads();
}

fn check_namespaces(namespaces: &Namespaces, policy: &Resource, sink: &mut Sink) {
    for (rule_index, rule) in items(policy.spec().get("rules")).enumerate() {
        for (from_index, from) in items(rule.get("from")).enumerate() {
            let Some(source) = from.get("source") else {
                continue;
            };
            for field in ["namespaces", "notNamespaces"] {
                for (index, name) in strings(source.get(field)).into_iter().enumerate() {
                    if namespaces.matches(name) {
                        continue;
                    }
                    let problem = if name.starts_with('*') || name.ends_with('*') {
                        format!(
                            "the namespace pattern {name:?} in source.{field} matches no namespace"
                        )
                    } else {
                        format!("namespace {name:?} in source.{field} does not exist")
                    };
                    let (rule_index, from_index, index) = (
                        rule_index.to_string(),
                        from_index.to_string(),
                        index.to_string(),
                    );
                    sink.istio(
                        "IST0101",
                        policy,
                        &[
                            "spec",
                            "rules",
                            &rule_index,
                            "from",
                            &from_index,
                            "source",
                            field,
                            &index,
                        ],
                        format!("AuthorizationPolicy {}: {problem}", policy.display_name()),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    const POLICY: &str = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: istio-system}\nspec:\n  rules:\n  - from:\n    - source: {namespaces: ['*', 'front*', '*end', 'other']}\n";

    #[test]
    fn namespace_patterns() {
        let yaml =
            format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: frontend}}\n---\n{POLICY}");
        let findings = check(&AUTHORIZATION_POLICY_TARGETS, &yaml);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(findings[0].message.contains("\"other\""));
        // Nothing to compare against without Namespace objects.
        assert!(check(&AUTHORIZATION_POLICY_TARGETS, POLICY).is_empty());
    }

    #[test]
    fn ambient_pods_count() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: apps, labels: {app: a}, annotations: {ambient.istio.io/redirection: enabled}}\nspec: {containers: [{name: a, image: a}]}\n---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: apps}\nspec: {selector: {matchLabels: {app: a}}}\n";
        assert!(check(&AUTHORIZATION_POLICY_TARGETS, yaml).is_empty());
    }
}
