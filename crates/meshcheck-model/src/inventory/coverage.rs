//! How many running pods are in the mesh: a statistic for the report's inventory, not a finding
//! (nothing to fix follows from it on its own).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Kind, Mesh, Resource, ValueAt};

/// Running pods by data-plane mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodCoverage {
    /// Pods outside Istio's root namespace (sidecar + ambient + outside).
    pub user_pods: usize,
    pub sidecar: usize,
    pub ambient: usize,
    pub outside: usize,
    /// Pods outside the mesh per namespace, most first.
    pub outside_by_namespace: Vec<NamespacePods>,
    /// Pods in Istio's root namespace.
    pub istio_pods: usize,
}

/// A namespace with a pod count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespacePods {
    pub namespace: String,
    pub pods: usize,
}

impl PodCoverage {
    /// Percent of user pods in the mesh (0 when there are none).
    pub fn percent_in_mesh(&self) -> f64 {
        if self.user_pods == 0 {
            0.0
        } else {
            100.0 * (self.sidecar + self.ambient) as f64 / self.user_pods as f64
        }
    }
}

fn finished(pod: &Resource) -> bool {
    matches!(
        pod.value()
            .at("/status/phase")
            .and_then(|phase| phase.as_str()),
        Some("Succeeded" | "Failed")
    )
}

/// The coverage of the running pods, or `None` when the input holds none (plain manifests).
pub fn pod_coverage(mesh: &Mesh) -> Option<PodCoverage> {
    let root = mesh.root_namespace();
    let mut coverage = PodCoverage {
        user_pods: 0,
        sidecar: 0,
        ambient: 0,
        outside: 0,
        outside_by_namespace: Vec::new(),
        istio_pods: 0,
    };
    let mut outside: BTreeMap<&str, usize> = BTreeMap::new();
    let mut any = false;
    for pod in mesh.of_kind(Kind::Pod).filter(|pod| !finished(pod)) {
        any = true;
        if pod.namespace == root {
            coverage.istio_pods += 1;
            continue;
        }
        coverage.user_pods += 1;
        if mesh.pod_in_ambient(pod) {
            coverage.ambient += 1;
        } else if pod
            .pod_template()
            .is_some_and(|template| template.proxy_container.is_some())
        {
            coverage.sidecar += 1;
        } else {
            coverage.outside += 1;
            *outside.entry(&pod.namespace).or_default() += 1;
        }
    }
    let mut by_namespace: Vec<NamespacePods> = outside
        .into_iter()
        .map(|(namespace, pods)| NamespacePods {
            namespace: namespace.to_owned(),
            pods,
        })
        .collect();
    by_namespace.sort_by(|a, b| b.pods.cmp(&a.pods).then(a.namespace.cmp(&b.namespace)));
    coverage.outside_by_namespace = by_namespace;
    any.then_some(coverage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::tests::mesh;

    #[test]
    fn counts_pods_by_mode_and_leaves_finished_pods_out() {
        let mesh = mesh(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: istiod-1, namespace: istio-system}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\nspec: {containers: [{name: a, image: a}, {name: istio-proxy, image: proxyv2}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: shop, annotations: {ambient.istio.io/redirection: enabled}}\nspec: {containers: [{name: b, image: b}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: legacy}\nspec: {containers: [{name: c, image: c}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: d, namespace: legacy}\nspec: {containers: [{name: d, image: d}]}\nstatus: {phase: Succeeded}\n",
        );
        let coverage = pod_coverage(&mesh).unwrap();
        assert_eq!(
            (
                coverage.user_pods,
                coverage.sidecar,
                coverage.ambient,
                coverage.outside,
                coverage.istio_pods
            ),
            (3, 1, 1, 1, 1)
        );
        assert_eq!(
            coverage.outside_by_namespace,
            [NamespacePods {
                namespace: "legacy".to_owned(),
                pods: 1
            }]
        );
        assert_eq!(coverage.percent_in_mesh().round(), 67.0);
        assert!(
            pod_coverage(&crate::mesh::tests::mesh(
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"
            ))
            .is_none()
        );
    }
}
