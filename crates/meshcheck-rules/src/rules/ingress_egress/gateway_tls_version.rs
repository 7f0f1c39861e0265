use crate::Context;
use meshcheck_model::Kind;

use crate::facts::mesh_config::{servers, tls_text};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds Gateway servers that terminate TLS and allow protocol versions older than TLS 1.2:
    /// `tls.minProtocolVersion` or `tls.maxProtocolVersion` set to `TLSV1_0` or `TLSV1_1`.
    /// (Unset, `TLS_AUTO`, means TLS 1.2 as the minimum for gateways.)
    ///
    /// ## Why is this bad?
    /// TLS 1.0 and 1.1 are deprecated (RFC 8996): they rely on weak primitives (SHA-1, CBC
    /// constructions open to BEAST/POODLE-style attacks) and fail PCI DSS and most compliance
    /// baselines. Allowing them at the edge lets clients, or an attacker downgrading them,
    /// negotiate a weak connection.
    ///
    /// ## How to fix
    /// Set `minProtocolVersion: TLSV1_2` (or `TLSV1_3`), or remove the setting, and do not cap
    /// `maxProtocolVersion` below TLS 1.2.
    ///
    /// ## Example
    /// ```yaml
    /// tls:
    ///   mode: SIMPLE
    ///   credentialName: shop-cert
    ///   minProtocolVersion: TLSV1_0
    /// ```
    pub static GATEWAY_TLS_VERSION = {
        code: "MC307",
        name: "gateway-tls-version",
        category: IngressEgress,
        severity: Warning,
        summary: "Gateway TLS servers must not allow TLS 1.0 or 1.1",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Gateway],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/gateway/#ServerTLSSettings-TLSProtocol",
        remediation: "Set tls.minProtocolVersion to TLSV1_2 or TLSV1_3 (or remove it) and do not cap maxProtocolVersion below TLSV1_2.",
        check: check,
    }
}

fn outdated(version: &str) -> bool {
    matches!(version.to_ascii_uppercase().as_str(), "TLSV1_0" | "TLSV1_1")
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for gateway in mesh.of_kind(Kind::Gateway) {
        for server in servers(gateway) {
            if server.tls().is_none()
                || server
                    .tls_mode()
                    .is_some_and(|mode| mode.ends_with("PASSTHROUGH"))
            {
                continue;
            }
            for key in ["minProtocolVersion", "maxProtocolVersion"] {
                let Some(version) = tls_text(&server, key).filter(|version| outdated(version))
                else {
                    continue;
                };
                let path = server.path(&["tls", key]);
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                let effect = if key == "minProtocolVersion" {
                    "accepts clients down to"
                } else {
                    "caps connections at"
                };
                sink.report(
                    gateway,
                    &path,
                    format!(
                        "Gateway {}/{} server on port {} ({}) {effect} {version}, a deprecated TLS version",
                        gateway.namespace,
                        gateway.name(),
                        server.port,
                        server.hosts.join(", ")
                    ),
                );
            }
        }
    }
}
