//! The sidecar injector's Helm values (`data.values` of the `istio-sidecar-injector` ConfigMap
//! in the root namespace): the defaults injected proxies get.

use meshcheck_model::{Kind, Mesh};
use serde_json::Value;

/// The injector's values, when the input holds its ConfigMap and the values parse.
pub(crate) fn injector_values(mesh: &Mesh) -> Option<Value> {
    let config_map = mesh.get(
        Kind::ConfigMap,
        mesh.root_namespace(),
        "istio-sidecar-injector",
    )?;
    let text = config_map.value().pointer("/data/values")?.as_str()?;
    serde_json::from_str(text).ok()
}
