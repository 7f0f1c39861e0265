use crate::Context;
use std::collections::HashMap;

use meshcheck_model::hosts::{CLUSTER_DOMAIN, HostPort};
use meshcheck_model::{Kind, Resource, strings};

use crate::facts::coverage::host_definers;
use crate::facts::virtual_services::{
    Destination, DestinationKind, as_path, full_name, gateways, mirror_destinations,
    route_destinations,
};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks every destination and mirror of a VirtualService: the host must be a Service or a
    /// ServiceEntry visible from the VirtualService's namespace, the port (if given) must be one
    /// the host exposes, and a destination without a port must not point at a host with several
    /// ports. For VirtualServices bound to gateways it also flags HTTP routes without a subset to a
    /// host that another VirtualService splits by subset: those subset rules do not apply to the
    /// gateway's traffic.
    ///
    /// A host is reported as not found at info level when the input holds no Service in the
    /// host's namespace (no ServiceEntry at all, for a host outside the cluster domain): a
    /// GitOps folder with the Istio configuration but not the applications cannot show it.
    ///
    /// ## Why is this bad?
    /// Traffic routed to an unknown host or port fails (503, `NR` in the access log). Without a
    /// port, a multi-port destination is ambiguous and Istio may pick the wrong one. A subset split
    /// defined for the mesh is silently bypassed by gateway traffic that targets the host directly.
    ///
    /// ## How to fix
    /// Fix the host (use the FQDN for other namespaces), create the missing Service or
    /// ServiceEntry, export it to the VirtualService's namespace, or add `port.number`.
    ///
    /// ## Example
    /// ```yaml
    /// route:
    /// - destination:
    ///     host: reviewz        # no such service
    /// ```
    /// Use instead:
    /// ```yaml
    /// route:
    /// - destination:
    ///     host: reviews
    ///     port:
    ///       number: 9080
    /// ```
    pub static DESTINATION_HOST = {
        code: "MC037",
        name: "virtual-service-destination-host",
        category: ApplicationPolicy,
        severity: Error,
        summary: "VirtualService destinations must name an existing host and port",
        istio_analyzer: Some("virtualservice.DestinationHostAnalyzer"),
        istio_codes: &["IST0101", "IST0112", "IST0140"],
        inputs: &[Kind::VirtualService, Kind::Service, Kind::ServiceEntry],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/virtual-service/#Destination",
        remediation: "Point the destination at an existing Service or ServiceEntry visible from this namespace and give a port it exposes.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    // Destination host (as written) → VirtualServices that route to it by subset while also
    // defining it as one of their hosts (one entry per such destination and host).
    let mut subset_routes: HashMap<&str, Vec<(String, &str)>> = HashMap::new();
    for vs in mesh.of_kind(Kind::VirtualService) {
        let hosts = strings(vs.spec().get("hosts"));
        for destination in http_destinations(vs) {
            let (host, subset) = (destination.host, destination.subset);
            if subset.is_empty() {
                continue;
            }
            for _ in hosts.iter().filter(|own| **own == host) {
                subset_routes
                    .entry(host)
                    .or_default()
                    .push((full_name(vs), subset));
            }
        }
    }

    // istioctl's stand-in ingress gateway Service is a destination like any other.
    let default_ingress = mesh
        .stand_in_ingress
        .as_ref()
        .and_then(|ingress| ingress.service_fqdn());
    let default_ingress_ports: Vec<HostPort> = meshcheck_model::STAND_IN_INGRESS_PORTS
        .iter()
        .map(|&number| HostPort {
            number,
            name: String::new(),
            protocol: "TCP".to_owned(),
        })
        .collect();

    for vs in mesh.of_kind(Kind::VirtualService) {
        let export_to = vs.export_to();
        let destinations = route_destinations(vs).iter().chain(mirror_destinations(vs));
        for destination in destinations {
            let host = destination.host;
            if default_ingress
                .as_deref()
                .is_some_and(|ingress| names_fqdn(ingress, &vs.namespace, host))
            {
                check_port(sink, vs, destination, &default_ingress_ports);
                continue;
            }
            let Some(target) = mesh.hosts.lookup(&vs.namespace, &export_to, host) else {
                let (kinds, namespaces) = host_definers(&vs.namespace, host);
                let path = destination.path();
                let path = as_path(&path);
                let what = if destination.is_mirror() {
                    "mirror host"
                } else {
                    "host"
                };
                sink.istio(
                    "IST0101",
                    vs,
                    &path,
                    format!(
                        "Referenced {what} not found: {host:?} ({}): no Service or ServiceEntry visible from namespace {} defines it.",
                        destination.location(),
                        vs.namespace
                    ),
                )
                .from_absence(kinds, &namespaces);
                continue;
            };
            check_port(sink, vs, destination, &target.ports);
        }

        if gateways(vs).is_empty() {
            continue;
        }
        for destination in http_destinations(vs) {
            let host = destination.host;
            if !destination.subset.is_empty() {
                continue;
            }
            let Some(routed) = subset_routes.get(host) else {
                continue;
            };
            let path = destination.path();
            for (other, subset) in routed {
                sink.istio(
                    "IST0140",
                    vs,
                    &as_path(&path),
                    format!(
                        "Subset {subset:?} of host {host:?} routed to by VirtualService {other} has no effect on requests through the gateways of VirtualService {}, which routes to the host without a subset.",
                        full_name(vs)
                    ),
                );
            }
        }
    }
}

/// The destinations of `spec.http[*].route[*]`, in order.
fn http_destinations(vs: &Resource) -> impl Iterator<Item = &Destination<'_>> {
    route_destinations(vs)
        .iter()
        .filter(|destination| destination.kind == DestinationKind::Route("http"))
}

/// Whether `host`, as written in a VirtualService of `namespace`, names `fqdn` (without building
/// the FQDN of every destination).
fn names_fqdn(fqdn: &str, namespace: &str, host: &str) -> bool {
    if host.starts_with('*') || host.contains('.') {
        return fqdn == host;
    }
    fqdn.strip_prefix(host)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_prefix(namespace))
        .and_then(|rest| rest.strip_prefix('.'))
        == Some(CLUSTER_DOMAIN)
}

fn check_port(sink: &mut Sink, vs: &Resource, destination: &Destination<'_>, ports: &[HostPort]) {
    let host = destination.host;
    match destination.port {
        None => {
            if ports.len() > 1 {
                let numbers: Vec<String> =
                    ports.iter().map(|port| port.number.to_string()).collect();
                sink.istio(
                    "IST0112",
                    vs,
                    &as_path(&destination.path()),
                    format!(
                        "This VirtualService routes to service {host:?} ({}), which exposes several ports [{}]: set port.number in the destination to pick one.",
                        destination.location(),
                        numbers.join(" ")
                    ),
                );
            }
        }
        Some(number) => {
            if !ports.iter().any(|port| u64::from(port.number) == number) {
                sink.istio(
                    "IST0101",
                    vs,
                    &as_path(&destination.path()),
                    format!(
                        "Referenced host:port not found: \"{host}:{number}\" ({}): the host exposes no port {number}.",
                        destination.location()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::names_fqdn;

    #[test]
    fn short_and_full_hosts_name_the_ingress_fqdn() {
        let fqdn = "istio-ingressgateway.istio-system.svc.cluster.local";
        assert!(names_fqdn(fqdn, "istio-system", "istio-ingressgateway"));
        assert!(!names_fqdn(fqdn, "default", "istio-ingressgateway"));
        assert!(names_fqdn(fqdn, "default", fqdn));
        assert!(!names_fqdn(fqdn, "istio-system", "istio-ingress"));
        assert!(!names_fqdn(fqdn, "istio", "istio-ingressgateway"));
        assert!(!names_fqdn(fqdn, "default", "*.svc.cluster.local"));
    }
}
