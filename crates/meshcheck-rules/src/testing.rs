//! Test helpers: run one rule over YAML text.

use std::sync::Arc;

use meshcheck_model::{Mesh, MeshInputs};

use crate::{Finding, Rule, Sink};

/// A mesh of the objects in YAML text, which must load without issues.
pub fn mesh(yaml: &str) -> Mesh {
    mesh_with(yaml, MeshInputs::default())
}

/// Like [`mesh`], with extra inputs (mesh config, collector facts).
pub fn mesh_with(yaml: &str, inputs: MeshInputs) -> Mesh {
    let (objects, issues) = meshcheck_input::parse_documents(&Arc::from("test.yaml"), yaml);
    assert!(issues.is_empty(), "fixture does not load: {issues:?}");
    Mesh::build(objects, inputs)
}

/// Builds a mesh from YAML and runs `rule` on it.
pub fn check(rule: &'static Rule, yaml: &str) -> Vec<Finding> {
    check_with(rule, yaml, MeshInputs::default())
}

/// Like [`check`], with extra inputs (mesh config, collector facts).
pub fn check_with(rule: &'static Rule, yaml: &str, inputs: MeshInputs) -> Vec<Finding> {
    let mesh = mesh_with(yaml, inputs);
    let mut sink = Sink::new(&rule.meta);
    let reference = crate::ReferenceData::bundled();
    (rule.check)(&crate::Context::new(&mesh, &reference), &mut sink);
    sink.into_findings()
}
