//! `meshgen`: writes a synthetic mesh (see `meshcheck_dev`) to a directory, one file per
//! namespace, plus `expected-faults.jsonl` listing the planted faults.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use meshcheck_dev::{MeshShape, generate};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// Block-style YAML, as people write manifests.
    Yaml,
    /// One JSON document per `---` section (what `kubectl get -o json` gives).
    Json,
}

/// Generate a synthetic mesh for benchmarks and scale tests.
#[derive(Debug, Parser)]
struct Args {
    /// Output directory (created).
    #[arg(short, long)]
    out: PathBuf,
    #[arg(long, default_value_t = 100)]
    namespaces: usize,
    #[arg(long, default_value_t = 50)]
    services: usize,
    #[arg(long, default_value_t = 5)]
    pods: usize,
    /// Plant a fault every this many services (0: none).
    #[arg(long, default_value_t = 5)]
    fault_every: usize,
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    format: Format,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mesh = generate(MeshShape {
        namespaces: args.namespaces,
        services_per_namespace: args.services,
        pods_per_service: args.pods,
        fault_every: args.fault_every,
    });
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let mut bytes = 0usize;
    for (name, documents) in &mesh.files {
        let mut text = String::new();
        for document in documents {
            text.push_str("---\n");
            match args.format {
                Format::Yaml => text.push_str(&serde_saphyr::to_string(document)?),
                Format::Json => {
                    text.push_str(&serde_json::to_string(document)?);
                    text.push('\n');
                }
            }
        }
        bytes += text.len();
        let path = args.out.join(name);
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let faults_path = args.out.join("expected-faults.jsonl");
    let mut faults = std::fs::File::create(&faults_path)?;
    for fault in &mesh.faults {
        let line = serde_json::json!({"istio_code": fault.istio_code, "kind": fault.kind, "namespace": fault.namespace, "name": fault.name, "what": fault.what});
        writeln!(faults, "{line}")?;
    }
    eprintln!(
        "meshgen: {} objects in {} files ({:.1} MB), {} planted faults -> {}",
        mesh.object_count(),
        mesh.files.len(),
        bytes as f64 / 1e6,
        mesh.faults.len(),
        args.out.display()
    );
    Ok(())
}
