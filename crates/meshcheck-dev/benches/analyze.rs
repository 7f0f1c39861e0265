//! Benchmarks on generated meshes (see docs/performance.md for the figures and the machine):
//!
//! - `analyze-dir/{5k,14k,28k,55k}`: what `meshcheck analyze DIR -o json` does, end to end
//!   (load, index, rules, report, JSON), on JSON-flow manifests — the reference workload;
//! - `analyze-dir-block-yaml/55k`: the same mesh written as block-style YAML;
//! - `archive/55k`: `meshcheck analyze snapshot.tar.zst -o json`, and `archive-read/55k` alone;
//! - `stages-55k/*`: load, index, rules (every rule, then each category), HTML rendering.
//!
//! Run: `cargo bench -p meshcheck-dev --bench analyze` (about 5 minutes on 2 cores); a filter
//! narrows it: `cargo bench -p meshcheck-dev --bench analyze -- stages`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use meshcheck_archive::{Archive, Limits};
use meshcheck_dev::{Format, MeshShape, generate, write_archive, write_manifests};
use meshcheck_model::{Mesh, MeshInputs};
use meshcheck_pipeline::{AnalyzeOptions, LoadedInput, analyze};
use meshcheck_rules::{Category, RunOptions, registry};

/// The allocator of the `meshcheck` binary, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// (namespaces, label): 100 namespaces × 50 services × 5 pods is about 55,000 objects.
const SIZES: [(usize, &str); 4] = [(9, "5k"), (25, "14k"), (50, "28k"), (100, "55k")];

/// Writes the mesh for one size and format into a temporary directory.
fn manifests(namespaces: usize, format: Format) -> (PathBuf, usize) {
    let mesh = generate(MeshShape {
        namespaces,
        ..MeshShape::default()
    });
    let dir = std::env::temp_dir().join(format!("meshcheck-bench-{namespaces}-{format:?}"));
    let _ = std::fs::remove_dir_all(&dir);
    write_manifests(&mesh, &dir, format).expect("write the generated mesh");
    (dir, mesh.object_count())
}

fn end_to_end(dir: &Path) -> (String, Option<JoinHandle<()>>) {
    let input = LoadedInput::from_paths(&[dir.to_path_buf()]).expect("generated input loads");
    let analysis = analyze(input, AnalyzeOptions::default());
    (
        meshcheck_report::render_json(&analysis.report),
        analysis.freeing,
    )
}

/// Times `run` alone: the model it leaves to be freed on another thread (as `meshcheck analyze`
/// leaves it to the operating system) is freed before the next run starts, untimed, so that
/// freeing one run's 50,000 trees does not share the cores with the next run.
fn timed_runs(
    iterations: u64,
    mut run: impl FnMut() -> (String, Option<JoinHandle<()>>),
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        let started = Instant::now();
        let (json, freeing) = run();
        total += started.elapsed();
        black_box(json);
        if let Some(freeing) = freeing {
            freeing.join().expect("the model is freed");
        }
    }
    total
}

fn sizes(c: &mut Criterion) {
    let mut group = c.benchmark_group("analyze-dir");
    group.sample_size(10);
    for (namespaces, label) in SIZES {
        let (dir, objects) = manifests(namespaces, Format::Json);
        group.throughput(Throughput::Elements(objects as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &dir, |b, dir| {
            b.iter_custom(|iterations| timed_runs(iterations, || end_to_end(dir)));
        });
    }
    group.finish();

    let mut yaml = c.benchmark_group("analyze-dir-block-yaml");
    yaml.sample_size(10);
    let (dir, objects) = manifests(100, Format::Yaml);
    yaml.throughput(Throughput::Elements(objects as u64));
    yaml.bench_function("55k", |b| {
        b.iter_custom(|iterations| timed_runs(iterations, || end_to_end(&dir)))
    });
    yaml.finish();
}

fn archive(c: &mut Criterion) {
    let mesh = generate(MeshShape::default());
    let path = std::env::temp_dir().join("meshcheck-bench-55k.tar.zst");
    write_archive(&mesh, &path).expect("write the archive");
    let mut group = c.benchmark_group("archive");
    group.sample_size(10);
    group.throughput(Throughput::Elements(mesh.object_count() as u64));
    group.bench_function("read/55k", |b| {
        b.iter_with_large_drop(|| {
            let archive = Archive::open(&path, &Limits::default()).expect("archive opens");
            black_box(LoadedInput::from_archive(&archive).expect("archive loads"))
        })
    });
    group.bench_function("analyze/55k", |b| {
        b.iter_custom(|iterations| {
            timed_runs(iterations, || {
                let archive = Archive::open(&path, &Limits::default()).expect("archive opens");
                let input = LoadedInput::from_archive(&archive).expect("archive loads");
                let analysis = analyze(input, AnalyzeOptions::default());
                (
                    meshcheck_report::render_json(&analysis.report),
                    analysis.freeing,
                )
            })
        })
    });
    group.finish();
}

fn stages(c: &mut Criterion) {
    let (dir, _) = manifests(100, Format::Json);
    let mut stages = c.benchmark_group("stages-55k");
    stages.sample_size(10);
    stages.measurement_time(Duration::from_secs(8));
    let paths = [dir.clone()];
    stages.bench_function("load", |b| {
        b.iter_with_large_drop(|| black_box(LoadedInput::from_paths(&paths).expect("loads")))
    });
    let loaded = LoadedInput::from_paths(&paths).expect("loads");
    stages.bench_function("index", |b| {
        b.iter_with_large_drop(|| {
            black_box(Mesh::build(loaded.objects.clone(), MeshInputs::default()))
        })
    });
    let mut mesh = Mesh::build(loaded.objects, MeshInputs::default());
    let options = RunOptions::default();
    // Facts shared by rules are built on first use: forget them so every iteration pays.
    stages.bench_function("rules/all", |b| {
        b.iter(|| {
            mesh.clear_derived();
            black_box(meshcheck_rules::run(&mesh, registry::all(), &options))
        })
    });
    for category in Category::ALL {
        let rules: Vec<_> = registry::all()
            .iter()
            .copied()
            .filter(|rule| rule.meta.category == category)
            .collect();
        stages.bench_function(format!("rules/{}", category.as_str()), |b| {
            b.iter(|| {
                mesh.clear_derived();
                black_box(meshcheck_rules::run(&mesh, &rules, &options))
            })
        });
    }
    mesh.clear_derived();
    let findings = meshcheck_rules::run(&mesh, registry::all(), &options);
    let report = meshcheck_report::Report::new(
        findings,
        registry::all().len(),
        meshcheck_report::InputSummary::default(),
    )
    .with_mesh(&mesh);
    stages.bench_function("render/html", |b| {
        b.iter(|| black_box(meshcheck_report::render_html(&report)))
    });
    stages.bench_function("render/json", |b| {
        b.iter(|| black_box(meshcheck_report::render_json(&report)))
    });
    stages.finish();
}

criterion_group!(benches, sizes, archive, stages);
criterion_main!(benches);
