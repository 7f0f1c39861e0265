use crate::Context;
use std::collections::{BTreeMap, HashMap};

use meshcheck_input::{Map, Value};
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Resource, items, str_field, strings};

use crate::facts::gateways::{Workloads, first_key, gateway_selector, selector_string};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds Gateways that configure the same gateway workload (the same selector, or selectors
    /// that pick the same pods) with a server on the same port for the same host and bind
    /// address. It also reports a Gateway without servers whose selector matches no Gateway
    /// workload at all.
    ///
    /// ## Why is this bad?
    /// Istio merges every Gateway of a workload into one listener per port. Two servers for the
    /// same host on the same port conflict: Istio keeps one of them, chosen by creation order, so
    /// the TLS settings or routes of the other silently do not apply.
    ///
    /// ## How to fix
    /// Define each host once per port and workload: merge the servers into one Gateway, or use
    /// different hosts, ports or `bind` addresses.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Gateway
    /// metadata: {name: shop}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 80, name: http, protocol: HTTP}
    ///     hosts: [shop.example.com]
    /// ---
    /// kind: Gateway
    /// metadata: {name: shop-v2}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 80, name: http, protocol: HTTP}
    ///     hosts: [shop.example.com]     # same workload, port and host as shop
    /// ```
    pub static GATEWAY_CONFLICTING = {
        code: "MC017",
        name: "gateway-conflicting-servers",
        category: IngressEgress,
        severity: Error,
        summary: "Gateways of one workload must not declare the same host on the same port",
        istio_analyzer: Some("gateway.ConflictingGatewayAnalyzer"),
        istio_codes: &["IST0101", "IST0145"],
        inputs: &[Kind::Gateway, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/gateway/",
        remediation: "Declare each host once per port and gateway workload: merge the servers, or use distinct hosts, ports or bind addresses.",
        check: check,
    }
}

/// One Gateway's servers on one port: host → bind address.
type HostBinds<'a> = HashMap<&'a str, &'a str>;

struct GatewayInfo<'a> {
    resource: &'a Resource,
    full_name: String,
    selector: &'a Map,
    selector_text: String,
}

/// A server's port number as text (`0` when it has none), the way servers are grouped.
fn port_text(server: &Value) -> String {
    server
        .get("port")
        .and_then(|port| port.get("number"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .to_string()
}

/// Whether some pod matches both selectors (looked up by the narrower one).
fn share_a_pod(workloads: &Workloads, a: &Map, b: &Map) -> bool {
    let (narrow, wide) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    workloads
        .matching(None, narrow)
        .iter()
        .any(|pod| matches_labels(wide, pod.labels))
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let workloads = Workloads::new(mesh);
    let gateways: Vec<GatewayInfo> = mesh
        .of_kind(Kind::Gateway)
        .map(|resource| {
            let selector = gateway_selector(resource);
            GatewayInfo {
                resource,
                full_name: format!("{}/{}", resource.namespace, resource.name()),
                selector,
                selector_text: selector_string(selector),
            }
        })
        .collect();

    // selector text → port → gateway index → host binds.
    let mut by_selector: BTreeMap<&str, BTreeMap<String, BTreeMap<usize, HostBinds>>> =
        BTreeMap::new();
    for (index, gateway) in gateways.iter().enumerate() {
        for server in items(gateway.resource.spec().get("servers")) {
            let bind = str_field(server, "bind").unwrap_or_default();
            let binds = by_selector
                .entry(&gateway.selector_text)
                .or_default()
                .entry(port_text(server))
                .or_default()
                .entry(index)
                .or_default();
            for host in strings(server.get("hosts")) {
                binds.insert(host, bind);
            }
        }
    }

    // Whether two different selectors share a pod, per pair of selector texts.
    let mut share_pods: HashMap<(&str, &str), bool> = HashMap::new();

    for (index, gateway) in gateways.iter().enumerate() {
        // Selectors that configure the same workload as this Gateway's: the same selector, or
        // one whose text contains the other's (a sub-selector) and that selects a common pod.
        let mut related: Vec<&str> = Vec::new();
        for (other_text, other) in &by_selector {
            let other_selector = other
                .values()
                .flat_map(|gateways| gateways.keys())
                .next()
                .map(|&other_index| gateways[other_index].selector);
            let same = *other_text == gateway.selector_text.as_str()
                || ((other_text.contains(gateway.selector_text.as_str())
                    || gateway.selector_text.contains(other_text))
                    && *share_pods
                        .entry((gateway.selector_text.as_str(), other_text))
                        .or_insert_with(|| {
                            other_selector.is_some_and(|other_selector| {
                                share_a_pod(&workloads, gateway.selector, other_selector)
                            })
                        }));
            if same {
                related.push(other_text);
            }
        }

        if !gateway.selector_text.is_empty() && related.is_empty() {
            let key = first_key(gateway.selector).unwrap_or_default();
            sink.istio(
                "IST0101",
                gateway.resource,
                &["spec", "selector", key],
                format!(
                    "Gateway {} has no servers and its selector {:?} matches no other Gateway's workload.",
                    gateway.resource.display_name(),
                    gateway.selector_text
                ),
            );
            continue;
        }

        for (server_index, server) in items(gateway.resource.spec().get("servers")).enumerate() {
            let port = port_text(server);
            let bind = str_field(server, "bind").unwrap_or_default();
            let hosts = strings(server.get("hosts"));
            let mut conflicting: Vec<&str> = Vec::new();
            for selector_text in &related {
                let Some(on_port) = by_selector[selector_text].get(&port) else {
                    continue;
                };
                for (&other_index, binds) in on_port {
                    if other_index == index {
                        continue;
                    }
                    let duplicate = hosts
                        .iter()
                        .any(|host| binds.get(host).is_some_and(|other| *other == bind));
                    if duplicate {
                        conflicting.push(&gateways[other_index].full_name);
                    }
                }
            }
            if conflicting.is_empty() {
                continue;
            }
            conflicting.sort_unstable();
            let server_index = server_index.to_string();
            sink.istio(
                "IST0145",
                gateway.resource,
                &["spec", "servers", &server_index],
                format!(
                    "Gateway {} conflicts with {} on workload selector {:?}, port {port}, hosts {}: only one of the servers takes effect.",
                    gateway.resource.display_name(),
                    conflicting.join(", "),
                    gateway.selector_text,
                    hosts.join(",")
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::check;

    use super::GATEWAY_CONFLICTING;

    #[test]
    fn bind_addresses_separate_servers() {
        let findings = check(
            &GATEWAY_CONFLICTING,
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: a}\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    bind: 10.0.0.1\n    hosts: [x.example.com]\n---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: b}\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [x.example.com]\n",
        );
        assert!(findings.is_empty(), "{findings:?}");
    }
}
