use crate::Context;
use meshcheck_model::Kind;

use super::common::{namespace_wide, whole_mesh};
use crate::facts::mtls::{MtlsMode, policy_mode};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Go-live checklist item "mTLS enforced mesh-wide": a PeerAuthentication in the root
    /// namespace (`istio-system` unless MeshConfig says otherwise), without selector, with
    /// `mtls.mode: STRICT`. Fires when it is missing or not STRICT. Only judged when the input
    /// can answer mesh-wide questions (a collected cluster, the mesh configuration, or istiod
    /// in the root namespace); plain application manifests are not.
    ///
    /// ## Why is this bad?
    /// Without STRICT, sidecars accept plain-text traffic: any pod of the cluster can reach
    /// mesh workloads without an identity, bypassing identity-based authorization and
    /// exposing traffic on the network.
    ///
    /// ## How to fix
    /// 1. Check that every workload talking to the mesh has a sidecar (or is in ambient mode).
    /// 2. Apply a STRICT PeerAuthentication in the root namespace.
    /// 3. Keep PERMISSIVE exceptions narrow (one workload or port) and documented.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: security.istio.io/v1
    /// kind: PeerAuthentication
    /// metadata:
    ///   name: default
    ///   namespace: istio-system
    /// spec:
    ///   mtls:
    ///     mode: STRICT
    /// ```
    pub static READINESS_MTLS_STRICT = {
        code: "MC602",
        name: "readiness-mtls-strict",
        category: Readiness,
        severity: Warning,
        summary: "Go-live: mTLS must be STRICT mesh-wide",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::PeerAuthentication, Kind::ConfigMap, Kind::Deployment, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/",
        remediation: "1. Make sure every client of the mesh has a sidecar (or runs in ambient mode). 2. Apply a PeerAuthentication named default in the root namespace with mtls.mode: STRICT. 3. Keep PERMISSIVE exceptions per workload or port only.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if !whole_mesh(mesh) {
        return;
    }
    let root = mesh.root_namespace();
    let mesh_wide: Vec<_> = mesh
        .of_kind(Kind::PeerAuthentication)
        .filter(|policy| policy.namespace == root && namespace_wide(policy))
        .collect();
    if mesh_wide
        .iter()
        .any(|policy| policy_mode(policy) == MtlsMode::Strict)
    {
        return;
    }
    match mesh_wide.first() {
        Some(policy) => {
            let mode = match policy_mode(policy) {
                MtlsMode::Unset => "no mode (so PERMISSIVE applies)".to_owned(),
                mode => format!("mode {}", mode.as_str()),
            };
            sink.report(
                policy,
                &["spec"],
                format!(
                    "mTLS is not enforced mesh-wide: the root namespace policy {} sets {mode}, so sidecars still accept plain text",
                    policy.display_name()
                ),
            );
        }
        None => {
            sink.report_detached(
                None,
                None,
                format!(
                    "mTLS is not enforced mesh-wide: no PeerAuthentication without selector in the root namespace {root} sets mode STRICT, so Istio's default PERMISSIVE applies"
                ),
            );
        }
    }
}
