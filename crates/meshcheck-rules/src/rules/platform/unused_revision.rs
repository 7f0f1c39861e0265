use crate::Context;
use meshcheck_model::ValueAt;
use std::collections::{BTreeMap, BTreeSet};

use meshcheck_input::Value;
use meshcheck_model::inventory::{
    DEFAULT_REVISION, control_planes, is_istiod_labels, is_ztunnel, proxies,
};
use meshcheck_model::{Kind, Mesh};

use crate::facts::planes::{describe_plane, report_plane_image};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// For every installed istiod revision, looks for something that uses it: a namespace
    /// labelled `istio.io/rev=<revision>` (or with a revision tag pointing at it, or
    /// `istio-injection=enabled` for the revision the `default` tag names), a workload whose pod
    /// template or pods carry `istio.io/rev=<revision>`, or a running proxy injected by it.
    /// Reports revisions nothing uses. Only runs on cluster snapshots (Namespaces and Pods in
    /// the input): in plain manifests, the users of a revision may simply not be included.
    ///
    /// ## Why is this bad?
    /// An unused control plane still consumes CPU and memory, watches the whole cluster, keeps
    /// its webhooks registered and must be patched like the live one. Leftover revisions are
    /// usually the tail of an unfinished canary upgrade.
    ///
    /// ## How to fix
    /// Check that no workload still needs it, then remove it:
    /// `istioctl uninstall --revision <revision>` (or delete its Helm release).
    pub static UNUSED_CONTROL_PLANE_REVISION = {
        code: "MC107",
        name: "unused-control-plane-revision",
        category: Platform,
        severity: Warning,
        summary: "Every installed istiod revision should be used by some namespace or workload",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod, Kind::Namespace, Kind::MutatingWebhookConfiguration],
        docs_url: "https://istio.io/latest/docs/setup/upgrade/canary/#uninstall-old-control-plane",
        remediation: "Remove the unused revision (istioctl uninstall --revision <revision>) once no workload needs it.",
        check: check,
    }
}

/// Revision tags: tag name → revision, from `istio-revision-tag-*` webhook configurations.
fn revision_tags(mesh: &Mesh) -> BTreeMap<String, String> {
    mesh.of_kind(Kind::MutatingWebhookConfiguration)
        .filter_map(|config| {
            let tag = config.label("istio.io/tag")?;
            let revision = config.label("istio.io/rev").unwrap_or(DEFAULT_REVISION);
            Some((tag.to_owned(), revision.to_owned()))
        })
        .collect()
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if mesh.count(Kind::Namespace) == 0 || mesh.count(Kind::Pod) == 0 {
        return;
    }
    let planes = control_planes(mesh);
    if planes.is_empty() {
        return;
    }
    let tags = revision_tags(mesh);
    let resolve = |name: &str| tags.get(name).cloned().unwrap_or_else(|| name.to_owned());
    let mut used: BTreeSet<String> = BTreeSet::new();
    for namespace in mesh.of_kind(Kind::Namespace) {
        if let Some(revision) = namespace
            .label("istio.io/rev")
            .filter(|rev| !rev.is_empty())
        {
            used.insert(resolve(revision));
        } else if namespace.label("istio-injection") == Some("enabled") {
            used.insert(resolve(DEFAULT_REVISION));
        }
    }
    for kind in [Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet] {
        for controller in mesh.of_kind(kind) {
            let labels = controller
                .spec()
                .at("/template/metadata/labels")
                .and_then(Value::as_object);
            // istiod carries its own revision label; that is not a use.
            if labels.is_none_or(is_istiod_labels) {
                continue;
            }
            if let Some(revision) = labels
                .and_then(|labels| labels.get("istio.io/rev"))
                .and_then(Value::as_str)
            {
                used.insert(resolve(revision));
            }
        }
    }
    for pod in mesh.of_kind(Kind::Pod) {
        if is_istiod_labels(pod.labels()) {
            continue;
        }
        if let Some(revision) = pod.label("istio.io/rev") {
            used.insert(resolve(revision));
        }
    }
    for proxy in proxies(mesh) {
        used.insert(resolve(proxy.revision));
    }
    // Ambient namespaces are served through ztunnel, which connects to one revision.
    let ambient = mesh
        .of_kind(Kind::Namespace)
        .any(|namespace| namespace.label("istio.io/dataplane-mode") == Some("ambient"));
    if ambient {
        for pod in mesh.of_kind(Kind::Pod).filter(|pod| is_ztunnel(pod)) {
            used.insert(resolve(
                pod.label("istio.io/rev").unwrap_or(DEFAULT_REVISION),
            ));
        }
    }
    for plane in &planes {
        if used.contains(&plane.revision) {
            continue;
        }
        let tagged: Vec<&str> = tags
            .iter()
            .filter(|(_, revision)| **revision == plane.revision)
            .map(|(tag, _)| tag.as_str())
            .collect();
        let tag_note = if tagged.is_empty() {
            String::new()
        } else {
            format!(" (tags pointing at it: {})", tagged.join(", "))
        };
        report_plane_image(
            sink,
            plane,
            format!(
                "{} is not used: no namespace is labelled for it{tag_note}, and no workload or running proxy belongs to it; remove the revision if nothing still needs it",
                describe_plane(plane)
            ),
        );
    }
}
