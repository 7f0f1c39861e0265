use crate::Context;
use meshcheck_model::hosts::hosts_intersect;
use meshcheck_model::{Kind, Mesh, Resource, items, str_field, strings};

use crate::facts::mesh_config::{egress_gateway_labels, is_egress_service, is_external_entry};
use crate::facts::virtual_services::applies_to_mesh;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// When the mesh runs an egress gateway, finds external ServiceEntries (`MESH_EXTERNAL`)
    /// whose hosts no VirtualService sends from the sidecars (`gateways` including `mesh`) to the
    /// egress gateway's Service.
    ///
    /// ## Why is this bad?
    /// An egress gateway only controls the traffic routed to it. Hosts declared without the
    /// matching VirtualService are reached directly from every sidecar, bypassing the gateway's
    /// policies, audit logs and fixed source addresses, which is usually an oversight when the
    /// ServiceEntry was added later.
    ///
    /// ## How to fix
    /// Add a VirtualService for the host with `gateways: [mesh, <egress gateway>]` that routes
    /// mesh traffic to the egress gateway Service and gateway traffic to the external host (see
    /// Istio's egress gateway task).
    ///
    /// ## Example
    /// ```yaml
    /// http:
    /// - match:
    ///   - gateways: [mesh]
    ///     port: 80
    ///   route:
    ///   - destination:
    ///       host: istio-egressgateway.istio-system.svc.cluster.local
    /// ```
    pub static EGRESS_GATEWAY_BYPASSED = {
        code: "MC304",
        name: "egress-gateway-bypassed",
        category: IngressEgress,
        severity: Info,
        summary: "External hosts should be routed through the mesh's egress gateway",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::ServiceEntry, Kind::VirtualService, Kind::Service, Kind::Pod, Kind::Deployment],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/",
        remediation: "Add a VirtualService (gateways: mesh and the egress gateway) that routes the host from the sidecars to the egress gateway Service.",
        check: check,
    }
}

/// Whether a VirtualService sends some route to the egress gateway Service.
fn routes_to_egress(mesh: &Mesh, service: &Resource, egress: &[&meshcheck_input::Map]) -> bool {
    let spec = service.spec();
    ["http", "tls", "tcp"].iter().any(|section| {
        items(spec.get(*section)).any(|rule| {
            items(rule.get("route")).any(|route| {
                let host = route
                    .get("destination")
                    .and_then(|destination| str_field(destination, "host"))
                    .unwrap_or_default();
                host.contains("egressgateway")
                    || mesh
                        .hosts
                        .lookup(&service.namespace, &[], host)
                        .filter(|target| target.kind == Kind::Service)
                        .is_some_and(|target| {
                            is_egress_service(mesh.resource(target.resource), egress)
                        })
            })
        })
    })
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let egress = egress_gateway_labels(mesh);
    if egress.is_empty() {
        return;
    }
    let routing: Vec<&Resource> = mesh
        .of_kind(Kind::VirtualService)
        .filter(|service| applies_to_mesh(service) && routes_to_egress(mesh, service, &egress))
        .collect();
    for entry in mesh.of_kind(Kind::ServiceEntry) {
        if !is_external_entry(entry) {
            continue;
        }
        let direct: Vec<&str> = strings(entry.spec().get("hosts"))
            .into_iter()
            .filter(|host| {
                !routing.iter().any(|service| {
                    strings(service.spec().get("hosts"))
                        .iter()
                        .any(|routed| hosts_intersect(routed, host))
                })
            })
            .collect();
        if direct.is_empty() {
            continue;
        }
        sink.report(
            entry,
            &["spec", "hosts"],
            format!(
                "ServiceEntry {}/{} declares {} but no VirtualService routes {} from the sidecars to the egress gateway: traffic leaves the mesh directly",
                entry.namespace,
                entry.name(),
                direct.join(", "),
                if direct.len() == 1 { "it" } else { "them" }
            ),
        );
    }
}
