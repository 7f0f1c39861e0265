//! What a workload's sidecar proxy runs with: its effective ProxyConfig (mesh config
//! `defaultConfig`, then ProxyConfig resources of the root namespace, the workload's namespace
//! and the workload, then the pod's `proxy.istio.io/config` annotation, later ones winning field
//! by field) and its CPU and memory requests and limits (the injected container, else the
//! `sidecar.istio.io/proxy*` annotations, else the injector's `global.proxy.resources`).

use meshcheck_model::ValueAt;
use meshcheck_model::inventory::{bytes, cpu_millis};
use meshcheck_model::selector::matches_labels;
use rustc_hash::FxHashMap;
use std::sync::Arc;

use meshcheck_input::{Map, Value};
use meshcheck_model::{Kind, Mesh, Resource, ResourceId};

use crate::facts::injector::injector_values;
use crate::facts::workloads::{Workload, WorkloadIndex, any_pod};
use crate::{Finding, Sink};

/// One field of the effective proxy configuration and where it was set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Setting {
    pub value: Value,
    /// `mesh config defaultConfig`, `ProxyConfig ns/name`, `annotation proxy.istio.io/config`.
    pub source: String,
}

/// The effective ProxyConfig of a workload, field by field.
#[derive(Debug, Clone, Default)]
pub(crate) struct EffectiveProxyConfig {
    fields: Map,
    sources: Map,
}

impl EffectiveProxyConfig {
    fn apply(&mut self, layer: &Map, source: &str) {
        for (key, value) in layer {
            self.fields.insert(key.clone(), value.clone());
            self.sources.insert(key.clone(), Value::from(source));
        }
    }

    /// A top-level field (`concurrency`, `holdApplicationUntilProxyStarts`, `tracing`).
    pub fn get(&self, key: &str) -> Option<Setting> {
        let value = self.fields.get(key)?.clone();
        let source = self
            .sources
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Some(Setting { value, source })
    }

    /// `concurrency` as a number (ProxyConfig resources and annotations may write it as text).
    pub fn concurrency(&self) -> Option<(i64, String)> {
        let setting = self.get("concurrency")?;
        let number = match &setting.value {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }?;
        Some((number, setting.source))
    }
}

/// The `proxy.istio.io/config` annotation of a pod (template), parsed.
pub(crate) fn annotation_config(workload: &Workload) -> Option<Map> {
    let text = workload.annotation("proxy.istio.io/config")?;
    match meshcheck_input::parse_yaml_document(text).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn proxy_config_selects(config: &Resource, labels: &Map) -> Option<bool> {
    let selector = config
        .spec()
        .at("/selector/matchLabels")
        .and_then(Value::as_object)
        .filter(|selector| !selector.is_empty())?;
    Some(matches_labels(selector, labels))
}

/// The effective ProxyConfig of a workload.
pub(crate) fn effective_proxy_config(mesh: &Mesh, workload: &Workload) -> EffectiveProxyConfig {
    let mut config = EffectiveProxyConfig::default();
    if let Some(defaults) = mesh
        .mesh_config
        .at("/defaultConfig")
        .and_then(Value::as_object)
    {
        config.apply(defaults, "mesh config defaultConfig");
    }
    let resources: Vec<&Resource> = mesh.of_kind(Kind::ProxyConfig).collect();
    let root = mesh.root_namespace();
    let layers = [
        resources.iter().find(|resource| {
            resource.namespace == root
                && proxy_config_selects(resource, workload.labels()).is_none()
        }),
        resources.iter().find(|resource| {
            resource.namespace == workload.namespace()
                && resource.namespace != root
                && proxy_config_selects(resource, workload.labels()).is_none()
        }),
        resources.iter().find(|resource| {
            resource.namespace == workload.namespace()
                && proxy_config_selects(resource, workload.labels()) == Some(true)
        }),
    ];
    for resource in layers.into_iter().flatten() {
        if let Some(spec) = resource.spec().as_object() {
            let mut layer = spec.clone();
            layer.remove("selector");
            config.apply(
                &layer,
                &format!("ProxyConfig {}/{}", resource.namespace, resource.name()),
            );
        }
    }
    if let Some(annotation) = annotation_config(workload) {
        config.apply(&annotation, "annotation proxy.istio.io/config");
    }
    config
}

/// A CPU or memory amount and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Amount {
    /// Millicores for CPU, bytes for memory.
    pub value: u64,
    /// As written (short amounts stay inline: this runs for every running pod).
    pub text: compact_str::CompactString,
    pub source: &'static str,
}

/// The requests and limits of a workload's proxy, as far as the input tells.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProxyResources {
    pub cpu_request: Option<Amount>,
    pub cpu_limit: Option<Amount>,
    pub memory_request: Option<Amount>,
    pub memory_limit: Option<Amount>,
    /// Whether the answer is known: the pod is injected, or the injector's values are in the
    /// input (else Istio's defaults may apply and absence means nothing).
    pub known: bool,
}

fn amount(value: Option<&Value>, cpu: bool, source: &'static str) -> Option<Amount> {
    let value = value?;
    let parsed = if cpu { cpu_millis(value) } else { bytes(value) }?;
    let text = match value {
        Value::String(text) => compact_str::CompactString::from(text.as_str()),
        other => compact_str::CompactString::from(other.to_string()),
    };
    Some(Amount {
        value: parsed,
        text,
        source,
    })
}

/// The proxy's requests and limits: the injected `istio-proxy` container's `resources` when
/// there is one (what actually runs); else the pod's `sidecar.istio.io/proxyCPU`, `proxyCPULimit`,
/// `proxyMemory`, `proxyMemoryLimit` annotations over the injector's `global.proxy.resources`.
/// `injector` is `injector_values` of the mesh, read once by the caller.
pub(crate) fn proxy_resources(injector: Option<&Value>, workload: &Workload) -> ProxyResources {
    // An injected container always carries the injector's resources; one without the field at
    // all is an abridged manifest, which says nothing about them.
    if let Some(resources) = workload
        .proxy_container()
        .and_then(|container| container.get("resources"))
    {
        let source = "the istio-proxy container";
        return ProxyResources {
            cpu_request: amount(resources.at("/requests/cpu"), true, source),
            cpu_limit: amount(resources.at("/limits/cpu"), true, source),
            memory_request: amount(resources.at("/requests/memory"), false, source),
            memory_limit: amount(resources.at("/limits/memory"), false, source),
            known: true,
        };
    }
    let defaults = injector
        .and_then(|values| values.at("/global/proxy/resources"))
        .unwrap_or(&Value::Null);
    let injector_source = "the injector's global.proxy.resources";
    let pick = |annotation: &str, annotation_source: &'static str, pointer: &str, cpu: bool| {
        let from_annotation = workload.annotation(annotation).map(Value::from);
        match from_annotation {
            Some(value) => amount(Some(&value), cpu, annotation_source),
            None => amount(defaults.at(pointer), cpu, injector_source),
        }
    };
    ProxyResources {
        cpu_request: pick(
            "sidecar.istio.io/proxyCPU",
            "annotation sidecar.istio.io/proxyCPU",
            "/requests/cpu",
            true,
        ),
        cpu_limit: pick(
            "sidecar.istio.io/proxyCPULimit",
            "annotation sidecar.istio.io/proxyCPULimit",
            "/limits/cpu",
            true,
        ),
        memory_request: pick(
            "sidecar.istio.io/proxyMemory",
            "annotation sidecar.istio.io/proxyMemory",
            "/requests/memory",
            false,
        ),
        memory_limit: pick(
            "sidecar.istio.io/proxyMemoryLimit",
            "annotation sidecar.istio.io/proxyMemoryLimit",
            "/limits/memory",
            false,
        ),
        known: injector.is_some(),
    }
}

/// `--concurrency N` as the injector wrote it into an injected proxy's arguments.
pub(crate) fn injected_concurrency(workload: &Workload) -> Option<i64> {
    let container = workload.proxy_container()?;
    let args: Vec<&str> = meshcheck_model::items(container.get("args"))
        .filter_map(Value::as_str)
        .collect();
    args.iter().enumerate().find_map(|(index, arg)| {
        if let Some(value) = arg.strip_prefix("--concurrency=") {
            return value.trim_matches('"').parse().ok();
        }
        (*arg == "--concurrency")
            .then(|| args.get(index + 1))
            .flatten()
            .and_then(|value| value.trim_matches('"').parse().ok())
    })
}

/// Whether anything in the input sets the proxy's `concurrency`: the mesh config, a ProxyConfig,
/// a `proxy.istio.io/config` annotation, or an injected `--concurrency` argument.
pub(crate) fn concurrency_configured(mesh: &Mesh) -> bool {
    struct ConcurrencyConfigured(bool);
    mesh.derived(|mesh| ConcurrencyConfigured(find_concurrency_setting(mesh)))
        .0
}

fn find_concurrency_setting(mesh: &Mesh) -> bool {
    mesh.mesh_config.at("/defaultConfig/concurrency").is_some()
        || mesh
            .of_kind(Kind::ProxyConfig)
            .any(|config| config.spec().get("concurrency").is_some())
        || any_pod(mesh, |pod| {
            pod.annotation("proxy.istio.io/config")
                .is_some_and(|config| config.contains("concurrency"))
                || pod
                    .all_containers()
                    .iter()
                    .flat_map(|container| meshcheck_model::items(container.get("args")))
                    .filter_map(Value::as_str)
                    .any(|arg| arg.starts_with("--concurrency"))
        })
}

/// A workload whose pods run an Istio proxy (sidecar or gateway), with the pod that shows what
/// was actually injected when the input has one.
#[derive(Debug, Clone)]
pub(crate) struct ProxiedWorkload<'a> {
    /// What findings point at (the controller, or a standalone Pod).
    pub workload: Workload<'a>,
    /// An injected Pod of the workload when the input has one, else the workload itself.
    pub observed: Workload<'a>,
    /// The proxy's requests and limits ([`proxy_resources`] of `observed`), worked out once
    /// for the several rules that read them.
    pub resources: Arc<ProxyResources>,
}

/// The proxy's `concurrency` in one state of a workload (its template, or a running pod) and
/// where it comes from: the injected `--concurrency` argument, else the effective ProxyConfig.
pub(crate) fn proxy_concurrency(mesh: &Mesh, state: &Workload) -> Option<(i64, String)> {
    match injected_concurrency(state) {
        Some(concurrency) => Some((concurrency, "the injected --concurrency".to_owned())),
        None => effective_proxy_config(mesh, state).concurrency(),
    }
}

impl ProxiedWorkload<'_> {
    /// Reports on the workload's metadata: `The proxy of Deployment web.shop` and `rest`.
    pub(crate) fn report_proxy<'s>(&self, sink: &'s mut Sink, rest: &str) -> &'s mut Finding {
        let path = self.workload.path(&["metadata"]);
        sink.report(
            self.workload.resource,
            &path,
            format!("The proxy of {}{rest}", self.workload.display()),
        )
    }
}

/// The proxied workloads as (workload, observed pod) resource ids with their proxy's
/// resources, computed once per run.
struct ProxiedIds(Vec<(ResourceId, Option<ResourceId>, Arc<ProxyResources>)>);

fn find_proxied(mesh: &Mesh) -> ProxiedIds {
    let index = WorkloadIndex::new(mesh);
    let mut injected: FxHashMap<ResourceId, ResourceId> = FxHashMap::default();
    for pod in mesh.of_kind(Kind::Pod) {
        if crate::facts::workloads::pod_workload(mesh, pod)
            .proxy_container()
            .is_none()
        {
            continue;
        }
        if let Some(controller) = index.controller(pod) {
            injected.entry(controller.id).or_insert(pod.id);
        }
    }
    let injector = injector_values(mesh);
    ProxiedIds(
        index
            .all()
            .iter()
            .filter(|workload| workload.in_mesh() && !mesh.pod_in_ambient(workload.resource))
            .map(|workload| {
                let observed = injected.get(&workload.resource.id).copied();
                let observed_workload = observed
                    .map(|pod| crate::facts::workloads::pod_workload(mesh, mesh.resource(pod)))
                    .unwrap_or_else(|| workload.clone());
                let resources = proxy_resources(injector.as_ref(), &observed_workload);
                (workload.resource.id, observed, Arc::new(resources))
            })
            .collect(),
    )
}

/// Builds the shared proxy facts ahead of the rules (see `engine::prepare`).
pub(crate) fn prepare(mesh: &Mesh) {
    mesh.derived(find_proxied);
    concurrency_configured(mesh);
}

/// Every workload that runs an Istio proxy (ambient pods, which have none, are left out).
pub(crate) fn proxied_workloads(mesh: &Mesh) -> Vec<ProxiedWorkload<'_>> {
    mesh.derived(find_proxied)
        .0
        .iter()
        .map(|(workload, observed, resources)| {
            let workload = crate::facts::workloads::workload_of(mesh, mesh.resource(*workload));
            ProxiedWorkload {
                workload: workload.clone(),
                observed: observed
                    .map(|pod| crate::facts::workloads::pod_workload(mesh, mesh.resource(pod)))
                    .unwrap_or(workload),
                resources: resources.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::injector::injector_values;
    use crate::testing::mesh;

    #[test]
    fn layers_win_in_order() {
        let mesh = mesh(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    defaultConfig:\n      concurrency: 2\n      holdApplicationUntilProxyStarts: true\n---\napiVersion: networking.istio.io/v1beta1\nkind: ProxyConfig\nmetadata: {name: ns, namespace: shop}\nspec: {concurrency: 4}\n---\napiVersion: networking.istio.io/v1beta1\nkind: ProxyConfig\nmetadata: {name: web, namespace: shop}\nspec: {selector: {matchLabels: {app: web}}, concurrency: 6}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata:\n      labels: {app: web}\n      annotations: {proxy.istio.io/config: 'concurrency: 8'}\n    spec: {containers: [{name: web, image: web}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: api}}\n    spec: {containers: [{name: api, image: api}]}\n",
        );
        let workloads = crate::facts::workloads::workloads(&mesh);
        let web = effective_proxy_config(&mesh, &workloads[0]);
        assert_eq!(
            web.concurrency(),
            Some((8, "annotation proxy.istio.io/config".to_owned()))
        );
        let api = effective_proxy_config(&mesh, &workloads[1]);
        assert_eq!(
            api.concurrency(),
            Some((4, "ProxyConfig shop/ns".to_owned()))
        );
        assert_eq!(
            api.get("holdApplicationUntilProxyStarts").unwrap().value,
            Value::Bool(true)
        );
        let resources = proxy_resources(injector_values(&mesh).as_ref(), &workloads[0]);
        assert!(!resources.known);
        assert_eq!(resources.cpu_limit, None);
    }

    #[test]
    fn injected_arguments() {
        let mesh = mesh(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n  - name: istio-proxy\n    image: proxyv2\n    args: [proxy, sidecar, --concurrency, '4']\n    resources: {limits: {cpu: 1500m, memory: 512Mi}}\n",
        );
        let pod = mesh.get(Kind::Pod, "shop", "p").unwrap();
        let workload = crate::facts::workloads::pod_workload(&mesh, pod);
        assert_eq!(injected_concurrency(&workload), Some(4));
        let resources = proxy_resources(None, &workload);
        assert!(resources.known);
        assert_eq!(resources.cpu_limit.unwrap().value, 1500);
        assert_eq!(resources.memory_limit.unwrap().value, 512 * 1024 * 1024);
        assert_eq!(resources.cpu_request, None);
    }
}
