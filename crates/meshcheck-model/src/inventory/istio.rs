//! Istio's own components found in the input: control planes (istiod per revision), gateway
//! workloads, node agents (ztunnel, istio-cni) and every data-plane proxy with its version.

use crate::ValueAt;
use std::collections::{BTreeMap, HashSet};

use meshcheck_input::{Map, Value};

use super::version::{Version, image_version};
use super::workload::WorkloadIds;
use crate::resource::{items, str_field};
use crate::selector::value_text;
use crate::workloads::Workload;
use crate::{Kind, Mesh, Resource, ResourceId};

/// The revision of installs without `istio.io/rev`.
pub const DEFAULT_REVISION: &str = "default";

const CONTROLLER_KINDS: [Kind; 3] = [Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet];

fn label<'a>(labels: &'a Map, key: &str) -> Option<&'a str> {
    labels.get(key).and_then(Value::as_str)
}

/// Whether pod labels are istiod's (`app: istiod` or `istio: pilot`).
pub fn is_istiod_labels(labels: &Map) -> bool {
    label(labels, "app") == Some("istiod") || label(labels, "istio") == Some("pilot")
}

/// One istiod revision.
#[derive(Debug, Clone)]
pub struct ControlPlane<'m> {
    pub workload: Workload<'m>,
    /// `istio.io/rev`, or `default`.
    pub revision: String,
    /// The image of the `discovery` container (or the first container).
    pub image: Option<&'m str>,
    pub version: Option<Version>,
}

impl<'m> ControlPlane<'m> {
    /// The container that runs istiod (`discovery`, else the first) with its index.
    pub fn discovery_container(&self) -> Option<(usize, &'m Value)> {
        let containers: Vec<(usize, &'m Value)> = self
            .workload
            .containers()
            .iter()
            .map(|container| (container.index, container.value))
            .collect();
        containers
            .iter()
            .find(|(_, container)| str_field(container, "name") == Some("discovery"))
            .or(containers.first())
            .copied()
    }
}

fn revision_of(workload: &Workload) -> String {
    workload
        .label("istio.io/rev")
        .filter(|revision| !revision.is_empty())
        .unwrap_or(DEFAULT_REVISION)
        .to_owned()
}

/// Every istiod found: controllers whose pod template carries istiod's labels, then istiod pods
/// no controller in the input accounts for (grouped by namespace and revision).
pub fn control_planes(mesh: &Mesh) -> Vec<ControlPlane<'_>> {
    mesh.derived(|mesh| {
        ControlPlaneIds(
            control_plane_workloads(mesh)
                .iter()
                .map(WorkloadIds::of)
                .collect(),
        )
    })
    .0
    .iter()
    .map(|ids| {
        let workload = ids.resolve(mesh);
        let revision = revision_of(&workload);
        let mut plane = ControlPlane {
            workload,
            revision,
            image: None,
            version: None,
        };
        let image = plane
            .discovery_container()
            .and_then(|(_, container)| str_field(container, "image"));
        plane.image = image;
        plane.version = image
            .and_then(image_version)
            .or_else(|| version_from_labels(&plane.workload));
        plane
    })
    .collect()
}

/// The istiod workloads, computed once per run.
struct ControlPlaneIds(Vec<WorkloadIds>);

fn control_plane_workloads(mesh: &Mesh) -> Vec<Workload<'_>> {
    let mut workloads: Vec<Workload> = Vec::new();
    for kind in CONTROLLER_KINDS {
        for controller in mesh.of_kind(kind) {
            let labels = controller
                .spec()
                .at("/template/metadata/labels")
                .and_then(Value::as_object);
            if labels.is_some_and(is_istiod_labels) {
                workloads.push(Workload::of_controller(mesh, controller));
            }
        }
    }
    // istiod pods no controller accounts for, found through the pod label index.
    let mut candidates: Vec<&Resource> = Vec::new();
    for (key, value) in [("app", "istiod"), ("istio", "pilot")] {
        let mut selector = Map::new();
        selector.insert(key.to_owned(), Value::from(value));
        candidates.extend(mesh.pods_matching(None, &selector));
    }
    // Resources live in one Vec: address order is input order.
    candidates.sort_by_key(|pod| *pod as *const Resource);
    candidates.dedup_by_key(|pod| *pod as *const Resource);
    workloads.extend(group_orphans(mesh, &workloads, candidates));
    workloads
}

/// The Istio version install labels record, for images pinned by digest or retagged: Helm's
/// `app.kubernetes.io/version` and `helm.sh/chart: istiod-<version>`, istioctl's
/// `operator.istio.io/version`.
fn version_from_labels(workload: &Workload) -> Option<Version> {
    let labels = |key: &str| workload.label(key);
    labels("app.kubernetes.io/version")
        .or_else(|| labels("operator.istio.io/version"))
        .and_then(Version::parse)
        .or_else(|| {
            labels("helm.sh/chart")
                .and_then(|chart| chart.strip_prefix("istiod-"))
                .and_then(Version::parse)
        })
        .filter(|version| version.patch.is_some())
}

/// Pods matching `wanted` that none of `known` covers, grouped by namespace and revision.
fn orphan_pods<'m>(
    mesh: &'m Mesh,
    known: &[Workload<'m>],
    wanted: impl Fn(&Resource) -> bool,
) -> Vec<Workload<'m>> {
    let candidates = mesh.of_kind(Kind::Pod).filter(|pod| wanted(pod)).collect();
    group_orphans(mesh, known, candidates)
}

/// `candidates` that none of `known` covers, grouped by namespace and revision (input order).
fn group_orphans<'m>(
    mesh: &'m Mesh,
    known: &[Workload<'m>],
    mut candidates: Vec<&'m Resource>,
) -> Vec<Workload<'m>> {
    let covered: HashSet<*const Resource> = known
        .iter()
        .flat_map(|workload| workload.pods().map(|pod| pod as *const Resource))
        .collect();
    candidates.retain(|pod| !covered.contains(&(*pod as *const Resource)));
    let mut groups: BTreeMap<(String, String), Vec<&Resource>> = BTreeMap::new();
    for pod in candidates {
        let revision = pod.label("istio.io/rev").unwrap_or(DEFAULT_REVISION);
        groups
            .entry((pod.namespace.clone(), revision.to_owned()))
            .or_default()
            .push(pod);
    }
    groups
        .into_values()
        .map(|pods| Workload::of_pods(mesh, pods))
        .collect()
}

/// What a gateway workload is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GatewayRole {
    Ingress,
    Egress,
    EastWest,
    Waypoint,
}

impl GatewayRole {
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayRole::Ingress => "ingress gateway",
            GatewayRole::Egress => "egress gateway",
            GatewayRole::EastWest => "east-west gateway",
            GatewayRole::Waypoint => "waypoint",
        }
    }
}

/// The gateway role pod labels and annotations describe, or `None` for non-gateway pods.
/// Recognised: Gateway API managed deployments (`gateway.istio.io/managed`,
/// `istio.io/gateway-name`), pods injected with the `gateway` template, and the classic
/// `istio: <name>gateway` / `istio: ingress` labels of the Istio charts.
pub fn gateway_role(labels: &Map, annotations: &Map, name: &str) -> Option<GatewayRole> {
    let managed = label(labels, "gateway.istio.io/managed");
    let class = label(labels, "gateway.networking.k8s.io/gateway-class-name");
    if managed == Some("istio.io-mesh-controller")
        || class == Some("istio-waypoint")
        || labels.contains_key("istio.io/waypoint-for")
    {
        return Some(GatewayRole::Waypoint);
    }
    let istio = label(labels, "istio").unwrap_or_default();
    if matches!(istio, "pilot" | "ztunnel" | "cni" | "istio-cni-node") {
        return None;
    }
    let templates = annotations
        .get("inject.istio.io/templates")
        .map(value_text)
        .unwrap_or_default();
    let is_gateway = managed.is_some()
        || labels.contains_key("istio.io/gateway-name")
        || templates
            .split(',')
            .any(|template| template.trim() == "gateway")
        || istio.contains("gateway")
        || istio == "ingress"
        || istio == "egress";
    if !is_gateway {
        return None;
    }
    let hint = format!(
        "{istio} {} {name} {}",
        label(labels, "app").unwrap_or_default(),
        class.unwrap_or_default()
    );
    Some(if hint.contains("eastwest") || hint.contains("east-west") {
        GatewayRole::EastWest
    } else if hint.contains("egress") {
        GatewayRole::Egress
    } else {
        GatewayRole::Ingress
    })
}

/// A gateway deployment (or gateway pods without one).
#[derive(Debug, Clone)]
pub struct GatewayWorkload<'m> {
    pub workload: Workload<'m>,
    pub role: GatewayRole,
}

/// Every gateway workload: Deployments/StatefulSets/DaemonSets whose pod template is a gateway,
/// then gateway pods no controller accounts for.
pub fn gateways(mesh: &Mesh) -> Vec<GatewayWorkload<'_>> {
    mesh.derived(|mesh| {
        GatewayIds(
            find_gateways(mesh)
                .iter()
                .map(|gateway| (WorkloadIds::of(&gateway.workload), gateway.role))
                .collect(),
        )
    })
    .0
    .iter()
    .map(|(ids, role)| GatewayWorkload {
        workload: ids.resolve(mesh),
        role: *role,
    })
    .collect()
}

/// The gateway workloads, computed once per run.
struct GatewayIds(Vec<(WorkloadIds, GatewayRole)>);

fn find_gateways(mesh: &Mesh) -> Vec<GatewayWorkload<'_>> {
    let mut found: Vec<GatewayWorkload> = Vec::new();
    for kind in CONTROLLER_KINDS {
        for controller in mesh.of_kind(kind) {
            let template = controller.spec().get("template");
            let labels = template
                .and_then(|template| template.at("/metadata/labels"))
                .and_then(Value::as_object);
            let annotations = template
                .and_then(|template| template.at("/metadata/annotations"))
                .and_then(Value::as_object);
            let (Some(labels), annotations) = (labels, annotations) else {
                continue;
            };
            let empty = Map::new();
            if let Some(role) =
                gateway_role(labels, annotations.unwrap_or(&empty), controller.name())
            {
                found.push(GatewayWorkload {
                    workload: Workload::of_controller(mesh, controller),
                    role,
                });
            }
        }
    }
    let known: Vec<Workload> = found.iter().map(|g| g.workload.clone()).collect();
    for workload in orphan_pods(mesh, &known, |pod| {
        gateway_role(pod.labels(), pod.annotations(), pod.name()).is_some()
    }) {
        let pod = workload.resource;
        if let Some(role) = gateway_role(pod.labels(), pod.annotations(), pod.name()) {
            found.push(GatewayWorkload { workload, role });
        }
    }
    found
}

/// What kind of data-plane proxy a pod runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProxyKind {
    Sidecar,
    Gateway(GatewayRole),
    Ztunnel,
}

impl ProxyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyKind::Sidecar => "sidecar",
            ProxyKind::Gateway(role) => role.as_str(),
            ProxyKind::Ztunnel => "ztunnel",
        }
    }

    /// Whether the proxy is Envoy (sidecars, gateways, waypoints); ztunnel is not.
    pub fn is_envoy(self) -> bool {
        !matches!(self, ProxyKind::Ztunnel)
    }
}

/// One running data-plane proxy.
#[derive(Debug, Clone)]
pub struct Proxy<'m> {
    pub pod: &'m Resource,
    pub kind: ProxyKind,
    /// `containers` or `initContainers` (a native sidecar), and the index there.
    pub container_field: &'static str,
    pub container_index: usize,
    pub image: &'m str,
    pub version: Option<Version>,
    /// The control-plane revision the proxy belongs to (`istio.io/rev` label, the injector's
    /// status annotation, or `default`).
    pub revision: &'m str,
    /// The pod pins its image with `sidecar.istio.io/proxyImage`.
    pub pinned_image: bool,
    /// The `istio-init` container's image and version, when there is one.
    pub init_image: Option<(usize, &'m str, Option<Version>)>,
}

impl Proxy<'_> {
    /// JSON path of the proxy container, for finding lines.
    pub fn container_path(&self) -> [String; 3] {
        [
            "spec".to_owned(),
            self.container_field.to_owned(),
            self.container_index.to_string(),
        ]
    }
}

fn proxy_revision(pod: &Resource) -> String {
    if let Some(revision) = pod.label("istio.io/rev").filter(|rev| !rev.is_empty()) {
        return revision.to_owned();
    }
    // The injector writes `"revision":"<rev>"` into its status annotation; a substring search
    // spares parsing the JSON of every pod.
    pod.annotation("sidecar.istio.io/status")
        .and_then(|status| {
            let start = status.find("\"revision\"")? + "\"revision\"".len();
            let rest = status[start..].trim_start().strip_prefix(':')?.trim_start();
            let rest = rest.strip_prefix('"')?;
            Some(rest[..rest.find('"')?].to_owned())
        })
        .filter(|revision| !revision.is_empty())
        .unwrap_or_else(|| DEFAULT_REVISION.to_owned())
}

/// Whether a pod is ztunnel's (`app: ztunnel`).
pub fn is_ztunnel(pod: &Resource) -> bool {
    pod.label("app") == Some("ztunnel")
}

/// The proxy a pod runs, if any: its `istio-proxy` container (or native-sidecar init container)
/// with a real image (not the `auto` placeholder of uninjected templates).
/// Reads a pod's proxy (if it runs one), interning its strings in `facts`.
fn proxy_of(pod: &Resource, facts: &mut ProxyFacts) -> Option<ProxyFact> {
    if is_istiod_labels(pod.labels()) {
        return None;
    }
    let spec = pod.spec();
    let ztunnel = is_ztunnel(pod);
    let found = items(spec.get("containers"))
        .enumerate()
        .find(|(_, container)| {
            str_field(container, "name") == Some("istio-proxy")
                || (ztunnel && items(spec.get("containers")).count() == 1)
        })
        .map(|(index, container)| (false, index, container))
        .or_else(|| {
            items(spec.get("initContainers"))
                .enumerate()
                .find(|(_, container)| {
                    str_field(container, "name") == Some("istio-proxy")
                        && str_field(container, "restartPolicy") == Some("Always")
                })
                .map(|(index, container)| (true, index, container))
        });
    let (native_sidecar, index, container) = found?;
    let image =
        str_field(container, "image").filter(|image| !image.is_empty() && *image != "auto")?;
    let kind = if ztunnel {
        ProxyKind::Ztunnel
    } else {
        match gateway_role(pod.labels(), pod.annotations(), pod.name()) {
            Some(role) => ProxyKind::Gateway(role),
            None => ProxyKind::Sidecar,
        }
    };
    let init = items(spec.get("initContainers"))
        .enumerate()
        .find(|(_, container)| str_field(container, "name") == Some("istio-init"))
        .and_then(|(index, container)| {
            let image = str_field(container, "image")?;
            Some((index as u32, facts.image(image)))
        });
    Some(ProxyFact {
        pod: pod.id,
        kind,
        native_sidecar,
        container_index: index as u32,
        image: facts.image(image),
        revision: facts.revision(&proxy_revision(pod)),
        pinned_image: pod.annotation("sidecar.istio.io/proxyImage").is_some(),
        init,
    })
}

/// Every pod's proxy, in input order.
pub fn proxies(mesh: &Mesh) -> Vec<Proxy<'_>> {
    let facts = mesh.proxy_facts.get_or_init(|| {
        let mut facts = ProxyFacts::default();
        for pod in mesh.of_kind(Kind::Pod) {
            if let Some(fact) = proxy_of(pod, &mut facts) {
                facts.proxies.push(fact);
            }
        }
        facts
    });
    facts
        .proxies
        .iter()
        .map(|fact| {
            let (image, version) = facts.images.get(fact.image);
            Proxy {
                pod: mesh.resource(fact.pod),
                kind: fact.kind,
                container_field: if fact.native_sidecar {
                    "initContainers"
                } else {
                    "containers"
                },
                container_index: fact.container_index as usize,
                image,
                version: version.clone(),
                revision: facts.revisions.get(fact.revision),
                pinned_image: fact.pinned_image,
                init_image: fact.init.map(|(index, image)| {
                    let (image, version) = facts.images.get(image);
                    (index as usize, image.as_str(), version.clone())
                }),
            }
        })
        .collect()
}

/// Every proxy's facts, read from the pods once per run: rules then never walk a pod's JSON to
/// find its proxy again. Images and revisions are interned: a mesh runs a handful of each, and
/// five rules walk these facts long after they were built, so they are kept small (about 30
/// bytes a proxy, not 250) to stay in cache.
#[derive(Debug, Default)]
pub(crate) struct ProxyFacts {
    proxies: Vec<ProxyFact>,
    /// Each image with its version.
    images: Interner<(String, Option<Version>)>,
    revisions: Interner<String>,
}

/// Distinct values by their text, each stored once and named by its index.
#[derive(Debug)]
struct Interner<T> {
    values: Vec<T>,
    ids: rustc_hash::FxHashMap<String, u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            values: Vec::new(),
            ids: rustc_hash::FxHashMap::default(),
        }
    }
}

impl<T> Interner<T> {
    /// The index of `text`'s value, made by `value` the first time `text` is seen.
    fn id(&mut self, text: &str, value: impl FnOnce() -> T) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(value());
        self.ids.insert(text.to_owned(), id);
        id
    }

    fn get(&self, id: u32) -> &T {
        &self.values[id as usize]
    }
}

impl ProxyFacts {
    fn image(&mut self, image: &str) -> u32 {
        self.images
            .id(image, || (image.to_owned(), image_version(image)))
    }

    fn revision(&mut self, revision: &str) -> u32 {
        self.revisions.id(revision, || revision.to_owned())
    }
}

#[derive(Debug)]
struct ProxyFact {
    pod: ResourceId,
    kind: ProxyKind,
    /// In `initContainers` (a native sidecar), not `containers`.
    native_sidecar: bool,
    container_index: u32,
    /// Index in [`ProxyFacts::images`].
    image: u32,
    /// Index in [`ProxyFacts::revisions`].
    revision: u32,
    pinned_image: bool,
    /// The `istio-init` container's index and image.
    init: Option<(u32, u32)>,
}

/// A per-node agent Istio runs as a DaemonSet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeAgentKind {
    Ztunnel,
    Cni,
}

impl NodeAgentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeAgentKind::Ztunnel => "ztunnel",
            NodeAgentKind::Cni => "istio-cni",
        }
    }
}

/// ztunnel and istio-cni DaemonSets.
pub fn node_agents(mesh: &Mesh) -> Vec<(NodeAgentKind, &Resource)> {
    mesh.of_kind(Kind::DaemonSet)
        .filter_map(|daemon_set| {
            let labels = daemon_set
                .spec()
                .at("/template/metadata/labels")
                .and_then(Value::as_object)?;
            if label(labels, "app") == Some("ztunnel") {
                Some((NodeAgentKind::Ztunnel, daemon_set))
            } else if label(labels, "k8s-app") == Some("istio-cni-node")
                || label(labels, "app") == Some("istio-cni-node")
            {
                Some((NodeAgentKind::Cni, daemon_set))
            } else {
                None
            }
        })
        .collect()
}
