use crate::Context;
use meshcheck_model::Kind;

use crate::facts::destination_tls::{TlsMode, each_mesh_tls_setting};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds DestinationRules that set `tls.mode: SIMPLE` or `MUTUAL` (for all traffic, a port,
    /// a subset or a subset's port) for hosts served by mesh workloads, where Istio mutual TLS
    /// (`ISTIO_MUTUAL`, what auto mTLS picks) is expected. It is an error when the server side
    /// enforces STRICT mutual TLS and a warning otherwise.
    ///
    /// ## Why is this bad?
    /// `SIMPLE`/`MUTUAL` make the client sidecar originate TLS with the certificates named in the
    /// rule instead of the workload's Istio identity. The server sidecar does not see an Istio
    /// mTLS connection: under STRICT it refuses it, under PERMISSIVE it passes the bytes through
    /// to the application as plain TCP, so the request carries no peer identity, HTTP routing and
    /// authorization on the server side do not apply, and telemetry is lost.
    ///
    /// ## How to fix
    /// Use `mode: ISTIO_MUTUAL` (or remove the `tls` block) for destinations inside the mesh.
    /// `SIMPLE`/`MUTUAL` are meant for TLS origination to services outside the mesh
    /// (ServiceEntries, egress gateways).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: payments, namespace: shop}
    /// spec:
    ///   host: payments.shop.svc.cluster.local     # runs with a sidecar
    ///   trafficPolicy:
    ///     tls:
    ///       mode: MUTUAL
    ///       credentialName: payments-client
    /// ```
    pub static DESTINATION_RULE_TLS_ORIGINATION_IN_MESH = {
        code: "MC204",
        name: "destination-rule-tls-origination-in-mesh",
        category: Security,
        severity: Warning,
        summary: "DestinationRules for mesh workloads should use ISTIO_MUTUAL, not SIMPLE/MUTUAL TLS origination",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::DestinationRule, Kind::Service, Kind::Pod, Kind::Deployment, Kind::Namespace, Kind::PeerAuthentication],
        docs_url: "https://istio.io/latest/docs/ops/configuration/traffic-management/tls-configuration/",
        remediation: "Use tls.mode ISTIO_MUTUAL (or no tls block, for auto mTLS) towards destinations that run a sidecar.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let originates = |mode| matches!(mode, Some(TlsMode::Simple | TlsMode::Mutual));
    each_mesh_tls_setting(mesh, originates, |found| {
        let mode = found.setting.mode.map(TlsMode::as_str).unwrap_or_default();
        let consequence = found.consequence(
            "Istio mutual TLS",
            ": the server sidecar sees no Istio identity and passes the connection through as plain TCP",
        );
        let setting = found.describe(&format!("originates TLS mode {mode}"));
        found.report(
            sink,
            format!("{setting} instead of ISTIO_MUTUAL{consequence}"),
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    #[test]
    fn external_hosts_are_fine() {
        let yaml = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: api, namespace: shop}\nspec: {hosts: [api.example.com], ports: [{number: 443, name: https, protocol: HTTPS}], resolution: DNS}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: api, namespace: shop}\nspec: {host: api.example.com, trafficPolicy: {tls: {mode: SIMPLE}}}\n";
        assert!(check(&DESTINATION_RULE_TLS_ORIGINATION_IN_MESH, yaml).is_empty());
    }
}
