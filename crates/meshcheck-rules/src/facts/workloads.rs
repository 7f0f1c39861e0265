//! Workloads as the security rules see them: Pods and the pod templates of their controllers
//! (each workload once), whether a namespace injects sidecars, whether a Service is served by
//! mesh workloads, and whether the input shows the control plane at all.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use meshcheck_input::{Map, Value};
use meshcheck_model::selector::{label_slot, matches_labels, push_once, value_str};
use meshcheck_model::{Container, InputSource, Kind, Mesh, PodTemplate, Resource, ResourceId};

use super::authz::Scope;
use crate::facts::controllers::{
    CONTROLLER_KINDS, controller_kind, generating_controller, owner_references,
};

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

/// Whether new pods of a namespace get a sidecar: `istio-injection=enabled`, or a revision label
/// `istio.io/rev` without `istio-injection=disabled`.
pub(crate) fn namespace_injected(mesh: &Mesh, namespace: &str) -> bool {
    let Some(namespace) = mesh.namespace(namespace) else {
        return false;
    };
    match namespace.label("istio-injection") {
        Some("enabled") => true,
        Some("disabled") => false,
        _ => namespace
            .label("istio.io/rev")
            .is_some_and(|revision| !revision.is_empty()),
    }
}

/// The value of `sidecar.istio.io/inject` on a pod (label first, as Istio reads it).
pub(crate) fn inject_override<'a>(pod: &PodTemplate<'a>) -> Option<std::borrow::Cow<'a, str>> {
    pod.inject.map(value_str)
}

/// A workload: a Pod, or the pod template of a controller.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Workload<'a> {
    pub resource: &'a Resource,
    /// Its pod (template): metadata, spec, labels, where it sits in the resource.
    pub pod: &'a PodTemplate<'a>,
}

impl<'a> Workload<'a> {
    /// The workload of a Pod or controller resource (`None` for other kinds).
    fn of(resource: &'a Resource) -> Option<Workload<'a>> {
        let pod = resource.pod_template()?;
        Some(Workload { resource, pod })
    }

    pub(crate) fn namespace(&self) -> &'a str {
        &self.resource.namespace
    }

    pub(crate) fn labels(&self) -> &'a Map {
        self.pod.labels
    }

    pub(crate) fn annotation(&self, key: &str) -> Option<&'a str> {
        self.pod.annotation(key)
    }

    pub(crate) fn is_pod(&self) -> bool {
        self.resource.kind == Kind::Pod
    }

    /// `Deployment shop/web` or `Pod shop/web-1`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} {}/{}",
            self.resource.kind,
            self.resource.namespace,
            self.resource.name()
        )
    }

    /// A path below the pod template (`["spec", "hostNetwork"]` of the pod).
    pub(crate) fn path<'p>(&self, below: &[&'p str]) -> Vec<&'p str> {
        self.pod
            .path
            .iter()
            .copied()
            .chain(below.iter().copied())
            .collect()
    }

    /// Whether the workload runs (or will run) with a sidecar.
    pub(crate) fn in_mesh(&self, mesh: &Mesh) -> bool {
        mesh.pod_in_mesh(self.namespace(), self.pod)
            || namespace_injected(mesh, self.namespace())
                && self
                    .pod
                    .inject
                    .is_none_or(|value| value_str(value) == "true")
    }

    /// The container of that name.
    pub(crate) fn container(&self, name: &str) -> Option<&'a Container<'a>> {
        self.pod.container(name)
    }
}

/// Whether the input holds the controller of an object (so the controller's template stands for
/// it): its owner, or for ReplicaSets and Jobs the Deployment or CronJob that generated that
/// owner (`<deployment>-<hash>`, `<cronjob>-<schedule time>`).
fn controller_in_input(mesh: &Mesh, resource: &Resource) -> bool {
    owner_references(resource).any(|(kind, name)| {
        let Some(kind) = controller_kind(kind) else {
            return false;
        };
        let namespace = resource.namespace.as_str();
        let owner = mesh.get(kind, namespace, name);
        let generated = || generating_controller(mesh, namespace, kind, name).is_some();
        match kind {
            Kind::ReplicaSet => {
                owner.is_some_and(|set| !controller_in_input(mesh, set)) || generated()
            }
            Kind::Job => owner.is_some() || generated(),
            _ => owner.is_some(),
        }
    })
}

/// Every workload once, as resource ids: computed once per run (see [`Mesh::derived`]).
struct WorkloadIds(Vec<ResourceId>);

fn find_workloads(mesh: &Mesh) -> WorkloadIds {
    let mut found = Vec::new();
    for kind in CONTROLLER_KINDS {
        for resource in mesh.of_kind(kind) {
            if !controller_in_input(mesh, resource)
                && resource.pod_template().is_some_and(|pod| pod.present)
            {
                found.push(resource.id);
            }
        }
    }
    for pod in mesh.of_kind(Kind::Pod) {
        if !controller_in_input(mesh, pod) {
            found.push(pod.id);
        }
    }
    WorkloadIds(found)
}

fn workload_of(resource: &Resource) -> Workload<'_> {
    Workload::of(resource).expect("workload ids are Pods and controllers")
}

/// Builds the shared workload facts ahead of the rules (see `engine::prepare`).
pub(crate) fn prepare(mesh: &Mesh) {
    mesh.derived(WorkloadLookup::build);
}

/// Every workload once: controller templates (unless their own controller is in the input) and
/// Pods whose controller is not in the input.
pub(crate) fn workloads(mesh: &Mesh) -> Vec<Workload<'_>> {
    mesh.derived(find_workloads)
        .0
        .iter()
        .map(|&id| workload_of(mesh.resource(id)))
        .collect()
}

/// The workloads that show injected containers: the Pods when the input has any (a cluster
/// snapshot: templates do not show what the injector added), else the controllers' templates.
pub(crate) fn running_workloads(mesh: &Mesh) -> Vec<Workload<'_>> {
    if mesh.count(Kind::Pod) > 0 {
        mesh.of_kind(Kind::Pod).map(pod_workload).collect()
    } else {
        workloads(mesh)
    }
}

/// A Pod as a workload.
pub(crate) fn pod_workload(pod: &Resource) -> Workload<'_> {
    Workload::of(pod).expect("a Pod has a pod template")
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

/// Where each workload sits in [`WorkloadIndex::all`]: by namespace and by (namespace, label
/// key, label value). Built once per run.
struct WorkloadLookup {
    by_namespace: FxHashMap<String, Vec<usize>>,
    /// By [`label_slot`]: a collision only adds candidates, and every caller matches the
    /// selector afterwards.
    by_label: FxHashMap<u64, Vec<usize>>,
}

impl WorkloadLookup {
    fn build(mesh: &Mesh) -> WorkloadLookup {
        let mut by_namespace: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        let mut by_label: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
        for (index, workload) in workloads(mesh).iter().enumerate() {
            let namespace = workload.namespace();
            match by_namespace.get_mut(namespace) {
                Some(indexes) => indexes.push(index),
                None => {
                    by_namespace.insert(namespace.to_owned(), vec![index]);
                }
            }
            for (key, value) in workload.labels() {
                push_once(
                    by_label
                        .entry(label_slot(namespace, key, &value_str(value)))
                        .or_default(),
                    index,
                );
            }
        }
        WorkloadLookup {
            by_namespace,
            by_label,
        }
    }
}

/// The workloads of the input, indexed by namespace and labels. Built on first use: many rules
/// create one up front and return early when the input has nothing for them.
pub(crate) struct WorkloadIndex<'a> {
    mesh: &'a Mesh,
    all: OnceCell<Vec<Workload<'a>>>,
    lookup: OnceCell<Arc<WorkloadLookup>>,
}

impl<'a> WorkloadIndex<'a> {
    pub(crate) fn new(mesh: &'a Mesh) -> WorkloadIndex<'a> {
        WorkloadIndex {
            mesh,
            all: OnceCell::new(),
            lookup: OnceCell::new(),
        }
    }

    /// Every workload (see [`workloads`]).
    pub(crate) fn all(&self) -> &[Workload<'a>] {
        self.all.get_or_init(|| workloads(self.mesh))
    }

    fn lookup(&self) -> &WorkloadLookup {
        self.lookup
            .get_or_init(|| self.mesh.derived(WorkloadLookup::build))
    }

    /// The workloads of one namespace.
    pub(crate) fn in_namespace(&self, namespace: &str) -> impl Iterator<Item = &Workload<'a>> {
        let all = self.all();
        self.lookup()
            .by_namespace
            .get(namespace)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(move |&index| &all[index])
    }

    /// The workloads a policy scope covers.
    pub(crate) fn in_scope<'s>(&'s self, scope: &'s Scope) -> Vec<&'s Workload<'a>> {
        match scope {
            Scope::Mesh => self.all().iter().collect(),
            Scope::Namespace(namespace) => self.in_namespace(namespace).collect(),
            Scope::Workloads(namespace, selector) => {
                let Some((key, value)) = selector.iter().next() else {
                    return self.in_namespace(namespace).collect();
                };
                let all = self.all();
                self.lookup()
                    .by_label
                    .get(&label_slot(namespace, key, &value_str(value)))
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|&index| &all[index])
                    .filter(|workload| matches_labels(selector, workload.labels()))
                    .collect()
            }
            Scope::Targets(_) => Vec::new(),
        }
    }
}

/// The workloads (pods, else templates) behind a Service.
pub(crate) fn service_workloads<'a>(
    mesh: &'a Mesh,
    index: &WorkloadIndex<'a>,
    service: &Resource,
) -> Vec<Workload<'a>> {
    let Some(selector) = service_selector(service) else {
        return Vec::new();
    };
    let pods: Vec<Workload> = mesh
        .pods_matching(Some(&service.namespace), selector)
        .into_iter()
        .map(pod_workload)
        .collect();
    if !pods.is_empty() {
        return pods;
    }
    index
        .in_namespace(&service.namespace)
        .filter(|workload| matches_labels(selector, workload.labels()))
        .copied()
        .collect()
}

/// Whether a Service is served by mesh workloads (sidecar or ambient): judged by its pods, else
/// its pod templates, else its namespace's injection label.
pub(crate) fn service_in_mesh<'a>(
    mesh: &'a Mesh,
    index: &WorkloadIndex<'a>,
    service: &Resource,
) -> bool {
    if service_selector(service).is_none() {
        return false;
    }
    let backing = service_workloads(mesh, index, service);
    if backing.is_empty() {
        return namespace_injected(mesh, &service.namespace)
            || mesh.namespace_in_ambient(&service.namespace);
    }
    backing.iter().any(|workload| {
        workload.in_mesh(mesh)
            || workload.is_pod() && mesh.pod_in_ambient(workload.resource)
            || mesh.namespace_in_ambient(workload.namespace())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::mesh;

    #[test]
    fn pods_of_controllers_in_the_input_are_not_counted_twice() {
        let mesh = mesh(
            "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: web}]}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d9c8b6f5-x2kq4
  namespace: shop
  ownerReferences: [{kind: ReplicaSet, name: web-7d9c8b6f5}]
spec: {containers: [{name: web, image: web}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-5f6d7c8b9-abcde
  namespace: shop
  ownerReferences: [{kind: ReplicaSet, name: api-5f6d7c8b9}]
spec: {containers: [{name: api, image: api}]}
",
        );
        let names: Vec<String> = workloads(&mesh)
            .iter()
            .map(|workload| workload.describe())
            .collect();
        assert_eq!(
            names,
            ["Deployment shop/web", "Pod shop/api-5f6d7c8b9-abcde"]
        );
    }

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
        let index = WorkloadIndex::new(&mesh);
        let selector = meshcheck_input::json!({"tier": "front", "app": "web"});
        let scope = Scope::Workloads("shop", selector.as_object().unwrap());
        let names: Vec<&str> = index
            .in_scope(&scope)
            .iter()
            .map(|workload| workload.resource.name())
            .collect();
        assert_eq!(names, ["a"]);
        assert_eq!(index.in_scope(&Scope::Namespace("shop")).len(), 2);
        assert_eq!(index.in_scope(&Scope::Mesh).len(), 3);
    }
}
