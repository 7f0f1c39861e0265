use crate::Context;
use meshcheck_model::{Kind, strings};

use crate::facts::mesh_config::servers;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds Gateway servers whose `tls.cipherSuites` list weak ciphers: suites without forward
    /// secrecy (no `ECDHE`/`DHE` key exchange, such as `AES128-GCM-SHA256`), CBC-mode suites
    /// (`...-SHA`, `...-CBC-...`), and anything with `3DES`, `DES`, `RC4`, `MD5`, `NULL` or
    /// `EXPORT`.
    ///
    /// ## Why is this bad?
    /// Without forward secrecy, anyone who later obtains the gateway's private key can decrypt
    /// recorded traffic. CBC suites have a long history of padding-oracle attacks, and the legacy
    /// algorithms are broken outright. A cipher list at the edge is usually copied from an old
    /// compatibility guide.
    ///
    /// ## How to fix
    /// Remove `cipherSuites` to use Envoy's defaults, or list only ECDHE suites with AEAD ciphers
    /// (`ECDHE-ECDSA-AES128-GCM-SHA256`, `ECDHE-RSA-AES256-GCM-SHA384`,
    /// `ECDHE-ECDSA-CHACHA20-POLY1305`...). TLS 1.3 suites are not configurable and are safe.
    ///
    /// ## Example
    /// ```yaml
    /// tls:
    ///   mode: SIMPLE
    ///   cipherSuites: ["AES256-SHA", "ECDHE-RSA-AES128-GCM-SHA256"]
    /// ```
    pub static GATEWAY_WEAK_CIPHERS = {
        code: "MC308",
        name: "gateway-weak-ciphers",
        category: IngressEgress,
        severity: Warning,
        summary: "Gateway TLS servers must not enable weak cipher suites",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Gateway],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/gateway/#ServerTLSSettings",
        remediation: "Remove tls.cipherSuites (Envoy's defaults) or list only ECDHE suites with AES-GCM or ChaCha20-Poly1305.",
        check: check,
    }
}

/// Why a cipher suite (OpenSSL/BoringSSL name) is weak, if it is.
fn weakness(suite: &str) -> Option<&'static str> {
    let suite = suite.to_ascii_uppercase();
    if ["NULL", "EXPORT", "RC4", "MD5", "3DES", "DES-CBC"]
        .iter()
        .any(|broken| suite.contains(broken))
    {
        return Some("broken algorithm");
    }
    if !suite.starts_with("ECDHE") && !suite.starts_with("DHE") {
        return Some("no forward secrecy");
    }
    if suite.contains("CBC") || suite.ends_with("-SHA") {
        return Some("CBC mode");
    }
    None
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for gateway in mesh.of_kind(Kind::Gateway) {
        for server in servers(gateway) {
            let Some(tls) = server.tls() else {
                continue;
            };
            let weak: Vec<String> = strings(tls.get("cipherSuites"))
                .into_iter()
                // TLS 1.3 suites (TLS_AES_...) are fixed by BoringSSL and strong.
                .filter(|suite| !suite.starts_with("TLS_"))
                .filter_map(|suite| weakness(suite).map(|why| format!("{suite} ({why})")))
                .collect();
            if weak.is_empty() {
                continue;
            }
            let path = server.path(&["tls", "cipherSuites"]);
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            sink.report(
                gateway,
                &path,
                format!(
                    "Gateway {}/{} server on port {} enables weak cipher suites: {}",
                    gateway.namespace,
                    gateway.name(),
                    server.port,
                    weak.join(", ")
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::weakness;

    #[test]
    fn classifies_suites() {
        assert_eq!(weakness("ECDHE-RSA-AES128-GCM-SHA256"), None);
        assert_eq!(weakness("ECDHE-ECDSA-CHACHA20-POLY1305"), None);
        assert_eq!(weakness("AES256-GCM-SHA384"), Some("no forward secrecy"));
        assert_eq!(weakness("ECDHE-RSA-AES128-SHA"), Some("CBC mode"));
        assert_eq!(weakness("DES-CBC3-SHA"), Some("broken algorithm"));
        assert_eq!(weakness("ECDHE-RSA-DES-CBC3-SHA"), Some("broken algorithm"));
    }
}
