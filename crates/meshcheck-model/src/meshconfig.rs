//! Mesh-wide configuration: MeshConfig (from `--mesh-config` or the `istio` ConfigMap of the root
//! namespace, per revision) and MeshNetworks.

use crate::ValueAt;
use std::collections::BTreeMap;

use meshcheck_input::Value;

use crate::Resource;
use crate::resource::ResourceId;

/// Istio's default root namespace.
pub const DEFAULT_ROOT_NAMESPACE: &str = "istio-system";

/// The mesh configuration in force, as a JSON value (empty object when none is known, which means
/// Istio's defaults apply).
#[derive(Debug, Clone)]
pub struct MeshConfig {
    pub value: Value,
    pub root_namespace: String,
    /// Where the configuration came from (`--mesh-config FILE`, or `ConfigMap ns/name`).
    pub source: Option<String>,
    /// Whether any configuration was found at all (absent = Istio defaults).
    pub explicit: bool,
    /// Mesh config per revision (`istio-<rev>` ConfigMaps), keyed by revision (`default` for `istio`).
    pub revisions: BTreeMap<String, Value>,
}

fn parse_embedded(text: &str) -> Option<Value> {
    meshcheck_input::parse_yaml_document(text)
        .ok()
        .filter(Value::is_object)
}

impl MeshConfig {
    pub(crate) fn resolve<'a>(
        file: Option<(String, Value)>,
        config_maps: impl Iterator<Item = (ResourceId, &'a Resource)>,
    ) -> MeshConfig {
        let mut revisions = BTreeMap::new();
        let mut from_cluster: Option<(String, Value)> = None;
        for (_, config_map) in config_maps {
            let name = config_map.name();
            let revision = match name {
                "istio" => "default",
                other => match other.strip_prefix("istio-") {
                    // `istio-sidecar-injector*` and others are not mesh configs.
                    Some(revision) if config_map.value().at("/data/mesh").is_some() => revision,
                    _ => continue,
                },
            };
            let Some(text) = config_map.value().at("/data/mesh").and_then(Value::as_str) else {
                continue;
            };
            let Some(value) = parse_embedded(text) else {
                continue;
            };
            if revision == "default" && from_cluster.is_none() {
                from_cluster = Some((
                    format!("ConfigMap {}/{}", config_map.namespace, name),
                    value.clone(),
                ));
            }
            revisions.insert(revision.to_owned(), value);
        }
        let (source, value, explicit) = match file.or(from_cluster) {
            Some((source, value)) => (Some(source), value, true),
            None => (None, Value::Object(Default::default()), false),
        };
        let root_namespace = value
            .get("rootNamespace")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_ROOT_NAMESPACE)
            .to_owned();
        MeshConfig {
            value,
            root_namespace,
            source,
            explicit,
            revisions,
        }
    }

    /// A field by JSON pointer (`/defaultConfig/image/imageType`).
    pub fn at(&self, pointer: &str) -> Option<&Value> {
        self.value.at(pointer)
    }
}

/// MeshNetworks configuration (multi-network meshes).
#[derive(Debug, Clone)]
pub struct MeshNetworks {
    pub value: Value,
    /// Where it came from, for findings.
    pub source: String,
    pub namespace: String,
}

impl MeshNetworks {
    pub(crate) fn resolve<'a>(
        file: Option<(String, Value)>,
        mut config_maps: impl Iterator<Item = (ResourceId, &'a Resource)>,
        root_namespace: &str,
    ) -> Option<MeshNetworks> {
        if let Some((source, value)) = file {
            return Some(MeshNetworks {
                value,
                source,
                namespace: root_namespace.to_owned(),
            });
        }
        let (_, config_map) = config_maps.find(|(_, config_map)| {
            config_map.name() == "istio" && config_map.namespace == root_namespace
        })?;
        let text = config_map.value().at("/data/meshNetworks")?.as_str()?;
        Some(MeshNetworks {
            value: parse_embedded(text)?,
            source: format!("ConfigMap {}/istio", config_map.namespace),
            namespace: root_namespace.to_owned(),
        })
    }
}
