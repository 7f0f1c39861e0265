use crate::Context;
use rustc_hash::{FxHashMap, FxHashSet};
use std::borrow::Cow;
use std::collections::BTreeMap;

use meshcheck_input::Map;
use meshcheck_model::selector::{matches_labels, value_str};

use meshcheck_model::{Kind, Resource};

use crate::facts::authz::{Action, Scope, denies_by_default, matches_everything, rules};
use crate::facts::workloads::{Workload, control_plane_in_input, workloads};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks that authorization follows the default-deny pattern: either a mesh-wide
    /// "allow-nothing" AuthorizationPolicy (`action: ALLOW` without rules, in the root namespace,
    /// no selector), or one per namespace with mesh workloads. A namespace without one is
    /// reported when some of its mesh workloads are not selected by any ALLOW policy (a workload
    /// with an ALLOW policy is already denied by default, unless that policy allows everything). Gateways are left out: they serve
    /// public traffic by design. The rule runs when the input shows the control plane or holds
    /// AuthorizationPolicies.
    ///
    /// ## Why is this bad?
    /// Istio allows every request to a workload that no ALLOW policy selects. Without a
    /// default-deny policy, any workload of the mesh (and under PERMISSIVE mTLS, any pod of the
    /// cluster) can call every endpoint of these workloads, and a forgotten condition in a policy
    /// opens access instead of closing it.
    ///
    /// ## How to fix
    /// Apply an allow-nothing policy mesh-wide (or per namespace), then add ALLOW policies for the
    /// traffic each workload should accept.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: security.istio.io/v1
    /// kind: AuthorizationPolicy
    /// metadata:
    ///   name: allow-nothing
    ///   namespace: istio-system
    /// spec: {}
    /// ```
    pub static AUTHORIZATION_DEFAULT_DENY_MISSING = {
        code: "MC205",
        name: "authorization-default-deny-missing",
        category: Security,
        severity: Warning,
        summary: "Namespaces with mesh workloads need a default-deny (allow-nothing) AuthorizationPolicy",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::AuthorizationPolicy, Kind::Namespace, Kind::Pod, Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet],
        docs_url: "https://istio.io/latest/docs/ops/best-practices/security/#safer-authorization-policy-pattern",
        remediation: "Create an allow-nothing AuthorizationPolicy (spec: {}) in the root namespace or in each namespace, then allow the expected traffic explicitly.",
        check: check,
    }
}

/// Gateways (injected with the gateway template or labelled as Istio gateways).
fn is_gateway(workload: &Workload) -> bool {
    workload.annotation("inject.istio.io/templates") == Some("gateway")
        || workload
            .labels()
            .get("istio")
            .and_then(|value| value.as_str())
            .is_some_and(|value| value.ends_with("gateway"))
        || workload
            .labels()
            .contains_key("gateway.networking.k8s.io/gateway-name")
}

/// (namespace, label key, label value).
type LabelKey<'a> = (&'a str, &'a str, Cow<'a, str>);

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let policies: Vec<&Resource> = mesh.of_kind(Kind::AuthorizationPolicy).collect();
    if policies.is_empty() && !control_plane_in_input(mesh) {
        return;
    }
    let scoped: Vec<(Scope, &Resource)> = policies
        .iter()
        .map(|policy| (Scope::of(mesh, policy), *policy))
        .collect();
    if scoped
        .iter()
        .any(|(scope, policy)| *scope == Scope::Mesh && denies_by_default(policy))
    {
        return;
    }
    // Only policies that protect what they cover matter: they deny by default, or allow
    // something narrower than everything. Index them per namespace, selector policies by their
    // first label (a workload can only match a selector through that label).
    let protects = |policy: &Resource| {
        denies_by_default(policy)
            || Action::of(policy) == Action::Allow && !rules(policy).any(matches_everything)
    };
    let mut mesh_wide = false;
    let mut namespace_wide: FxHashSet<&str> = FxHashSet::default();
    let mut by_first_label: FxHashMap<LabelKey, Vec<&Map>> = FxHashMap::default();
    for (scope, policy) in &scoped {
        if matches!(scope, Scope::Targets(_)) || !protects(policy) {
            continue;
        }
        match scope {
            Scope::Mesh => mesh_wide = true,
            Scope::Namespace(namespace) => {
                namespace_wide.insert(namespace);
            }
            Scope::Workloads(namespace, selector) => {
                if let Some((key, value)) = selector.iter().next() {
                    by_first_label
                        .entry((namespace, key.as_str(), value_str(value)))
                        .or_default()
                        .push(selector);
                }
            }
            Scope::Targets(_) => {}
        }
    }
    if mesh_wide {
        return;
    }
    let root = mesh.root_namespace();
    let mut unprotected: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();
    for workload in workloads(mesh) {
        let namespace = workload.namespace();
        if namespace == root {
            continue;
        }
        let labels = workload.labels();
        // Protection first: it is cheaper than telling gateways and mesh membership apart.
        let protected = namespace_wide.contains(namespace)
            || labels.iter().any(|(key, value)| {
                by_first_label
                    .get(&(namespace, key.as_str(), value_str(value)))
                    .is_some_and(|selectors| {
                        selectors
                            .iter()
                            .any(|selector| matches_labels(selector, labels))
                    })
            });
        if !protected && !is_gateway(&workload) && workload.in_mesh() {
            unprotected
                .entry(namespace)
                .or_default()
                .push(workload.resource);
        }
    }
    for (namespace, workloads) in unprotected {
        // Named only for the four shown: a namespace can hold thousands.
        let shown: Vec<String> = workloads
            .iter()
            .take(4)
            .map(|resource| format!("{} {}", resource.kind, resource.name()))
            .collect();
        let more = workloads.len() - shown.len();
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let message = format!(
            "Namespace {namespace} has no default-deny AuthorizationPolicy and the mesh has none; no ALLOW policy selects these workloads, so they accept any request: {}{more}",
            shown.join(", ")
        );
        sink.report_namespace(mesh, namespace, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    const APPS: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: web}]}}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db, namespace: shop}\nspec: {template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db, image: db}]}}}\n";

    #[test]
    fn allow_policies_make_workloads_default_deny() {
        let one = format!(
            "{APPS}---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: web, namespace: shop}}\nspec: {{selector: {{matchLabels: {{app: web}}}}, rules: [{{to: [{{operation: {{methods: [GET]}}}}]}}]}}\n"
        );
        let findings = check(&AUTHORIZATION_DEFAULT_DENY_MISSING, &one);
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("Deployment db"));
        assert!(!findings[0].message.contains("Deployment web"));
        let mesh_wide = format!(
            "{APPS}---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: allow-nothing, namespace: istio-system}}\nspec: {{action: ALLOW}}\n"
        );
        assert!(check(&AUTHORIZATION_DEFAULT_DENY_MISSING, &mesh_wide).is_empty());
    }

    #[test]
    fn silent_on_app_manifests_alone() {
        assert!(check(&AUTHORIZATION_DEFAULT_DENY_MISSING, APPS).is_empty());
    }
}
