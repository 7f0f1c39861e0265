use crate::Context;
use meshcheck_model::ValueAt;
use std::collections::BTreeMap;

use meshcheck_model::{Kind, Mesh, Resource};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Counts the running Pods of the input (a cluster snapshot; nothing is reported for plain
    /// manifests without Pods): user pods with a sidecar, user pods in ambient mode, user pods
    /// outside the mesh (with the namespaces holding most of them), and Istio's own pods in the
    /// root namespace. Pods of Kubernetes' system namespaces are not part of the input and are
    /// counted apart when present. It is istio-vet's mesh summary (`podsInMesh`).
    ///
    /// ## Why is this bad?
    /// It is not a problem in itself: it tells you how much of the workload the mesh actually
    /// covers. Traffic from and to pods outside the mesh gets no mTLS, no authorization and no
    /// telemetry, so a low share deserves a look, and a share that drops between two runs
    /// usually means injection broke for a namespace.
    ///
    /// ## How to fix
    /// Nothing to fix. To bring more workloads into the mesh, label their namespaces
    /// (`istio-injection=enabled` or `istio.io/rev=<revision>`, or `istio.io/dataplane-mode=ambient`)
    /// and restart their pods.
    pub static MESH_POD_INVENTORY = {
        code: "MC417",
        name: "mesh-pod-inventory",
        category: ApplicationPolicy,
        severity: Info,
        summary: "Counts of user and system pods inside and outside the mesh",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Pod, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/",
        remediation: "Nothing to fix; enrol the namespaces whose pods should be in the mesh and restart their pods.",
        check: check,
    }
}

/// Whether a running pod is in the mesh: it has a sidecar, or ztunnel redirects it.
fn placement(mesh: &Mesh, pod: &Resource) -> Option<&'static str> {
    if mesh.pod_in_ambient(pod) {
        return Some("ambient");
    }
    crate::facts::workloads::pod_workload(mesh, pod).proxy_container()?;
    Some("sidecar")
}

fn finished(pod: &Resource) -> bool {
    matches!(
        pod.value()
            .at("/status/phase")
            .and_then(|phase| phase.as_str()),
        Some("Succeeded" | "Failed")
    )
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let pods: Vec<&Resource> = mesh
        .of_kind(Kind::Pod)
        .filter(|pod| !finished(pod))
        .collect();
    if pods.is_empty() {
        return;
    }
    let root = mesh.root_namespace();
    let (mut sidecar, mut ambient, mut istio) = (0usize, 0usize, 0usize);
    let mut outside: BTreeMap<&str, usize> = BTreeMap::new();
    for pod in &pods {
        if pod.namespace == root {
            istio += 1;
            continue;
        }
        match placement(mesh, pod) {
            Some("ambient") => ambient += 1,
            Some(_) => sidecar += 1,
            None => *outside.entry(&pod.namespace).or_default() += 1,
        }
    }
    let outside_total: usize = outside.values().sum();
    let user = sidecar + ambient + outside_total;
    let share = if user == 0 {
        0.0
    } else {
        100.0 * (sidecar + ambient) as f64 / user as f64
    };
    let mut largest: Vec<(&str, usize)> = outside.into_iter().collect();
    largest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let outside_detail = if largest.is_empty() {
        String::new()
    } else {
        let shown: Vec<String> = largest
            .iter()
            .take(5)
            .map(|(namespace, count)| format!("{namespace} {count}"))
            .collect();
        let more = if largest.len() > 5 {
            format!(", and {} more namespaces", largest.len() - 5)
        } else {
            String::new()
        };
        format!(" (outside: {}{more})", shown.join(", "))
    };
    let system = if mesh.system_objects_skipped > 0 {
        format!(
            "; {} objects of Kubernetes system namespaces were left out",
            mesh.system_objects_skipped
        )
    } else {
        String::new()
    };
    sink.report_detached(
        None,
        None,
        format!(
            "{} of {user} user pods are in the mesh ({share:.0}%): {sidecar} with a sidecar, {ambient} in ambient mode, {outside_total} outside{outside_detail}; {istio} pods in Istio's namespace {root}{system}",
            sidecar + ambient
        ),
    );
}
