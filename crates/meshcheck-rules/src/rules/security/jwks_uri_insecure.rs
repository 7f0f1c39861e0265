use crate::Context;
use meshcheck_model::{Kind, str_field};

use super::jwt_rules::jwt_rules;
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds RequestAuthentication JWT rules whose signing keys are fetched over plain HTTP: a
    /// `jwksUri` with `http://`, or, without `jwksUri` and inline `jwks`, an `issuer` with
    /// `http://` (istiod then discovers the keys from the issuer's OpenID configuration). Keys
    /// fetched from a cluster-local address are reported as info.
    ///
    /// ## Why is this bad?
    /// The JWKS decides which tokens are valid. Fetched without TLS, anyone who can intercept or
    /// spoof the connection between istiod and the issuer can substitute their own keys and then
    /// mint tokens that every proxy accepts.
    ///
    /// ## How to fix
    /// Use the `https://` URL of the JWKS endpoint (every public identity provider offers one),
    /// or embed the keys with `jwks`.
    ///
    /// ## Example
    /// ```yaml
    /// jwtRules:
    /// - issuer: https://login.example.com
    ///   jwksUri: http://login.example.com/keys    # use https://
    /// ```
    pub static JWKS_URI_INSECURE = {
        code: "MC213",
        name: "jwks-uri-insecure",
        category: Security,
        severity: Warning,
        summary: "JWT signing keys must be fetched over HTTPS",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::RequestAuthentication],
        docs_url: "https://istio.io/latest/docs/reference/config/security/jwt/",
        remediation: "Use the https:// JWKS endpoint of the issuer, or embed the keys with jwks.",
        check: check,
    }
}

/// The host of an `http://` URL, when the URL is plain HTTP.
fn plain_http_host(url: &str) -> Option<&str> {
    let rest = url
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .map(|_| &url[7..])?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    Some(
        authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    )
}

fn cluster_local(host: &str) -> bool {
    !host.contains('.')
        || host.ends_with(".svc")
        || host.ends_with(".svc.cluster.local")
        || host.ends_with(".cluster.local")
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for policy in mesh.of_kind(Kind::RequestAuthentication) {
        for (index, rule) in jwt_rules(policy) {
            let jwks_uri = str_field(rule, "jwksUri").filter(|uri| !uri.is_empty());
            let inline = str_field(rule, "jwks").is_some_and(|keys| !keys.is_empty());
            let (field, url) = match jwks_uri {
                Some(uri) => ("jwksUri", uri),
                None if !inline => match str_field(rule, "issuer") {
                    Some(issuer) => ("issuer", issuer),
                    None => continue,
                },
                None => continue,
            };
            let Some(host) = plain_http_host(url) else {
                continue;
            };
            let index = index.to_string();
            let how = if field == "jwksUri" {
                "fetches its signing keys from"
            } else {
                "discovers its signing keys through the plain HTTP issuer"
            };
            let finding = sink.report(
                policy,
                &["spec", "jwtRules", &index, field],
                format!(
                    "RequestAuthentication {}/{} {how} {url}: whoever can tamper with that connection can substitute keys and forge accepted tokens",
                    policy.namespace,
                    policy.name()
                ),
            );
            if cluster_local(host) {
                finding.severity(Severity::Info);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_http_urls() {
        assert_eq!(
            plain_http_host("http://keycloak.auth:8080/realms/x"),
            Some("keycloak.auth")
        );
        assert_eq!(
            plain_http_host("HTTP://idp.example.com"),
            Some("idp.example.com")
        );
        assert_eq!(plain_http_host("https://idp.example.com/keys"), None);
        assert!(cluster_local("keycloak.auth.svc.cluster.local"));
        assert!(!cluster_local("idp.example.com"));
    }
}
