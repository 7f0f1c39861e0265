use crate::Context;
use rustc_hash::FxHashSet;

use meshcheck_model::{Kind, items, str_field};

use crate::facts::virtual_services::{
    as_path, mirror_destinations, resource_name_from_host, route_destinations,
};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks that every subset a VirtualService routes or mirrors to is defined by a
    /// DestinationRule for the same host (short host names resolve in the VirtualService's own
    /// namespace, FQDNs in the namespace they name). When the input holds no DestinationRule in
    /// the host's namespace, a missing subset is reported at info level: that namespace's
    /// configuration is likely kept elsewhere.
    ///
    /// ## Why is this bad?
    /// Envoy has no cluster for an undefined subset: requests to it fail with 503 (`NR`), and a
    /// traffic split or canary that relies on it stops working.
    ///
    /// ## How to fix
    /// Add the subset to the host's DestinationRule, or fix the subset or host name in the
    /// VirtualService.
    ///
    /// ## Example
    /// ```yaml
    /// route:
    /// - destination:
    ///     host: reviews
    ///     subset: v4       # the DestinationRule defines v1..v3
    /// ```
    /// Use instead: a subset the DestinationRule for `reviews` defines, or add `v4` to it.
    pub static DESTINATION_SUBSET = {
        code: "MC038",
        name: "virtual-service-destination-subset",
        category: ApplicationPolicy,
        severity: Error,
        summary: "Subsets a VirtualService routes to must be defined by a DestinationRule",
        istio_analyzer: Some("virtualservice.DestinationRuleAnalyzer"),
        istio_codes: &["IST0101"],
        inputs: &[Kind::VirtualService, Kind::DestinationRule],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/destination-rule/#Subset",
        remediation: "Define the subset in the DestinationRule of the destination host, or route to a subset that exists.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    // (namespace, name, subset) for every subset a DestinationRule defines.
    let mut defined: FxHashSet<(&str, &str, &str)> = FxHashSet::default();
    for rule in mesh.of_kind(Kind::DestinationRule) {
        let host = str_field(rule.spec(), "host").unwrap_or_default();
        let (namespace, name) = resource_name_from_host(&rule.namespace, host);
        for subset in items(rule.spec().get("subsets")) {
            defined.insert((
                namespace,
                name,
                str_field(subset, "name").unwrap_or_default(),
            ));
        }
    }

    for vs in mesh.of_kind(Kind::VirtualService) {
        let destinations = route_destinations(vs).iter().chain(mirror_destinations(vs));
        for destination in destinations {
            let subset = destination.subset;
            if subset.is_empty() {
                continue;
            }
            let host = destination.host;
            let (namespace, name) = resource_name_from_host(&vs.namespace, host);
            if defined.contains(&(namespace, name, subset)) {
                continue;
            }
            let what = if destination.is_mirror() {
                "mirror+subset"
            } else {
                "host+subset"
            };
            let path = destination.path();
            sink.istio(
                "IST0101",
                vs,
                &as_path(&path),
                format!(
                    "Referenced {what} in destinationrule not found: \"{host}+{subset}\" ({}): no DestinationRule for host {name:?} in namespace {namespace} defines subset {subset:?}.",
                    destination.location()
                ),
            )
            // A host's subsets are defined with its Service, in its namespace: DestinationRules
            // elsewhere (beside this VirtualService) do not show that part of the mesh.
            .from_absence(&[Kind::DestinationRule], &[namespace]);
        }
    }
}
