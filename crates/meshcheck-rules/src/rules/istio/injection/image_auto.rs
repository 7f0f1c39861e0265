use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, Resource, items, str_field};

use crate::rules::istio::webhook::selector::{labels_of, selector_matches};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds `istio-proxy` containers declared with `image: auto` (the placeholder used by
    /// gateway deployments and manual injection templates, which the injection webhook replaces
    /// with the real proxy image). A Deployment using it is reported when no Istio injection
    /// webhook selects its namespace and pod labels; a Pod that still carries it was never
    /// injected.
    ///
    /// ## Why is this bad?
    /// `auto` is not a pullable image. If the injector does not process the pod, the
    /// `istio-proxy` container fails with `ErrImagePull` and the workload (often an ingress
    /// gateway) never becomes ready.
    ///
    /// ## How to fix
    /// Enable injection for the workload: label its namespace `istio-injection=enabled` or
    /// `istio.io/rev=<revision>`, or set the `sidecar.istio.io/inject: "true"` label on the pod
    /// template, so that the injector replaces `image: auto`.
    ///
    /// ## Example
    /// ```yaml
    /// # Deployment in a namespace with no injection label
    /// containers:
    /// - name: istio-proxy
    ///   image: auto
    /// ```
    pub static IMAGE_AUTO = {
        code: "MC021",
        name: "proxy-image-auto",
        category: Platform,
        severity: Warning,
        summary: "Workloads using `image: auto` for istio-proxy must be selected by an injection webhook",
        istio_analyzer: Some("injection.ImageAutoAnalyzer"),
        istio_codes: &["IST0146", "IST0147"],
        inputs: &[Kind::Namespace, Kind::Pod, Kind::Deployment, Kind::MutatingWebhookConfiguration],
        docs_url: "https://istio.io/latest/docs/setup/additional-setup/gateway/#deploying-a-gateway",
        remediation: "Enable injection for the workload (namespace label istio-injection=enabled or istio.io/rev, or the sidecar.istio.io/inject=\"true\" pod label) so `image: auto` is replaced.",
        check: check,
    }
}

/// Index of the `istio-proxy` container declared with `image: auto`, if any.
fn auto_image_container(resource: &Resource) -> Option<usize> {
    resource
        .pod_template()?
        .containers()
        .iter()
        .position(|container| container.name == "istio-proxy" && container.image == "auto")
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let webhooks: Vec<&Value> = mesh
        .of_kind(Kind::MutatingWebhookConfiguration)
        .flat_map(|config| items(config.value().get("webhooks")))
        .filter(|webhook| str_field(webhook, "name").is_some_and(|name| name.ends_with("istio.io")))
        .collect();

    for pod in mesh.of_kind(Kind::Pod) {
        let Some(index) = auto_image_container(pod) else {
            continue;
        };
        let index = index.to_string();
        sink.istio(
            "IST0147",
            pod,
            &["spec", "containers", index.as_str(), "image"],
            format!(
                "Pod {} contains `image: auto` but does not match any Istio injection webhook selectors: the injector never replaced the placeholder, so its istio-proxy container cannot start.",
                pod.name()
            ),
        );
    }

    for deployment in mesh.of_kind(Kind::Deployment) {
        let Some(index) = auto_image_container(deployment) else {
            continue;
        };
        let template = deployment.spec().get("template").unwrap_or(&Value::Null);
        let namespace_labels = mesh
            .namespace(&deployment.namespace)
            .map(|namespace| labels_of(namespace.metadata().get("labels")))
            .unwrap_or_default();
        let pod_labels = labels_of(template.at("/metadata/labels"));
        let injected = webhooks.iter().any(|webhook| {
            selector_matches(webhook.get("namespaceSelector"), &namespace_labels)
                && selector_matches(webhook.get("objectSelector"), &pod_labels)
        });
        if injected {
            continue;
        }
        let index = index.to_string();
        sink.istio(
            "IST0146",
            deployment,
            &["spec", "template", "spec", "containers", index.as_str(), "image"],
            format!(
                "Deployment {} contains `image: auto` but does not match any Istio injection webhook selectors.",
                deployment.name()
            ),
        );
    }
}
