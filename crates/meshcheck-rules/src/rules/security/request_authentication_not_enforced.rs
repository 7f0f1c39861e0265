use crate::Context;
use meshcheck_model::{Kind, Resource, items};

use crate::facts::authz::{Action, Scope, rule_fields, rules};
use crate::facts::workloads::WorkloadIndex;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds RequestAuthentications whose workloads no AuthorizationPolicy obliges to present a
    /// token: no ALLOW policy with `requestPrincipals` or a `request.auth.*` condition, no DENY
    /// policy with `notRequestPrincipals`, and no CUSTOM (external authorization) policy applies
    /// to them. With workloads in the input, each targeted workload must be covered; otherwise
    /// the policies' selectors are compared.
    ///
    /// ## Why is this bad?
    /// A RequestAuthentication only rejects requests carrying an *invalid* token. Requests
    /// without any token are accepted, by design: it is the AuthorizationPolicy that must demand
    /// a request principal. Without one, JWT "protection" lets every anonymous request through.
    ///
    /// ## How to fix
    /// Add an AuthorizationPolicy for the same workloads that requires a request principal,
    /// either ALLOW with `requestPrincipals: ["*"]` (or the expected `issuer/subject`) or DENY
    /// with `notRequestPrincipals: ["*"]`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: security.istio.io/v1
    /// kind: AuthorizationPolicy
    /// metadata: {name: require-jwt, namespace: shop}
    /// spec:
    ///   selector:
    ///     matchLabels: {app: api}
    ///   action: DENY
    ///   rules:
    ///   - from:
    ///     - source:
    ///         notRequestPrincipals: ["*"]
    /// ```
    pub static REQUEST_AUTHENTICATION_NOT_ENFORCED = {
        code: "MC210",
        name: "request-authentication-not-enforced",
        category: Security,
        severity: Warning,
        summary: "RequestAuthentications need an AuthorizationPolicy that requires a request principal",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::RequestAuthentication, Kind::AuthorizationPolicy, Kind::Pod, Kind::Deployment],
        docs_url: "https://istio.io/latest/docs/tasks/security/authentication/authn-policy/#require-a-valid-token",
        remediation: "Add an AuthorizationPolicy for the same workloads: ALLOW with requestPrincipals, or DENY with notRequestPrincipals: [\"*\"].",
        check: check,
    }
}

/// Whether a policy makes requests without a valid token fail (or hands them to an external
/// authorizer, which we cannot see into).
fn requires_token(policy: &Resource) -> bool {
    let action = Action::of(policy);
    if action == Action::Custom {
        return true;
    }
    rules(policy).enumerate().any(|(index, rule)| {
        rule_fields(rule, index).iter().any(|field| {
            let named = !field.values.is_empty();
            match (action, field.section) {
                (Action::Allow, "source") => field.name == "requestPrincipals" && named,
                (Action::Allow, "when") => field.name.starts_with("request.auth.") && named,
                (Action::Deny, "source") => field.name == "notRequestPrincipals" && named,
                _ => false,
            }
        })
    })
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let enforcing: Vec<Scope> = mesh
        .of_kind(Kind::AuthorizationPolicy)
        .filter(|policy| requires_token(policy))
        .map(|policy| Scope::of(mesh, policy))
        .collect();
    let index = WorkloadIndex::new(mesh);
    for authentication in mesh.of_kind(Kind::RequestAuthentication) {
        if items(authentication.spec().get("jwtRules"))
            .next()
            .is_none()
        {
            continue;
        }
        let scope = Scope::of(mesh, authentication);
        let uncovered: Vec<String> = match scope {
            Scope::Targets(namespace) => {
                let covered = enforcing.iter().any(|candidate| match candidate {
                    Scope::Targets(own) | Scope::Namespace(own) => *own == namespace,
                    Scope::Mesh => true,
                    Scope::Workloads(..) => false,
                });
                if covered {
                    continue;
                }
                vec![scope.describe()]
            }
            _ => {
                let targets = index.in_scope(&scope);
                if targets.is_empty() {
                    if enforcing.iter().any(|candidate| candidate.contains(&scope)) {
                        continue;
                    }
                    vec![scope.describe()]
                } else {
                    targets
                        .iter()
                        .filter(|workload| {
                            !enforcing.iter().any(|candidate| {
                                candidate.covers(workload.namespace(), workload.labels())
                            })
                        })
                        .map(|workload| workload.describe())
                        .collect()
                }
            }
        };
        if uncovered.is_empty() {
            continue;
        }
        let shown: Vec<&str> = uncovered.iter().take(4).map(String::as_str).collect();
        let more = match uncovered.len() - shown.len() {
            0 => String::new(),
            more => format!(" and {more} more"),
        };
        sink.report(
            authentication,
            &["spec", "jwtRules"],
            format!(
                "RequestAuthentication {}/{} validates tokens, but no AuthorizationPolicy requires one for {}{more}: requests without a token are accepted",
                authentication.namespace,
                authentication.name(),
                shown.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    const AUTHN: &str = "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt, namespace: shop}\nspec:\n  selector: {matchLabels: {app: api}}\n  jwtRules: [{issuer: 'https://auth.example.com', jwksUri: 'https://auth.example.com/jwks'}]\n";

    #[test]
    fn coverage_by_selector_without_workloads() {
        assert_eq!(check(&REQUEST_AUTHENTICATION_NOT_ENFORCED, AUTHN).len(), 1);
        let namespace_policy = format!(
            "{AUTHN}---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: require, namespace: shop}}\nspec: {{action: DENY, rules: [{{from: [{{source: {{notRequestPrincipals: ['*']}}}}]}}]}}\n"
        );
        assert!(check(&REQUEST_AUTHENTICATION_NOT_ENFORCED, &namespace_policy).is_empty());
        let other_workload = format!(
            "{AUTHN}---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: require, namespace: shop}}\nspec: {{selector: {{matchLabels: {{app: web}}}}, rules: [{{from: [{{source: {{requestPrincipals: ['*']}}}}]}}]}}\n"
        );
        assert_eq!(
            check(&REQUEST_AUTHENTICATION_NOT_ENFORCED, &other_workload).len(),
            1
        );
        let claim_condition = format!(
            "{AUTHN}---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: require, namespace: shop}}\nspec: {{selector: {{matchLabels: {{app: api}}}}, rules: [{{when: [{{key: 'request.auth.claims[groups]', values: [admins]}}]}}]}}\n"
        );
        assert!(check(&REQUEST_AUTHENTICATION_NOT_ENFORCED, &claim_condition).is_empty());
    }
}
