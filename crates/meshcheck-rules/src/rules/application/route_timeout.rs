use crate::Context;
use std::collections::{BTreeSet, HashMap};

use meshcheck_model::hosts::to_fqdn;
use meshcheck_model::{Kind, Resource};

use crate::facts::routes::{as_path, http_routes};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports VirtualServices whose HTTP routes forward traffic without a `timeout`. One finding
    /// per VirtualService lists the routes; it says how many VirtualServices route to the same
    /// destination, since a slow host shared by many callers (a hot path) spreads its stalls to
    /// all of them. Routes with an explicit `timeout: 0s` are taken as a deliberate choice.
    ///
    /// ## Why is this bad?
    /// Istio sets no timeout on HTTP routes by default: a request to a hung upstream waits as
    /// long as the client does. Waiting requests pin connections, threads and memory in every
    /// caller up the chain, and one slow dependency turns into a cascading outage. Retries
    /// without a timeout cannot help either.
    ///
    /// ## How to fix
    /// Set `timeout` on each HTTP route to what its callers can afford (the p99.9 latency of the
    /// upstream plus a margin), and keep timeouts shorter as you go deeper in the call chain.
    ///
    /// ## Example
    /// ```yaml
    /// http:
    /// - route:
    ///   - destination: {host: ratings}
    ///   timeout: 2s
    /// ```
    pub static HTTP_ROUTE_TIMEOUT = {
        code: "MC403",
        name: "http-route-without-timeout",
        category: ApplicationPolicy,
        severity: Info,
        summary: "HTTP routes should set a timeout",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::VirtualService],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/request-timeouts/",
        remediation: "Set timeout on each HTTP route (for example timeout: 5s), shorter than the timeout of its callers.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    // Destination FQDN → VirtualServices routing HTTP to it (its fan-in).
    let mut callers: HashMap<String, BTreeSet<(&str, &str)>> = HashMap::new();
    for vs in mesh.of_kind(Kind::VirtualService) {
        for route in http_routes(vs) {
            for host in route.hosts() {
                callers
                    .entry(to_fqdn(&vs.namespace, host))
                    .or_default()
                    .insert((&vs.namespace, vs.name()));
            }
        }
    }
    for vs in mesh.of_kind(Kind::VirtualService) {
        report(vs, &callers, sink);
    }
}

fn report(vs: &Resource, callers: &HashMap<String, BTreeSet<(&str, &str)>>, sink: &mut Sink) {
    let missing: Vec<_> = http_routes(vs)
        .filter(|route| route.forwards() && route.timeout().is_none())
        .collect();
    let Some(first) = missing.first() else {
        return;
    };
    let labels: Vec<String> = missing.iter().map(|route| route.label()).collect();
    let busiest = missing
        .iter()
        .flat_map(|route| route.hosts())
        .map(|host| {
            let fqdn = to_fqdn(&vs.namespace, host);
            let count = callers.get(&fqdn).map_or(0, BTreeSet::len);
            (count, host)
        })
        .max();
    let fan_in = match busiest {
        Some((count, host)) if count > 1 => {
            format!(
                "; {host} is routed to by {count} VirtualServices, so a stall there reaches all of their callers"
            )
        }
        _ => String::new(),
    };
    let path = first.path(&[]);
    sink.report(
        vs,
        &as_path(&path),
        format!(
            "VirtualService {} has HTTP routes without a timeout ({}): requests to a slow or hung upstream wait indefinitely{fan_in}",
            vs.display_name(),
            labels.join(", ")
        ),
    );
}
