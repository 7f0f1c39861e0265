//! Workload facts the inventory needs beside [`crate::workloads`]: the ids it caches its
//! components by, missing requests, and the owner a pod is grouped under.

use meshcheck_input::Value;

use crate::ValueAt;
use crate::resource::{items, str_field};
use crate::workloads::Workload;
use crate::{Mesh, Resource, ResourceId};

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
            pods: workload.pods().map(|pod| pod.id).collect(),
        }
    }

    pub(crate) fn resolve<'m>(&self, mesh: &'m Mesh) -> Workload<'m> {
        match self.controller {
            Some(id) => Workload::of_controller(mesh, mesh.resource(id)),
            None => Workload::of_pods(
                mesh,
                self.pods.iter().map(|&id| mesh.resource(id)).collect(),
            ),
        }
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
