use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::{Proxy, Version};

use crate::facts::planes::{describe_plane, each_proxy_group_against_plane};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// istio-vet's image version check: reports pods whose `istio-proxy` or `istio-init` image
    /// version differs from the version of their control plane (the istiod revision they
    /// belong to), within the skew Istio supports (skew beyond it is MC104). Pods that pin their
    /// proxy image with `sidecar.istio.io/proxyImage` are skipped. Pods of one workload are
    /// reported together.
    ///
    /// ## Why is this bad?
    /// A proxy keeps the version it was injected with. After an upgrade of istiod, workloads
    /// that were not restarted still run the old proxy: patch releases' security fixes do not
    /// reach them, and mixed versions make behaviour harder to predict and debug.
    ///
    /// ## How to fix
    /// Restart the workloads after every control plane upgrade
    /// (`kubectl rollout restart deployment -n <namespace>`).
    pub static PROXY_VERSION_MISMATCH = {
        code: "MC105",
        name: "proxy-version-mismatch",
        category: Platform,
        severity: Warning,
        summary: "Sidecar and init images should run the control plane's version",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/setup/upgrade/in-place/",
        remediation: "Restart the workloads (kubectl rollout restart) so they are re-injected with the control plane's proxy version.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let mismatch = |proxy: &Proxy, plane_version: &Version| {
        if proxy.pinned_image {
            return None;
        }
        let mut differing = Vec::new();
        if let Some(version) = &proxy.version {
            let ahead = version.minors_ahead_of(plane_version);
            // Outside the supported skew is MC104's finding.
            if (-1..=0).contains(&ahead) && !version.same_release(plane_version) {
                differing.push(format!("istio-proxy {}", version.release_text()));
            }
        }
        if let Some((_, _, Some(init))) = &proxy.init_image
            && !init.same_release(plane_version)
        {
            differing.push(format!("istio-init {}", init.release_text()));
        }
        (!differing.is_empty()).then(|| differing.join(" and "))
    };
    each_proxy_group_against_plane(mesh, mismatch, |group| {
        let (proxy, differing) = (group.proxy, &group.finding);
        let index = if differing.starts_with("istio-init") {
            proxy
                .init_image
                .as_ref()
                .map(|(index, _, _)| ("initContainers", *index))
                .unwrap_or((proxy.container_field, proxy.container_index))
        } else {
            (proxy.container_field, proxy.container_index)
        };
        let index_text = index.1.to_string();
        sink.report(
            proxy.pod,
            &["spec", index.0, &index_text, "image"],
            format!(
                "{} runs {differing} while its control plane {} runs {}: restart it to pick up the control plane's proxy",
                group.who,
                describe_plane(group.plane),
                group.plane_version.release_text()
            ),
        );
    });
}
