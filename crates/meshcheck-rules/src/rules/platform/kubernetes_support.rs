use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::{control_planes, kubernetes_version, nodes};

use crate::facts::planes::{describe_plane, report_plane_image};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Compares the cluster's Kubernetes version (from the collector: the API server's
    /// `gitVersion`, vendor suffixes such as `-gke.1043002` ignored; without it, the newest
    /// kubelet version of the Nodes) with the Kubernetes versions Istio's support table lists
    /// for the control plane's minor release.
    ///
    /// ## Why is this bad?
    /// Istio is tested against, and relies on APIs of, a window of about four Kubernetes minor
    /// releases. Outside it, APIs Istio uses may be missing or removed (webhooks, Gateway API,
    /// native sidecars, EndpointSlices), and problems are not fixed upstream.
    ///
    /// ## How to fix
    /// Upgrade Istio to a release that supports the cluster's Kubernetes version (when
    /// Kubernetes is newer), or upgrade Kubernetes (when it is older than the window). Upgrade
    /// Istio first when both must move.
    pub static ISTIO_KUBERNETES_SUPPORT = {
        code: "MC103",
        name: "istio-kubernetes-support",
        category: Platform,
        severity: Warning,
        summary: "The Kubernetes version must be one the Istio release supports",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod, Kind::Node],
        docs_url: "https://istio.io/latest/docs/releases/supported-releases/#support-status-of-istio-releases",
        remediation: "Run an Istio release whose supported Kubernetes versions include the cluster's (upgrade Istio, or Kubernetes when it is older than Istio's window).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    // Without the API server's version, the newest kubelet stands in for it (kubelets are never
    // newer than a supported API server).
    let (kubernetes, source) = match kubernetes_version(mesh) {
        Some(version) => (version, ""),
        None => match nodes(mesh)
            .into_iter()
            .filter_map(|node| node.kubelet_version)
            .max()
        {
            Some(version) => (
                version,
                " (its newest kubelet; the API server version is not in the input)",
            ),
            None => return,
        },
    };
    let table = &*cx.reference.releases;
    for plane in control_planes(mesh) {
        let Some(version) = &plane.version else {
            continue;
        };
        let Some(release) = table.find(version.minor_line()) else {
            continue;
        };
        if release.kubernetes.contains(&kubernetes.minor_line()) {
            continue;
        }
        let direction = match release.kubernetes.last() {
            Some(newest) if kubernetes.minor_line() > *newest => {
                "is newer than it supports: upgrade Istio to a release that supports it"
            }
            _ => {
                "is older than it supports: upgrade Kubernetes, or run an Istio release that supports it"
            }
        };
        report_plane_image(
            sink,
            &plane,
            format!(
                "{} runs Istio {}, which supports Kubernetes {}; the cluster runs Kubernetes {kubernetes}{source}, which {direction} (release data as of {})",
                describe_plane(&plane),
                version.minor_text(),
                release.kubernetes_range(),
                table.data_as_of
            ),
        );
    }
}
