use crate::Context;
use std::collections::HashSet;
use std::net::IpAddr;

use meshcheck_input::Value;
use meshcheck_model::{Kind, Resource, items, str_field};

use super::webhook_url::hostname;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// On clusters whose Istio webhooks call an external control plane (a remote cluster of an
    /// external-istiod install), checks the `clientConfig` of the sidecar injector
    /// (`istio-sidecar-injector*`) and validation (`istio-validator*`,
    /// `istiod-default-validator`) webhooks: each must give either a Service or a URL, the URL
    /// must parse, and its host should be a DNS name rather than an IP address.
    ///
    /// ## Why is this bad?
    /// A webhook without a usable address cannot reach istiod: pods are created without
    /// sidecars (or not at all, with a failing policy) and Istio configuration is not
    /// validated. An IP address ties the remote cluster to one gateway address and cannot be
    /// verified against the gateway's certificate.
    ///
    /// ## How to fix
    /// Set `clientConfig.url` to `https://<external-istiod-hostname>:15017/inject/...` (or
    /// `/validate`), using the DNS name of the external control plane's ingress gateway.
    ///
    /// ## Example
    /// ```yaml
    /// clientConfig:
    ///   url: https://203.0.113.10:15017/inject/cluster/remote1/net/network1
    /// ```
    /// Use instead:
    /// ```yaml
    /// clientConfig:
    ///   url: https://istiod.mesh.example.com:15017/inject/cluster/remote1/net/network1
    /// ```
    pub static EXTERNAL_ISTIOD_WEBHOOKS = {
        code: "MC014",
        name: "external-control-plane-webhooks",
        category: Platform,
        severity: Warning,
        summary: "Webhooks of an external control plane must reach istiod through a valid hostname",
        istio_analyzer: Some("externalcontrolplane.ExternalControlPlaneAnalyzer"),
        istio_codes: &["IST0163", "IST0164"],
        inputs: &[Kind::ValidatingWebhookConfiguration, Kind::MutatingWebhookConfiguration],
        docs_url: "https://istio.io/latest/docs/setup/install/external-controlplane/",
        remediation: "Set clientConfig.url to an https URL whose host is the DNS name of the external control plane's ingress gateway.",
        check: check,
    }
}

/// Checks the client configuration of every webhook of an Istio webhook configuration (each
/// distinct message once per configuration).
fn check_webhooks(config: &Resource, sink: &mut Sink) {
    let mut reported: HashSet<String> = HashSet::new();
    for (index, webhook) in items(config.value().get("webhooks")).enumerate() {
        let name = str_field(webhook, "name").unwrap_or_default();
        let client = webhook.get("clientConfig").unwrap_or(&Value::Null);
        let url = client.get("url").and_then(Value::as_str);
        let has_service = client
            .get("service")
            .is_some_and(|service| !service.is_null());
        let index_text = index.to_string();
        let path = ["webhooks", index_text.as_str(), "clientConfig"];
        let (code, message) = match url {
            Some(url) => match hostname(url) {
                Err(()) => (
                    "IST0163",
                    format!(
                        "The hostname ({url}) that was provided for the webhook ({name}) to reach the ingress gateway on the external control plane cluster was provided in an invalid format. Traffic may not flow properly."
                    ),
                ),
                Ok(host) if host.parse::<IpAddr>().is_ok() => (
                    "IST0164",
                    format!(
                        "The address ({url}) that was provided for the webhook ({name}) to reach the ingress gateway on the external control plane cluster is an IP address. This is not recommended for a production environment."
                    ),
                ),
                Ok(_) => continue,
            },
            None if !has_service => (
                "IST0163",
                format!(
                    "The webhook ({name}) gives neither a URL nor a Service: the hostname to reach the ingress gateway on the external control plane cluster is blank. Traffic may not flow properly."
                ),
            ),
            None => continue,
        };
        if reported.insert(message.clone()) {
            sink.istio(code, config, &path, message);
        }
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for config in mesh.of_kind(Kind::ValidatingWebhookConfiguration) {
        let name = config.name();
        if !name.is_empty()
            && (name == "istiod-default-validator" || name.starts_with("istio-validator"))
        {
            check_webhooks(config, sink);
        }
    }
    for config in mesh.of_kind(Kind::MutatingWebhookConfiguration) {
        if config.name().starts_with("istio-sidecar-injector") {
            check_webhooks(config, sink);
        }
    }
}
