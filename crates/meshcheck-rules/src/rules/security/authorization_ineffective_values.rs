use crate::Context;
use meshcheck_model::Kind;

use crate::facts::authz::{Action, rule_fields, rules};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds operation values in AuthorizationPolicies that can never match a request:
    /// `methods`/`notMethods` that are not upper case (`get`), and `paths`/`notPaths` that
    /// neither start with `/` nor use a `*` wildcard (`api/v1/orders`).
    ///
    /// ## Why is this bad?
    /// Istio rejects requests whose method is not upper case and compares paths as they appear
    /// on the request line, which always start with `/`. Such values never match, so the rule's
    /// effect is inverted from what was intended: a DENY rule with them never denies, and an
    /// ALLOW rule with their `not` form allows everything (errors); an ALLOW rule never allows
    /// and a DENY rule with the `not` form denies everything (warnings).
    ///
    /// ## How to fix
    /// Write methods in upper case (`GET`) and paths with their leading slash (`/api/v1/orders`
    /// or `/api/*`).
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   action: DENY
    ///   rules:
    ///   - to:
    ///     - operation:
    ///         methods: ["delete"]      # never matches DELETE requests
    /// ```
    pub static AUTHORIZATION_INEFFECTIVE_VALUES = {
        code: "MC222",
        name: "authorization-ineffective-values",
        category: Security,
        severity: Warning,
        summary: "AuthorizationPolicy methods must be upper case and paths must start with /",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::AuthorizationPolicy],
        docs_url: "https://istio.io/latest/docs/reference/config/security/normalization/",
        remediation: "Write methods in upper case and paths with their leading slash (or a * wildcard).",
        check: check,
    }
}

/// Why a value of an operation field never matches, if it does not.
fn never_matches(field: &str, value: &str) -> Option<&'static str> {
    match field {
        "methods" | "notMethods" if value != "*" && value != value.to_ascii_uppercase() => {
            Some("methods are matched in upper case")
        }
        "paths" | "notPaths" if !value.starts_with('/') && !value.starts_with('*') => {
            Some("request paths start with /")
        }
        _ => None,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for policy in mesh.of_kind(Kind::AuthorizationPolicy) {
        let action = Action::of(policy);
        if matches!(action, Action::Audit) {
            continue;
        }
        for (index, rule) in rules(policy).enumerate() {
            for field in rule_fields(rule, index) {
                if field.section != "operation" {
                    continue;
                }
                let broken: Vec<(&str, &str)> = field
                    .values
                    .iter()
                    .filter_map(|value| never_matches(field.name, value).map(|why| (*value, why)))
                    .collect();
                let Some((_, why)) = broken.first() else {
                    continue;
                };
                let values: Vec<&str> = broken.iter().map(|(value, _)| *value).collect();
                let (effect, severity) = match (action, field.negated) {
                    (Action::Deny | Action::Custom, false) => (
                        "the rule never applies to the requests it names",
                        Severity::Error,
                    ),
                    (Action::Allow, true) => (
                        "the exclusion never matches, so the rule allows those requests too",
                        Severity::Error,
                    ),
                    (Action::Allow, false) => (
                        "the rule never allows the requests it names",
                        Severity::Warning,
                    ),
                    _ => (
                        "the exclusion never matches, so the rule applies to every request",
                        Severity::Warning,
                    ),
                };
                sink.report_at(
                    policy,
                    &field.path(),
                    format!(
                        "{} AuthorizationPolicy {}/{} matches {} {values:?}, which never match ({why}): {effect}",
                        action.as_str(),
                        policy.namespace,
                        policy.name(),
                        field.name
                    ),
                )
                .severity(severity);
            }
        }
    }
}
