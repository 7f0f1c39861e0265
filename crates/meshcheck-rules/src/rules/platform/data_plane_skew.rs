use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::{Proxy, Version};

use crate::facts::planes::{describe_plane, each_proxy_group_against_plane, report_proxy};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Compares the version of every data-plane proxy (sidecars, gateways, waypoints, ztunnel:
    /// the tag of the proxy image) with the version of the istiod revision it belongs to (its
    /// `istio.io/rev` label or injection status; the only control plane when there is one).
    /// Reports proxies newer than their control plane (an error) and proxies more than one
    /// minor release behind it (a warning). Pods of one workload are reported together.
    ///
    /// ## Why is this bad?
    /// Istio supports a control plane at most one minor release ahead of its proxies, and never
    /// a proxy ahead of its control plane. Outside that skew, istiod may send configuration the
    /// proxy does not understand (rejected listeners, missing features, broken traffic) and the
    /// proxies miss the fixes of the releases they skipped.
    ///
    /// ## How to fix
    /// Restart the workloads (`kubectl rollout restart deployment -n <namespace>`) so they are
    /// re-injected with the control plane's proxy; for a proxy ahead of istiod, upgrade istiod
    /// first or point the namespace at a newer revision.
    pub static DATA_PLANE_VERSION_SKEW = {
        code: "MC104",
        name: "data-plane-version-skew",
        category: Platform,
        severity: Warning,
        summary: "Proxies must stay within Istio's supported version skew of their control plane",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/releases/supported-releases/#control-planedata-plane-skew",
        remediation: "Restart the workloads so they are re-injected with the control plane's proxy version (kubectl rollout restart); never run proxies newer than istiod.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let skew = |proxy: &Proxy, plane_version: &Version| {
        let version = proxy.version.as_ref()?;
        if version.is_prerelease() || plane_version.is_prerelease() {
            return None;
        }
        let ahead = version.minors_ahead_of(plane_version);
        (!(-1..=0).contains(&ahead)).then(|| (version.release_text(), ahead))
    };
    each_proxy_group_against_plane(mesh, skew, |group| {
        let (release, ahead) = &group.finding;
        let (who, plane_version) = (&group.who, group.plane_version);
        let kind = group.proxy.kind.as_str();
        if *ahead > 0 {
            report_proxy(
                sink,
                group.proxy,
                format!(
                    "{who} runs {kind} proxy {release}, {ahead} minor release{} ahead of its control plane {} at {plane_version}; a proxy newer than istiod is not supported",
                    if *ahead == 1 { "" } else { "s" },
                    describe_plane(group.plane)
                ),
            )
            .severity(Severity::Error)
            .remediation("Upgrade istiod (or move the namespace to a newer revision) before the proxies, or restart the workloads so they get the control plane's proxy.");
        } else {
            report_proxy(
                sink,
                group.proxy,
                format!(
                    "{who} runs {kind} proxy {release}, {} minor releases behind its control plane {} at {plane_version}; Istio supports proxies at most one minor release behind",
                    -ahead,
                    describe_plane(group.plane)
                ),
            );
        }
    });
}
