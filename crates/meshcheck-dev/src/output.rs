//! Writing a generated mesh: as manifests (what `meshcheck analyze DIR` reads) and as a snapshot
//! archive (what `meshcheck collect` writes), so that both inputs can be benchmarked and checked.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::ValueEnum;
use meshcheck_archive::{SnapshotInfo, SnapshotWriter, Source, Timestamp};
use serde_json::Value;

use crate::GeneratedMesh;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON document per `---` section, which is also YAML (what `kubectl get -o json`
    /// gives, and the form of the reference workload in docs/performance.md).
    Json,
    /// Block-style YAML, as people write manifests.
    Yaml,
}

/// Writes one file per namespace plus `expected-faults.jsonl`; returns the bytes of manifests.
pub fn write_manifests(mesh: &GeneratedMesh, dir: &Path, format: Format) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let mut bytes = 0usize;
    for (name, documents) in &mesh.files {
        let mut text = String::new();
        for document in documents {
            text.push_str("---\n");
            match format {
                Format::Yaml => text.push_str(&serde_saphyr::to_string(document)?),
                Format::Json => {
                    text.push_str(&serde_json::to_string(document)?);
                    text.push('\n');
                }
            }
        }
        bytes += text.len();
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let faults_path = dir.join("expected-faults.jsonl");
    let mut faults = std::fs::File::create(&faults_path)
        .with_context(|| format!("{}: cannot create", faults_path.display()))?;
    for fault in &mesh.faults {
        let line = serde_json::json!({"code": fault.code, "kind": fault.kind, "namespace": fault.namespace, "name": fault.name, "what": fault.what});
        writeln!(faults, "{line}")?;
    }
    Ok(bytes)
}

/// Writes the mesh as a collected snapshot archive; returns the archive's size in bytes.
pub fn write_archive(mesh: &GeneratedMesh, path: &Path) -> anyhow::Result<u64> {
    let mut writer = SnapshotWriter::new(SnapshotInfo {
        source: Source::Cluster,
        context: Some("meshgen".to_owned()),
        kubernetes_version: Some("v1.33.2".to_owned()),
        version_json: Some(
            serde_json::json!({"major": "1", "minor": "33", "gitVersion": "v1.33.2"}),
        ),
        // Fixed, so that the same shape always gives the same archive bytes.
        collected_at: Timestamp::from_second(1_767_225_600)?,
    });
    for document in mesh.files.iter().flat_map(|(_, documents)| documents) {
        let text = |key: &str| {
            document
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        writer.add_objects(text("apiVersion"), text("kind"), vec![document.clone()]);
    }
    writer.write_atomic(path)?;
    Ok(std::fs::metadata(path)?.len())
}
