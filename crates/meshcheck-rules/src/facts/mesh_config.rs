//! Helpers shared by the ingress/egress rules: Gateway servers, the gateways a VirtualService
//! binds to, external ServiceEntries, egress gateway workloads, and findings about the mesh
//! config.

use meshcheck_input::{Map, Value};
use meshcheck_model::ValueAt;
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Mesh, Resource, ResourceId, items, str_field, strings};

use crate::facts::virtual_services::{gateways, short_or_full_name};
use crate::facts::workloads::workloads;
use crate::{Finding, ResourceRef, Sink, SourceLocation};

/// One server of an Istio Gateway.
#[derive(Debug)]
pub(crate) struct Server<'a> {
    pub index: usize,
    pub value: &'a Value,
    pub port: u64,
    /// Upper case (`HTTPS`).
    pub protocol: String,
    /// Hosts as written (`ns/host` included).
    pub hosts: Vec<&'a str>,
}

impl<'a> Server<'a> {
    /// Hosts without their namespace part.
    pub(crate) fn bare_hosts(&self) -> Vec<&'a str> {
        self.hosts.iter().map(|host| bare_host(host)).collect()
    }

    pub(crate) fn tls(&self) -> Option<&'a Value> {
        self.value.get("tls").filter(|tls| tls.is_object())
    }

    /// `tls.mode`, upper case (`SIMPLE` when a TLS block sets none, Istio's default).
    pub(crate) fn tls_mode(&self) -> Option<String> {
        let tls = self.tls()?;
        Some(match tls.get("mode") {
            Some(Value::String(mode)) => mode.as_str().to_ascii_uppercase(),
            Some(Value::Number(number)) => match number.as_u64() {
                Some(0) => "PASSTHROUGH",
                Some(2) => "MUTUAL",
                Some(3) => "AUTO_PASSTHROUGH",
                Some(4) => "ISTIO_MUTUAL",
                Some(5) => "OPTIONAL_MUTUAL",
                _ => "SIMPLE",
            }
            .to_owned(),
            _ => "SIMPLE".to_owned(),
        })
    }

    /// Whether the gateway terminates TLS for this server (HTTPS or TLS, not passthrough).
    pub(crate) fn terminates_tls(&self) -> bool {
        matches!(self.protocol.as_str(), "HTTPS" | "TLS")
            && self
                .tls_mode()
                .is_some_and(|mode| !mode.ends_with("PASSTHROUGH"))
    }

    pub(crate) fn path(&self, below: &[&str]) -> Vec<String> {
        let mut path = vec![
            "spec".to_owned(),
            "servers".to_owned(),
            self.index.to_string(),
        ];
        path.extend(below.iter().map(|part| (*part).to_owned()));
        path
    }
}

/// A Gateway host without its `namespace/` part.
pub(crate) fn bare_host(host: &str) -> &str {
    host.split_once('/').map_or(host, |(_, host)| host)
}

/// The servers of a Gateway.
pub(crate) fn servers(gateway: &Resource) -> Vec<Server<'_>> {
    items(gateway.spec().get("servers"))
        .enumerate()
        .map(|(index, value)| Server {
            index,
            value,
            port: value
                .at("/port/number")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            protocol: value
                .at("/port/protocol")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_uppercase(),
            hosts: strings(value.get("hosts")),
        })
        .collect()
}

/// The labels a Gateway selects its workload by.
pub(crate) fn gateway_selector(gateway: &Resource) -> Option<&Map> {
    gateway.spec().get("selector").and_then(Value::as_object)
}

/// Whether a Gateway configures an egress gateway (selector `istio: egressgateway` or pods so
/// labelled) or an east-west gateway.
pub(crate) fn is_internal_gateway(gateway: &Resource) -> bool {
    gateway_selector(gateway).is_some_and(|selector| {
        selector
            .values()
            .filter_map(Value::as_str)
            .any(|value| value.contains("egressgateway") || value.contains("eastwestgateway"))
    })
}

/// The VirtualServices bound to a Gateway (`gateways` names it as `name` in the Gateway's
/// namespace or as `namespace/name`).
pub(crate) fn bound_virtual_services<'a>(
    mesh: &'a Mesh,
    gateway: &Resource,
) -> impl Iterator<Item = &'a Resource> {
    let namespace = gateway.namespace.clone();
    let name = gateway.name().to_owned();
    mesh.of_kind(Kind::VirtualService).filter(move |service| {
        gateways(service).iter().any(|reference| {
            let (ref_namespace, ref_name) = short_or_full_name(&service.namespace, reference);
            ref_namespace == namespace && ref_name == name
        })
    })
}

/// Whether a ServiceEntry declares hosts outside the mesh: `location` MESH_EXTERNAL (the
/// default), no `workloadSelector`, and hosts that are not cluster-local names.
pub(crate) fn is_external_entry(entry: &Resource) -> bool {
    let spec = entry.spec();
    let internal = matches!(
        spec.get("location"),
        Some(Value::String(location)) if location.eq_ignore_ascii_case("MESH_INTERNAL")
    ) || matches!(spec.get("location"), Some(Value::Number(number)) if number.as_u64() == Some(1));
    !internal
        && spec.get("workloadSelector").is_none_or(Value::is_null)
        && strings(spec.get("hosts")).iter().any(|host| {
            !host.ends_with(".cluster.local")
                && !host.ends_with(".svc")
                && !host.ends_with(".local")
        })
}

/// ServiceEntry `resolution`, upper case (`NONE` by default).
pub(crate) fn resolution(entry: &Resource) -> String {
    match entry.spec().get("resolution") {
        Some(Value::String(text)) => text.as_str().to_ascii_uppercase(),
        Some(Value::Number(number)) => match number.as_u64() {
            Some(1) => "STATIC",
            Some(2) => "DNS",
            Some(3) => "DNS_ROUND_ROBIN",
            _ => "NONE",
        }
        .to_owned(),
        _ => "NONE".to_owned(),
    }
}

/// Labels that mark an egress gateway workload.
fn egress_labels(labels: &Map) -> bool {
    labels.iter().any(|(key, value)| {
        matches!(key.as_str(), "istio" | "app")
            && value
                .as_str()
                .is_some_and(|value| value.contains("egressgateway"))
    })
}

/// The egress gateway workloads of the input (pods or pod templates), found once per run for
/// the rules that ask.
struct EgressGateways(Vec<ResourceId>);

/// Finds the egress gateways before the rules run.
pub(crate) fn prepare(mesh: &Mesh) {
    mesh.derived(find_egress_gateways);
}

fn find_egress_gateways(mesh: &Mesh) -> EgressGateways {
    EgressGateways(
        workloads(mesh)
            .into_iter()
            .chain(
                mesh.of_kind(Kind::Pod)
                    .map(|pod| crate::facts::workloads::pod_workload(mesh, pod)),
            )
            .filter(|workload| egress_labels(workload.labels()))
            .map(|workload| workload.resource.id)
            .collect(),
    )
}

/// The egress gateway workloads of the input (pods or pod templates), by their labels.
pub(crate) fn egress_gateway_labels(mesh: &Mesh) -> Vec<&Map> {
    let found = mesh.derived(find_egress_gateways);
    found
        .0
        .iter()
        .filter_map(|&id| mesh.resource(id).pod_template())
        .map(|pod| pod.labels)
        .collect()
}

/// Whether a Service fronts an egress gateway workload.
pub(crate) fn is_egress_service(service: &Resource, egress: &[&Map]) -> bool {
    service
        .spec()
        .get("selector")
        .and_then(Value::as_object)
        .filter(|selector| !selector.is_empty())
        .is_some_and(|selector| {
            egress_labels(selector) || egress.iter().any(|labels| matches_labels(selector, labels))
        })
}

/// The ConfigMap the mesh config was read from, when the input holds it.
pub(crate) fn mesh_config_map(mesh: &Mesh) -> Option<&Resource> {
    let reference = mesh
        .mesh_config
        .source
        .as_deref()?
        .strip_prefix("ConfigMap ")?;
    let (namespace, name) = reference.split_once('/')?;
    mesh.get(Kind::ConfigMap, namespace, name)
}

/// Reports about the mesh config: on its ConfigMap when it came from one, else on the file.
pub(crate) fn report_mesh_config<'s>(
    mesh: &Mesh,
    sink: &'s mut Sink,
    message: String,
) -> &'s mut Finding {
    if let Some(config_map) = mesh_config_map(mesh) {
        return sink.report(config_map, &["data", "mesh"], message);
    }
    let source = mesh.mesh_config.source.clone().unwrap_or_default();
    sink.report_detached(
        Some(ResourceRef {
            api_version: "meshconfig".to_owned(),
            kind: "MeshConfig".to_owned(),
            namespace: None,
            name: "mesh".to_owned(),
        }),
        (!source.is_empty()).then_some(SourceLocation {
            file: source,
            line: None,
        }),
        message,
    )
}

/// Reports a mesh config setting (see [`report_mesh_config`]): the message is `setting` after
/// the config's name (`ConfigMap istio-system/istio sets ...`, else `The mesh config sets ...`).
pub(crate) fn report_mesh_config_setting<'s>(
    mesh: &Mesh,
    sink: &'s mut Sink,
    setting: &str,
) -> &'s mut Finding {
    let name = mesh
        .mesh_config
        .source
        .as_deref()
        .unwrap_or("The mesh config");
    report_mesh_config(mesh, sink, format!("{name} {setting}"))
}

/// A server's `tls` field as a string (`minProtocolVersion`...).
pub(crate) fn tls_text<'a>(server: &Server<'a>, key: &str) -> Option<&'a str> {
    server.tls().and_then(|tls| str_field(tls, key))
}
