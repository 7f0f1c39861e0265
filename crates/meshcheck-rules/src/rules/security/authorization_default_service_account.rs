use crate::Context;
use meshcheck_model::Kind;

use crate::facts::authz::{rule_fields, rules};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds AuthorizationPolicies that match the principal of a namespace's `default` service
    /// account (`cluster.local/ns/<ns>/sa/default`).
    ///
    /// ## Why is this bad?
    /// Every pod that does not name a service account runs as `default`: granting access to
    /// that identity grants it to every such workload of the namespace, present and future, so
    /// the policy does not identify a client at all.
    ///
    /// ## How to fix
    /// Give the client workload its own ServiceAccount (`serviceAccountName`) and name that
    /// principal in the policy.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    /// - from:
    ///   - source:
    ///       principals: ["cluster.local/ns/shop/sa/default"]
    /// ```
    pub static AUTHORIZATION_DEFAULT_SERVICE_ACCOUNT = {
        code: "MC226",
        name: "authorization-default-service-account",
        category: Security,
        severity: Info,
        summary: "AuthorizationPolicies should not identify clients by a namespace's default service account",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::AuthorizationPolicy],
        docs_url: "https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source",
        remediation: "Run the client with its own ServiceAccount and name that principal in the policy.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for policy in mesh.of_kind(Kind::AuthorizationPolicy) {
        for (index, rule) in rules(policy).enumerate() {
            for field in rule_fields(rule, index) {
                let principal = match (field.section, field.name) {
                    ("source", "principals" | "notPrincipals") | ("when", "source.principal") => {
                        field
                            .values
                            .iter()
                            .find(|value| value.ends_with("/sa/default"))
                    }
                    _ => None,
                };
                let Some(principal) = principal else {
                    continue;
                };
                sink.report_at(
                    policy,
                    &field.path(),
                    format!(
                        "AuthorizationPolicy {}/{} matches {principal}, the default service account: every workload of that namespace without its own service account shares this identity",
                        policy.namespace,
                        policy.name()
                    ),
                );
            }
        }
    }
}
