use crate::Context;
use std::collections::BTreeMap;

use meshcheck_model::Kind;
use meshcheck_model::inventory::{Proxy, control_planes, proxies};

use crate::facts::planes::{describe_plane, report_plane_image, report_proxy};
use crate::facts::releases::{Date, ReleaseTable, SupportStatus, analysis_date};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reads the Istio version of every control plane (the tag of istiod's image, per revision)
    /// and checks it against Istio's release support table: a minor release is supported until
    /// six weeks after the N+2 minor release. When the input holds no istiod (a managed or
    /// external control plane), the versions of the data-plane proxies are checked instead.
    /// Support is judged at the archive's collection date, or today for plain manifests.
    ///
    /// ## Why is this bad?
    /// An Istio release past its end of life gets no patches: security bulletins published
    /// after that date are not fixed for it, and upgrading later means skipping several minor
    /// releases at once, which Istio does not support in a single step.
    ///
    /// ## How to fix
    /// Upgrade to a supported minor release, one minor at a time, preferably with a canary
    /// (revision-based) upgrade; then restart the workloads so their sidecars are re-injected.
    pub static ISTIO_END_OF_LIFE = {
        code: "MC101",
        name: "istio-end-of-life",
        category: Platform,
        severity: Warning,
        summary: "The Istio release in use must still be supported",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/releases/supported-releases/",
        remediation: "Upgrade Istio to a supported minor release (one minor at a time, with a canary revision), then restart workloads to re-inject their sidecars.",
        check: check,
    }
}

fn status_text(
    table: &ReleaseTable,
    minor: &str,
    status: &SupportStatus,
    on: Date,
) -> Option<String> {
    let SupportStatus::EndOfLife { since } = status else {
        return None;
    };
    let ended = match since {
        Some(date) => format!("Istio {minor} reached end of life on {date}"),
        None => format!(
            "Istio {minor} is older than every release in Istio's support table (the oldest listed, {}, ended long ago)",
            table.releases.last().map(|r| r.name()).unwrap_or_default()
        ),
    };
    let supported = table.supported_on(on);
    let target = if supported.is_empty() {
        "a supported release".to_owned()
    } else {
        format!("a supported release ({})", supported.join(", "))
    };
    Some(format!(
        "{ended} and receives no security fixes; upgrade to {target} (release data as of {})",
        table.data_as_of
    ))
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let table = &*cx.reference.releases;
    let on = analysis_date(mesh);
    let planes = control_planes(mesh);
    for plane in &planes {
        let Some(version) = &plane.version else {
            continue;
        };
        let status = table.status(version, on);
        if let Some(text) = status_text(table, &version.minor_text(), &status, on) {
            report_plane_image(
                sink,
                plane,
                format!("{} runs Istio {version}: {text}", describe_plane(plane)),
            );
        }
    }
    if !planes.is_empty() {
        return;
    }
    // No istiod in the input: the proxies tell which Istio the mesh runs.
    // Per minor line: how many proxies, and the first one (named in the finding).
    let mut by_minor: BTreeMap<(u32, u32), (usize, Proxy)> = BTreeMap::new();
    for proxy in proxies(mesh) {
        if let Some(version) = &proxy.version {
            by_minor.entry(version.minor_line()).or_insert((0, proxy)).0 += 1;
        }
    }
    for (count, first) in by_minor.values() {
        let version = first.version.as_ref().expect("grouped by version");
        let status = table.status(version, on);
        if let Some(text) = status_text(table, &version.minor_text(), &status, on) {
            report_proxy(
                sink,
                first,
                format!(
                    "{} data-plane prox{} (e.g. pod {}/{}) run Istio {}, and no istiod is in the input: {text}",
                    count,
                    if *count == 1 { "y" } else { "ies" },
                    first.pod.namespace,
                    first.pod.name(),
                    version.minor_text()
                ),
            );
        }
    }
}
