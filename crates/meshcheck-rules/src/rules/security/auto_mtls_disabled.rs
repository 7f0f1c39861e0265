use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::Kind;

use crate::facts::destination_tls::{TlsMode, tls_settings};
use crate::facts::mesh_config::report_mesh_config_setting;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// When the mesh config is known, reports `enableAutoMtls: false`.
    ///
    /// ## Why is this bad?
    /// With auto mTLS a client sidecar sends Istio mutual TLS to every destination that has a
    /// sidecar, without any DestinationRule. Turned off, clients send plaintext unless a
    /// DestinationRule for the destination sets `tls.mode: ISTIO_MUTUAL`: traffic to every
    /// service without one travels unencrypted, and fails outright against STRICT servers. Any
    /// DestinationRule written later without a `tls` block silently downgrades its host.
    ///
    /// ## How to fix
    /// Remove `enableAutoMtls: false` from the mesh config (it defaults to true).
    ///
    /// ## Example
    /// ```yaml
    /// meshConfig:
    ///   enableAutoMtls: false
    /// ```
    pub static AUTO_MTLS_DISABLED = {
        code: "MC219",
        name: "auto-mtls-disabled",
        category: Security,
        severity: Warning,
        summary: "Automatic mutual TLS should stay enabled in the mesh config",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::ConfigMap, Kind::DestinationRule],
        docs_url: "https://istio.io/latest/docs/ops/configuration/traffic-management/tls-configuration/#auto-mtls",
        remediation: "Remove enableAutoMtls: false from the mesh config.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if !mesh.mesh_config.explicit {
        return;
    }
    let disabled = match mesh.mesh_config.at("/enableAutoMtls") {
        Some(Value::Bool(flag)) => !flag,
        Some(Value::String(text)) => text.eq_ignore_ascii_case("false"),
        _ => false,
    };
    if !disabled {
        return;
    }
    let explicit = mesh
        .of_kind(Kind::DestinationRule)
        .filter(|rule| {
            tls_settings(rule)
                .iter()
                .any(|setting| setting.mode == Some(TlsMode::IstioMutual))
        })
        .count();
    report_mesh_config_setting(
        mesh,
        sink,
        &format!(
            "sets enableAutoMtls: false: sidecars send plaintext to every destination without a DestinationRule setting ISTIO_MUTUAL (DestinationRules in the input that set it: {explicit})"
        ),
    );
}
