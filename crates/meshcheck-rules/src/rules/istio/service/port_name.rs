use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, Protocol, str_field};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks that every Service port tells Istio its protocol, by a name prefix (`http-web`,
    /// `grpc`, `tcp-db`) or by `appProtocol`. For `ExternalName` services it checks that the port
    /// is not named plain `tcp`.
    ///
    /// ## Why is this bad?
    /// A port Istio cannot classify falls back to protocol sniffing: HTTP features (retries,
    /// routing by path, HTTP metrics) may silently not apply, and server-first protocols (MySQL,
    /// SMTP) can hang while the proxy waits for the client to speak. An `ExternalName` service port
    /// named `tcp` makes Istio route by port alone and can capture traffic for other hosts.
    ///
    /// ## How to fix
    /// Name the port `<protocol>[-<suffix>]` (`http`, `http2`, `https`, `grpc`, `grpc-web`, `tcp`,
    /// `tls`, `mongo`, `mysql`, `redis`, `udp`) or set `appProtocol`.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    /// - name: web          # no protocol prefix
    ///   port: 80
    /// ```
    /// Use instead:
    /// ```yaml
    /// ports:
    /// - name: http-web
    ///   port: 80
    /// ```
    pub static SERVICE_PORT_NAME = {
        code: "MC028",
        name: "service-port-name",
        category: ApplicationPolicy,
        severity: Info,
        summary: "Service ports must declare their protocol (name prefix or appProtocol)",
        istio_analyzer: Some("service.PortNameAnalyzer"),
        istio_codes: &["IST0118", "IST0150"],
        inputs: &[Kind::Service],
        docs_url: "https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/",
        remediation: "Name the port <protocol>[-<suffix>] (for example http-web, grpc, tcp-db) or set appProtocol.",
        check: check,
    }
}

/// Labels that mark a Service as Istio's own (the control plane is exempt, as in istioctl).
fn is_istio_control_plane(labels: &meshcheck_input::Map) -> bool {
    labels.contains_key("istio") || labels.get("release").and_then(Value::as_str) == Some("istio")
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for service in mesh.of_kind(Kind::Service) {
        if is_istio_control_plane(service.labels()) {
            continue;
        }
        // Services a Gateway API controller manages are not the user's to rename.
        if service
            .label("gateway.istio.io/managed")
            .is_some_and(|value| {
                matches!(
                    value,
                    "istio.io-gateway-controller"
                        | "istio.io-mesh-controller"
                        | "istio.io-eastwest-controller"
                )
            })
        {
            continue;
        }
        let spec = service.spec();
        let external_name = str_field(spec, "type") == Some("ExternalName");
        let ports = spec.get("ports").and_then(Value::as_array);
        for (index, port) in ports.into_iter().flatten().enumerate() {
            let name = str_field(port, "name").unwrap_or_default();
            let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
            let protocol = Protocol::of_service_port(
                number,
                name,
                str_field(port, "protocol"),
                str_field(port, "appProtocol"),
            );
            if protocol != Protocol::Unsupported && !(name == "tcp" && external_name) {
                continue;
            }
            let index = index.to_string();
            let path = ["spec", "ports", index.as_str()];
            if external_name {
                sink.istio(
                    "IST0150",
                    service,
                    &path,
                    format!(
                        "ExternalName service {} has port {number} named {name:?}: name it by protocol (not plain \"tcp\") so Istio does not route it by port alone",
                        service.display_name()
                    ),
                );
            } else {
                let target = port
                    .get("targetPort")
                    .map(|target| match target {
                        Value::String(text) => text.to_string(),
                        other => other.to_string(),
                    })
                    .unwrap_or_else(|| number.to_string());
                let shown = if name.is_empty() { "<unnamed>" } else { name };
                sink.istio(
                    "IST0118",
                    service,
                    &path,
                    format!(
                        "Port name {shown} (port: {number}, targetPort: {target}) doesn't follow the naming convention of Istio port."
                    ),
                );
            }
        }
    }
}
