//! Workloads as the application and performance rules see them: every pod template of a
//! controller (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) and every Pod that
//! no controller in the input accounts for, so that a finding lands once on the object a user
//! edits rather than once per replica.

use meshcheck_model::selector::{matches_label_selector, matches_labels};
use meshcheck_model::{Kind, Mesh, Resource, items, str_field};
use serde_json::{Map, Value};

/// Controllers whose pod template sits at `spec.template`.
const TEMPLATE_CONTROLLERS: [Kind; 5] = [
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::ReplicaSet,
    Kind::Job,
];

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// A pod template (or a bare Pod) with where it lives in its resource.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Workload<'a> {
    pub resource: &'a Resource,
    /// Path from the resource's root to the pod (template): empty for a Pod.
    pub pod_path: &'static [&'static str],
    pub metadata: &'a Value,
    pub spec: &'a Value,
}

impl<'a> Workload<'a> {
    fn of(resource: &'a Resource, pod_path: &'static [&'static str]) -> Workload<'a> {
        let mut pod = resource.value();
        for key in pod_path {
            pod = pod.get(key).unwrap_or(&Value::Null);
        }
        Workload {
            resource,
            pod_path,
            metadata: pod.get("metadata").unwrap_or(&Value::Null),
            spec: pod.get("spec").unwrap_or(&Value::Null),
        }
    }

    /// The workload as a Pod resource.
    pub fn of_pod(pod: &'a Resource) -> Workload<'a> {
        Workload::of(pod, &[])
    }

    pub fn namespace(&self) -> &'a str {
        &self.resource.namespace
    }

    pub fn labels(&self) -> &'a Map<String, Value> {
        self.metadata
            .get("labels")
            .and_then(Value::as_object)
            .unwrap_or(&EMPTY)
    }

    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.metadata
            .get("annotations")
            .and_then(|annotations| annotations.get(key))
            .and_then(Value::as_str)
    }

    /// `spec.containers` of the pod.
    pub fn containers(&self) -> impl Iterator<Item = &'a Value> {
        items(self.spec.get("containers"))
    }

    pub fn init_containers(&self) -> impl Iterator<Item = &'a Value> {
        items(self.spec.get("initContainers"))
    }

    /// The injected `istio-proxy` container (a container, or a native-sidecar init container).
    pub fn proxy_container(&self) -> Option<&'a Value> {
        self.containers()
            .chain(self.init_containers())
            .find(|container| str_field(container, "name") == Some("istio-proxy"))
    }

    /// A field path below the pod (`["spec", "containers", "0"]`) as a path from the resource.
    pub fn path(&self, below: &[&'a str]) -> Vec<&'a str> {
        self.pod_path
            .iter()
            .copied()
            .chain(below.iter().copied())
            .collect()
    }

    /// Whether the pod runs (or will run) with an Istio sidecar.
    pub fn in_mesh(&self, mesh: &Mesh) -> bool {
        mesh.pod_in_mesh(self.namespace(), self.metadata, self.spec)
    }

    /// `Deployment reviews-v1` as written in messages.
    pub fn describe(&self) -> String {
        format!(
            "{} {}",
            self.resource.object.kind,
            self.resource.display_name()
        )
    }
}

fn pod_path(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::CronJob => &["spec", "jobTemplate", "spec", "template"],
        Kind::Pod => &[],
        _ => &["spec", "template"],
    }
}

/// Whether a ReplicaSet or Job is owned by a controller that is itself in the input (its template
/// would be reported twice otherwise).
fn owned_by_listed_controller(mesh: &Mesh, resource: &Resource) -> bool {
    items(resource.metadata().get("ownerReferences")).any(|owner| {
        let kind = match str_field(owner, "kind") {
            Some("Deployment") => Kind::Deployment,
            Some("CronJob") => Kind::CronJob,
            _ => return false,
        };
        mesh.get(
            kind,
            &resource.namespace,
            str_field(owner, "name").unwrap_or_default(),
        )
        .is_some()
    })
}

/// The controller in the input that a Pod belongs to: its owner (through a ReplicaSet to the
/// Deployment, through a Job to the CronJob), or a controller of its namespace whose selector
/// matches its labels when the owner chain is not in the input.
pub(crate) fn controller_of<'a>(mesh: &'a Mesh, pod: &Resource) -> Option<&'a Resource> {
    for owner in items(pod.metadata().get("ownerReferences")) {
        let name = str_field(owner, "name").unwrap_or_default();
        let kind = match str_field(owner, "kind") {
            Some("ReplicaSet") => Kind::ReplicaSet,
            Some("StatefulSet") => Kind::StatefulSet,
            Some("DaemonSet") => Kind::DaemonSet,
            Some("Job") => Kind::Job,
            _ => continue,
        };
        if let Some(owner) = mesh.get(kind, &pod.namespace, name) {
            let parent = items(owner.metadata().get("ownerReferences")).find_map(|parent| {
                let kind = match str_field(parent, "kind") {
                    Some("Deployment") => Kind::Deployment,
                    Some("CronJob") => Kind::CronJob,
                    _ => return None,
                };
                mesh.get(
                    kind,
                    &pod.namespace,
                    str_field(parent, "name").unwrap_or_default(),
                )
            });
            return Some(parent.unwrap_or(owner));
        }
        // A ReplicaSet is named `<deployment>-<hash>`, a CronJob's Job `<cronjob>-<time>`.
        if let Some((prefix, _)) = name.rsplit_once('-') {
            let parent_kind = if kind == Kind::ReplicaSet {
                Kind::Deployment
            } else if kind == Kind::Job {
                Kind::CronJob
            } else {
                continue;
            };
            if let Some(parent) = mesh.get(parent_kind, &pod.namespace, prefix) {
                return Some(parent);
            }
        }
    }
    // A Pod with owners outside the input belongs to something meshcheck does not see; only a
    // Pod without owners (hand-written manifests) is matched to controllers by selector.
    if pod.metadata().get("ownerReferences").is_some() {
        return None;
    }
    TEMPLATE_CONTROLLERS
        .iter()
        .filter(|kind| **kind != Kind::Job)
        .flat_map(|kind| mesh.of_kind(*kind))
        .filter(|controller| controller.namespace == pod.namespace)
        .find(|controller| {
            controller
                .spec()
                .get("selector")
                .filter(|selector| selector.is_object())
                .is_some_and(|selector| {
                    let has_terms = selector.get("matchLabels").is_some()
                        || selector.get("matchExpressions").is_some();
                    if has_terms {
                        matches_label_selector(selector, pod.labels())
                    } else {
                        selector.as_object().is_some_and(|labels| {
                            !labels.is_empty() && matches_labels(labels, pod.labels())
                        })
                    }
                })
        })
}

/// Every workload: controller templates in input order (ReplicaSets and Jobs owned by a listed
/// Deployment or CronJob left out), then Pods no listed controller accounts for.
pub(crate) fn workloads(mesh: &Mesh) -> Vec<Workload<'_>> {
    let mut found = Vec::new();
    for kind in [
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::ReplicaSet,
        Kind::Job,
        Kind::CronJob,
    ] {
        for resource in mesh.of_kind(kind) {
            if matches!(kind, Kind::ReplicaSet | Kind::Job)
                && owned_by_listed_controller(mesh, resource)
            {
                continue;
            }
            found.push(Workload::of(resource, pod_path(kind)));
        }
    }
    for pod in mesh.of_kind(Kind::Pod) {
        if controller_of(mesh, pod).is_none() {
            found.push(Workload::of_pod(pod));
        }
    }
    found
}

/// The workloads whose pods run (or will run) with an Istio sidecar, leaving out Istio's own
/// gateways and control plane (labelled `istio: ...` or in the root namespace).
pub(crate) fn mesh_workloads(mesh: &Mesh) -> Vec<Workload<'_>> {
    workloads(mesh)
        .into_iter()
        .filter(|workload| {
            workload.in_mesh(mesh)
                && !is_istio_component(workload)
                && workload.namespace() != mesh.root_namespace()
        })
        .collect()
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
    use meshcheck_model::MeshInputs;
    use std::sync::Arc;

    fn mesh(yaml: &str) -> Mesh {
        let (objects, issues) = meshcheck_input::parse_documents(&Arc::from("t.yaml"), yaml);
        assert!(issues.is_empty(), "{issues:?}");
        Mesh::build(objects, MeshInputs::default())
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: web}]}\n---\n";

    #[test]
    fn pods_of_a_listed_deployment_are_not_workloads_of_their_own() {
        let yaml = format!(
            "{DEPLOYMENT}apiVersion: v1\nkind: Pod\nmetadata: {{name: web-5d8c-abcde, namespace: shop, labels: {{app: web}}, ownerReferences: [{{kind: ReplicaSet, name: web-5d8c}}]}}\nspec: {{containers: [{{name: web, image: web}}]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: debug, namespace: shop, labels: {{run: debug}}}}\nspec: {{containers: [{{name: sh, image: busybox}}]}}\n"
        );
        let mesh = mesh(&yaml);
        let names: Vec<String> = workloads(&mesh).iter().map(Workload::describe).collect();
        assert_eq!(names, ["Deployment web.shop", "Pod debug.shop"]);
        let deployment = workloads(&mesh)[0];
        let pod = mesh.get(Kind::Pod, "shop", "web-5d8c-abcde").unwrap();
        assert!(
            controller_of(&mesh, pod).is_some_and(|owner| std::ptr::eq(owner, deployment.resource))
        );
        assert_eq!(deployment.path(&["spec"]), ["spec", "template", "spec"]);
    }

    #[test]
    fn cron_job_template_path() {
        let mesh = mesh(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: report, namespace: ops}\nspec:\n  schedule: '0 * * * *'\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {app: report}}\n        spec: {containers: [{name: r, image: r}]}\n",
        );
        let found = workloads(&mesh);
        assert_eq!(found[0].labels().len(), 1);
        assert_eq!(found[0].containers().count(), 1);
    }
}
