use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, items, strings};

use crate::facts::authz::{Action, rules};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds ALLOW rules whose only condition is a source that matches any peer: `principals`
    /// such as `"*"`, `"cluster.local/*"` or `"*/ns/*/sa/*"`, `namespaces: ["*"]`, or `ipBlocks`
    /// / `remoteIpBlocks` of `0.0.0.0/0` or `::/0`, with no `to` operation and no `when`
    /// condition restricting the rule.
    ///
    /// ## Why is this bad?
    /// Such a rule looks like access control but allows every workload of the mesh (every
    /// authenticated identity, in any namespace) or every address to call every endpoint of the
    /// selected workloads. A single compromised workload anywhere in the mesh can then reach
    /// them: default-deny is reduced to "require mTLS".
    ///
    /// ## How to fix
    /// Name the service accounts or namespaces that need access, and restrict the operations
    /// (`methods`, `paths`, `ports`) they may use.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   action: ALLOW
    ///   rules:
    ///   - from:
    ///     - source:
    ///         principals: ["*"]     # any workload of the mesh, any operation
    /// ```
    pub static AUTHORIZATION_WILDCARD_SOURCE = {
        code: "MC209",
        name: "authorization-wildcard-source",
        category: Security,
        severity: Warning,
        summary: "ALLOW rules should not admit any principal, namespace or address without further conditions",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::AuthorizationPolicy],
        docs_url: "https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source",
        remediation: "List the principals or namespaces that need access and restrict the operations (methods, paths, ports) they may use.",
        check: check,
    }
}

/// Whether a principal pattern matches the workloads of any namespace.
fn any_principal(value: &str) -> bool {
    if value == "*" {
        return true;
    }
    match value.split_once("/ns/") {
        Some((_, rest)) => {
            let namespace = rest.split('/').next().unwrap_or_default();
            namespace.is_empty() || namespace == "*"
        }
        // `cluster.local/*`: a trust domain followed by anything.
        None => value.ends_with('*'),
    }
}

/// Whether a source field's values match any peer.
fn matches_any(field: &str, values: &[&str]) -> bool {
    match field {
        "principals" => values.iter().any(|value| any_principal(value)),
        "namespaces" => values.contains(&"*"),
        "ipBlocks" | "remoteIpBlocks" => values
            .iter()
            .any(|value| matches!(*value, "0.0.0.0/0" | "::/0")),
        _ => false,
    }
}

fn has_values(value: &Value) -> bool {
    match value {
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        Value::Null => false,
        _ => true,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for policy in mesh.of_kind(Kind::AuthorizationPolicy) {
        if Action::of(policy) != Action::Allow {
            continue;
        }
        for (index, rule) in rules(policy).enumerate() {
            let restricted = items(rule.get("to")).any(|to| {
                to.get("operation")
                    .and_then(Value::as_object)
                    .is_some_and(|operation| operation.values().any(has_values))
            }) || items(rule.get("when")).next().is_some();
            if restricted {
                continue;
            }
            for (source_index, from) in items(rule.get("from")).enumerate() {
                let Some(source) = from.get("source").and_then(Value::as_object) else {
                    continue;
                };
                let fields: Vec<(&str, Vec<&str>)> = source
                    .iter()
                    .filter(|(_, value)| has_values(value))
                    .map(|(name, value)| (name.as_str(), strings(Some(value))))
                    .collect();
                let wide = !fields.is_empty()
                    && fields
                        .iter()
                        .all(|(name, values)| matches_any(name, values));
                if !wide {
                    continue;
                }
                let (name, values) = &fields[0];
                let (index, source_index) = (index.to_string(), source_index.to_string());
                sink.report(
                    policy,
                    &["spec", "rules", &index, "from", &source_index, "source", name],
                    format!(
                        "ALLOW AuthorizationPolicy {}/{} rule {index} admits {name} {values:?} with no operation or condition: any peer may call every endpoint of the selected workloads",
                        policy.namespace,
                        policy.name()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_patterns() {
        assert!(any_principal("*"));
        assert!(any_principal("cluster.local/*"));
        assert!(any_principal("cluster.local/ns/*"));
        assert!(any_principal("*/ns/*/sa/*"));
        assert!(!any_principal("cluster.local/ns/shop/sa/*"));
        assert!(!any_principal("cluster.local/ns/shop/sa/cart"));
        assert!(!any_principal("cluster.local/ns/*-prod/sa/cart"));
    }
}
