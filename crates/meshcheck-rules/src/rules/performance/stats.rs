//! Envoy stats dumps (`--proxy-stats`) matched to the pods and workloads of the input.

use meshcheck_model::{Kind, Mesh, ProxyStats, Resource};

use crate::facts::workloads::{Workload, WorkloadIndex};
use crate::{ResourceRef, SourceLocation};

/// The Pod a stats dump names, when the input has it (a dump naming only the pod's name matches
/// when exactly one Pod has that name).
pub(crate) fn pod_of<'a>(mesh: &'a Mesh, stats: &ProxyStats) -> Option<&'a Resource> {
    let pod = stats.pod.as_ref()?;
    match &pod.namespace {
        Some(namespace) => mesh.get(Kind::Pod, namespace, &pod.name),
        None => {
            let mut found = mesh
                .of_kind(Kind::Pod)
                .filter(|candidate| candidate.name() == pod.name);
            let first = found.next()?;
            found.next().is_none().then_some(first)
        }
    }
}

/// Whether a pod name belongs to a controller: `<name>-<hash>-<suffix>` for a Deployment,
/// `<name>-<ordinal>` for a StatefulSet, `<name>-<suffix>` otherwise.
fn named_after(pod_name: &str, controller: &Resource) -> bool {
    pod_name
        .strip_prefix(controller.name())
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|rest| {
            let parts = rest.split('-').count();
            match controller.kind {
                Kind::Deployment => parts == 2,
                _ => parts == 1,
            }
        })
}

/// The stats dumps of a workload's pods, with the pod's `namespace/name`.
pub(crate) fn stats_for<'a>(
    mesh: &'a Mesh,
    index: &WorkloadIndex,
    workload: &Workload,
) -> Vec<(String, &'a ProxyStats)> {
    mesh.proxy_stats
        .iter()
        .filter_map(|stats| {
            let named = stats.pod.as_ref()?;
            let belongs = match pod_of(mesh, stats) {
                Some(pod) if workload.resource.kind == Kind::Pod => {
                    std::ptr::eq(pod, workload.resource)
                }
                Some(pod) => index
                    .controller(pod)
                    .is_some_and(|controller| std::ptr::eq(controller, workload.resource)),
                None => {
                    named
                        .namespace
                        .as_deref()
                        .is_none_or(|namespace| namespace == workload.namespace())
                        && named_after(&named.name, workload.resource)
                }
            };
            belongs.then(|| (named.display(), stats))
        })
        .collect()
}

/// Where a finding about a stats dump goes: the Pod when the input has it, else a detached
/// reference to the pod the dump names (or to the dump itself).
pub(crate) enum StatsSubject<'a> {
    Pod(&'a Resource),
    Detached(Option<ResourceRef>, SourceLocation, String),
}

pub(crate) fn subject<'a>(mesh: &'a Mesh, stats: &ProxyStats) -> StatsSubject<'a> {
    if let Some(pod) = pod_of(mesh, stats) {
        return StatsSubject::Pod(pod);
    }
    let location = SourceLocation {
        file: stats.source.clone(),
        line: None,
    };
    match &stats.pod {
        Some(pod) => StatsSubject::Detached(
            Some(ResourceRef {
                api_version: "v1".to_owned(),
                kind: "Pod".to_owned(),
                namespace: pod.namespace.clone(),
                name: pod.name.clone(),
            }),
            location,
            format!("pod {}", pod.display()),
        ),
        None => StatsSubject::Detached(None, location, format!("the proxy of {}", stats.source)),
    }
}
