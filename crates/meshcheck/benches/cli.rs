//! The reference workload as users run it: `meshcheck analyze DIR -o json`, a fresh process per
//! run, on generated meshes of about 5k, 14k, 28k and 55k objects (JSON-flow manifests).
//!
//!     cargo bench -p meshcheck --bench cli
//!
//! A fresh process matters: the in-process benchmarks (`meshcheck-dev`'s `analyze`) reuse the
//! previous run's freed heap, while the CLI parses into fresh memory, where each kind's objects
//! lie together. The figures and the machine are in
//! docs/performance.md; `scripts/scaling-pairs.py` alternates two sizes run by run for ratios.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use meshcheck_dev::{Format, MeshShape, generate, write_manifests};

/// (namespaces, label): 100 namespaces × 50 services × 5 pods is about 55,000 objects.
const SIZES: [(usize, &str); 4] = [(10, "5k"), (25, "14k"), (50, "28k"), (100, "55k")];

fn manifests(namespaces: usize) -> (PathBuf, usize) {
    let mesh = generate(MeshShape {
        namespaces,
        ..MeshShape::default()
    });
    let dir = std::env::temp_dir().join(format!("meshcheck-cli-bench-{namespaces}"));
    let _ = std::fs::remove_dir_all(&dir);
    write_manifests(&mesh, &dir, Format::Json).expect("write the generated mesh");
    (dir, mesh.object_count())
}

fn analyze(dir: &Path) -> usize {
    let output = Command::new(env!("CARGO_BIN_EXE_meshcheck"))
        .arg("analyze")
        .arg(dir)
        .args(["--output", "json"])
        .output()
        .expect("meshcheck runs");
    assert!(
        output.status.success(),
        "meshcheck analyze {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout.len()
}

fn cli(c: &mut Criterion) {
    let mut group = c.benchmark_group("cli-analyze-dir");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    for (namespaces, label) in SIZES {
        let (dir, objects) = manifests(namespaces);
        group.throughput(Throughput::Elements(objects as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &dir, |b, dir| {
            b.iter(|| black_box(analyze(dir)));
        });
    }
    group.finish();
}

criterion_group!(benches, cli);
criterion_main!(benches);
