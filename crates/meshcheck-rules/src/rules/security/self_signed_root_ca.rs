use crate::Context;
use meshcheck_model::Kind;

use crate::facts::coverage::cluster_lists_every;
use crate::facts::secrets::secrets;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// On a collected cluster whose Secrets were listed, checks how istiod issues workload
    /// certificates: a `istio-ca-secret` Secret in the root namespace and no `cacerts` Secret
    /// means istiod signs with the self-signed root it generated at install time.
    ///
    /// ## Why is this bad?
    /// The generated root lives only in that Secret: it is not anchored in your PKI, cannot be
    /// shared with another cluster for multi-cluster trust, rotates only by hand, and anyone who
    /// can read Secrets in the root namespace holds the key that every workload identity
    /// derives from. Istio recommends a plug-in CA (an intermediate from an offline root) for
    /// production.
    ///
    /// ## How to fix
    /// Create the `cacerts` Secret with an intermediate CA signed by your root (or integrate an
    /// external CA such as cert-manager's istio-csr) and restart istiod and the workloads.
    ///
    /// ## Example
    /// ```sh
    /// kubectl create secret generic cacerts -n istio-system \
    ///   --from-file=ca-cert.pem --from-file=ca-key.pem \
    ///   --from-file=root-cert.pem --from-file=cert-chain.pem
    /// ```
    pub static SELF_SIGNED_ROOT_CA = {
        code: "MC223",
        name: "self-signed-root-ca",
        category: Security,
        severity: Info,
        summary: "Production meshes should use a plug-in CA rather than istiod's self-signed root",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Secret, Kind::Certificate, Kind::ExternalSecret, Kind::SealedSecret],
        docs_url: "https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/",
        remediation: "Provide an intermediate CA in the cacerts Secret of the root namespace (or an external CA) and restart istiod and the workloads.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if !cluster_lists_every(mesh, Kind::Secret) {
        return;
    }
    let root = mesh.root_namespace();
    // A plug-in CA may come from cert-manager or an external secret store as well.
    if secrets(mesh).get(mesh, root, "cacerts").is_some() {
        return;
    }
    let Some(generated) = mesh.get(Kind::Secret, root, "istio-ca-secret") else {
        return;
    };
    sink.report(
        generated,
        &["metadata", "name"],
        format!(
            "istiod signs workload certificates with its self-signed root (Secret {root}/istio-ca-secret); no plug-in CA (Secret {root}/cacerts) is configured"
        ),
    );
}
