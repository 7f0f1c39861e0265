//! End-to-end and per-stage benchmarks on generated meshes of four sizes.
//! Run: `cargo bench -p meshcheck-dev` (sizes: 5k, 14k, 28k, 55k objects).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use meshcheck_dev::{MeshShape, generate};
use meshcheck_model::{Mesh, MeshInputs};
use meshcheck_report::{InputSummary, Report};
use meshcheck_rules::{RunOptions, registry};

const SIZES: [(usize, &str); 4] = [(9, "5k"), (25, "14k"), (50, "28k"), (100, "55k")];

fn write_yaml(namespaces: usize) -> (PathBuf, usize) {
    let mesh = generate(MeshShape {
        namespaces,
        ..MeshShape::default()
    });
    let dir = std::env::temp_dir().join(format!("meshcheck-bench-{namespaces}"));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, documents) in &mesh.files {
        let mut text = String::new();
        for document in documents {
            text.push_str("---\n");
            text.push_str(&serde_saphyr::to_string(document).unwrap());
        }
        std::fs::write(dir.join(name), text).unwrap();
    }
    (dir, mesh.object_count())
}

fn end_to_end(dir: &PathBuf) -> String {
    let loaded = meshcheck_input::load_paths(std::slice::from_ref(dir)).unwrap();
    let mesh = Mesh::build(loaded.objects, MeshInputs::default());
    let findings = meshcheck_rules::run(&mesh, registry::all(), &RunOptions::default());
    let report = Report::new(findings, registry::all().len(), InputSummary::default());
    meshcheck_report::render_json(&report)
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("analyze-yaml-dir");
    group.sample_size(10);
    for (namespaces, label) in SIZES {
        let (dir, objects) = write_yaml(namespaces);
        group.throughput(Throughput::Elements(objects as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &dir, |b, dir| {
            b.iter(|| black_box(end_to_end(dir)));
        });
    }
    group.finish();

    // Stages on the largest size: parse, index, rules.
    let (dir, _) = write_yaml(100);
    let mut stages = c.benchmark_group("stages-55k");
    stages.sample_size(10);
    stages.bench_function("load", |b| {
        b.iter(|| black_box(meshcheck_input::load_paths(std::slice::from_ref(&dir)).unwrap()))
    });
    let loaded = meshcheck_input::load_paths(std::slice::from_ref(&dir)).unwrap();
    stages.bench_function("index", |b| {
        b.iter(|| black_box(Mesh::build(loaded.objects.clone(), MeshInputs::default())))
    });
    let mesh = Mesh::build(loaded.objects, MeshInputs::default());
    stages.bench_function("rules", |b| {
        b.iter(|| {
            black_box(meshcheck_rules::run(
                &mesh,
                registry::all(),
                &RunOptions::default(),
            ))
        })
    });
    for rule in registry::all() {
        let rules = [*rule];
        stages.bench_function(format!("rule-{}", rule.meta.code), |b| {
            b.iter(|| black_box(meshcheck_rules::run(&mesh, &rules, &RunOptions::default())))
        });
    }
    stages.finish();
}

criterion_group!(analyze, benches);
criterion_main!(analyze);
