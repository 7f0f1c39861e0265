//! `meshgen`: writes a synthetic mesh (see `meshcheck_dev`) as manifests (one file per namespace)
//! and/or as a collector snapshot archive, plus `expected-faults.jsonl` listing the planted
//! faults.

use std::path::PathBuf;

use anyhow::bail;
use clap::Parser;
use meshcheck_dev::{Format, MeshShape, generate, write_archive, write_manifests};

/// Generate a synthetic mesh for benchmarks and scale tests.
#[derive(Debug, Parser)]
struct Args {
    /// Directory to write manifests into (created).
    #[arg(short, long, required_unless_present = "archive")]
    out: Option<PathBuf>,
    /// Also (or only) write the mesh as a snapshot archive, as `meshcheck collect` would.
    #[arg(long, value_name = "FILE")]
    archive: Option<PathBuf>,
    #[arg(long, default_value_t = 100)]
    namespaces: usize,
    #[arg(long, default_value_t = 50)]
    services: usize,
    #[arg(long, default_value_t = 5)]
    pods: usize,
    /// Plant a fault every this many services (0: none).
    #[arg(long, default_value_t = 5)]
    fault_every: usize,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.namespaces == 0 {
        bail!("--namespaces must be at least 1");
    }
    let mesh = generate(MeshShape {
        namespaces: args.namespaces,
        services_per_namespace: args.services,
        pods_per_service: args.pods,
        fault_every: args.fault_every,
    });
    if let Some(dir) = &args.out {
        let bytes = write_manifests(&mesh, dir, args.format)?;
        eprintln!(
            "meshgen: {} objects in {} files ({:.1} MB), {} planted faults -> {}",
            mesh.object_count(),
            mesh.files.len(),
            bytes as f64 / 1e6,
            mesh.faults.len(),
            dir.display()
        );
    }
    if let Some(path) = &args.archive {
        let bytes = write_archive(&mesh, path)?;
        eprintln!(
            "meshgen: {} objects in a snapshot archive ({:.1} MB) -> {}",
            mesh.object_count(),
            bytes as f64 / 1e6,
            path.display()
        );
    }
    Ok(())
}
