//! Workloads: the one notion every rule family shares. A workload is a controller (Deployment,
//! StatefulSet, DaemonSet, ReplicaSet without a listed owner, Job, CronJob) with its pod template
//! — what every new pod will get — and the running pods the input holds for it; or a Pod that no
//! controller in the input accounts for, as its own workload. Built once per mesh, in time
//! linear in the input, and indexed by namespace and label.

use rustc_hash::FxHashMap;
use std::sync::Arc;

use meshcheck_input::{Map, Value};

use crate::pod_template::{Container, PodTemplate};
use crate::resource::{items, str_field};
use crate::selector::{label_slot, matches_label_selector, matches_labels, push_once, value_str};
use crate::{Kind, Mesh, Resource, ResourceId, ValueAt};

/// Kinds whose pod template makes a workload, in the order workloads are listed.
pub const CONTROLLER_KINDS: [Kind; 6] = [
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::ReplicaSet,
    Kind::Job,
    Kind::CronJob,
];

/// A controller kind by the name an owner reference gives it (`ReplicaSet`).
pub fn controller_kind(name: &str) -> Option<Kind> {
    CONTROLLER_KINDS
        .into_iter()
        .find(|kind| kind.name() == name)
}

/// A resource's `metadata.ownerReferences` as (kind, name); entries missing either are left out.
pub fn owner_references(resource: &Resource) -> impl Iterator<Item = (&str, &str)> {
    items(resource.metadata().get("ownerReferences"))
        .filter_map(|owner| Some((str_field(owner, "kind")?, str_field(owner, "name")?)))
}

/// The first owner of `resource` that is of one of `kinds` and that the input holds.
pub fn listed_owner<'m>(
    mesh: &'m Mesh,
    resource: &Resource,
    kinds: &[Kind],
) -> Option<&'m Resource> {
    owner_references(resource).find_map(|(kind, name)| {
        let kind = controller_kind(kind).filter(|kind| kinds.contains(kind))?;
        mesh.get(kind, &resource.namespace, name)
    })
}

/// The listed Deployment or CronJob that generated a ReplicaSet or Job, found by the generated
/// name (`<deployment>-<hash>`, `<cronjob>-<schedule time>`): for owners the input does not hold.
pub fn generating_controller<'m>(
    mesh: &'m Mesh,
    namespace: &str,
    kind: Kind,
    name: &str,
) -> Option<&'m Resource> {
    let parent = match kind {
        Kind::ReplicaSet => Kind::Deployment,
        Kind::Job => Kind::CronJob,
        _ => return None,
    };
    let (prefix, suffix) = name.rsplit_once('-')?;
    if suffix.is_empty() {
        return None;
    }
    mesh.get(parent, namespace, prefix)
}

/// The running pods of a workload: a slice of the index, or a list made for a group of pods
/// found another way (the inventory's istiod and gateway pods without a controller).
#[derive(Debug, Clone)]
enum PodIds<'m> {
    Indexed(&'m [ResourceId]),
    /// A Pod as its own workload: no allocation for the many rules that look at pods one by one.
    One(ResourceId),
    Listed(Arc<[ResourceId]>),
}

impl PodIds<'_> {
    fn as_slice(&self) -> &[ResourceId] {
        match self {
            PodIds::Indexed(ids) => ids,
            PodIds::One(id) => std::slice::from_ref(id),
            PodIds::Listed(ids) => ids,
        }
    }
}

/// A controller with its pod template and running pods, or a Pod on its own.
#[derive(Debug, Clone)]
pub struct Workload<'m> {
    /// The object findings point at and users edit: the controller, or the Pod.
    pub resource: &'m Resource,
    /// The pod it makes: the controller's template (the intended state), or the Pod itself.
    /// A controller listed without its template stands for its first running pod.
    pub pod: &'m PodTemplate<'m>,
    /// The controller, when `resource` is one.
    pub controller: Option<&'m Resource>,
    pods: PodIds<'m>,
    mesh: &'m Mesh,
}

static EMPTY_PODS: [ResourceId; 0] = [];

impl<'m> Workload<'m> {
    fn new(mesh: &'m Mesh, resource: &'m Resource, pods: PodIds<'m>) -> Option<Workload<'m>> {
        let own = resource.pod_template()?;
        let controller = (resource.kind != Kind::Pod).then_some(resource);
        let pod = if own.present {
            own
        } else {
            pods.as_slice()
                .first()
                .and_then(|&id| mesh.resource(id).pod_template())
                .unwrap_or(own)
        };
        Some(Workload {
            resource,
            pod,
            controller,
            pods,
            mesh,
        })
    }

    /// The workload of a Pod or controller resource: the index's entry when it has one,
    /// else the resource alone (`None` for other kinds).
    pub fn of(mesh: &'m Mesh, resource: &'m Resource) -> Option<Workload<'m>> {
        mesh.workloads().of_resource(mesh, resource).or_else(|| {
            let pods = if resource.kind == Kind::Pod {
                PodIds::One(resource.id)
            } else {
                PodIds::Indexed(&EMPTY_PODS)
            };
            Workload::new(mesh, resource, pods)
        })
    }

    /// A controller with the pods its selector matches in its namespace.
    pub fn of_controller(mesh: &'m Mesh, controller: &'m Resource) -> Workload<'m> {
        if let Some(workload) = mesh.workloads().of_resource(mesh, controller) {
            return workload;
        }
        let pods: Vec<ResourceId> = match controller.spec().get("selector") {
            Some(selector) if selector.is_object() => mesh
                .pods_in(&controller.namespace)
                .filter(|pod| matches_label_selector(selector, pod.labels()))
                .map(|pod| pod.id)
                .collect(),
            _ => Vec::new(),
        };
        Workload::new(mesh, controller, PodIds::Listed(pods.into()))
            .expect("controllers have a pod template")
    }

    /// Pods of one component that no controller in the input accounts for, as one workload
    /// (pointing at the first).
    ///
    /// # Panics
    /// When `pods` is empty.
    pub fn of_pods(mesh: &'m Mesh, pods: Vec<&'m Resource>) -> Workload<'m> {
        let first = *pods.first().expect("a pod group has a pod");
        let ids: Vec<ResourceId> = pods.iter().map(|pod| pod.id).collect();
        Workload::new(mesh, first, PodIds::Listed(ids.into())).expect("a Pod has a pod template")
    }

    /// The running pods the input holds for the workload (a bare Pod: itself).
    pub fn pods(&self) -> impl ExactSizeIterator<Item = &'m Resource> + '_ {
        let mesh = self.mesh;
        self.pods
            .as_slice()
            .iter()
            .map(move |&id| mesh.resource(id))
    }

    /// How many running pods the input holds for it.
    pub fn pod_count(&self) -> usize {
        self.pods.as_slice().len()
    }

    pub fn namespace(&self) -> &'m str {
        &self.resource.namespace
    }

    pub fn is_pod(&self) -> bool {
        self.controller.is_none()
    }

    /// The labels of its pods (the template's).
    pub fn labels(&self) -> &'m Map {
        self.pod.labels
    }

    pub fn annotation(&self, key: &str) -> Option<&'m str> {
        self.pod.annotation(key)
    }

    /// A pod label, else the controller's own label of that key.
    pub fn label(&self, key: &str) -> Option<&'m str> {
        self.pod
            .label(key)
            .or_else(|| self.controller.and_then(|controller| controller.label(key)))
    }

    /// `spec.containers` of the pod.
    pub fn containers(&self) -> &'m [Container<'m>] {
        self.pod.containers()
    }

    /// `spec.initContainers` of the pod.
    pub fn init_containers(&self) -> &'m [Container<'m>] {
        self.pod.init_containers()
    }

    /// The container (or init container) of that name.
    pub fn container(&self, name: &str) -> Option<&'m Container<'m>> {
        self.pod.container(name)
    }

    /// The injected `istio-proxy` container (a container, or a native-sidecar init container).
    pub fn proxy_container(&self) -> Option<&'m Value> {
        self.pod.proxy_container
    }

    /// The pod spec (`Null` when missing).
    pub fn pod_spec(&self) -> &'m Value {
        self.pod.spec
    }

    /// A field path below the pod (`["spec", "hostNetwork"]`) as a path from the resource.
    pub fn path<'p>(&self, below: &[&'p str]) -> Vec<&'p str> {
        self.pod
            .path
            .iter()
            .copied()
            .chain(below.iter().copied())
            .collect()
    }

    /// `Deployment shop/web` or `Pod shop/web-1`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} {}/{}",
            self.resource.kind,
            self.resource.namespace,
            self.resource.name()
        )
    }

    /// `Deployment web.shop`, as istioctl names resources.
    pub fn display(&self) -> String {
        format!(
            "{} {}",
            self.resource.object().kind,
            self.resource.display_name()
        )
    }

    /// Whether the pod runs (or will run) with an Istio sidecar: [`Mesh::pod_in_mesh`], or a
    /// namespace that injects by revision label and a pod that does not opt out.
    pub fn in_mesh(&self) -> bool {
        self.mesh.pod_in_mesh(self.namespace(), self.pod)
            || self.mesh.namespace_injected(self.namespace())
                && self
                    .pod
                    .inject
                    .is_none_or(|value| value_str(value) == "true")
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
            None => Some(self.pod_count() as i64),
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
    pub fn autoscaler(&self) -> Option<&'m Resource> {
        let controller = self.controller?;
        self.mesh
            .of_kind(Kind::HorizontalPodAutoscaler)
            .find(|hpa| {
                hpa.namespace == controller.namespace
                    && hpa.spec().get("scaleTargetRef").is_some_and(|target| {
                        str_field(target, "kind") == Some(controller.object().kind.as_str())
                            && str_field(target, "name") == Some(controller.name())
                    })
            })
    }

    /// The smallest replica count the workload runs with: the autoscaler's `minReplicas`
    /// (default 1) when one targets it, else its replicas.
    pub fn min_replicas(&self) -> Option<i64> {
        match self.autoscaler() {
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
    pub fn disruption_budgets(&self) -> Vec<&'m Resource> {
        let labels = self.labels();
        let namespace = self.namespace();
        self.mesh
            .of_kind(Kind::PodDisruptionBudget)
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

    /// Nodes the running pods are on (`spec.nodeName`), deduplicated.
    pub fn nodes(&self) -> Vec<&'m str> {
        let mut nodes: Vec<&str> = self
            .pods()
            .filter_map(|pod| str_field(pod.spec(), "nodeName"))
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }
}

/// One workload in the index: its resource and its running pods.
#[derive(Debug)]
struct Entry {
    resource: ResourceId,
    pods: Vec<ResourceId>,
}

/// Every workload of a mesh, built once (see [`Mesh::workloads`]).
#[derive(Debug, Default)]
pub struct WorkloadIndex {
    entries: Vec<Entry>,
    /// Resource (controller or bare Pod) → its entry.
    by_resource: FxHashMap<ResourceId, u32>,
    /// A Pod → the entry of the controller that accounts for it.
    controller_of_pod: FxHashMap<ResourceId, u32>,
    by_namespace: FxHashMap<String, Vec<u32>>,
    /// By [`label_slot`] of the template's labels: a collision only adds candidates, and
    /// every caller matches the selector afterwards.
    by_label: FxHashMap<u64, Vec<u32>>,
}

impl WorkloadIndex {
    pub(crate) fn build(mesh: &Mesh) -> WorkloadIndex {
        let controllers = controllers_by_namespace(mesh);
        let mut index = WorkloadIndex::default();
        for kind in CONTROLLER_KINDS {
            for resource in mesh.of_kind(kind) {
                if matches!(kind, Kind::ReplicaSet | Kind::Job)
                    && listed_owner(mesh, resource, &[Kind::Deployment, Kind::CronJob]).is_some()
                {
                    continue;
                }
                index
                    .by_resource
                    .insert(resource.id, index.entries.len() as u32);
                index.entries.push(Entry {
                    resource: resource.id,
                    pods: Vec::new(),
                });
            }
        }
        let empty = NamespaceControllers::default();
        for pod in mesh.of_kind(Kind::Pod) {
            let candidates = controllers.get(pod.namespace.as_str()).unwrap_or(&empty);
            let owner = owner_of(mesh, candidates, pod)
                .and_then(|controller| index.by_resource.get(&controller.id).copied());
            match owner {
                Some(entry) => {
                    index.entries[entry as usize].pods.push(pod.id);
                    index.controller_of_pod.insert(pod.id, entry);
                }
                None => {
                    index.by_resource.insert(pod.id, index.entries.len() as u32);
                    index.entries.push(Entry {
                        resource: pod.id,
                        pods: vec![pod.id],
                    });
                }
            }
        }
        // A controller listed without its template and without pods has nothing to check.
        let kept: Vec<bool> = index
            .entries
            .iter()
            .map(|entry| {
                !entry.pods.is_empty()
                    || mesh
                        .resource(entry.resource)
                        .pod_template()
                        .is_some_and(|pod| pod.present)
            })
            .collect();
        if kept.iter().any(|keep| !keep) {
            let mut renumber = vec![u32::MAX; kept.len()];
            let mut entries = Vec::with_capacity(kept.len());
            for (old, (entry, keep)) in std::mem::take(&mut index.entries)
                .into_iter()
                .zip(&kept)
                .enumerate()
            {
                if *keep {
                    renumber[old] = entries.len() as u32;
                    entries.push(entry);
                }
            }
            index.entries = entries;
            index.by_resource.retain(|_, entry| {
                *entry = renumber[*entry as usize];
                *entry != u32::MAX
            });
            for entry in index.controller_of_pod.values_mut() {
                *entry = renumber[*entry as usize];
            }
        }
        for (position, entry) in index.entries.iter().enumerate() {
            let resource = mesh.resource(entry.resource);
            let namespace = resource.namespace.as_str();
            match index.by_namespace.get_mut(namespace) {
                Some(positions) => positions.push(position as u32),
                None => {
                    index
                        .by_namespace
                        .insert(namespace.to_owned(), vec![position as u32]);
                }
            }
            let Some(workload) = Workload::new(mesh, resource, PodIds::Indexed(&entry.pods)) else {
                continue;
            };
            for (key, value) in workload.labels() {
                push_once(
                    index
                        .by_label
                        .entry(label_slot(namespace, key, &value_str(value)))
                        .or_default(),
                    position as u32,
                );
            }
        }
        index
    }

    fn workload<'m>(&'m self, mesh: &'m Mesh, position: u32) -> Workload<'m> {
        let entry = &self.entries[position as usize];
        Workload::new(
            mesh,
            mesh.resource(entry.resource),
            PodIds::Indexed(&entry.pods),
        )
        .expect("workload entries are Pods and controllers")
    }

    /// Every workload: controllers in kind order (ReplicaSets and Jobs of a listed Deployment
    /// or CronJob left out), then Pods no listed controller accounts for, in input order.
    pub fn all<'m>(&'m self, mesh: &'m Mesh) -> impl ExactSizeIterator<Item = Workload<'m>> {
        (0..self.entries.len() as u32).map(move |position| self.workload(mesh, position))
    }

    /// How many workloads the mesh has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The workload whose resource this is (a controller, or a Pod on its own).
    pub fn of_resource<'m>(&'m self, mesh: &'m Mesh, resource: &Resource) -> Option<Workload<'m>> {
        let position = *self.by_resource.get(&resource.id)?;
        Some(self.workload(mesh, position))
    }

    /// The workload a Pod belongs to: its controller's, or its own.
    pub fn of_pod<'m>(&'m self, mesh: &'m Mesh, pod: &Resource) -> Option<Workload<'m>> {
        let position = self
            .controller_of_pod
            .get(&pod.id)
            .or_else(|| self.by_resource.get(&pod.id))?;
        Some(self.workload(mesh, *position))
    }

    /// The controller in the input that accounts for a Pod.
    pub fn controller_of<'m>(&self, mesh: &'m Mesh, pod: &Resource) -> Option<&'m Resource> {
        let position = self.controller_of_pod.get(&pod.id)?;
        Some(mesh.resource(self.entries[*position as usize].resource))
    }

    /// The workloads of one namespace.
    pub fn in_namespace<'m>(
        &'m self,
        mesh: &'m Mesh,
        namespace: &str,
    ) -> impl Iterator<Item = Workload<'m>> {
        self.by_namespace
            .get(namespace)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(move |&position| self.workload(mesh, position))
    }

    /// The workloads of a namespace whose pod labels a (non-empty) selector matches.
    pub fn selected<'m>(
        &'m self,
        mesh: &'m Mesh,
        namespace: &str,
        selector: &Map,
    ) -> Vec<Workload<'m>> {
        let Some((key, value)) = selector.iter().next() else {
            return self.in_namespace(mesh, namespace).collect();
        };
        self.by_label
            .get(&label_slot(namespace, key, &value_str(value)))
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&position| self.workload(mesh, position))
            .filter(|workload| {
                workload.namespace() == namespace && matches_labels(selector, workload.labels())
            })
            .collect()
    }
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
fn selector_pairs(controller: &Resource) -> Option<&Map> {
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

/// Controllers that select pods by label, per namespace (Jobs and CronJobs match pods by owner
/// only).
fn controllers_by_namespace(mesh: &Mesh) -> FxHashMap<&str, NamespaceControllers<'_>> {
    let mut by_namespace: FxHashMap<&str, NamespaceControllers> = FxHashMap::default();
    for kind in [
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::ReplicaSet,
    ] {
        for controller in mesh.of_kind(kind) {
            by_namespace
                .entry(controller.namespace.as_str())
                .or_default()
                .add(controller);
        }
    }
    by_namespace
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::tests::mesh;

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: web}]}\n---\n";

    #[test]
    fn a_controller_holds_its_template_and_its_running_pods() {
        let yaml = format!(
            "{DEPLOYMENT}apiVersion: v1\nkind: Pod\nmetadata: {{name: web-5d8c-abcde, namespace: shop, labels: {{app: web}}, ownerReferences: [{{kind: ReplicaSet, name: web-5d8c}}]}}\nspec: {{containers: [{{name: web, image: web}}]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: debug, namespace: shop, labels: {{run: debug}}}}\nspec: {{containers: [{{name: sh, image: busybox}}]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: api-5f6d-x, namespace: shop, ownerReferences: [{{kind: ReplicaSet, name: api-5f6d}}]}}\nspec: {{containers: [{{name: api, image: api}}]}}\n"
        );
        let mesh = mesh(&yaml);
        let index = mesh.workloads();
        let names: Vec<String> = index.all(&mesh).map(|w| w.display()).collect();
        assert_eq!(
            names,
            [
                "Deployment web.shop",
                "Pod debug.shop",
                "Pod api-5f6d-x.shop"
            ]
        );
        let web = index.all(&mesh).next().unwrap();
        assert_eq!(web.describe(), "Deployment shop/web");
        assert_eq!(web.pod_count(), 1);
        assert_eq!(web.pod.path, &["spec", "template"]);
        let pod = mesh.get(Kind::Pod, "shop", "web-5d8c-abcde").unwrap();
        assert_eq!(
            index.controller_of(&mesh, pod).map(Resource::name),
            Some("web")
        );
        assert_eq!(
            index.of_pod(&mesh, pod).map(|w| w.resource.name()),
            Some("web")
        );
        let selector = meshcheck_input::json!({"app": "web"});
        let selected = index.selected(&mesh, "shop", selector.as_object().unwrap());
        assert_eq!(selected.len(), 1);
        assert_eq!(index.in_namespace(&mesh, "shop").count(), 3);
    }

    #[test]
    fn a_controller_without_template_stands_for_its_first_pod_or_is_left_out() {
        let mesh = mesh(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: x}\nspec: {selector: {matchLabels: {app: a}}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b, namespace: x}\nspec: {selector: {matchLabels: {app: b}}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b-1, namespace: x, labels: {app: b}}\nspec: {containers: [{name: b, image: b:2}]}\n",
        );
        let all: Vec<Workload> = mesh.workloads().all(&mesh).collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].resource.name(), "b");
        assert_eq!(all[0].containers()[0].image, "b:2");
    }

    #[test]
    fn owners_and_generating_controllers() {
        let mesh = mesh(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n---\napiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web-5d8c, namespace: shop, ownerReferences: [{kind: Service, name: web}, {kind: Deployment, name: web}]}\n",
        );
        let set = mesh.get(Kind::ReplicaSet, "shop", "web-5d8c").unwrap();
        let owner = listed_owner(&mesh, set, &[Kind::Deployment, Kind::CronJob]);
        assert_eq!(owner.map(Resource::name), Some("web"));
        assert!(listed_owner(&mesh, set, &[Kind::CronJob]).is_none());
        assert_eq!(owner_references(set).count(), 2);
        let generated = generating_controller(&mesh, "shop", Kind::ReplicaSet, "web-7f9b");
        assert_eq!(generated.map(Resource::name), Some("web"));
        assert!(generating_controller(&mesh, "shop", Kind::Job, "web-7f9b").is_none());
        assert!(generating_controller(&mesh, "shop", Kind::ReplicaSet, "web-").is_none());
        assert_eq!(controller_kind("CronJob"), Some(Kind::CronJob));
        assert_eq!(controller_kind("Service"), None);
    }
}
