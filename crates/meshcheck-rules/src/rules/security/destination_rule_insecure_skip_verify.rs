use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, str_field};

use crate::facts::destination_tls::{TlsMode, tls_settings};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds DestinationRules that originate TLS (`SIMPLE` or `MUTUAL`, for all traffic, a port
    /// or a subset) with `insecureSkipVerify: true`.
    ///
    /// ## Why is this bad?
    /// With `insecureSkipVerify` the proxy accepts any certificate from the server, even when
    /// `caCertificates` or `subjectAltNames` are set: the connection is encrypted, but anyone who
    /// can intercept it (a compromised DNS entry, a rogue egress path) can impersonate the
    /// server and read the traffic, credentials included. It is usually a leftover from testing
    /// against a self-signed endpoint.
    ///
    /// ## How to fix
    /// Remove `insecureSkipVerify` and give the proxy the CA that signed the server's
    /// certificate (`caCertificates`, or `credentialName` with a `ca.crt`), plus `sni` and
    /// `subjectAltNames` for the expected name.
    ///
    /// ## Example
    /// ```yaml
    /// trafficPolicy:
    ///   tls:
    ///     mode: SIMPLE
    ///     insecureSkipVerify: true
    /// ```
    pub static DESTINATION_RULE_INSECURE_SKIP_VERIFY = {
        code: "MC224",
        name: "destination-rule-insecure-skip-verify",
        category: Security,
        severity: Warning,
        summary: "DestinationRules that originate TLS must verify the server certificate (no insecureSkipVerify)",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::DestinationRule],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/destination-rule/#ClientTLSSettings",
        remediation: "Remove insecureSkipVerify and verify the server with caCertificates (or credentialName with ca.crt), sni and subjectAltNames.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for rule in mesh.of_kind(Kind::DestinationRule) {
        let host = str_field(rule.spec(), "host").unwrap_or_default();
        for setting in tls_settings(rule) {
            if !matches!(setting.mode, Some(TlsMode::Simple | TlsMode::Mutual)) {
                continue;
            }
            let skips = match setting.tls.get("insecureSkipVerify") {
                Some(Value::Bool(flag)) => *flag,
                // The protobuf wrapper form `{value: true}`.
                Some(Value::Object(wrapper)) => {
                    wrapper.get("value").and_then(Value::as_bool) == Some(true)
                }
                _ => false,
            };
            if !skips {
                continue;
            }
            let mut path = setting.path();
            path.push("insecureSkipVerify");
            sink.report(
                rule,
                &path,
                format!(
                    "DestinationRule {}/{} originates TLS to {host} ({}) without verifying the server certificate (insecureSkipVerify: true)",
                    rule.namespace,
                    rule.name(),
                    setting.describe()
                ),
            );
        }
    }
}
