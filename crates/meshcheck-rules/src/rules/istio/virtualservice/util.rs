//! Helpers shared by the VirtualService rules: walking a VirtualService's destinations, naming
//! resources the way istioctl prints them, and resolving host names to `namespace/name`.

use meshcheck_model::hosts::fqdn_parts;
use meshcheck_model::{Resource, items, str_field, strings};
use serde_json::Value;

/// The name of the implicit gateway that stands for every sidecar in the mesh.
pub const MESH_GATEWAY: &str = "mesh";

/// Where a destination sits in a VirtualService.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DestinationKind {
    /// `spec.<http|tcp|tls>[i].route[j].destination`.
    Route(&'static str),
    /// `spec.http[i].mirror`.
    Mirror,
    /// `spec.http[i].mirrors[j].destination`.
    Mirrors,
}

/// One destination of a VirtualService with its position.
#[derive(Clone, Copy, Debug)]
pub struct Destination<'a> {
    pub kind: DestinationKind,
    pub rule: usize,
    pub index: usize,
    /// The `Destination` object (`host`, `subset`, `port`).
    pub value: &'a Value,
}

impl<'a> Destination<'a> {
    pub fn host(&self) -> &'a str {
        str_field(self.value, "host").unwrap_or_default()
    }

    pub fn subset(&self) -> &'a str {
        str_field(self.value, "subset").unwrap_or_default()
    }

    /// `port.number` when a `port` is given (a `port` without a number reads as 0, as in Istio).
    pub fn port(&self) -> Option<u64> {
        self.value
            .get("port")
            .filter(|port| !port.is_null())
            .map(|port| port.get("number").and_then(Value::as_u64).unwrap_or(0))
    }

    pub fn is_mirror(&self) -> bool {
        !matches!(self.kind, DestinationKind::Route(_))
    }

    /// The field path of the destination's host, for locating findings.
    pub fn path(&self) -> Vec<String> {
        let rule = self.rule.to_string();
        let index = self.index.to_string();
        let parts: Vec<&str> = match self.kind {
            DestinationKind::Route(section) => vec![
                "spec",
                section,
                &rule,
                "route",
                &index,
                "destination",
                "host",
            ],
            DestinationKind::Mirror => vec!["spec", "http", &rule, "mirror", "host"],
            DestinationKind::Mirrors => {
                vec![
                    "spec",
                    "http",
                    &rule,
                    "mirrors",
                    &index,
                    "destination",
                    "host",
                ]
            }
        };
        parts.into_iter().map(str::to_owned).collect()
    }

    /// A short description of where the destination is, e.g. `http[0].route[1]`.
    pub fn location(&self) -> String {
        match self.kind {
            DestinationKind::Route(section) => {
                format!("{section}[{}].route[{}]", self.rule, self.index)
            }
            DestinationKind::Mirror => format!("http[{}].mirror", self.rule),
            DestinationKind::Mirrors => format!("http[{}].mirrors[{}]", self.rule, self.index),
        }
    }
}

/// Borrows a path built by [`Destination::path`] as the `&[&str]` the sink wants.
pub fn as_path(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

/// Route destinations in Istio's order: every TCP route, then TLS, then HTTP.
pub fn route_destinations(spec: &Value) -> Vec<Destination<'_>> {
    let mut destinations = Vec::new();
    for section in ["tcp", "tls", "http"] {
        for (rule, route) in items(spec.get(section)).enumerate() {
            for (index, weighted) in items(route.get("route")).enumerate() {
                destinations.push(Destination {
                    kind: DestinationKind::Route(section),
                    rule,
                    index,
                    value: weighted.get("destination").unwrap_or(&Value::Null),
                });
            }
        }
    }
    destinations
}

/// HTTP mirror destinations (`mirror` and `mirrors`).
pub fn mirror_destinations(spec: &Value) -> Vec<Destination<'_>> {
    let mut destinations = Vec::new();
    for (rule, route) in items(spec.get("http")).enumerate() {
        if let Some(mirror) = route.get("mirror").filter(|mirror| !mirror.is_null()) {
            destinations.push(Destination {
                kind: DestinationKind::Mirror,
                rule,
                index: 0,
                value: mirror,
            });
        }
        for (index, mirror) in items(route.get("mirrors")).enumerate() {
            destinations.push(Destination {
                kind: DestinationKind::Mirrors,
                rule,
                index,
                value: mirror.get("destination").unwrap_or(&Value::Null),
            });
        }
    }
    destinations
}

/// `namespace/name` with the effective namespace, as Istio names resources in messages.
pub fn full_name(resource: &Resource) -> String {
    if resource.namespace.is_empty() {
        resource.name().to_owned()
    } else {
        format!("{}/{}", resource.namespace, resource.name())
    }
}

/// `spec.gateways` of a VirtualService.
pub fn gateways(resource: &Resource) -> Vec<&str> {
    strings(resource.spec().get("gateways"))
}

/// Whether a VirtualService applies to sidecars: no gateways, or `mesh` among them.
pub fn applies_to_mesh(resource: &Resource) -> bool {
    let gateways = gateways(resource);
    gateways.is_empty() || gateways.contains(&MESH_GATEWAY)
}

/// Resolves a `[namespace/]name` reference against a default namespace.
pub fn short_or_full_name<'a>(default_namespace: &'a str, name: &'a str) -> (&'a str, &'a str) {
    name.split_once('/').unwrap_or((default_namespace, name))
}

/// The (namespace, name) a destination host designates: the parts of a
/// `name.namespace.svc.cluster.local` FQDN, or else the host as written in the default namespace.
pub fn resource_name_from_host<'a>(
    default_namespace: &'a str,
    host: &'a str,
) -> (&'a str, &'a str) {
    match fqdn_parts(host) {
        Some((name, namespace)) => (namespace, name),
        None => (default_namespace, host),
    }
}

/// The prefix of the pseudo-headers that match on JWT claims.
pub(crate) const CLAIM_PREFIX: &str = "@request.auth.claims";

/// Whether a header name is a JWT claim routing key (`@request.auth.claims.a.b` or
/// `@request.auth.claims[a][b]`).
pub(crate) fn is_claim_key(header: &str) -> bool {
    if header.len() < CLAIM_PREFIX.len()
        || !header.is_char_boundary(CLAIM_PREFIX.len())
        || !header[..CLAIM_PREFIX.len()].eq_ignore_ascii_case(CLAIM_PREFIX)
    {
        return false;
    }
    let rest = &header[CLAIM_PREFIX.len()..];
    (rest.starts_with('.') && rest.len() > 1)
        || (rest.starts_with('[') && rest.ends_with(']') && rest.len() > 2)
}

/// The first claim routing key the VirtualService's HTTP matches use (headers or withoutHeaders).
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn destinations_in_istio_order() {
        let spec = json!({
            "http": [{"route": [{"destination": {"host": "h"}}], "mirror": {"host": "m"},
                      "mirrors": [{"destination": {"host": "m2"}}]}],
            "tcp": [{"route": [{"destination": {"host": "t", "port": {"number": 5}}}]}],
        });
        let routes = route_destinations(&spec);
        assert_eq!(
            routes.iter().map(Destination::host).collect::<Vec<_>>(),
            ["t", "h"]
        );
        assert_eq!(routes[0].port(), Some(5));
        assert_eq!(routes[1].port(), None);
        let mirrors = mirror_destinations(&spec);
        assert_eq!(mirrors.len(), 2);
        assert_eq!(mirrors[1].location(), "http[0].mirrors[0]");
    }

    #[test]
    fn host_names() {
        assert_eq!(
            resource_name_from_host("ns", "reviews.other.svc.cluster.local"),
            ("other", "reviews")
        );
        assert_eq!(
            resource_name_from_host("ns", "reviews.other"),
            ("ns", "reviews.other")
        );
        assert_eq!(short_or_full_name("ns", "gw"), ("ns", "gw"));
        assert_eq!(short_or_full_name("ns", "a/gw"), ("a", "gw"));
    }
}
