use crate::Context;
use meshcheck_model::Kind;

use crate::facts::authz::{Action, Scope, matches_everything, rules, scope_reaches_ingress};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds ALLOW AuthorizationPolicies with a rule that matches every request: an empty rule
    /// (`rules: [{}]`) or one whose `from`, `to` and `when` are all empty. It is an error when
    /// the policy applies mesh-wide or to an ingress gateway, and a warning otherwise.
    ///
    /// ## Why is this bad?
    /// An allow-all rule overrides default-deny for everything the policy selects: every other
    /// ALLOW policy on those workloads becomes meaningless, and any client may call any path.
    /// Mesh-wide or on the ingress gateway it opens the whole mesh or everything exposed at the
    /// edge. Such rules are often left over from debugging (Istio documents `allow-all` as a way
    /// to temporarily expose a workload).
    ///
    /// ## How to fix
    /// Replace the empty rule with the sources, operations and conditions that should be
    /// allowed, or delete the policy.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: security.istio.io/v1
    /// kind: AuthorizationPolicy
    /// metadata: {name: allow-all, namespace: payments}
    /// spec:
    ///   action: ALLOW
    ///   rules:
    ///   - {}
    /// ```
    pub static AUTHORIZATION_ALLOW_ALL = {
        code: "MC206",
        name: "authorization-allow-all",
        category: Security,
        severity: Warning,
        summary: "ALLOW AuthorizationPolicies must not contain a rule that matches every request",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::AuthorizationPolicy, Kind::Pod, Kind::Gateway],
        docs_url: "https://istio.io/latest/docs/concepts/security/#allow-nothing-deny-all-and-allow-all-policy",
        remediation: "Replace the empty rule with the sources, operations and conditions that should be allowed, or delete the policy.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for policy in mesh.of_kind(Kind::AuthorizationPolicy) {
        if Action::of(policy) != Action::Allow {
            continue;
        }
        let Some(index) = rules(policy).position(matches_everything) else {
            continue;
        };
        let scope = Scope::of(mesh, policy);
        let at_edge = scope_reaches_ingress(mesh, &scope);
        let where_ = match (scope, at_edge) {
            (Scope::Mesh, _) => "every workload of the mesh, gateways included".to_owned(),
            (scope, true) => format!("{} (an ingress gateway)", scope.describe()),
            (scope, false) => scope.describe(),
        };
        let index = index.to_string();
        let finding = sink.report(
            policy,
            &["spec", "rules", &index],
            format!(
                "AuthorizationPolicy {}/{} has a rule that matches every request: it allows all traffic to {where_}",
                policy.namespace,
                policy.name()
            ),
        );
        if at_edge {
            finding.severity(Severity::Error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    #[test]
    fn severity_by_reach() {
        let ingress = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: open, namespace: istio-system}\nspec:\n  selector: {matchLabels: {istio: ingressgateway}}\n  rules: [{}]\n";
        assert_eq!(
            check(&AUTHORIZATION_ALLOW_ALL, ingress)[0].severity,
            Severity::Error
        );
        let workload = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: open, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  rules: [{from: [{source: {}}]}]\n";
        assert_eq!(
            check(&AUTHORIZATION_ALLOW_ALL, workload)[0].severity,
            Severity::Warning
        );
        let deny_all = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny, namespace: shop}\nspec: {action: DENY, rules: [{}]}\n";
        assert!(check(&AUTHORIZATION_ALLOW_ALL, deny_all).is_empty());
    }
}
