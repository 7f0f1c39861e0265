//! EnvoyFilter patches that set Envoy's `exact_balance` connection balancer, and which listeners
//! they reach.

use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, Mesh, Resource, items, str_field};

/// Which listeners a patch applies to, as far as connection balancing is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BalancedListener {
    /// The outbound virtual listener (15001): it hands every connection to the listener of its
    /// original destination, so its own balancer never decides anything.
    VirtualOutbound,
    /// Outbound service listeners (`bind_to_port: false`): Envoy balances the connections handed
    /// to them when they have a balancer.
    OutboundServices,
    /// Every outbound listener (context `SIDECAR_OUTBOUND` without a port): the service
    /// listeners and the virtual one.
    AllOutbound,
    /// The inbound virtual listener (15006) or inbound listeners: balancing works.
    Inbound,
    /// Gateway listeners: balancing works.
    Gateway,
    /// Every listener of the proxy (context `ANY` without a port).
    Any,
}

/// One `configPatches` entry that enables exact balancing.
pub(crate) struct BalancePatch<'a> {
    pub filter: &'a Resource,
    pub index: usize,
    pub listener: BalancedListener,
    /// `port 15001`, `virtualOutbound`, `SIDECAR_OUTBOUND` ...: what the match names.
    pub matched: String,
}

impl BalancePatch<'_> {
    pub fn path(&self) -> Vec<String> {
        vec![
            "spec".to_owned(),
            "configPatches".to_owned(),
            self.index.to_string(),
            "patch".to_owned(),
        ]
    }
}

/// Whether a patch value sets `connection_balance_config.exact_balance` anywhere.
fn sets_exact_balance(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, child)| {
            ((key == "connection_balance_config" || key == "connectionBalanceConfig")
                && (child.get("exact_balance").is_some() || child.get("exactBalance").is_some()))
                || sets_exact_balance(child)
        }),
        Value::Array(list) => list.iter().any(sets_exact_balance),
        _ => false,
    }
}

fn context(patch: &Value) -> &str {
    match patch.at("/match/context") {
        Some(Value::String(name)) => name,
        Some(Value::Number(number)) => match number.as_u64() {
            Some(1) => "SIDECAR_INBOUND",
            Some(2) => "SIDECAR_OUTBOUND",
            Some(3) => "GATEWAY",
            _ => "ANY",
        },
        _ => "ANY",
    }
}

/// Every exact-balance patch of the mesh's EnvoyFilters.
pub(crate) fn balance_patches(mesh: &Mesh) -> Vec<BalancePatch<'_>> {
    let mut found = Vec::new();
    for filter in mesh.of_kind(Kind::EnvoyFilter) {
        for (index, patch) in items(filter.spec().get("configPatches")).enumerate() {
            if !patch.at("/patch/value").is_some_and(sets_exact_balance) {
                continue;
            }
            let port = patch
                .at("/match/listener/portNumber")
                .and_then(Value::as_u64);
            let name = patch
                .at("/match/listener")
                .and_then(|listener| str_field(listener, "name"));
            let context = context(patch);
            let (listener, matched) = match (port, name, context) {
                (Some(15001), _, _) => (BalancedListener::VirtualOutbound, "port 15001".to_owned()),
                (_, Some("virtualOutbound"), _) => (
                    BalancedListener::VirtualOutbound,
                    "listener virtualOutbound".to_owned(),
                ),
                (Some(15006), _, _) => (BalancedListener::Inbound, "port 15006".to_owned()),
                (_, Some("virtualInbound"), _) => (
                    BalancedListener::Inbound,
                    "listener virtualInbound".to_owned(),
                ),
                (Some(port), _, "SIDECAR_OUTBOUND") => (
                    BalancedListener::OutboundServices,
                    format!("SIDECAR_OUTBOUND port {port}"),
                ),
                (None, _, "SIDECAR_OUTBOUND") => {
                    (BalancedListener::AllOutbound, "SIDECAR_OUTBOUND".to_owned())
                }
                (_, _, "SIDECAR_INBOUND") => {
                    (BalancedListener::Inbound, "SIDECAR_INBOUND".to_owned())
                }
                (_, _, "GATEWAY") => (BalancedListener::Gateway, "GATEWAY".to_owned()),
                _ => (BalancedListener::Any, "context ANY".to_owned()),
            };
            found.push(BalancePatch {
                filter,
                index,
                listener,
                matched,
            });
        }
    }
    found
}

/// `workloads app=web` or `every proxy of namespace shop` for an EnvoyFilter.
pub(crate) fn filter_scope(mesh: &Mesh, filter: &Resource) -> String {
    let labels = filter
        .spec()
        .at("/workloadSelector/labels")
        .and_then(Value::as_object)
        .filter(|labels| !labels.is_empty());
    match labels {
        Some(labels) => {
            let mut pairs: Vec<String> = labels
                .iter()
                .map(|(key, value)| {
                    format!("{key}={}", meshcheck_model::selector::value_text(value))
                })
                .collect();
            pairs.sort();
            format!("the workloads labelled {}", pairs.join(","))
        }
        None if filter.namespace == mesh.root_namespace() => "every proxy of the mesh".to_owned(),
        None => format!("every proxy of namespace {}", filter.namespace),
    }
}
