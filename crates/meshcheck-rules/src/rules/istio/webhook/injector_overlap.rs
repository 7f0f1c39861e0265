use crate::Context;
use meshcheck_model::ValueAt;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use meshcheck_input::Value;
use meshcheck_model::{Kind, Resource, items, str_field};

use super::selector::{Labels, selector_matches};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Looks at Istio's sidecar-injection webhooks (MutatingWebhookConfigurations whose webhooks
    /// are named `*istio.io` or that select an `istio.io/rev` revision) and checks, for every
    /// combination of the usual injection labels (`istio-injection`, `sidecar.istio.io/inject`,
    /// `istio.io/rev` for each revision) on namespaces and pods, that at most one webhook
    /// matches. It also checks that the Service each webhook calls exists.
    ///
    /// ## Why is this bad?
    /// When two injection webhooks match the same pod, the sidecar is injected twice (or by the
    /// wrong revision) and the pod fails to start or runs an unexpected proxy version. A webhook
    /// pointing at a missing Service makes pod creation fail or skip injection, depending on its
    /// failure policy.
    ///
    /// ## How to fix
    /// Remove stale injector configurations left by old revisions or installs, or tighten their
    /// `namespaceSelector`/`objectSelector` so each pod matches one webhook; point
    /// `clientConfig.service` at the running istiod Service.
    pub static INJECTOR_WEBHOOKS = {
        code: "MC041",
        name: "injector-webhooks",
        category: Platform,
        severity: Error,
        summary: "Istio injection webhooks must not overlap and must call an existing Service",
        istio_analyzer: Some("webhook.Analyzer"),
        istio_codes: &["IST0139"],
        inputs: &[Kind::MutatingWebhookConfiguration, Kind::Service],
        docs_url: "https://istio.io/latest/docs/ops/common-problems/injection/",
        remediation: "Delete stale injector webhook configurations or narrow their selectors so each pod matches one webhook, and point clientConfig.service at the running istiod Service.",
        check: check,
    }
}

const REVISION_LABEL: &str = "istio.io/rev";

/// Revisions a webhook configuration serves: its own `istio.io/rev` label and the revisions its
/// webhooks' selectors name.
fn revisions(config: &Resource) -> BTreeSet<String> {
    let mut revisions = BTreeSet::new();
    if let Some(revision) = config.label(REVISION_LABEL) {
        revisions.insert(revision.to_owned());
    }
    for webhook in items(config.value().get("webhooks")) {
        for field in ["namespaceSelector", "objectSelector"] {
            let Some(selector) = webhook.get(field) else {
                continue;
            };
            if let Some(revision) = selector
                .at("/matchLabels")
                .and_then(|labels| labels.get(REVISION_LABEL))
                .and_then(Value::as_str)
            {
                revisions.insert(revision.to_owned());
            }
            for expression in items(selector.get("matchExpressions")) {
                if str_field(expression, "key") == Some(REVISION_LABEL) {
                    revisions.extend(
                        items(expression.get("values"))
                            .filter_map(Value::as_str)
                            .map(str::to_owned),
                    );
                }
            }
        }
    }
    revisions
}

/// The label sets Istio's injection is driven by: none, enabled, disabled, each with and without
/// every revision.
fn permutations(key: &str, on: &str, off: &str, revisions: &BTreeSet<String>) -> Vec<Labels> {
    let base = |revision: Option<&str>| {
        let mut sets = vec![
            Labels::new(),
            Labels::from([(key.to_owned(), on.to_owned())]),
            Labels::from([(key.to_owned(), off.to_owned())]),
        ];
        if let Some(revision) = revision {
            for set in &mut sets {
                set.insert(REVISION_LABEL.to_owned(), revision.to_owned());
            }
        }
        sets
    };
    let mut all = base(None);
    for revision in revisions {
        all.extend(base(Some(revision)));
    }
    all
}

struct Webhook<'a> {
    /// `<configuration>/<webhook>`, as Istio names it.
    id: String,
    config: &'a Resource,
    index: usize,
    spec: &'a Value,
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let mut webhooks: Vec<Webhook> = Vec::new();
    let mut all_revisions = BTreeSet::new();
    for config in mesh.of_kind(Kind::MutatingWebhookConfiguration) {
        let revisions = revisions(config);
        let hooks: Vec<&Value> = items(config.value().get("webhooks")).collect();
        let is_istio = hooks
            .iter()
            .any(|hook| str_field(hook, "name").is_some_and(|name| name.ends_with("istio.io")));
        if revisions.is_empty() && !is_istio {
            continue;
        }
        for (index, hook) in hooks.into_iter().enumerate() {
            webhooks.push(Webhook {
                id: format!(
                    "{}/{}",
                    config.name(),
                    str_field(hook, "name").unwrap_or("")
                ),
                config,
                index,
                spec: hook,
            });
        }
        all_revisions.extend(revisions);
    }
    if webhooks.is_empty() {
        return;
    }
    // The webhook each id reports on (the last one of that id, as a map keyed by id would keep).
    let by_id: BTreeMap<&str, &Webhook> = webhooks
        .iter()
        .map(|webhook| (webhook.id.as_str(), webhook))
        .collect();
    let mut reported: HashSet<(String, String)> = HashSet::new();
    // `missing_in`: the namespace whose absent Service the message concludes from.
    let mut report =
        |sink: &mut Sink, webhook: &Webhook, message: String, missing_in: Option<&str>| {
            if reported.insert((webhook.config.name().to_owned(), message.clone())) {
                let index = webhook.index.to_string();
                let finding = sink.istio(
                    "IST0139",
                    webhook.config,
                    &["webhooks", index.as_str()],
                    message,
                );
                if let Some(namespace) = missing_in {
                    finding.from_absence(&[Kind::Service], &[namespace]);
                }
            }
        };

    let namespace_sets = permutations("istio-injection", "enabled", "disabled", &all_revisions);
    let object_sets = permutations("sidecar.istio.io/inject", "true", "false", &all_revisions);
    for namespace_labels in &namespace_sets {
        for object_labels in &object_sets {
            let matches: BTreeSet<&str> = webhooks
                .iter()
                .filter(|webhook| {
                    selector_matches(webhook.spec.get("namespaceSelector"), namespace_labels)
                        && selector_matches(webhook.spec.get("objectSelector"), object_labels)
                })
                .map(|webhook| webhook.id.as_str())
                .collect();
            if matches.len() < 2 {
                continue;
            }
            for id in &matches {
                let others: Vec<&str> = matches
                    .iter()
                    .copied()
                    .filter(|other| other != id)
                    .collect();
                report(
                    sink,
                    by_id[id],
                    format!(
                        "Webhook overlaps with others: [{}]. This may cause injection to occur twice.",
                        others.join(" ")
                    ),
                    None,
                );
            }
        }
    }

    for webhook in &webhooks {
        let Some(service) = webhook.spec.at("/clientConfig/service") else {
            continue;
        };
        if service.is_null() {
            continue;
        }
        let namespace = str_field(service, "namespace").unwrap_or("");
        let name = str_field(service, "name").unwrap_or("");
        let exists = !namespace.is_empty() && mesh.get(Kind::Service, namespace, name).is_some();
        if !exists {
            let full_name = if namespace.is_empty() {
                name.to_owned()
            } else {
                format!("{namespace}/{name}")
            };
            report(
                sink,
                by_id[webhook.id.as_str()],
                format!(
                    "Injector refers to a control plane service that does not exist: {full_name}."
                ),
                Some(namespace).filter(|namespace| !namespace.is_empty()),
            );
        }
    }
}
