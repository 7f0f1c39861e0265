use crate::Context;
use meshcheck_model::ValueAt;
use std::collections::HashMap;

use meshcheck_input::Value;
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Mesh, Resource, items, str_field};

use super::config::{injector_config_map_name, proxy_image};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// For namespaces enrolled in sidecar injection (`istio-injection=enabled` or
    /// `istio.io/rev`), compares the `istio-proxy` image of each pod with the image the
    /// namespace's injector (`istio-sidecar-injector[-<revision>]` ConfigMap) would inject now,
    /// taking the effective image variant (`distroless`, ...) from MeshConfig, ProxyConfig
    /// resources and the pod's `proxy.istio.io/config` annotation into account. Pods that pin
    /// their own image with `sidecar.istio.io/proxyImage` are skipped.
    ///
    /// ## Why is this bad?
    /// Pods keep the proxy they were injected with. After a control plane upgrade, pods that were
    /// not restarted run an older proxy than istiod expects; version skew beyond what Istio
    /// supports causes subtle configuration and security issues.
    ///
    /// ## How to fix
    /// Restart the workloads in the namespace (`kubectl rollout restart deployment -n <ns>`) so
    /// they are re-injected with the current proxy.
    pub static PROXY_IMAGE = {
        code: "MC020",
        name: "sidecar-proxy-image",
        category: Platform,
        severity: Warning,
        summary: "Injected sidecars must run the proxy image the injector currently uses",
        istio_analyzer: Some("injection.ImageAnalyzer"),
        istio_codes: &["IST0158"],
        inputs: &[Kind::Namespace, Kind::Pod, Kind::ConfigMap, Kind::ProxyConfig],
        docs_url: "https://istio.io/latest/docs/setup/upgrade/",
        remediation: "Restart the namespace's workloads (kubectl rollout restart) so they are re-injected with the current proxy image.",
        check: check,
    }
}

fn image_type(config: Option<&Value>) -> Option<&str> {
    config?
        .at("/image/imageType")?
        .as_str()
        .filter(|variant| !variant.is_empty())
}

/// The effective proxy image variant of pods, from MeshConfig, then the root namespace's
/// ProxyConfig, the pod namespace's ProxyConfig, matching workload ProxyConfigs and the pod's own
/// `proxy.istio.io/config` annotation (later wins).
struct VariantResolver<'a> {
    mesh_default: Option<&'a str>,
    root: Option<&'a str>,
    by_namespace: HashMap<&'a str, &'a Resource>,
    /// (`namespace/name`, ProxyConfig) of those with a selector.
    workload: Vec<(String, &'a Resource)>,
}

impl<'a> VariantResolver<'a> {
    fn new(mesh: &'a Mesh) -> VariantResolver<'a> {
        let mut resolver = VariantResolver {
            mesh_default: image_type(mesh.mesh_config.at("/defaultConfig")),
            root: None,
            by_namespace: HashMap::new(),
            workload: Vec::new(),
        };
        let root_namespace = mesh.root_namespace();
        let mut root: Option<&Resource> = None;
        for config in mesh.of_kind(Kind::ProxyConfig) {
            if config.namespace == root_namespace {
                root = Some(config);
            } else if config.spec().get("selector").is_none_or(Value::is_null) {
                resolver.by_namespace.insert(&config.namespace, config);
            } else {
                resolver
                    .workload
                    .push((format!("{}/{}", config.namespace, config.name()), config));
            }
        }
        resolver.root = root.and_then(|config| image_type(Some(config.spec())));
        resolver
    }

    fn variant(&self, pod: &Resource) -> String {
        let mut variant = self.mesh_default.unwrap_or_default().to_owned();
        let mut take = |value: Option<&str>| {
            if let Some(value) = value {
                variant = value.to_owned();
            }
        };
        take(self.root);
        take(
            self.by_namespace
                .get(pod.namespace.as_str())
                .and_then(|config| image_type(Some(config.spec()))),
        );
        for (key, config) in &self.workload {
            if !key.starts_with(pod.namespace.as_str()) {
                continue;
            }
            let selector = config
                .spec()
                .at("/selector/matchLabels")
                .and_then(Value::as_object);
            let matches = selector.is_none_or(|selector| matches_labels(selector, pod.labels()));
            if matches {
                take(image_type(Some(config.spec())));
            }
        }
        if let Some(text) = pod.annotation("proxy.istio.io/config")
            && let Ok(config) = meshcheck_input::parse_yaml_document(text)
        {
            take(image_type(Some(&config)));
        }
        if variant == "default" {
            variant.clear();
        }
        variant
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let mut images: HashMap<&str, String> = HashMap::new();
    for config_map in mesh.of_kind(Kind::ConfigMap) {
        if config_map.name().starts_with("istio-sidecar-injector") {
            images.insert(config_map.name(), proxy_image(config_map));
        }
    }
    if images.is_empty() {
        return;
    }
    let resolver = VariantResolver::new(mesh);
    for namespace in mesh.of_kind(Kind::Namespace) {
        let revision = match namespace.label("istio.io/rev") {
            Some(revision) => revision,
            None if namespace.label("istio-injection") == Some("enabled") => "default",
            None => continue,
        };
        let Some(expected) = images.get(injector_config_map_name(revision).as_str()) else {
            continue;
        };
        let mut stale: Vec<&str> = Vec::new();
        for pod in mesh.pods_in(namespace.name()) {
            if pod
                .annotation("sidecar.istio.io/proxyImage")
                .is_some_and(|image| !image.is_empty())
            {
                continue;
            }
            let variant = resolver.variant(pod);
            let with_variant = format!("{expected}-{variant}");
            let spec = pod.spec();
            for container in items(spec.get("containers")).chain(items(spec.get("initContainers")))
            {
                if str_field(container, "name") != Some("istio-proxy") {
                    continue;
                }
                let image = str_field(container, "image").unwrap_or_default();
                if image != expected && image != with_variant {
                    stale.push(pod.name());
                }
            }
        }
        if stale.is_empty() {
            continue;
        }
        stale.sort_unstable();
        sink.istio(
            "IST0158",
            namespace,
            &["metadata", "name"],
            format!(
                "The Istio proxy images of the pods running in the namespace do not match the image defined in the injection configuration (expected {expected}; pod names: [{}]). This often happens after upgrading the Istio control-plane and can be fixed by redeploying the pods.",
                stale.join(" ")
            ),
        );
    }
}
