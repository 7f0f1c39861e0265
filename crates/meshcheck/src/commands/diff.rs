//! `meshcheck diff OLD NEW`: analyses two snapshots and shows what drifted between them.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use meshcheck_archive::{Archive, Limits};
use meshcheck_drift::SnapshotDigest;
use meshcheck_input::Severity as IssueSeverity;
use meshcheck_pipeline::{AnalyzeOptions, LoadedInput};

use crate::cli::{DiffArgs, DiffFormat};
use crate::commands::analyze::{is_archive_path, threshold};

/// Analyses one side: an archive (by name or magic bytes, as `analyze` decides) or manifests.
fn digest_of(path: &Path, timings: bool) -> anyhow::Result<SnapshotDigest> {
    let started = Instant::now();
    let input = if is_archive_path(path)? {
        LoadedInput::from_archive(&Archive::open(path, &Limits::default())?)?
    } else {
        LoadedInput::from_paths(&[path.to_path_buf()])?
    };
    for issue in &input.issues {
        let label = match issue.severity {
            IssueSeverity::Error => "error",
            IssueSeverity::Warning => "warning",
        };
        eprintln!("meshcheck: {label}: {issue}");
    }
    if input.has_errors() {
        bail!(
            "{}: some documents could not be read; a drift against it would be wrong",
            path.display()
        );
    }
    let options = AnalyzeOptions {
        digest: true,
        ..AnalyzeOptions::default()
    };
    let loaded = Instant::now();
    let analysis = meshcheck_pipeline::analyze(input, options);
    if timings {
        let ms = |took: Duration| took.as_secs_f64() * 1000.0;
        eprintln!(
            "timings: {}: load {:.1} ms, index {:.1} ms, shared facts {:.1} ms, rules {:.1} ms, report {:.1} ms, digest {:.1} ms, total {:.1} ms",
            path.display(),
            ms(loaded - started),
            ms(analysis.timings.index),
            ms(analysis.timings.facts),
            ms(analysis.timings.rules),
            ms(analysis.timings.report),
            ms(analysis.timings.digest),
            ms(started.elapsed()),
        );
    }
    analysis
        .digest
        .with_context(|| format!("{}: the analysis built no snapshot digest", path.display()))
}

fn cluster_text(cluster: Option<&str>) -> String {
    match cluster {
        Some(name) => format!("cluster {name}"),
        None => "plain manifests (no cluster)".to_owned(),
    }
}

pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let old = digest_of(&args.old, args.timings)?;
    let new = digest_of(&args.new, args.timings)?;
    if old.cluster != new.cluster && !args.any_cluster {
        bail!(
            "{} is a snapshot of {} but {} of {}; pass --any-cluster to compare them anyway",
            args.old.display(),
            cluster_text(old.cluster.as_deref()),
            args.new.display(),
            cluster_text(new.cluster.as_deref())
        );
    }
    let drift = meshcheck_drift::diff(&old, &new);
    let rendered = match args.output {
        DiffFormat::Text => meshcheck_drift::render_text(&drift),
        DiffFormat::Json => meshcheck_drift::render_json(&drift),
        DiffFormat::Html => meshcheck_drift::render_html_page(&drift),
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = stdout.write_all(rendered.as_bytes());
    let _ = stdout.flush();

    let failed = args
        .fail_on_new
        .is_some_and(|fail_on| drift.introduced_at_or_above(threshold(fail_on)) > 0);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
