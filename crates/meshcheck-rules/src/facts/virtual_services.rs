//! Helpers shared by the VirtualService rules: walking a VirtualService's destinations, naming
//! resources the way istioctl prints them, and resolving host names to `namespace/name`.

use meshcheck_model::hosts::fqdn_parts;
use meshcheck_model::{Resource, strings};

/// The name of the implicit gateway that stands for every sidecar in the mesh.
pub const MESH_GATEWAY: &str = "mesh";

pub use meshcheck_model::virtual_service::{Destination, DestinationKind};

/// Borrows a path built by [`Destination::path`] as the `&[&str]` the sink wants.
pub fn as_path(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

/// Route destinations in Istio's order: every TCP route, then TLS, then HTTP.
pub fn route_destinations(vs: &Resource) -> &[Destination<'_>] {
    vs.routes()
        .map(|routes| routes.destinations.as_slice())
        .unwrap_or_default()
}

/// HTTP mirror destinations (`mirror` and `mirrors`).
pub fn mirror_destinations(vs: &Resource) -> &[Destination<'_>] {
    vs.routes()
        .map(|routes| routes.mirrors.as_slice())
        .unwrap_or_default()
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

    #[test]
    fn destinations_in_istio_order_with_their_places() {
        let mesh = crate::testing::mesh(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs, namespace: ns}\nspec:\n  http: [{route: [{destination: {host: h}}], mirror: {host: m}, mirrors: [{destination: {host: m2}}]}]\n  tcp: [{route: [{destination: {host: t, port: {number: 5}}}]}]\n",
        );
        let vs = mesh
            .of_kind(meshcheck_model::Kind::VirtualService)
            .next()
            .unwrap();
        let routes = route_destinations(vs);
        assert_eq!(
            routes.iter().map(|route| route.host).collect::<Vec<_>>(),
            ["t", "h"]
        );
        assert_eq!((routes[0].port, routes[1].port), (Some(5), None));
        assert_eq!(routes[1].location(), "http[0].route[0]");
        let mirrors = mirror_destinations(vs);
        assert_eq!(mirrors.len(), 2);
        assert_eq!(mirrors[1].location(), "http[0].mirrors[0]");
        assert_eq!(mirrors[0].path(), ["spec", "http", "0", "mirror", "host"]);
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
