use crate::Context;
use meshcheck_model::{Kind, Mesh, Resource};

use crate::facts::authz::{Action, RuleField, Scope, fields_with_values};
use crate::facts::mtls::{Effective, MtlsMode, PeerAuthentications};
use crate::facts::workloads::WorkloadIndex;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds AuthorizationPolicies that match on peer identity (`principals`, `namespaces`, their
    /// `not` forms, or `source.principal` / `source.namespace` conditions) for workloads that do
    /// not enforce STRICT mutual TLS, where the match fails open:
    /// - a DENY policy with positive identity matches: plaintext requests carry no identity, so
    ///   they never match the DENY rule and are let through;
    /// - an ALLOW policy with negative identity matches (`notNamespaces: [untrusted]`): plaintext
    ///   requests have no namespace at all, so they are allowed;
    /// - an ALLOW policy with positive identity matches under `DISABLE`: no request ever carries
    ///   an identity, so the rule never allows anything.
    ///
    /// The mTLS mode is resolved per workload from the PeerAuthentications (workload, namespace,
    /// mesh); the rule stays silent when the input cannot tell the mesh-wide mode.
    ///
    /// ## Why is this bad?
    /// Identities only exist on mutual TLS connections. Istio's documentation strongly recommends
    /// using these fields only with STRICT mode; security advisory ISTIO-SECURITY-2021-004
    /// describes the bypass a PERMISSIVE workload allows.
    ///
    /// ## How to fix
    /// Enforce STRICT mTLS for the selected workloads (a PeerAuthentication), or rewrite the
    /// policy so that plaintext requests fail closed: DENY with `notPrincipals`/`notNamespaces`,
    /// ALLOW with positive `principals`/`namespaces`.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   action: DENY
    ///   rules:
    ///   - from:
    ///     - source:
    ///         namespaces: ["sandbox"]   # plaintext from sandbox has no namespace: allowed
    /// ```
    pub static AUTHORIZATION_IDENTITY_WITHOUT_STRICT_MTLS = {
        code: "MC211",
        name: "authorization-identity-without-strict-mtls",
        category: Security,
        severity: Error,
        summary: "Identity-based authorization (principals, namespaces) must not fail open on workloads without STRICT mTLS",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::AuthorizationPolicy, Kind::PeerAuthentication, Kind::Pod, Kind::Deployment, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/concepts/security/#dependency-on-mutual-tls",
        remediation: "Enforce STRICT mTLS on the selected workloads, or rewrite the policy so plaintext fails closed (DENY with notPrincipals/notNamespaces, ALLOW with positive matches).",
        check: check,
    }
}

fn is_identity(field: &RuleField) -> bool {
    match field.section {
        "source" => matches!(
            field.name,
            "principals" | "notPrincipals" | "namespaces" | "notNamespaces"
        ),
        "when" => matches!(field.name, "source.principal" | "source.namespace"),
        _ => false,
    }
}

/// The workloads a policy applies to that do not run STRICT mTLS (`None`: cannot tell).
struct WeakTargets<'a> {
    /// The first of them, described, and its mode.
    first: (String, Effective<'a>),
    count: usize,
    all_disabled: bool,
}

fn weak_targets<'a>(
    mesh: &'a Mesh,
    policies: &PeerAuthentications<'a>,
    index: &WorkloadIndex<'a>,
    policy: &Resource,
) -> Option<Option<WeakTargets<'a>>> {
    let scope = Scope::of(mesh, policy);
    let targets = index.in_scope(&scope);
    if targets.is_empty() {
        let level = match scope {
            Scope::Mesh => policies.mesh_level()?,
            Scope::Targets(_) => return None,
            _ => policies.namespace_level(&policy.namespace)?,
        };
        return Some((level.mode != MtlsMode::Strict).then(|| WeakTargets {
            all_disabled: level.mode == MtlsMode::Disable,
            first: (scope.describe(), level),
            count: 1,
        }));
    }
    // Described only for the first: a namespace-wide policy covers thousands of workloads.
    let mut weak: Option<WeakTargets> = None;
    for workload in targets {
        let effective = policies.for_workload(workload.namespace(), workload.labels(), None)?;
        if effective.mode == MtlsMode::Strict {
            continue;
        }
        let disabled = effective.mode == MtlsMode::Disable;
        match &mut weak {
            Some(weak) => {
                weak.count += 1;
                weak.all_disabled &= disabled;
            }
            None => {
                weak = Some(WeakTargets {
                    first: (workload.describe(), effective),
                    count: 1,
                    all_disabled: disabled,
                });
            }
        }
    }
    Some(weak)
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let policies = PeerAuthentications::new(mesh);
    let index = WorkloadIndex::new(mesh);
    for policy in mesh.of_kind(Kind::AuthorizationPolicy) {
        let action = Action::of(policy);
        if !matches!(action, Action::Allow | Action::Deny) {
            continue;
        }
        let fields = fields_with_values(policy, is_identity);
        if fields.is_empty() {
            continue;
        }
        let Some(Some(weak)) = weak_targets(mesh, &policies, &index, policy) else {
            continue;
        };
        let (first_target, first_mode) = &weak.first;
        let targets = match weak.count {
            1 => first_target.clone(),
            many => format!("{first_target} and {} more", many - 1),
        };
        let disabled = weak.all_disabled;
        let (field, problem) = match action {
            Action::Deny => match fields.iter().find(|field| !field.negated) {
                Some(field) => (
                    field,
                    "plaintext requests carry no identity, never match this DENY rule and are let through",
                ),
                None => continue,
            },
            _ => match fields.iter().find(|field| field.negated) {
                Some(field) => (
                    field,
                    "plaintext requests carry no identity, so the negative match allows them",
                ),
                None if disabled => (
                    &fields[0],
                    "mutual TLS is disabled, so no request carries an identity and this rule never allows anything",
                ),
                None => continue,
            },
        };
        sink.report_at(
            policy,
            &field.path(),
            format!(
                "{} AuthorizationPolicy {}/{} matches {} on {targets}, which runs mTLS {} ({}): {problem}",
                action.as_str(),
                policy.namespace,
                policy.name(),
                field.name,
                first_mode.mode.as_str(),
                first_mode.origin()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    const DENY: &str = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-sandbox, namespace: shop}\nspec:\n  action: DENY\n  rules: [{from: [{source: {namespaces: [sandbox]}}]}]\n";

    fn with_namespace_mode(mode: &str) -> String {
        format!(
            "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {{name: default, namespace: shop}}\nspec: {{mtls: {{mode: {mode}}}}}\n---\n{DENY}"
        )
    }

    #[test]
    fn depends_on_the_mode() {
        // No PeerAuthentication and no control plane: the mode is unknown.
        assert!(check(&AUTHORIZATION_IDENTITY_WITHOUT_STRICT_MTLS, DENY).is_empty());
        assert_eq!(
            check(
                &AUTHORIZATION_IDENTITY_WITHOUT_STRICT_MTLS,
                &with_namespace_mode("PERMISSIVE")
            )
            .len(),
            1
        );
        assert!(
            check(
                &AUTHORIZATION_IDENTITY_WITHOUT_STRICT_MTLS,
                &with_namespace_mode("STRICT")
            )
            .is_empty()
        );
    }
}
