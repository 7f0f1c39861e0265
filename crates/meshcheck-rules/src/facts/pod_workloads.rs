//! Workloads as the application and performance rules see them: every pod template of a
//! controller (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) and every Pod that
//! no controller in the input accounts for, so that a finding lands once on the object a user
//! edits rather than once per replica.

use rustc_hash::FxHashMap;
use std::sync::Arc;

use meshcheck_input::{Map, Value};
use meshcheck_model::selector::{matches_label_selector, matches_labels};
use meshcheck_model::{Container, Kind, Mesh, PodTemplate, Resource, ResourceId};

use crate::facts::controllers::{
    CONTROLLER_KINDS, controller_kind, generating_controller, listed_owner, owner_references,
};

/// Controllers whose pod template sits at `spec.template`.
const TEMPLATE_CONTROLLERS: [Kind; 5] = [
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::ReplicaSet,
    Kind::Job,
];

/// A pod template (or a bare Pod) with where it lives in its resource.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Workload<'a> {
    pub resource: &'a Resource,
    pub pod: &'a PodTemplate<'a>,
}

impl<'a> Workload<'a> {
    /// The workload of a controller (its pod template) or of a Pod.
    ///
    /// # Panics
    /// For a resource of another kind: workloads are only ever made from ids of Pods and
    /// controllers.
    pub fn of_resource(resource: &'a Resource) -> Workload<'a> {
        let pod = resource
            .pod_template()
            .expect("a workload is a Pod or a controller");
        Workload { resource, pod }
    }

    /// The workload as a Pod resource.
    pub fn of_pod(pod: &'a Resource) -> Workload<'a> {
        Workload::of_resource(pod)
    }

    pub fn namespace(&self) -> &'a str {
        &self.resource.namespace
    }

    pub fn labels(&self) -> &'a Map {
        self.pod.labels
    }

    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.pod.annotation(key)
    }

    /// `spec.containers` of the pod.
    pub fn containers(&self) -> &'a [Container<'a>] {
        self.pod.containers()
    }

    pub fn init_containers(&self) -> &'a [Container<'a>] {
        self.pod.init_containers()
    }

    /// The injected `istio-proxy` container (a container, or a native-sidecar init container).
    pub fn proxy_container(&self) -> Option<&'a Value> {
        self.pod.proxy_container
    }

    /// A field path below the pod (`["spec", "containers", "0"]`) as a path from the resource.
    pub fn path(&self, below: &[&'a str]) -> Vec<&'a str> {
        self.pod
            .path
            .iter()
            .copied()
            .chain(below.iter().copied())
            .collect()
    }

    /// Whether the pod runs (or will run) with an Istio sidecar.
    pub fn in_mesh(&self, mesh: &Mesh) -> bool {
        mesh.pod_in_mesh(self.namespace(), self.pod)
    }

    /// `Deployment reviews-v1` as written in messages.
    pub fn describe(&self) -> String {
        format!(
            "{} {}",
            self.resource.object().kind,
            self.resource.display_name()
        )
    }
}

/// Whether a ReplicaSet or Job is owned by a controller that is itself in the input (its template
/// would be reported twice otherwise).
fn owned_by_listed_controller(mesh: &Mesh, resource: &Resource) -> bool {
    listed_owner(mesh, resource, &[Kind::Deployment, Kind::CronJob]).is_some()
}

/// The controller in the input that a Pod belongs to: its owner (through a ReplicaSet to the
/// Deployment, through a Job to the CronJob); for a Pod without owners (hand-written
/// manifests), a controller of its namespace whose selector matches its labels.
fn owner_of<'a>(
    mesh: &'a Mesh,
    controllers: &NamespaceControllers<'a>,
    pod: &Resource,
) -> Option<&'a Resource> {
    for (kind, name) in owner_references(pod) {
        let Some(kind) = controller_kind(kind).filter(|kind| {
            matches!(
                kind,
                Kind::ReplicaSet | Kind::StatefulSet | Kind::DaemonSet | Kind::Job
            )
        }) else {
            continue;
        };
        if let Some(owner) = mesh.get(kind, &pod.namespace, name) {
            let parent = listed_owner(mesh, owner, &[Kind::Deployment, Kind::CronJob]);
            return Some(parent.unwrap_or(owner));
        }
        if let Some(parent) = generating_controller(mesh, &pod.namespace, kind, name) {
            return Some(parent);
        }
    }
    // A Pod with owners outside the input belongs to something meshcheck does not see.
    if pod.metadata().get("ownerReferences").is_some() {
        return None;
    }
    controllers.selecting(pod)
}

/// A controller's pod selector as `matchLabels` pairs, when it has any (`None`: expressions only).
fn selector_pairs(controller: &Resource) -> Option<&meshcheck_input::Map> {
    let selector = controller.spec().get("selector")?;
    match selector.get("matchLabels") {
        Some(labels) => labels.as_object().filter(|labels| !labels.is_empty()),
        // `extensions/v1beta1`-era manifests write the labels directly.
        None if selector.get("matchExpressions").is_none() => {
            selector.as_object().filter(|labels| !labels.is_empty())
        }
        None => None,
    }
}

fn selects(controller: &Resource, pod: &Resource) -> bool {
    let Some(selector) = controller
        .spec()
        .get("selector")
        .filter(|selector| selector.is_object())
    else {
        return false;
    };
    if selector.get("matchLabels").is_some() || selector.get("matchExpressions").is_some() {
        matches_label_selector(selector, pod.labels())
    } else {
        selector
            .as_object()
            .is_some_and(|labels| !labels.is_empty() && matches_labels(labels, pod.labels()))
    }
}

/// The label-selecting controllers of one namespace, indexed by one of their selector's pairs so
/// that a pod finds its candidates through its own labels.
#[derive(Default)]
struct NamespaceControllers<'a> {
    /// (label key, value) → controllers whose selector's first pair (by key) it is.
    by_pair: FxHashMap<(&'a str, &'a str), Vec<&'a Resource>>,
    /// Controllers selecting by expressions only, or by non-text values.
    others: Vec<&'a Resource>,
}

impl<'a> NamespaceControllers<'a> {
    fn add(&mut self, controller: &'a Resource) {
        let first = selector_pairs(controller)
            .and_then(|pairs| pairs.iter().min_by_key(|(key, _)| *key))
            .and_then(|(key, value)| Some((key.as_str(), value.as_str()?)));
        match first {
            Some(pair) => self.by_pair.entry(pair).or_default().push(controller),
            None => self.others.push(controller),
        }
    }

    /// The controller whose selector matches the pod (the first by kind and name when
    /// overlapping selectors match several, which is a mistake of its own).
    fn selecting(&self, pod: &Resource) -> Option<&'a Resource> {
        pod.labels()
            .iter()
            .filter_map(|(key, value)| self.by_pair.get(&(key.as_str(), value.as_str()?)))
            .flatten()
            .chain(self.others.iter())
            .copied()
            .filter(|controller| selects(controller, pod))
            .min_by_key(|controller| (controller.kind, controller.name()))
    }
}

/// Every workload of the mesh and, for each Pod that a controller accounts for, that
/// controller, as resource ids: computed once per run (see [`Mesh::derived`]), in time linear in
/// the input.
struct WorkloadIds {
    workloads: Vec<ResourceId>,
    controller_of_pod: FxHashMap<ResourceId, ResourceId>,
}

impl WorkloadIds {
    /// Controllers that select pods by label, per namespace (Jobs match pods by owner only).
    fn controllers_by_namespace(mesh: &Mesh) -> FxHashMap<&str, NamespaceControllers<'_>> {
        let mut by_namespace: FxHashMap<&str, NamespaceControllers> = FxHashMap::default();
        for kind in TEMPLATE_CONTROLLERS
            .iter()
            .filter(|kind| **kind != Kind::Job)
        {
            for controller in mesh.of_kind(*kind) {
                by_namespace
                    .entry(controller.namespace.as_str())
                    .or_default()
                    .add(controller);
            }
        }
        by_namespace
    }

    fn build(mesh: &Mesh) -> WorkloadIds {
        let controllers = WorkloadIds::controllers_by_namespace(mesh);
        let mut workloads = Vec::new();
        for kind in CONTROLLER_KINDS {
            for resource in mesh.of_kind(kind) {
                if matches!(kind, Kind::ReplicaSet | Kind::Job)
                    && owned_by_listed_controller(mesh, resource)
                {
                    continue;
                }
                workloads.push(resource.id);
            }
        }
        let mut controller_of_pod = FxHashMap::default();
        let empty = NamespaceControllers::default();
        for pod in mesh.of_kind(Kind::Pod) {
            let namespace_controllers = controllers.get(pod.namespace.as_str()).unwrap_or(&empty);
            match owner_of(mesh, namespace_controllers, pod) {
                Some(controller) => {
                    controller_of_pod.insert(pod.id, controller.id);
                }
                None => workloads.push(pod.id),
            }
        }
        WorkloadIds {
            workloads,
            controller_of_pod,
        }
    }
}

/// Every workload of the mesh and, for each Pod that a controller accounts for, that
/// controller.
pub(crate) struct WorkloadIndex<'a> {
    pub workloads: Vec<Workload<'a>>,
    mesh: &'a Mesh,
    ids: Arc<WorkloadIds>,
}

impl<'a> WorkloadIndex<'a> {
    pub fn new(mesh: &'a Mesh) -> WorkloadIndex<'a> {
        let ids = mesh.derived(WorkloadIds::build);
        let workloads = ids
            .workloads
            .iter()
            .map(|&id| Workload::of_resource(mesh.resource(id)))
            .collect();
        WorkloadIndex {
            workloads,
            mesh,
            ids,
        }
    }

    /// The controller of a Pod, when the input has it (see [`owner_of`]).
    pub fn controller(&self, pod: &Resource) -> Option<&'a Resource> {
        self.ids
            .controller_of_pod
            .get(&pod.id)
            .map(|&id| self.mesh.resource(id))
    }
}

/// Every workload: controller templates in input order (ReplicaSets and Jobs owned by a listed
/// Deployment or CronJob left out), then Pods no listed controller accounts for.
pub(crate) fn workloads(mesh: &Mesh) -> Vec<Workload<'_>> {
    WorkloadIndex::new(mesh).workloads
}

/// Whether any pod template or Pod of the input satisfies `wanted`: a cheap first pass that lets a rule skip building the [`WorkloadIndex`] when nothing
/// it looks for is present.
pub(crate) fn any_pod(mesh: &Mesh, wanted: impl Fn(&PodTemplate<'_>) -> bool) -> bool {
    CONTROLLER_KINDS
        .into_iter()
        .chain([Kind::Pod])
        .flat_map(|kind| mesh.of_kind(kind))
        .filter_map(Resource::pod_template)
        .any(wanted)
}

/// The workloads whose pods run (or will run) with an Istio sidecar, leaving out Istio's own
/// gateways and control plane (labelled `istio: ...` or in the root namespace).
pub(crate) fn mesh_workloads(mesh: &Mesh) -> Vec<Workload<'_>> {
    mesh.derived(find_mesh_workloads)
        .0
        .iter()
        .map(|&id| Workload::of_resource(mesh.resource(id)))
        .collect()
}

/// [`mesh_workloads`], as resource ids: computed once per run (see [`Mesh::derived`]).
struct MeshWorkloadIds(Vec<ResourceId>);

fn find_mesh_workloads(mesh: &Mesh) -> MeshWorkloadIds {
    MeshWorkloadIds(
        workloads(mesh)
            .into_iter()
            .filter(|workload| {
                workload.in_mesh(mesh)
                    && !is_istio_component(workload)
                    && workload.namespace() != mesh.root_namespace()
            })
            .map(|workload| workload.resource.id)
            .collect(),
    )
}

/// Builds the workload facts rules share before the rules run.
pub(crate) fn prepare(mesh: &Mesh) {
    mesh.derived(find_mesh_workloads);
}

/// Istio gateways and control-plane pods (`istio: ingressgateway`, `app: istiod`...).
pub(crate) fn is_istio_component(workload: &Workload) -> bool {
    let labels = workload.labels();
    labels.contains_key("istio")
        || labels.contains_key("gateway.networking.k8s.io/gateway-name")
        || labels.get("app").and_then(Value::as_str) == Some("istiod")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::mesh;

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: web}]}\n---\n";

    #[test]
    fn pods_of_a_listed_deployment_are_not_workloads_of_their_own() {
        let yaml = format!(
            "{DEPLOYMENT}apiVersion: v1\nkind: Pod\nmetadata: {{name: web-5d8c-abcde, namespace: shop, labels: {{app: web}}, ownerReferences: [{{kind: ReplicaSet, name: web-5d8c}}]}}\nspec: {{containers: [{{name: web, image: web}}]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: debug, namespace: shop, labels: {{run: debug}}}}\nspec: {{containers: [{{name: sh, image: busybox}}]}}\n"
        );
        let mesh = mesh(&yaml);
        let names: Vec<String> = workloads(&mesh).iter().map(Workload::describe).collect();
        assert_eq!(names, ["Deployment web.shop", "Pod debug.shop"]);
        let index = WorkloadIndex::new(&mesh);
        let deployment = index.workloads[0];
        let pod = mesh.get(Kind::Pod, "shop", "web-5d8c-abcde").unwrap();
        assert!(
            index
                .controller(pod)
                .is_some_and(|owner| std::ptr::eq(owner, deployment.resource))
        );
    }

    #[test]
    fn cron_job_template_path() {
        let mesh = mesh(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: report, namespace: ops}\nspec:\n  schedule: '0 * * * *'\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {app: report}}\n        spec: {containers: [{name: r, image: r}]}\n",
        );
        let found = workloads(&mesh);
        assert_eq!(found[0].labels().len(), 1);
        assert_eq!(found[0].containers().len(), 1);
    }
}
