use crate::Context;
use meshcheck_model::{Kind, Resource};

use super::common::{application_namespaces, namespace_wide, whole_mesh};
use crate::facts::authz::denies_by_default;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Go-live checklist item "authorization denies by default": an allow-nothing
    /// AuthorizationPolicy (`spec: {}`, i.e. ALLOW without rules, or a DENY matching
    /// everything) without selector in the root namespace, or one in every application
    /// namespace (namespaces with workloads in the mesh, gateways aside). Fires when neither
    /// holds, naming the namespaces without one. Only judged when the input can answer
    /// mesh-wide questions (a collected cluster, the mesh configuration, or istiod in the root
    /// namespace).
    ///
    /// ## Why is this bad?
    /// Istio allows every request that no ALLOW policy covers. Without default deny, each new
    /// workload starts open to the whole mesh, and a forgotten policy fails open.
    ///
    /// ## How to fix
    /// 1. Write ALLOW policies for the traffic each workload must accept.
    /// 2. Apply an allow-nothing policy in the root namespace (or in each namespace).
    /// 3. Watch for denied requests (`rbac_access_denied` in access logs) and fix the gaps.
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
    pub static READINESS_DEFAULT_DENY = {
        code: "MC603",
        name: "readiness-default-deny",
        category: Readiness,
        severity: Warning,
        summary: "Go-live: authorization must deny by default",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::AuthorizationPolicy, Kind::Namespace, Kind::Pod, Kind::Deployment, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/ops/best-practices/security/#safer-authorization-policy-pattern",
        remediation: "1. Write ALLOW policies for the traffic each workload must accept. 2. Apply an allow-nothing AuthorizationPolicy (spec: {}) in the root namespace or in every application namespace. 3. Watch access logs for denied requests and close the gaps.",
        check: check,
    }
}

fn is_default_deny(policy: &Resource) -> bool {
    namespace_wide(policy) && denies_by_default(policy)
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if !whole_mesh(mesh) {
        return;
    }
    let root = mesh.root_namespace();
    let policies: Vec<&Resource> = mesh.of_kind(Kind::AuthorizationPolicy).collect();
    if policies
        .iter()
        .any(|policy| policy.namespace == root && is_default_deny(policy))
    {
        return;
    }
    let denying: std::collections::HashSet<&str> = policies
        .iter()
        .filter(|policy| is_default_deny(policy))
        .map(|policy| policy.namespace.as_str())
        .collect();
    let open: Vec<&str> = application_namespaces(mesh)
        .into_iter()
        .filter(|namespace| !denying.contains(namespace))
        .collect();
    if open.is_empty() {
        return;
    }
    let listed: Vec<&str> = open.iter().take(8).copied().collect();
    let more = if open.len() > listed.len() {
        format!(" and {} more", open.len() - listed.len())
    } else {
        String::new()
    };
    sink.report_detached(
        None,
        None,
        format!(
            "Authorization does not deny by default: no allow-nothing AuthorizationPolicy in the root namespace {root}, and none in {} application namespace{} ({}{more}), so their workloads accept any request no ALLOW policy covers",
            open.len(),
            if open.len() == 1 { "" } else { "s" },
            listed.join(", ")
        ),
    );
}
