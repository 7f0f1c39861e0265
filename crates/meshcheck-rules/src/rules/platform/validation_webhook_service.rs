use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, Resource, items, str_field};

use crate::facts::coverage::holds_any;
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks Istio's validating admission webhooks (ValidatingWebhookConfigurations named
    /// `istio-validator*` or `istiod-*`, labelled `app: istiod` or with an `istio.io/rev`
    /// label, or whose webhooks are named `*.istio.io`): the Service each webhook calls must
    /// exist and expose the port it calls (443 by default). Only judged when the input holds
    /// Services of the webhook Service's namespace. The injection webhooks are MC041's.
    ///
    /// ## Why is this bad?
    /// With `failurePolicy: Fail` (the default), a webhook whose Service is gone rejects every
    /// create and update of Istio resources cluster-wide, typically after a revision was
    /// removed but its webhook configuration was left behind. With `Ignore`, configuration is
    /// no longer validated and mistakes reach the proxies.
    ///
    /// ## How to fix
    /// Delete webhook configurations left by removed revisions, or point
    /// `clientConfig.service` at the running istiod Service (`istioctl tag set default
    /// --revision <rev>` regenerates `istiod-default-validator`).
    pub static VALIDATION_WEBHOOK_SERVICE = {
        code: "MC121",
        name: "istio-validation-webhook-service",
        category: Platform,
        severity: Error,
        summary: "Istio's validating webhooks must call an existing istiod Service and port",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::ValidatingWebhookConfiguration, Kind::Service],
        docs_url: "https://istio.io/latest/docs/ops/common-problems/validation/",
        remediation: "Delete stale Istio validating webhook configurations or point clientConfig.service at the running istiod Service.",
        check: check,
    }
}

fn is_istio_validator(config: &Resource) -> bool {
    let name = config.name();
    name.starts_with("istio-validator")
        || name.starts_with("istiod-")
        || config.label("app") == Some("istiod")
        || config.label("istio.io/rev").is_some()
        || items(config.value().get("webhooks")).any(|webhook| {
            str_field(webhook, "name").is_some_and(|name| name.ends_with("istio.io"))
        })
}

/// Whether the Service exposes `port` (by `port` number).
fn has_port(service: &Resource, port: i64) -> bool {
    items(service.spec().get("ports"))
        .any(|entry| entry.get("port").and_then(Value::as_i64) == Some(port))
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for config in mesh.of_kind(Kind::ValidatingWebhookConfiguration) {
        if !is_istio_validator(config) {
            continue;
        }
        for (index, webhook) in items(config.value().get("webhooks")).enumerate() {
            let Some(service) = webhook
                .at("/clientConfig/service")
                .filter(|service| service.is_object())
            else {
                continue;
            };
            let namespace = str_field(service, "namespace").unwrap_or_default();
            let name = str_field(service, "name").unwrap_or_default();
            // Without any Service of that namespace, the input simply does not show it.
            if !holds_any(mesh, Kind::Service, Some(namespace)) {
                continue;
            }
            let port = service.get("port").and_then(Value::as_i64).unwrap_or(443);
            let problem = match mesh.get(Kind::Service, namespace, name) {
                None => format!("calls Service {namespace}/{name}, which does not exist"),
                Some(target) if !has_port(target, port) => {
                    format!(
                        "calls port {port} of Service {namespace}/{name}, which does not expose it"
                    )
                }
                Some(_) => continue,
            };
            let ignore = str_field(webhook, "failurePolicy") == Some("Ignore");
            let consequence = if ignore {
                "with failurePolicy Ignore, Istio configuration is no longer validated"
            } else {
                "with failurePolicy Fail, every create or update of Istio resources it matches is rejected"
            };
            let index = index.to_string();
            let finding = sink.report(
                config,
                &["webhooks", &index, "clientConfig", "service"],
                format!(
                    "webhook {} {problem}: {consequence}",
                    str_field(webhook, "name").unwrap_or("?")
                ),
            );
            if ignore {
                finding.severity(Severity::Warning);
            }
        }
    }
}
