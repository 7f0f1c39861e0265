use crate::Context;
use meshcheck_model::Kind;

use crate::facts::authz::{Action, rule_fields, rules};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds ALLOW AuthorizationPolicies whose rules use negative matches: `notPrincipals`,
    /// `notRequestPrincipals`, `notNamespaces`, `notIpBlocks`, `notRemoteIpBlocks` in a source,
    /// `notHosts`, `notPorts`, `notMethods`, `notPaths` in an operation, or `notValues` in a
    /// condition. One finding per rule, listing its negative fields.
    ///
    /// ## Why is this bad?
    /// Istio's security best practices recommend *ALLOW with positive matching* (and DENY with
    /// negative matching): then a mismatch between what the policy says and what a request looks
    /// like ends in a 403, not in an authorization bypass. A negative match in an ALLOW rule
    /// allows everything it does not name, including spellings the author did not think of
    /// (`/admin/` vs `//admin`, a host with a port, an unexpected method) and requests without
    /// the attribute at all (plaintext requests have no principal or namespace).
    ///
    /// ## How to fix
    /// List what should be allowed (`paths`, `methods`, `principals`...), or express the
    /// exclusion as a DENY policy with negative matching.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   action: ALLOW
    ///   rules:
    ///   - to:
    ///     - operation:
    ///         notPaths: ["/admin*"]    # allows every other spelling of /admin
    /// ```
    pub static AUTHORIZATION_ALLOW_NEGATIVE_MATCH = {
        code: "MC207",
        name: "authorization-allow-negative-match",
        category: Security,
        severity: Warning,
        summary: "ALLOW AuthorizationPolicies should match positively (no notPaths, notMethods, notPrincipals...)",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::AuthorizationPolicy],
        docs_url: "https://istio.io/latest/docs/ops/best-practices/security/#use-allow-with-positive-matching-and-deny-with-negative-match-patterns",
        remediation: "Allow explicitly what should be allowed (paths, methods, principals), or move the exclusion to a DENY policy with negative matching.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for policy in mesh.of_kind(Kind::AuthorizationPolicy) {
        if Action::of(policy) != Action::Allow {
            continue;
        }
        for (index, rule) in rules(policy).enumerate() {
            let fields = rule_fields(rule, index);
            let negative: Vec<_> = fields
                .iter()
                .filter(|field| field.negated && !field.values.is_empty())
                .collect();
            let Some(first) = negative.first() else {
                continue;
            };
            let mut names: Vec<String> = negative
                .iter()
                .map(|field| match field.section {
                    "when" => format!("notValues of {}", field.name),
                    _ => field.name.to_owned(),
                })
                .collect();
            names.dedup();
            sink.report_at(
                policy,
                &first.path(),
                format!(
                    "ALLOW AuthorizationPolicy {}/{} rule {index} matches negatively ({}): it allows every request the exclusion does not name, including unexpected spellings and requests without that attribute",
                    policy.namespace,
                    policy.name(),
                    names.join(", ")
                ),
            );
        }
    }
}
