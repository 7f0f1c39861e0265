use crate::Context;
use meshcheck_model::inventory::{Version, control_planes};
use meshcheck_model::{Kind, Resource};

use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports Istio objects written against API groups Istio removed — `rbac.istio.io`
    /// (ServiceRole, ServiceRoleBinding, RbacConfig), `authentication.istio.io` (Policy,
    /// MeshPolicy), `config.istio.io` (Mixer adapters, handlers, instances, rules) — as errors,
    /// and, as information, objects still using the older `networking.istio.io/v1alpha3` or
    /// `v1beta1`, `security.istio.io/v1beta1` or `telemetry.istio.io/v1alpha1` versions of kinds
    /// that have a stable `v1` (Istio 1.22 and later; not reported when the control plane is
    /// older). Deprecated fields and the removed CRDs themselves are MC005's findings.
    ///
    /// ## Why is this bad?
    /// Objects of removed groups do nothing: the policy they describe (access control,
    /// authentication, telemetry) is not enforced, which is easy to miss because the objects
    /// still apply when their CRDs linger. Old API versions keep working for now, but tools and
    /// documentation move to `v1` and the old versions will eventually be removed.
    ///
    /// ## How to fix
    /// Replace ServiceRole/ServiceRoleBinding/RbacConfig with AuthorizationPolicy, Policy and
    /// MeshPolicy with PeerAuthentication and RequestAuthentication, Mixer configuration with
    /// the Telemetry API and Wasm/EnvoyFilter extensions; change `apiVersion` to
    /// `networking.istio.io/v1`, `security.istio.io/v1` or `telemetry.istio.io/v1`.
    pub static DEPRECATED_ISTIO_API = {
        code: "MC119",
        name: "deprecated-istio-api",
        category: Platform,
        severity: Warning,
        summary: "Istio objects must not use removed API groups and should use the v1 APIs",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[
            Kind::Other, Kind::VirtualService, Kind::DestinationRule, Kind::Gateway,
            Kind::ServiceEntry, Kind::Sidecar, Kind::WorkloadEntry, Kind::WorkloadGroup,
            Kind::PeerAuthentication, Kind::RequestAuthentication, Kind::AuthorizationPolicy,
            Kind::Telemetry, Kind::Deployment,
        ],
        docs_url: "https://istio.io/latest/docs/reference/config/",
        remediation: "Migrate objects of removed Istio API groups to their replacements, and set apiVersion to the v1 version of Istio's APIs.",
        check: check,
    }
}

/// Removed groups: what replaced them, and the release that removed them.
const REMOVED_GROUPS: [(&str, &str, &str); 3] = [
    (
        "rbac.istio.io",
        "AuthorizationPolicy (security.istio.io)",
        "1.6",
    ),
    (
        "authentication.istio.io",
        "PeerAuthentication and RequestAuthentication (security.istio.io)",
        "1.6",
    ),
    (
        "config.istio.io",
        "the Telemetry API and Wasm or EnvoyFilter extensions (Mixer was removed)",
        "1.8",
    ),
];

/// Kinds with a stable `v1` since Istio 1.22, with the versions that preceded it.
const V1_KINDS: [(Kind, &[&str]); 11] = [
    (Kind::VirtualService, &["v1alpha3", "v1beta1"]),
    (Kind::DestinationRule, &["v1alpha3", "v1beta1"]),
    (Kind::Gateway, &["v1alpha3", "v1beta1"]),
    (Kind::ServiceEntry, &["v1alpha3", "v1beta1"]),
    (Kind::Sidecar, &["v1alpha3", "v1beta1"]),
    (Kind::WorkloadEntry, &["v1alpha3", "v1beta1"]),
    (Kind::WorkloadGroup, &["v1alpha3", "v1beta1"]),
    (Kind::PeerAuthentication, &["v1beta1"]),
    (Kind::RequestAuthentication, &["v1beta1"]),
    (Kind::AuthorizationPolicy, &["v1beta1"]),
    (Kind::Telemetry, &["v1alpha1"]),
];

fn report_removed(sink: &mut Sink, resource: &Resource) {
    let group = resource.object().group();
    let Some((_, replacement, removed_in)) = REMOVED_GROUPS
        .iter()
        .find(|(removed, _, _)| *removed == group)
    else {
        return;
    };
    sink.report(
        resource,
        &["apiVersion"],
        format!(
            "{} {} uses {}, which Istio removed in {removed_in}: it has no effect; replace it with {replacement}",
            resource.object().kind,
            resource.display_name(),
            resource.object().api_version
        ),
    )
    .severity(Severity::Error);
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for resource in mesh.of_kind(Kind::Other) {
        report_removed(sink, resource);
    }
    // v1 exists from Istio 1.22: with an older control plane there is nothing to move to.
    let planes = control_planes(mesh);
    let oldest: Option<&Version> = planes
        .iter()
        .filter_map(|plane| plane.version.as_ref())
        .min();
    if oldest.is_some_and(|version| version.minor_line() < (1, 22)) {
        return;
    }
    for (kind, old_versions) in V1_KINDS {
        for resource in mesh.of_kind(kind) {
            let version = resource.object().version();
            if !old_versions.contains(&version) {
                continue;
            }
            sink.report(
                resource,
                &["apiVersion"],
                format!(
                    "{kind} {} uses {}; Istio 1.22 and later serve it as {}/v1, its stable version",
                    resource.display_name(),
                    resource.object().api_version,
                    kind.group()
                ),
            )
            .severity(Severity::Info);
        }
    }
}
