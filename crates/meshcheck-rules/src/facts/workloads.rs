//! Workload facts every family reads, over the model's one [`Workload`] (a controller with its
//! template and running pods, or a Pod on its own): which workloads run a sidecar, which
//! a policy scope or a Service covers, and whether the input shows the control plane at all.

use std::collections::HashMap;

use meshcheck_input::{Map, Value};
use meshcheck_model::selector::value_str;
use meshcheck_model::{InputSource, Kind, Mesh, PodTemplate, Resource};

pub(crate) use meshcheck_model::Workload;
pub(crate) use meshcheck_model::workloads::CONTROLLER_KINDS;

use super::authz::Scope;

/// Whether the input shows the mesh's control plane, so that the absence of a mesh-wide object
/// (a root-namespace PeerAuthentication, say) means it does not exist rather than that it was not
/// part of the files analyzed: a mesh config was given or found, the input is a collected
/// cluster, or istiod runs in the root namespace.
pub(crate) fn control_plane_in_input(mesh: &Mesh) -> bool {
    if mesh.mesh_config.explicit || mesh.cluster.source != InputSource::Manifests {
        return true;
    }
    let root = mesh.root_namespace();
    [Kind::Deployment, Kind::Pod]
        .into_iter()
        .flat_map(|kind| mesh.of_kind(kind))
        .any(|resource| resource.namespace == root && resource.label("app") == Some("istiod"))
}

/// Whether new pods of a namespace get a sidecar (see [`Mesh::namespace_injected`]).
pub(crate) fn namespace_injected(mesh: &Mesh, namespace: &str) -> bool {
    mesh.namespace_injected(namespace)
}

/// The value of `sidecar.istio.io/inject` on a pod (label first, as Istio reads it).
pub(crate) fn inject_override<'a>(pod: &PodTemplate<'a>) -> Option<std::borrow::Cow<'a, str>> {
    pod.inject.map(value_str)
}

/// Every workload once: controllers with their templates, then Pods no listed controller
/// accounts for.
pub(crate) fn workloads(mesh: &Mesh) -> Vec<Workload<'_>> {
    mesh.workloads().all(mesh).collect()
}

/// The workload of a Pod or controller resource.
///
/// # Panics
/// For a resource of another kind.
pub(crate) fn workload_of<'m>(mesh: &'m Mesh, resource: &'m Resource) -> Workload<'m> {
    Workload::of(mesh, resource).expect("a workload is a Pod or a controller")
}

/// A Pod as a workload of its own (what it runs, rather than what its controller asks for).
pub(crate) fn pod_workload<'m>(mesh: &'m Mesh, pod: &'m Resource) -> Workload<'m> {
    workload_of(mesh, pod)
}

/// The workloads that show injected containers: the Pods when the input has any (a cluster
/// snapshot: templates do not show what the injector added), else the controllers' templates.
pub(crate) fn running_workloads(mesh: &Mesh) -> Vec<Workload<'_>> {
    if mesh.count(Kind::Pod) > 0 {
        mesh.of_kind(Kind::Pod)
            .map(|pod| pod_workload(mesh, pod))
            .collect()
    } else {
        workloads(mesh)
    }
}

/// Whether any pod template or Pod of the input satisfies `wanted`: a cheap first pass that
/// lets a rule skip the workload index when nothing it looks for is present.
pub(crate) fn any_pod(mesh: &Mesh, wanted: impl Fn(&PodTemplate<'_>) -> bool) -> bool {
    CONTROLLER_KINDS
        .into_iter()
        .chain([Kind::Pod])
        .flat_map(|kind| mesh.of_kind(kind))
        .filter_map(Resource::pod_template)
        .any(wanted)
}

/// Istio gateways and control-plane pods (`istio: ingressgateway`, `app: istiod`...).
pub(crate) fn is_istio_component(workload: &Workload) -> bool {
    let labels = workload.labels();
    labels.contains_key("istio")
        || labels.contains_key("gateway.networking.k8s.io/gateway-name")
        || labels.get("app").and_then(Value::as_str) == Some("istiod")
}

/// The application workloads that run (or will run) with an Istio sidecar, leaving out Istio's
/// own gateways and control plane (labelled `istio: ...` or in the root namespace).
pub(crate) fn mesh_workloads(mesh: &Mesh) -> Vec<Workload<'_>> {
    mesh.workloads()
        .all(mesh)
        .filter(|workload| {
            workload.in_mesh()
                && !is_istio_component(workload)
                && workload.namespace() != mesh.root_namespace()
        })
        .collect()
}

/// The controller in the input that accounts for a Pod.
pub(crate) fn controller_of<'m>(mesh: &'m Mesh, pod: &Resource) -> Option<&'m Resource> {
    mesh.workloads().controller_of(mesh, pod)
}

/// Builds the shared workload index ahead of the rules (see [`super::prepare`]).
pub(crate) fn prepare(mesh: &Mesh) {
    mesh.workloads();
}

/// The mesh's Services by namespace, in input order.
pub(crate) fn services_by_namespace(mesh: &Mesh) -> HashMap<&str, Vec<&Resource>> {
    let mut services: HashMap<&str, Vec<&Resource>> = HashMap::new();
    for service in mesh.of_kind(Kind::Service) {
        services
            .entry(&service.namespace)
            .or_default()
            .push(service);
    }
    services
}

/// A Service's non-empty pod selector.
pub(crate) fn service_selector(service: &Resource) -> Option<&Map> {
    service
        .spec()
        .get("selector")
        .and_then(Value::as_object)
        .filter(|selector| !selector.is_empty())
}

/// The workloads a policy scope covers.
pub(crate) fn in_scope<'m>(mesh: &'m Mesh, scope: &Scope) -> Vec<Workload<'m>> {
    let index = mesh.workloads();
    match scope {
        Scope::Mesh => index.all(mesh).collect(),
        Scope::Namespace(namespace) => index.in_namespace(mesh, namespace).collect(),
        Scope::Workloads(namespace, selector) => index.selected(mesh, namespace, selector),
        Scope::Targets(_) => Vec::new(),
    }
}

/// The workloads behind a Service: its running pods (each as its own workload, since they show
/// what was injected) when the input has any, else the workloads whose template it selects.
pub(crate) fn service_workloads<'m>(mesh: &'m Mesh, service: &Resource) -> Vec<Workload<'m>> {
    let Some(selector) = service_selector(service) else {
        return Vec::new();
    };
    let pods: Vec<Workload> = mesh
        .pods_matching(Some(&service.namespace), selector)
        .into_iter()
        .map(|pod| pod_workload(mesh, pod))
        .collect();
    if !pods.is_empty() {
        return pods;
    }
    mesh.workloads()
        .selected(mesh, &service.namespace, selector)
}

/// Whether a Service is served by mesh workloads (sidecar or ambient): judged by its pods, else
/// its pod templates, else its namespace's injection label.
pub(crate) fn service_in_mesh(mesh: &Mesh, service: &Resource) -> bool {
    if service_selector(service).is_none() {
        return false;
    }
    let backing = service_workloads(mesh, service);
    if backing.is_empty() {
        return namespace_injected(mesh, &service.namespace)
            || mesh.namespace_in_ambient(&service.namespace);
    }
    backing.iter().any(|workload| {
        workload.in_mesh()
            || workload.is_pod() && mesh.pod_in_ambient(workload.resource)
            || mesh.namespace_in_ambient(workload.namespace())
    })
}

/// A rule's view of the mesh's workload index, listing every workload on first use: many rules
/// create one up front and return early when the input has nothing for them.
pub(crate) struct WorkloadIndex<'m> {
    mesh: &'m Mesh,
    all: std::cell::OnceCell<Vec<Workload<'m>>>,
}

impl<'m> WorkloadIndex<'m> {
    pub(crate) fn new(mesh: &'m Mesh) -> WorkloadIndex<'m> {
        WorkloadIndex {
            mesh,
            all: std::cell::OnceCell::new(),
        }
    }

    /// Every workload (see [`workloads`]).
    pub(crate) fn all(&self) -> &[Workload<'m>] {
        self.all.get_or_init(|| workloads(self.mesh))
    }

    /// The workloads of one namespace.
    pub(crate) fn in_namespace(&self, namespace: &str) -> impl Iterator<Item = Workload<'m>> {
        self.mesh.workloads().in_namespace(self.mesh, namespace)
    }

    /// The workloads a policy scope covers.
    pub(crate) fn in_scope(&self, scope: &Scope) -> Vec<Workload<'m>> {
        in_scope(self.mesh, scope)
    }

    /// The controller of a Pod, when the input has it.
    pub(crate) fn controller(&self, pod: &Resource) -> Option<&'m Resource> {
        controller_of(self.mesh, pod)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::mesh;

    #[test]
    fn injection_by_revision_label() {
        let mesh = mesh(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {istio.io/rev: canary}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b, labels: {istio.io/rev: canary, istio-injection: disabled}}\n",
        );
        assert!(namespace_injected(&mesh, "a"));
        assert!(!namespace_injected(&mesh, "b"));
        assert!(!namespace_injected(&mesh, "c"));
    }

    #[test]
    fn scope_lookups_use_the_label_index() {
        let mesh = mesh(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop, labels: {app: web, tier: front}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: shop, labels: {app: web}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: other, labels: {app: web, tier: front}}\n",
        );
        let selector = meshcheck_input::json!({"tier": "front", "app": "web"});
        let scope = Scope::Workloads("shop", selector.as_object().unwrap());
        let names: Vec<&str> = in_scope(&mesh, &scope)
            .iter()
            .map(|workload| workload.resource.name())
            .collect();
        assert_eq!(names, ["a"]);
        assert_eq!(in_scope(&mesh, &Scope::Namespace("shop")).len(), 2);
        assert_eq!(in_scope(&mesh, &Scope::Mesh).len(), 3);
    }
}
