//! Reading the sidecar injector's ConfigMaps (`istio-sidecar-injector[-<revision>]`).

use meshcheck_input::Value;
use meshcheck_model::Resource;
use meshcheck_model::ValueAt;

/// The injector ConfigMap name for a revision (`""` and `default` use the unrevisioned one).
pub(crate) fn injector_config_map_name(revision: &str) -> String {
    if revision.is_empty() || revision == "default" {
        "istio-sidecar-injector".to_owned()
    } else {
        format!("istio-sidecar-injector-{revision}")
    }
}

/// The Helm values the injector was installed with (`data.values`, JSON).
fn values(config_map: &Resource) -> Option<Value> {
    let text = config_map.value().at("/data/values")?.as_str()?;
    serde_json::from_str(text).ok()
}

/// `sidecarInjectorWebhook.enableNamespacesByDefault` from the injector values (false when absent
/// or unreadable).
pub(crate) fn enables_namespaces_by_default(config_map: &Resource) -> bool {
    values(config_map)
        .and_then(|values| {
            values
                .at("/sidecarInjectorWebhook/enableNamespacesByDefault")
                .and_then(Value::as_bool)
        })
        .unwrap_or(false)
}

/// The proxy image the injector puts in pods: `global.proxy.image` when it is a full reference,
/// else `<global.hub>/<global.proxy.image>:<global.tag>`. Empty when the values cannot be read.
pub(crate) fn proxy_image(config_map: &Resource) -> String {
    let Some(values) = values(config_map) else {
        return String::new();
    };
    let field = |pointer: &str| -> Option<String> {
        match values.at(pointer) {
            None | Some(Value::Null) => Some(String::new()),
            Some(Value::String(text)) => Some(text.to_string()),
            // A value of the wrong type makes Istio's decoding fail as a whole.
            Some(_) => None,
        }
    };
    let (Some(hub), Some(tag), Some(image)) = (
        field("/global/hub"),
        field("/global/tag"),
        field("/global/proxy/image"),
    ) else {
        return String::new();
    };
    if image.contains('/') {
        image
    } else {
        format!("{hub}/{image}:{tag}")
    }
}
