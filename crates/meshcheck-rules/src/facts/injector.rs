//! The sidecar injector's Helm values (`data.values` of the `istio-sidecar-injector` ConfigMap
//! in the root namespace): the defaults injected proxies get.

use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, Mesh, items, str_field};

/// The injector's values, when the input holds its ConfigMap and the values parse.
pub(crate) fn injector_values(mesh: &Mesh) -> Option<Value> {
    let config_map = mesh.get(
        Kind::ConfigMap,
        mesh.root_namespace(),
        "istio-sidecar-injector",
    )?;
    let text = config_map.value().at("/data/values")?.as_str()?;
    serde_json::from_str(text).ok()
}

/// Whether istiod runs native sidecars (`ENABLE_NATIVE_SIDECARS=true` on an istiod Deployment):
/// the proxy is then an init container that starts before the application's init containers
/// and exits with the pod.
pub(crate) fn istiod_native_sidecars(mesh: &Mesh) -> bool {
    mesh.of_kind(Kind::Deployment)
        .filter(|deployment| deployment.name().starts_with("istiod"))
        .flat_map(|deployment| items(deployment.spec().at("/template/spec/containers")))
        .flat_map(|container| items(container.get("env")))
        .any(|env| {
            str_field(env, "name") == Some("ENABLE_NATIVE_SIDECARS")
                && str_field(env, "value").is_some_and(|value| value.eq_ignore_ascii_case("true"))
        })
}
