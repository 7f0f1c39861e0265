//! DestinationRule TLS settings and the in-mesh Services they apply to, shared by the rules on
//! client-side TLS modes.

use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::hosts::{host_covered_by, to_fqdn};
use meshcheck_model::{Kind, Mesh, Resource, items, str_field};

use super::mtls::{Effective, MtlsMode, PeerAuthentications};
use super::workloads::{WorkloadIndex, service_in_mesh, service_workloads};
use crate::{Severity, Sink};

/// A DestinationRule client TLS mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Disable,
    Simple,
    Mutual,
    IstioMutual,
}

impl TlsMode {
    pub(crate) fn parse(value: Option<&Value>) -> Option<TlsMode> {
        match value? {
            Value::String(text) => match text.to_ascii_uppercase().as_str() {
                "DISABLE" => Some(TlsMode::Disable),
                "SIMPLE" => Some(TlsMode::Simple),
                "MUTUAL" => Some(TlsMode::Mutual),
                "ISTIO_MUTUAL" => Some(TlsMode::IstioMutual),
                _ => None,
            },
            Value::Number(number) => match number.as_u64()? {
                0 => Some(TlsMode::Disable),
                1 => Some(TlsMode::Simple),
                2 => Some(TlsMode::Mutual),
                3 => Some(TlsMode::IstioMutual),
                _ => None,
            },
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "DISABLE",
            TlsMode::Simple => "SIMPLE",
            TlsMode::Mutual => "MUTUAL",
            TlsMode::IstioMutual => "ISTIO_MUTUAL",
        }
    }
}

/// One `tls` block of a DestinationRule: top level, per port, per subset (and port).
#[derive(Debug)]
pub(crate) struct TlsSetting<'a> {
    pub tls: &'a Value,
    pub mode: Option<TlsMode>,
    pub subset: Option<&'a str>,
    pub port: Option<u32>,
    pub path: Vec<String>,
}

impl TlsSetting<'_> {
    pub(crate) fn path(&self) -> Vec<&str> {
        self.path.iter().map(String::as_str).collect()
    }

    /// `subset v1, port 8080` or `all traffic`, for messages.
    pub(crate) fn describe(&self) -> String {
        match (self.subset, self.port) {
            (Some(subset), Some(port)) => format!("subset {subset}, port {port}"),
            (Some(subset), None) => format!("subset {subset}"),
            (None, Some(port)) => format!("port {port}"),
            (None, None) => "all ports".to_owned(),
        }
    }
}

fn policy_settings<'a>(
    policy: &'a Value,
    subset: Option<&'a str>,
    prefix: Vec<String>,
    found: &mut Vec<TlsSetting<'a>>,
) {
    if let Some(tls) = policy.get("tls").filter(|tls| tls.is_object()) {
        let mut path = prefix.clone();
        path.push("tls".into());
        found.push(TlsSetting {
            tls,
            mode: TlsMode::parse(tls.get("mode")),
            subset,
            port: None,
            path,
        });
    }
    for (index, settings) in items(policy.get("portLevelSettings")).enumerate() {
        let Some(tls) = settings.get("tls").filter(|tls| tls.is_object()) else {
            continue;
        };
        let mut path = prefix.clone();
        path.extend(["portLevelSettings".into(), index.to_string(), "tls".into()]);
        found.push(TlsSetting {
            tls,
            mode: TlsMode::parse(tls.get("mode")),
            subset,
            port: settings
                .at("/port/number")
                .and_then(Value::as_u64)
                .map(|port| port as u32),
            path,
        });
    }
}

/// Every `tls` block of a DestinationRule.
pub(crate) fn tls_settings(rule: &Resource) -> Vec<TlsSetting<'_>> {
    let mut found = Vec::new();
    let spec = rule.spec();
    if let Some(policy) = spec.get("trafficPolicy") {
        policy_settings(
            policy,
            None,
            vec!["spec".into(), "trafficPolicy".into()],
            &mut found,
        );
    }
    for (index, subset) in items(spec.get("subsets")).enumerate() {
        if let Some(policy) = subset.get("trafficPolicy") {
            policy_settings(
                policy,
                str_field(subset, "name"),
                vec![
                    "spec".into(),
                    "subsets".into(),
                    index.to_string(),
                    "trafficPolicy".into(),
                ],
                &mut found,
            );
        }
    }
    found
}

/// The in-mesh Services a DestinationRule's host stands for (several for a wildcard host).
pub(crate) fn mesh_services<'a>(
    mesh: &'a Mesh,
    _index: &WorkloadIndex<'a>,
    rule: &Resource,
) -> Vec<&'a Resource> {
    let Some(host) = str_field(rule.spec(), "host").filter(|host| !host.is_empty()) else {
        return Vec::new();
    };
    if host.starts_with('*') {
        return mesh
            .of_kind(Kind::Service)
            .filter(|service| {
                host_covered_by(&to_fqdn(&service.namespace, service.name()), host)
                    && service_in_mesh(mesh, service)
            })
            .collect();
    }
    let export_to = rule.export_to();
    match mesh.hosts.lookup(&rule.namespace, &export_to, host) {
        Some(target) if target.kind == Kind::Service => {
            let service = mesh.resource(target.resource);
            if service_in_mesh(mesh, service) {
                vec![service]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

/// The container port a Service port forwards to (numeric `targetPort`, else the port).
fn target_port(service: &Resource, port: u32) -> u32 {
    items(service.spec().get("ports"))
        .find(|entry| entry.get("port").and_then(Value::as_u64) == Some(u64::from(port)))
        .and_then(|entry| match entry.get("targetPort") {
            Some(Value::Number(number)) => number.as_u64().map(|number| number as u32),
            Some(Value::String(text)) => text.parse().ok(),
            _ => None,
        })
        .unwrap_or(port)
}

/// The mTLS mode the Service's server side enforces (on one Service port, or overall): STRICT
/// only when every backing workload is STRICT. `None` when the input cannot tell.
pub(crate) fn server_mode<'a>(
    mesh: &'a Mesh,
    _index: &WorkloadIndex<'a>,
    policies: &PeerAuthentications<'a>,
    service: &Resource,
    port: Option<u32>,
) -> Option<Effective<'a>> {
    let container_port = port.map(|port| target_port(service, port));
    let backing = service_workloads(mesh, service);
    if backing.is_empty() {
        return policies.namespace_level(&service.namespace);
    }
    let mut result: Option<Effective> = None;
    for workload in backing {
        let effective =
            policies.for_workload(workload.namespace(), workload.labels(), container_port)?;
        match result {
            Some(current) if current.mode != MtlsMode::Strict => {}
            _ => result = Some(effective),
        }
    }
    result
}

/// A DestinationRule TLS setting that applies to in-mesh Services, with the first of them whose
/// server side requires strict mutual TLS on that port.
pub(crate) struct MeshTlsSetting<'s, 'm> {
    pub rule: &'m Resource,
    pub setting: &'s TlsSetting<'m>,
    pub services: &'s [&'m Resource],
    strict: Option<(&'m Resource, Effective<'m>)>,
}

impl MeshTlsSetting<'_, '_> {
    /// What the setting leads to: `; cart.shop requires <requirement> (<policy>), so these
    /// connections fail` when a server is strict, else `otherwise`.
    pub(crate) fn consequence(&self, requirement: &str, otherwise: &str) -> String {
        match &self.strict {
            Some((service, effective)) => format!(
                "; {}.{} requires {requirement} ({}), so these connections fail",
                service.name(),
                service.namespace,
                effective.origin()
            ),
            None => otherwise.to_owned(),
        }
    }

    /// `DestinationRule shop/cart <does> (port 80) towards mesh workloads of cart.shop`: the
    /// setting as findings name it.
    pub(crate) fn describe(&self, does: &str) -> String {
        format!(
            "DestinationRule {}/{} {does} ({}) towards mesh workloads of {}",
            self.rule.namespace,
            self.rule.name(),
            self.setting.describe(),
            service_list(self.services)
        )
    }

    /// Reports the setting's `mode`: an error when a strict server refuses the connections.
    pub(crate) fn report(&self, sink: &mut Sink, message: String) {
        let mut mode_path = self.setting.path();
        mode_path.push("mode");
        let finding = sink.report(self.rule, &mode_path, message);
        if self.strict.is_some() {
            finding.severity(Severity::Error);
        }
    }
}

/// Visits every DestinationRule TLS setting whose mode is `selected` and that applies to in-mesh
/// Services.
pub(crate) fn each_mesh_tls_setting<'m>(
    mesh: &'m Mesh,
    selected: impl Fn(Option<TlsMode>) -> bool,
    mut visit: impl FnMut(&MeshTlsSetting<'_, 'm>),
) {
    let index = WorkloadIndex::new(mesh);
    let policies = PeerAuthentications::new(mesh);
    for rule in mesh.of_kind(Kind::DestinationRule) {
        let settings = tls_settings(rule);
        if !settings.iter().any(|setting| selected(setting.mode)) {
            continue;
        }
        let services = mesh_services(mesh, &index, rule);
        if services.is_empty() {
            continue;
        }
        for setting in settings.iter().filter(|setting| selected(setting.mode)) {
            let strict = services.iter().find_map(|service| {
                server_mode(mesh, &index, &policies, service, setting.port)
                    .filter(|effective| effective.mode == MtlsMode::Strict)
                    .map(|effective| (*service, effective))
            });
            visit(&MeshTlsSetting {
                rule,
                setting,
                services: &services,
                strict,
            });
        }
    }
}

/// `name.namespace` list of Services, shortened.
pub(crate) fn service_list(services: &[&Resource]) -> String {
    let mut names: Vec<String> = services
        .iter()
        .take(3)
        .map(|service| format!("{}.{}", service.name(), service.namespace))
        .collect();
    if services.len() > 3 {
        names.push(format!("and {} more", services.len() - 3));
    }
    names.join(", ")
}
