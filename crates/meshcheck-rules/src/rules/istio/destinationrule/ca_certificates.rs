use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, Resource, str_field};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks every DestinationRule whose TLS mode is `SIMPLE` or `MUTUAL` (for the whole
    /// destination or for one port) and reports those that set no `caCertificates`. A rule that
    /// takes its certificates from `credentialName` and applies to selected workloads only
    /// (`workloadSelector`) is accepted, since the secret then carries the CA.
    ///
    /// ## Why is this bad?
    /// Without a CA bundle the proxy originates TLS without verifying the server's certificate:
    /// traffic is encrypted but anyone able to intercept it can present any certificate and read
    /// it (a man in the middle goes unnoticed).
    ///
    /// ## How to fix
    /// Set `tls.caCertificates` to the CA bundle that signed the server's certificate (or use
    /// `credentialName` with a secret that holds `ca.crt`, together with a `workloadSelector`).
    ///
    /// ## Example
    /// ```yaml
    /// trafficPolicy:
    ///   tls:
    ///     mode: SIMPLE
    /// ```
    /// Use instead:
    /// ```yaml
    /// trafficPolicy:
    ///   tls:
    ///     mode: SIMPLE
    ///     caCertificates: /etc/certs/db-ca.pem
    ///     sni: db.example.com
    /// ```
    pub static DESTINATION_RULE_CA_CERTIFICATES = {
        code: "MC011",
        name: "destination-rule-ca-certificates",
        category: Security,
        severity: Warning,
        summary: "DestinationRules that originate TLS (SIMPLE/MUTUAL) must verify the server with caCertificates",
        istio_analyzer: Some("destinationrule.CaCertificateAnalyzer"),
        istio_codes: &["IST0128", "IST0129"],
        inputs: &[Kind::DestinationRule],
        docs_url: "https://istio.io/latest/docs/ops/best-practices/security/#configure-tls-verification-in-destination-rule-when-using-tls-origination",
        remediation: "Set tls.caCertificates (or credentialName with a workloadSelector) so the proxy verifies the server's certificate.",
        check: check,
    }
}

/// The TLS mode when it originates TLS with server verification in mind (`SIMPLE`/`MUTUAL`).
fn originating_mode(tls: &Value) -> Option<&'static str> {
    match tls.get("mode")? {
        Value::String(mode) if mode == "SIMPLE" => Some("SIMPLE"),
        Value::String(mode) if mode == "MUTUAL" => Some("MUTUAL"),
        Value::Number(number) => match number.as_u64()? {
            1 => Some("SIMPLE"),
            2 => Some("MUTUAL"),
            _ => None,
        },
        _ => None,
    }
}

/// Whether TLS settings leave the server unverified.
fn unverified(tls: &Value, has_workload_selector: bool) -> bool {
    let non_empty = |key: &str| str_field(tls, key).is_some_and(|text| !text.is_empty());
    let verified_by_ca = non_empty("caCertificates");
    let verified_by_secret = non_empty("credentialName") && has_workload_selector;
    !(verified_by_ca || verified_by_secret)
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for rule in mesh.of_kind(Kind::DestinationRule) {
        check_rule(rule, sink);
    }
}

fn check_rule(rule: &Resource, sink: &mut Sink) {
    let spec = rule.spec();
    let host = str_field(spec, "host").unwrap_or_default();
    let has_workload_selector = spec
        .get("workloadSelector")
        .is_some_and(|selector| !selector.is_null());
    let policy = spec.get("trafficPolicy").unwrap_or(&Value::Null);
    if let Some(tls) = policy.get("tls")
        && let Some(mode) = originating_mode(tls)
        && unverified(tls, has_workload_selector)
    {
        sink.istio(
            "IST0128",
            rule,
            &["spec", "trafficPolicy", "tls", "mode"],
            format!(
                "DestinationRule {} in namespace {} has TLS mode {mode} but no caCertificates to verify the server of host {host}",
                rule.name(),
                rule.namespace
            ),
        );
    }
    let port_settings = policy.get("portLevelSettings").and_then(Value::as_array);
    for (index, settings) in port_settings.into_iter().flatten().enumerate() {
        let Some(tls) = settings.get("tls") else {
            continue;
        };
        let Some(mode) = originating_mode(tls) else {
            continue;
        };
        if !unverified(tls, has_workload_selector) {
            continue;
        }
        let port = settings
            .at("/port/number")
            .map(|number| match number {
                Value::String(text) => text.to_string(),
                other => other.to_string(),
            })
            .unwrap_or_else(|| "<unset>".to_owned());
        let index = index.to_string();
        sink.istio(
            "IST0129",
            rule,
            &["spec", "trafficPolicy", "portLevelSettings", &index, "tls", "mode"],
            format!(
                "DestinationRule {} in namespace {} has TLS mode {mode} but no caCertificates to verify the server of host {host} at port {port}",
                rule.name(),
                rule.namespace
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    #[test]
    fn credential_name_needs_workload_selector() {
        let base = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: db, namespace: data}\nspec:\n  host: db.example.com\n";
        let without =
            format!("{base}  trafficPolicy: {{tls: {{mode: SIMPLE, credentialName: db-ca}}}}\n");
        assert_eq!(check(&DESTINATION_RULE_CA_CERTIFICATES, &without).len(), 1);
        let with = format!(
            "{base}  workloadSelector: {{matchLabels: {{app: api}}}}\n  trafficPolicy: {{tls: {{mode: SIMPLE, credentialName: db-ca}}}}\n"
        );
        assert!(check(&DESTINATION_RULE_CA_CERTIFICATES, &with).is_empty());
        let istio_mutual = format!("{base}  trafficPolicy: {{tls: {{mode: ISTIO_MUTUAL}}}}\n");
        assert!(check(&DESTINATION_RULE_CA_CERTIFICATES, &istio_mutual).is_empty());
    }
}
