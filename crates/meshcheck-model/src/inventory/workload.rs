//! A workload: a controller (Deployment, StatefulSet, DaemonSet) with the pods it runs, or pods
//! alone when the input has no controller for them. Availability facts (replicas, autoscaler,
//! disruption budget, requests, spreading) are read the same way for istiod and gateways.

use crate::ValueAt;
use meshcheck_input::{Map, Value};

use crate::resource::{items, str_field};
use crate::selector::matches_label_selector;
use crate::{Kind, Mesh, Resource, ResourceId};

static EMPTY: std::sync::LazyLock<Map> = std::sync::LazyLock::new(Map::new);

/// A controller and its pods (either may be missing, not both).
#[derive(Debug, Clone)]
pub struct Workload<'m> {
    pub controller: Option<&'m Resource>,
    pub pods: Vec<&'m Resource>,
}

/// A [`Workload`] as resource ids, for facts cached across rules (see [`Mesh::derived`]).
#[derive(Debug, Clone)]
pub(crate) struct WorkloadIds {
    controller: Option<ResourceId>,
    pods: Vec<ResourceId>,
}

impl WorkloadIds {
    pub(crate) fn of(workload: &Workload) -> WorkloadIds {
        WorkloadIds {
            controller: workload.controller.map(|controller| controller.id),
            pods: workload.pods.iter().map(|pod| pod.id).collect(),
        }
    }

    pub(crate) fn resolve<'m>(&self, mesh: &'m Mesh) -> Workload<'m> {
        Workload {
            controller: self.controller.map(|id| mesh.resource(id)),
            pods: self.pods.iter().map(|&id| mesh.resource(id)).collect(),
        }
    }
}

impl<'m> Workload<'m> {
    /// A controller with the pods its selector matches in its namespace.
    pub fn of_controller(mesh: &'m Mesh, controller: &'m Resource) -> Workload<'m> {
        let pods = match controller.spec().get("selector") {
            Some(selector) if selector.is_object() => mesh
                .pods_in(&controller.namespace)
                .filter(|pod| matches_label_selector(selector, pod.labels()))
                .collect(),
            _ => Vec::new(),
        };
        Workload {
            controller: Some(controller),
            pods,
        }
    }

    /// Pods without a controller in the input.
    pub fn of_pods(pods: Vec<&'m Resource>) -> Workload<'m> {
        Workload {
            controller: None,
            pods,
        }
    }

    /// The object findings point at: the controller, else the first pod.
    pub fn resource(&self) -> &'m Resource {
        self.controller
            .or_else(|| self.pods.first().copied())
            .expect("a workload has a controller or a pod")
    }

    pub fn namespace(&self) -> &'m str {
        &self.resource().namespace
    }

    /// `Deployment istio-system/istiod` or `pods istio-system/istiod-…`.
    pub fn describe(&self) -> String {
        match self.controller {
            Some(controller) => format!(
                "{} {}/{}",
                controller.kind,
                controller.namespace,
                controller.name()
            ),
            None => format!(
                "pod {}/{}",
                self.resource().namespace,
                self.resource().name()
            ),
        }
    }

    /// The pod spec: the controller's template, else the first pod's spec.
    pub fn pod_spec(&self) -> &'m Value {
        match self.controller {
            Some(controller) => controller
                .spec()
                .at("/template/spec")
                .unwrap_or(&Value::Null),
            None => self.resource().spec(),
        }
    }

    /// Labels of the pods: the controller's template labels, else the first pod's.
    pub fn pod_labels(&self) -> &'m Map {
        match self.controller {
            Some(controller) => controller
                .spec()
                .at("/template/metadata/labels")
                .and_then(Value::as_object)
                .unwrap_or(&EMPTY),
            None => self.resource().labels(),
        }
    }

    /// A pod label, from the template (or first pod), then the controller's own labels.
    pub fn label(&self, key: &str) -> Option<&'m str> {
        self.pod_labels()
            .get(key)
            .and_then(Value::as_str)
            .or_else(|| self.controller.and_then(|controller| controller.label(key)))
    }

    /// JSON path (for finding lines) to the pod spec: `spec.template.spec` or `spec`.
    pub fn pod_spec_path(&self) -> &'static [&'static str] {
        if self.controller.is_some() {
            &["spec", "template", "spec"]
        } else {
            &["spec"]
        }
    }

    /// Desired replicas: `spec.replicas` (1 when absent) for Deployments and StatefulSets, the
    /// pod count when only pods are known, `None` for DaemonSets (one per node).
    pub fn replicas(&self) -> Option<i64> {
        match self.controller {
            Some(controller) if controller.kind == Kind::DaemonSet => None,
            Some(controller) => Some(
                controller
                    .spec()
                    .get("replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1),
            ),
            None => Some(self.pods.len() as i64),
        }
    }

    /// `status.availableReplicas` of the controller, when the input carries status.
    pub fn available_replicas(&self) -> Option<i64> {
        let status = self.controller?.value().get("status")?;
        // `status: {}` (client-side dry runs) says nothing; a controller that reported has
        // `observedGeneration` or `replicas`.
        if status.get("observedGeneration").is_none() && status.get("replicas").is_none() {
            return None;
        }
        Some(
            status
                .get("availableReplicas")
                .and_then(Value::as_i64)
                .unwrap_or(0),
        )
    }

    /// The HorizontalPodAutoscaler whose `scaleTargetRef` names the controller.
    pub fn autoscaler(&self, mesh: &'m Mesh) -> Option<&'m Resource> {
        let controller = self.controller?;
        mesh.of_kind(Kind::HorizontalPodAutoscaler).find(|hpa| {
            hpa.namespace == controller.namespace
                && hpa.spec().get("scaleTargetRef").is_some_and(|target| {
                    str_field(target, "kind") == Some(controller.object().kind.as_str())
                        && str_field(target, "name") == Some(controller.name())
                })
        })
    }

    /// The smallest replica count the workload runs with: the autoscaler's `minReplicas`
    /// (default 1) when one targets it, else its replicas.
    pub fn min_replicas(&self, mesh: &'m Mesh) -> Option<i64> {
        match self.autoscaler(mesh) {
            Some(hpa) => Some(
                hpa.spec()
                    .get("minReplicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1),
            ),
            None => self.replicas(),
        }
    }

    /// PodDisruptionBudgets (`policy/v1` or `v1beta1`) whose selector matches the pods' labels.
    pub fn disruption_budgets(&self, mesh: &'m Mesh) -> Vec<&'m Resource> {
        let labels = self.pod_labels();
        let namespace = self.namespace();
        mesh.of_kind(Kind::PodDisruptionBudget)
            .filter(|pdb| pdb.namespace == namespace)
            .filter(|pdb| match pdb.spec().get("selector") {
                // policy/v1: an empty selector selects every pod of the namespace; v1beta1: none.
                Some(selector) if selector.as_object().is_some_and(Map::is_empty) => {
                    pdb.object().api_version == "policy/v1"
                }
                Some(selector) if selector.is_object() => matches_label_selector(selector, labels),
                _ => false,
            })
            .collect()
    }

    /// Whether the pod spec asks the scheduler to spread replicas (pod anti-affinity or
    /// topology spread constraints).
    pub fn spreads_replicas(&self) -> bool {
        let spec = self.pod_spec();
        let anti_affinity = spec
            .at("/affinity/podAntiAffinity")
            .and_then(Value::as_object)
            .is_some_and(|anti| {
                anti.values()
                    .any(|terms| terms.as_array().is_some_and(|terms| !terms.is_empty()))
            });
        let spread = spec
            .get("topologySpreadConstraints")
            .and_then(Value::as_array)
            .is_some_and(|constraints| !constraints.is_empty());
        anti_affinity || spread
    }

    /// The containers of the pod spec with their index.
    pub fn containers(&self) -> impl Iterator<Item = (usize, &'m Value)> {
        items(self.pod_spec().get("containers")).enumerate()
    }

    /// Nodes the known pods run on (`spec.nodeName`), deduplicated.
    pub fn nodes(&self) -> Vec<&'m str> {
        let mut nodes: Vec<&str> = self
            .pods
            .iter()
            .filter_map(|pod| str_field(pod.spec(), "nodeName"))
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }
}

/// Which of `cpu` and `memory` a container does not request.
pub fn missing_requests(container: &Value) -> Vec<&'static str> {
    let requests = container.at("/resources/requests");
    ["cpu", "memory"]
        .into_iter()
        .filter(|resource| {
            requests
                .and_then(|requests| requests.get(*resource))
                .is_none_or(|value| value.is_null() || value.as_str() == Some(""))
        })
        .collect()
}

/// The workload a pod belongs to, for grouping findings: its owner's name, with a ReplicaSet's
/// `pod-template-hash` suffix removed (the Deployment's name), or the pod's own name.
pub fn pod_owner(pod: &Resource) -> (String, String) {
    let Some(owner) = items(pod.metadata().get("ownerReferences")).next() else {
        return ("Pod".to_owned(), pod.name().to_owned());
    };
    let kind = str_field(owner, "kind").unwrap_or("Pod");
    let name = str_field(owner, "name").unwrap_or(pod.name());
    if kind == "ReplicaSet"
        && let Some(hash) = pod.label("pod-template-hash")
        && let Some(deployment) = name.strip_suffix(&format!("-{hash}"))
    {
        return ("Deployment".to_owned(), deployment.to_owned());
    }
    (kind.to_owned(), name.to_owned())
}
