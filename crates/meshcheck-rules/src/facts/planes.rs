//! Helpers the platform, advisory and readiness rules share: naming control planes, finding the
//! control plane a proxy talks to, grouping proxies by workload, reporting on a workload's
//! container.

use std::collections::BTreeMap;

use meshcheck_model::Mesh;
use meshcheck_model::inventory::{
    ControlPlane, Proxy, Version, Workload, control_planes, pod_owner, proxies,
};

use crate::{Finding, Sink};

/// `istiod (revision canary, Deployment istio-system/istiod-canary)`.
pub fn describe_plane(plane: &ControlPlane) -> String {
    format!(
        "istiod (revision {}, {})",
        plane.revision,
        plane.workload.describe()
    )
}

/// Reports on a workload at `suffix` below its pod spec (`["containers", "0", "image"]`).
pub fn report_workload<'s>(
    sink: &'s mut Sink,
    workload: &Workload,
    suffix: &[&str],
    message: impl Into<String>,
) -> &'s mut Finding {
    let mut path: Vec<&str> = workload.path(&["spec"]);
    path.extend_from_slice(suffix);
    sink.report(workload.resource, &path, message)
}

/// Reports on a control plane's istiod image.
pub fn report_plane_image<'s>(
    sink: &'s mut Sink,
    plane: &ControlPlane,
    message: impl Into<String>,
) -> &'s mut Finding {
    let index = plane
        .discovery_container()
        .map(|(index, _)| index.to_string())
        .unwrap_or_else(|| "0".to_owned());
    report_workload(
        sink,
        &plane.workload,
        &["containers", &index, "image"],
        message,
    )
}

/// The control plane a proxy of `revision` connects to: the one of that revision, else the
/// only one there is (a `default` tag may point anywhere). `None` when it cannot be told.
pub fn plane_for<'a, 'm>(
    planes: &'a [ControlPlane<'m>],
    revision: &str,
) -> Option<&'a ControlPlane<'m>> {
    let matching: Vec<&ControlPlane> = planes
        .iter()
        .filter(|plane| plane.revision == revision)
        .collect();
    match (matching.as_slice(), planes) {
        ([plane], _) => Some(plane),
        ([], [only]) => Some(only),
        _ => None,
    }
}

/// Proxies grouped by the workload that owns their pod (`namespace`, owner kind, owner name)
/// and a key the caller chooses (e.g. the version), in a stable order.
pub fn group_by_owner<'a, 'm, K: Ord>(
    proxies: impl Iterator<Item = (&'a Proxy<'m>, K)>,
) -> BTreeMap<(String, String, String, K), Vec<&'a Proxy<'m>>>
where
    'm: 'a,
{
    let mut groups: BTreeMap<(String, String, String, K), Vec<&Proxy>> = BTreeMap::new();
    for (proxy, key) in proxies {
        let (owner_kind, owner_name) = pod_owner(proxy.pod);
        groups
            .entry((proxy.pod.namespace.clone(), owner_kind, owner_name, key))
            .or_default()
            .push(proxy);
    }
    groups
}

/// Proxies of one owning workload that share a finding about their control plane.
pub struct ProxyGroup<'a, 'm, K> {
    /// The group's first proxy, where the finding is reported.
    pub proxy: &'a Proxy<'m>,
    /// The control plane the proxies connect to.
    pub plane: &'a ControlPlane<'m>,
    pub plane_version: &'a Version,
    /// What `judge` found (see [`each_proxy_group_against_plane`]).
    pub finding: K,
    /// The group as the subject of a message (see [`describe_group`]).
    pub who: String,
}

/// Judges every proxy against the version of the control plane it connects to (proxies whose
/// control plane or its version is unknown are left out) and visits the proxies `judge` finds
/// something about, grouped by owning workload and finding.
pub fn each_proxy_group_against_plane<K: Ord>(
    mesh: &Mesh,
    judge: impl Fn(&Proxy, &Version) -> Option<K>,
    mut visit: impl FnMut(ProxyGroup<'_, '_, K>),
) {
    let planes = control_planes(mesh);
    if planes.is_empty() {
        return;
    }
    let proxies = proxies(mesh);
    let judged = proxies.iter().filter_map(|proxy| {
        let plane = plane_for(&planes, proxy.revision)?;
        judge(proxy, plane.version.as_ref()?).map(|finding| (proxy, finding))
    });
    for ((_, owner_kind, owner_name, finding), group) in group_by_owner(judged) {
        let proxy = group[0];
        let plane = plane_for(&planes, proxy.revision).expect("judged with its control plane");
        visit(ProxyGroup {
            proxy,
            plane,
            plane_version: plane.version.as_ref().expect("judged with its version"),
            finding,
            who: describe_group(&group, &owner_kind, &owner_name),
        });
    }
}

/// `Pod bookinfo/reviews-v1-…`, or for several pods `Deployment bookinfo/reviews-v1 (3 pods,
/// e.g. reviews-v1-…)`: a singular subject either way.
pub fn describe_group(proxies: &[&Proxy], owner_kind: &str, owner_name: &str) -> String {
    let first = proxies[0].pod;
    match proxies.len() {
        1 => format!("Pod {}/{}", first.namespace, first.name()),
        count => format!(
            "{owner_kind} {}/{owner_name} ({count} pods, e.g. {})",
            first.namespace,
            first.name()
        ),
    }
}

/// Reports on the first proxy's container of a group.
pub fn report_proxy<'s>(
    sink: &'s mut Sink,
    proxy: &Proxy,
    message: impl Into<String>,
) -> &'s mut Finding {
    let path = proxy.container_path();
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    sink.report(proxy.pod, &[&path[..], &["image"]].concat(), message)
}

/// `1 replica` / `3 replicas`.
pub fn replicas_text(count: i64) -> String {
    if count == 1 {
        "1 replica".to_owned()
    } else {
        format!("{count} replicas")
    }
}
