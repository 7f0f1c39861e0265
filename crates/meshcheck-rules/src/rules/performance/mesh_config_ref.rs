//! Reporting on the mesh configuration: the `istio` ConfigMap when it came from the input, else
//! the `--mesh-config` file.

use meshcheck_model::Mesh;

use crate::facts::mesh_config::mesh_config_map;
use crate::{Finding, Sink, SourceLocation};

/// Reports a finding about a mesh config field (a path below the mesh config, e.g.
/// `["defaultConfig", "tracing"]`). Without any mesh config, nothing can be said and nothing is
/// reported.
pub(crate) fn report_mesh_config<'s>(
    mesh: &Mesh,
    sink: &'s mut Sink,
    message: String,
) -> Option<&'s mut Finding> {
    let source = mesh.mesh_config.source.as_deref()?;
    if let Some(config_map) = mesh_config_map(mesh) {
        return Some(sink.report(config_map, &["data", "mesh"], message));
    }
    Some(sink.report_detached(
        None,
        Some(SourceLocation {
            file: source.to_owned(),
            line: None,
        }),
        message,
    ))
}
