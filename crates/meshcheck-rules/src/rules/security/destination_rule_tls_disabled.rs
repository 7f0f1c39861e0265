use crate::Context;
use meshcheck_model::Kind;

use crate::facts::destination_tls::{TlsMode, each_mesh_tls_setting};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds DestinationRules that set `tls.mode: DISABLE` (for all traffic, a port, a subset or
    /// a subset's port) for hosts served by mesh workloads: Services whose pods run a sidecar (or
    /// ambient), or whose namespace injects one. Wildcard hosts such as `*.local` are matched
    /// against every Service. It is an error when the server side enforces STRICT mutual TLS,
    /// since the connections then fail, and a warning otherwise.
    ///
    /// ## Why is this bad?
    /// `DISABLE` makes the client sidecar send plaintext instead of Istio mutual TLS: traffic
    /// between two mesh workloads travels unencrypted, the server cannot authenticate the client,
    /// and identity-based authorization stops working. Against a STRICT server the plaintext
    /// connections are refused (`connection reset`, 503).
    ///
    /// ## How to fix
    /// Remove the `tls` block (auto mTLS picks Istio mutual TLS for mesh destinations) or set
    /// `mode: ISTIO_MUTUAL`. If the destination really has no sidecar, scope the DestinationRule
    /// to that host only.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: reviews, namespace: bookinfo}
    /// spec:
    ///   host: reviews
    ///   trafficPolicy:
    ///     tls: {mode: DISABLE}     # reviews runs with a sidecar
    /// ```
    pub static DESTINATION_RULE_TLS_DISABLED = {
        code: "MC203",
        name: "destination-rule-tls-disabled",
        category: Security,
        severity: Warning,
        summary: "DestinationRules must not disable TLS towards mesh workloads",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::DestinationRule, Kind::Service, Kind::Pod, Kind::Deployment, Kind::Namespace, Kind::PeerAuthentication],
        docs_url: "https://istio.io/latest/docs/ops/configuration/traffic-management/tls-configuration/",
        remediation: "Remove the tls block (auto mTLS) or set tls.mode ISTIO_MUTUAL for destinations that run a sidecar.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let disables = |mode| mode == Some(TlsMode::Disable);
    each_mesh_tls_setting(mesh, disables, |found| {
        let consequence = found.consequence(
            "mutual TLS",
            ": the traffic is sent in plaintext, unauthenticated",
        );
        let message = format!("{}{consequence}", found.describe("disables TLS"));
        found.report(sink, message);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Severity;
    use crate::testing::check;

    const SERVICE: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec: {selector: {app: cart}, ports: [{name: http, port: 80, targetPort: 8080}]}\n";

    #[test]
    fn wildcard_host_and_outside_mesh() {
        let wildcard = format!(
            "{SERVICE}---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: all, namespace: istio-system}}\nspec: {{host: '*.local', trafficPolicy: {{tls: {{mode: DISABLE}}}}}}\n"
        );
        let findings = check(&DESTINATION_RULE_TLS_DISABLED, &wildcard);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(findings[0].message.contains("cart.shop"));
        let outside = "apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: legacy}\nspec: {selector: {app: cart}, ports: [{port: 80}]}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: cart, namespace: legacy}\nspec: {host: cart, trafficPolicy: {tls: {mode: DISABLE}}}\n";
        assert!(check(&DESTINATION_RULE_TLS_DISABLED, outside).is_empty());
    }

    #[test]
    fn strict_port_exception_is_respected() {
        let yaml = format!(
            "{SERVICE}---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {{name: default, namespace: shop}}\nspec: {{mtls: {{mode: STRICT}}}}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: cart, namespace: shop}}\nspec:\n  host: cart\n  trafficPolicy:\n    portLevelSettings:\n    - port: {{number: 80}}\n      tls: {{mode: DISABLE}}\n"
        );
        let findings = check(&DESTINATION_RULE_TLS_DISABLED, &yaml);
        assert_eq!(findings[0].severity, Severity::Error);
        assert_eq!(findings[0].source.as_ref().unwrap().line, Some(23));
    }
}
