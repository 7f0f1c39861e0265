//! The mesh: every resource, indexed once so that rules never scan raw objects.

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::sync::Arc;

use meshcheck_input::Object;
use meshcheck_input::{Map, Value};

use crate::cluster::{ClusterInfo, InputSource};
use crate::derived::DerivedCache;
use crate::hosts::HostIndex;
use crate::meshconfig::{MeshConfig, MeshNetworks};
use crate::proxy_stats::ProxyStats;
use crate::resource::ResourceId;
use crate::selector::{label_slot, matches_labels, push_once, value_str};
use crate::stand_in::StandInIngress;
use crate::{Kind, PodTemplate, Resource};

/// Extra configuration given beside the objects (`--mesh-config`, `--mesh-networks`).
#[derive(Debug, Default, Clone)]
pub struct MeshInputs {
    /// A MeshConfig document (YAML/JSON), from `--mesh-config`.
    pub mesh_config: Option<(String, Value)>,
    /// A MeshNetworks document, from `--mesh-networks`.
    pub mesh_networks: Option<(String, Value)>,
    /// Where the objects came from (archive manifest facts); manifests by default.
    pub cluster: ClusterInfo,
    /// Envoy admin stats dumps (`--proxy-stats`, an archive's `proxy-stats/`).
    pub proxy_stats: Vec<ProxyStats>,
}

/// Kubernetes' own namespaces. Like `istioctl analyze`, meshcheck leaves their objects out of the
/// mesh: they are not the user's to fix and would only add noise.
pub const SYSTEM_NAMESPACES: [&str; 4] = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "local-path-storage",
];

/// kind → namespace → name → resource: answers lookups by borrowed names, without building an
/// owned key per lookup (rules look objects up millions of times on a large mesh).
#[derive(Debug, Default)]
struct NameIndex(FxHashMap<Kind, FxHashMap<String, FxHashMap<String, ResourceId>>>);

impl NameIndex {
    fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<ResourceId> {
        self.0.get(&kind)?.get(namespace)?.get(name).copied()
    }

    fn insert(&mut self, kind: Kind, namespace: &str, name: String, id: ResourceId) {
        let namespaces = self.0.entry(kind).or_default();
        // Copies the namespace only for its first object.
        let names = match namespaces.get_mut(namespace) {
            Some(names) => names,
            None => namespaces.entry(namespace.to_owned()).or_default(),
        };
        names.insert(name, id);
    }
}

/// The indexed mesh.
#[derive(Debug)]
pub struct Mesh {
    pub resources: Vec<Resource>,
    /// Objects left out because they live in a [`SYSTEM_NAMESPACES`] namespace.
    pub system_objects_skipped: usize,
    by_kind: FxHashMap<Kind, Vec<ResourceId>>,
    by_name: NameIndex,
    pods_by_namespace: FxHashMap<String, Vec<ResourceId>>,
    /// [`label_slot`] of (namespace, label key, label value) → pods, to answer selectors without
    /// scanning; `""` as the namespace for pods in any namespace.
    pod_labels: FxHashMap<u64, Vec<ResourceId>>,
    /// [`label_slot`] of (namespace, first selector key, its value) → Services: finds the
    /// Services that select a set of labels without scanning every Service (a Service can only
    /// match labels that carry its first selector pair). One flat table: a lookup is one probe.
    service_selectors: FxHashMap<u64, Vec<ResourceId>>,
    pub hosts: HostIndex,
    pub mesh_config: MeshConfig,
    pub mesh_networks: Option<MeshNetworks>,
    /// The ingress gateway `istioctl analyze` assumes when analyzing files (see [`StandInIngress`]).
    pub stand_in_ingress: Option<StandInIngress>,
    /// Input-level facts: source kind, Kubernetes version, collection gaps.
    pub cluster: ClusterInfo,
    /// Envoy admin stats of individual proxies, when given.
    pub proxy_stats: Vec<ProxyStats>,
    /// Facts computed once per run and shared by the rules that need them.
    derived: DerivedCache,
    /// Every pod's proxy (see [`crate::inventory::proxies`]): kept here rather than in
    /// `derived` so that proxies can borrow the strings read once from the pods.
    pub(crate) proxy_facts: std::sync::OnceLock<crate::inventory::ProxyFacts>,
    /// Every workload (see [`Mesh::workloads`]): here rather than in `derived` so that
    /// workloads can borrow their pod lists from it.
    workload_index: std::sync::OnceLock<crate::workloads::WorkloadIndex>,
}

impl Mesh {
    /// Builds the mesh from loaded objects. Later duplicates of the same object replace earlier
    /// ones, as `kubectl apply` of the same files would.
    pub fn build(objects: Vec<Object>, inputs: MeshInputs) -> Mesh {
        let mut resources: Vec<Resource> = Vec::with_capacity(objects.len());
        let mut by_name = NameIndex::default();
        let mut system_objects_skipped = 0;
        // Resolving kinds and finding each object's common parts is per object: done in parallel,
        // kind by kind so that the parts of one kind's objects lie together in memory, the way
        // rules walk them (see `meshcheck_input::parse_files`); then back in input order.
        let mut numbered: Vec<(usize, Object)> = objects.into_iter().enumerate().collect();
        numbered.sort_by(|(_, a), (_, b)| a.kind.cmp(&b.kind));
        let mut numbered: Vec<(usize, Resource)> = numbered
            .into_par_iter()
            .map(|(position, object)| (position, Resource::new(object)))
            .collect();
        numbered.sort_unstable_by_key(|(position, _)| *position);
        let parsed = numbered.into_iter().map(|(_, resource)| resource);
        for mut resource in parsed {
            let home = if resource.kind == Kind::Namespace {
                resource.name()
            } else {
                resource.namespace.as_str()
            };
            if SYSTEM_NAMESPACES.contains(&home) {
                system_objects_skipped += 1;
                continue;
            }
            // Unknown kinds are keyed by their own kind name so that they never collide.
            let name = if resource.kind == Kind::Other {
                format!(
                    "{}/{}/{}",
                    resource.object().api_version,
                    resource.object().kind,
                    resource.name()
                )
            } else {
                resource.name().to_owned()
            };
            match by_name.get(resource.kind, &resource.namespace, &name) {
                Some(existing) => {
                    resource.id = existing;
                    resources[existing as usize] = resource;
                }
                None => {
                    resource.id = resources.len() as ResourceId;
                    by_name.insert(resource.kind, &resource.namespace, name, resource.id);
                    resources.push(resource);
                }
            }
        }
        let mut by_kind: FxHashMap<Kind, Vec<ResourceId>> = FxHashMap::default();
        let mut pods_by_namespace: FxHashMap<String, Vec<ResourceId>> = FxHashMap::default();
        let mut pod_labels: FxHashMap<u64, Vec<ResourceId>> = FxHashMap::default();
        for (index, resource) in resources.iter().enumerate() {
            let id = index as ResourceId;
            by_kind.entry(resource.kind).or_default().push(id);
            if resource.kind == Kind::Pod {
                let namespace = resource.namespace.as_str();
                match pods_by_namespace.get_mut(namespace) {
                    Some(pods) => pods.push(id),
                    None => {
                        pods_by_namespace.insert(namespace.to_owned(), vec![id]);
                    }
                }
                for (key, value) in resource.labels() {
                    let value = value_str(value);
                    for scope in [namespace, ""] {
                        push_once(
                            pod_labels
                                .entry(label_slot(scope, key, &value))
                                .or_default(),
                            id,
                        );
                    }
                }
            }
        }
        let mut service_selectors: FxHashMap<u64, Vec<ResourceId>> = FxHashMap::default();
        for &id in by_kind
            .get(&Kind::Service)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let service = &resources[id as usize];
            let first = service
                .spec()
                .get("selector")
                .and_then(Value::as_object)
                .and_then(|selector| selector.iter().next());
            if let Some((key, value)) = first {
                let slot = label_slot(&service.namespace, key, &value_str(value));
                service_selectors.entry(slot).or_default().push(id);
            }
        }
        let of_kind = |kind: Kind| {
            by_kind
                .get(&kind)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|&id| (id, &resources[id as usize]))
        };
        let hosts = HostIndex::build(of_kind(Kind::ServiceEntry), of_kind(Kind::Service));
        let mesh_config = MeshConfig::resolve(inputs.mesh_config, of_kind(Kind::ConfigMap));
        let mesh_networks = MeshNetworks::resolve(
            inputs.mesh_networks,
            of_kind(Kind::ConfigMap),
            &mesh_config.root_namespace,
        );
        // istioctl assumes its stand-in ingress only for files; a collected cluster shows the real one.
        let stand_in_ingress = (inputs.cluster.source == InputSource::Manifests)
            .then(|| {
                StandInIngress::resolve(
                    &mesh_config,
                    |namespace, name| by_name.get(Kind::Pod, namespace, name).is_some(),
                    |namespace, name| by_name.get(Kind::Service, namespace, name).is_some(),
                )
            })
            .flatten();
        Mesh {
            cluster: inputs.cluster,
            proxy_stats: inputs.proxy_stats,
            resources,
            system_objects_skipped,
            stand_in_ingress,
            by_kind,
            by_name,
            pods_by_namespace,
            pod_labels,
            service_selectors,
            hosts,
            mesh_config,
            mesh_networks,
            derived: DerivedCache::default(),
            proxy_facts: std::sync::OnceLock::new(),
            workload_index: std::sync::OnceLock::new(),
        }
    }

    /// Forgets every derived fact, so that the next rule run computes them again (benchmarks
    /// measuring repeated runs over one mesh).
    pub fn clear_derived(&mut self) {
        self.derived = DerivedCache::default();
        self.proxy_facts = std::sync::OnceLock::new();
        self.workload_index = std::sync::OnceLock::new();
    }

    /// A fact derived from the whole mesh, built on first use and shared afterwards (see
    /// [`DerivedCache`]). `T` identifies the fact: one type, one builder.
    pub fn derived<T: std::any::Any + Send + Sync>(
        &self,
        build: impl FnOnce(&Mesh) -> T,
    ) -> Arc<T> {
        self.derived.get_or_build(|| build(self))
    }

    /// Every workload of the mesh with its template and running pods, built on first use.
    pub fn workloads(&self) -> &crate::workloads::WorkloadIndex {
        self.workload_index
            .get_or_init(|| crate::workloads::WorkloadIndex::build(self))
    }

    pub fn resource(&self, id: ResourceId) -> &Resource {
        &self.resources[id as usize]
    }

    /// Every resource of a kind, in input order.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Resource> {
        self.ids_of_kind(kind).iter().map(|&id| self.resource(id))
    }

    pub fn ids_of_kind(&self, kind: Kind) -> &[ResourceId] {
        self.by_kind
            .get(&kind)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.ids_of_kind(kind).len()
    }

    /// Looks an object up by kind, namespace (`""` for cluster-scoped kinds) and name.
    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Resource> {
        self.by_name
            .get(kind, namespace, name)
            .map(|id| self.resource(id))
    }

    pub fn namespace(&self, name: &str) -> Option<&Resource> {
        self.get(Kind::Namespace, "", name)
    }

    /// The namespaces the mesh knows of: Namespace objects plus every namespace an object names.
    pub fn namespace_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .of_kind(Kind::Namespace)
            .map(Resource::name)
            .chain(
                self.resources
                    .iter()
                    .filter(|resource| !resource.namespace.is_empty())
                    .map(|resource| resource.namespace.as_str()),
            )
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    pub fn pods_in(&self, namespace: &str) -> impl Iterator<Item = &Resource> {
        self.pods_by_namespace
            .get(namespace)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&id| self.resource(id))
    }

    /// Pods whose labels match `selector` (a `matchLabels`-style map), in `namespace` or, with
    /// `None`, in any namespace. An empty selector matches every pod in scope.
    pub fn pods_matching(&self, namespace: Option<&str>, selector: &Map) -> Vec<&Resource> {
        let Some((key, value)) = selector.iter().next() else {
            return match namespace {
                Some(namespace) => self.pods_in(namespace).collect(),
                None => self.of_kind(Kind::Pod).collect(),
            };
        };
        let slot = label_slot(namespace.unwrap_or_default(), key, &value_str(value));
        self.pod_labels
            .get(&slot)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&id| self.resource(id))
            .filter(|pod| matches_labels(selector, pod.labels()))
            .collect()
    }

    /// Services in the pod's namespace whose (non-empty) selector matches the pod's labels.
    pub fn services_selecting<'a>(
        &'a self,
        pod: &'a Resource,
    ) -> impl Iterator<Item = &'a Resource> {
        self.services_selecting_labels(&pod.namespace, pod.labels())
            .into_iter()
    }

    /// Services in `namespace` whose (non-empty) selector matches `labels`, in input order.
    pub fn services_selecting_labels(&self, namespace: &str, labels: &Map) -> Vec<&Resource> {
        let mut found: Vec<ResourceId> = labels
            .iter()
            .filter_map(|(key, value)| {
                self.service_selectors
                    .get(&label_slot(namespace, key, &value_str(value)))
            })
            .flatten()
            .copied()
            .filter(|&id| {
                self.resource(id)
                    .spec()
                    .get("selector")
                    .and_then(Value::as_object)
                    .is_some_and(|selector| matches_labels(selector, labels))
            })
            .collect();
        found.sort_unstable();
        // Two labels sharing a slot would find a Service twice.
        found.dedup();
        found.into_iter().map(|id| self.resource(id)).collect()
    }

    /// The root namespace of the mesh (`rootNamespace` in mesh config, `istio-system` by default).
    pub fn root_namespace(&self) -> &str {
        &self.mesh_config.root_namespace
    }

    /// Whether a pod or pod template runs (or will run) with an Istio sidecar: it has an
    /// `istio-proxy` container, or its `sidecar.istio.io/inject` label/annotation, or its
    /// namespace's `istio-injection=enabled` label, says so.
    pub fn pod_in_mesh(&self, namespace: &str, pod: &PodTemplate<'_>) -> bool {
        if pod.has_proxy {
            return true;
        }
        if let Some(inject) = pod.inject {
            return value_str(inject) == "true";
        }
        match self.namespace(namespace) {
            Some(namespace) => namespace.label("istio-injection") == Some("enabled"),
            None => false,
        }
    }

    /// Whether new pods of a namespace get a sidecar: `istio-injection=enabled`, or a revision
    /// label `istio.io/rev` without `istio-injection=disabled`.
    pub fn namespace_injected(&self, namespace: &str) -> bool {
        let Some(namespace) = self.namespace(namespace) else {
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

    /// [`Mesh::pod_in_mesh`] for a Pod (or controller) resource.
    pub fn pod_resource_in_mesh(&self, resource: &Resource) -> bool {
        resource
            .pod_template()
            .is_some_and(|pod| self.pod_in_mesh(&resource.namespace, pod))
    }

    /// Whether the pod runs in ambient mode (redirected by ztunnel).
    pub fn pod_in_ambient(&self, pod: &Resource) -> bool {
        pod.annotation("ambient.istio.io/redirection") == Some("enabled")
    }

    /// Whether a namespace is enrolled in ambient mode (and not in sidecar injection).
    pub fn namespace_in_ambient(&self, namespace: &str) -> bool {
        let Some(namespace) = self.namespace(namespace) else {
            return false;
        };
        if namespace.label("istio-injection") == Some("enabled") {
            return false;
        }
        if namespace
            .label("istio.io/rev")
            .is_some_and(|rev| !rev.is_empty())
        {
            return false;
        }
        namespace.label("istio.io/dataplane-mode") == Some("ambient")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use meshcheck_input::parse_documents;
    use std::sync::Arc;

    pub(crate) fn mesh(yaml: &str) -> Mesh {
        let (objects, issues) = parse_documents(&Arc::from("t.yaml"), yaml);
        assert!(issues.is_empty(), "{issues:?}");
        Mesh::build(objects, MeshInputs::default())
    }

    #[test]
    fn pods_by_label_in_a_namespace_or_anywhere() {
        let mesh = mesh(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {app: web, tier: '1'}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: y, labels: {app: web, tier: 1}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: x, labels: {app: db}}\n",
        );
        let names = |namespace: Option<&str>, selector: meshcheck_input::Value| {
            let mut names: Vec<&str> = mesh
                .pods_matching(namespace, selector.as_object().unwrap())
                .into_iter()
                .map(Resource::name)
                .collect();
            names.sort_unstable();
            names
        };
        assert_eq!(
            names(None, meshcheck_input::json!({"app": "web"})),
            ["a", "b"]
        );
        assert_eq!(
            names(Some("x"), meshcheck_input::json!({"app": "web"})),
            ["a"]
        );
        // A number and its text are the same label value, as Kubernetes stores both as strings.
        assert_eq!(names(None, meshcheck_input::json!({"tier": 1})), ["a", "b"]);
        assert_eq!(
            names(None, meshcheck_input::json!({"app": "web", "tier": "2"})),
            Vec::<&str>::new()
        );
        assert_eq!(
            names(Some("y"), meshcheck_input::json!({"app": "db"})),
            Vec::<&str>::new()
        );
        assert_eq!(names(Some("x"), meshcheck_input::json!({})), ["a", "c"]);
    }

    #[test]
    fn indexes_and_defaults_namespace() {
        let mesh = mesh(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: a}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: default}\nspec: {selector: {app: a}, ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: default, labels: {istio-injection: enabled}}\n",
        );
        let pod = mesh.get(Kind::Pod, "default", "p").unwrap();
        assert_eq!(pod.object().namespace, None);
        assert_eq!(mesh.services_selecting(pod).count(), 1);
        let selector = meshcheck_input::json!({"app": "a"});
        assert_eq!(
            mesh.pods_matching(None, selector.as_object().unwrap())
                .len(),
            1
        );
        assert!(mesh.pod_resource_in_mesh(pod));
        let target = mesh.hosts.lookup("default", &[], "a").unwrap();
        assert_eq!(target.kind, Kind::Service);
        assert!(mesh.hosts.lookup("other", &[], "a").is_none());
        assert!(
            mesh.hosts
                .lookup("other", &[], "a.default.svc.cluster.local")
                .is_some()
        );
    }

    #[test]
    fn service_entry_export_scopes() {
        let mesh = mesh(
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se, namespace: a}\nspec: {hosts: ['*.example.com'], exportTo: ['.']}\n",
        );
        assert!(mesh.hosts.lookup("a", &[], "api.example.com").is_some());
        assert!(mesh.hosts.lookup("b", &[], "api.example.com").is_none());
    }
}
