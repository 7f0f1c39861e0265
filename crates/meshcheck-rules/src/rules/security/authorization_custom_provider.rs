use crate::Context;
use meshcheck_model::ValueAt;
use std::collections::BTreeSet;

use meshcheck_model::{Kind, items, str_field};

use crate::facts::authz::Action;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks CUSTOM AuthorizationPolicies: each must name a `provider`, and when the mesh config
    /// is known (`--mesh-config` or the `istio` ConfigMaps, all revisions) the provider must be
    /// one of its `extensionProviders`.
    ///
    /// ## Why is this bad?
    /// istiod cannot build the external authorization filter for an unknown provider. To fail
    /// closed it denies every request to the workloads the policy selects, so a typo in the
    /// provider name takes the service down; a policy without provider is rejected or ignored.
    ///
    /// ## How to fix
    /// Define the provider under `meshConfig.extensionProviders` (for example
    /// `envoyExtAuthzHttp` for oauth2-proxy or OPA) or fix the name in the policy.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   action: CUSTOM
    ///   provider:
    ///     name: opa-authz      # meshConfig defines "ext-authz-opa"
    /// ```
    pub static AUTHORIZATION_CUSTOM_PROVIDER = {
        code: "MC212",
        name: "authorization-custom-provider",
        category: Security,
        severity: Error,
        summary: "CUSTOM AuthorizationPolicies must name an extension provider the mesh config defines",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::AuthorizationPolicy, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/tasks/security/authorization/authz-custom/",
        remediation: "Define the provider under meshConfig.extensionProviders, or fix provider.name in the policy.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let config = &mesh.mesh_config;
    let mut defined: BTreeSet<&str> = BTreeSet::new();
    for value in std::iter::once(&config.value).chain(config.revisions.values()) {
        defined.extend(
            items(value.get("extensionProviders"))
                .filter_map(|provider| str_field(provider, "name")),
        );
    }
    for policy in mesh.of_kind(Kind::AuthorizationPolicy) {
        if Action::of(policy) != Action::Custom {
            continue;
        }
        let name = policy.namespace.as_str();
        let Some(provider) = policy
            .spec()
            .at("/provider/name")
            .and_then(|value| value.as_str())
            .filter(|provider| !provider.is_empty())
        else {
            sink.report(
                policy,
                &["spec", "action"],
                format!(
                    "CUSTOM AuthorizationPolicy {name}/{} names no provider: it cannot delegate to an external authorizer",
                    policy.name()
                ),
            );
            continue;
        };
        if !config.explicit || defined.contains(provider) {
            continue;
        }
        let known = if defined.is_empty() {
            "none is defined".to_owned()
        } else {
            format!(
                "defined: {}",
                defined.iter().copied().collect::<Vec<_>>().join(", ")
            )
        };
        sink.report(
            policy,
            &["spec", "provider", "name"],
            format!(
                "CUSTOM AuthorizationPolicy {name}/{} uses provider {provider:?}, which the mesh config does not define ({known}): istiod denies every request to the selected workloads",
                policy.name()
            ),
        );
    }
}
