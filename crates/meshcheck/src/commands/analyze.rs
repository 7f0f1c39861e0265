//! `meshcheck analyze`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use meshcheck_archive::{Archive, Limits};
use meshcheck_input::Value;
use meshcheck_model::ProxyStats;
use meshcheck_pipeline::deletions::Deletion;
use meshcheck_pipeline::{Analysis, AnalyzeOptions, LoadedInput};
use meshcheck_report::{LoadProblem, TextOptions};
use meshcheck_rules::facts::advisories;
use meshcheck_rules::{ReferenceData, RunOptions, Severity, Suppression};

use crate::cli::{AnalyzeArgs, FailOn, OutputFormat};

/// Reads a MeshConfig or MeshNetworks file: either the bare document, or a ConfigMap holding it
/// under `data.<key>`.
fn read_config_file(path: &Path, configmap_key: &str) -> anyhow::Result<(String, Value)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let value = meshcheck_input::parse_yaml_document(&text).map_err(|(message, position)| {
        let at = position
            .map(|(line, column)| format!(":{line}:{column}"))
            .unwrap_or_default();
        anyhow::anyhow!("{}{at}: {message}", path.display())
    })?;
    let value = if value.get("kind").and_then(Value::as_str) == Some("ConfigMap") {
        let embedded = value
            .pointer(&format!("/data/{configmap_key}"))
            .and_then(Value::as_str)
            .with_context(|| {
                format!("{}: ConfigMap has no data.{configmap_key}", path.display())
            })?;
        meshcheck_input::parse_yaml_document(embedded).map_err(|(message, _)| {
            anyhow::anyhow!("{}: data.{configmap_key}: {message}", path.display())
        })?
    } else {
        value
    };
    if !value.is_object() && !value.is_null() {
        bail!("{}: expected a mapping", path.display());
    }
    let value = if value.is_null() {
        Value::Object(Default::default())
    } else {
        value
    };
    Ok((path.display().to_string(), value))
}

/// Reads an Envoy admin stats dump given with `--proxy-stats`.
fn read_proxy_stats(path: &Path) -> anyhow::Result<ProxyStats> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(ProxyStats::parse(&path.display().to_string(), &text)?)
}

/// `file:line:column: message`, as loading problems are printed.
fn problem_text(problem: &LoadProblem) -> String {
    let mut at = problem.file.clone();
    if let Some(line) = problem.line {
        at.push_str(&format!(":{line}"));
        if let Some(column) = problem.column {
            at.push_str(&format!(":{column}"));
        }
    }
    format!("{at}: {}", problem.message)
}

pub fn threshold(fail_on: FailOn) -> Severity {
    match fail_on {
        FailOn::Info => Severity::Info,
        FailOn::Warning => Severity::Warning,
        FailOn::Error => Severity::Error,
        FailOn::Critical => Severity::Critical,
    }
}

/// Collects the cluster named by `--kubeconfig`/`--context` into a temporary archive and opens
/// it: a live analysis sees exactly what an uploaded snapshot would (same redaction, same model).
fn live_snapshot(args: &AnalyzeArgs) -> anyhow::Result<Archive> {
    let target = meshcheck_collect::ClusterTarget {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    };
    let (collection, collected_at) = super::collect::collect_cluster(
        &target,
        &meshcheck_collect::CollectOptions::default(),
        &meshcheck_collect::NoProgress,
    )?;
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let path = dir.path().join("live.tar.zst");
    super::collect::write_archive(collection, collected_at, false, &path)?;
    Ok(Archive::open(&path, &Limits::default())?)
}

/// Whether a path given on the command line is a snapshot archive: a file named `*.tar.zst` or
/// starting with zstd's magic bytes (see [`meshcheck_archive::claims_archive`]).
pub fn is_archive_path(path: &Path) -> anyhow::Result<bool> {
    Ok(path.as_os_str() != "-"
        && path.is_file()
        && meshcheck_archive::claims_archive(path)
            .with_context(|| format!("{}: cannot read", path.display()))?)
}

/// The snapshot archive among the inputs, if any. An archive is a whole snapshot: mixing it with
/// other inputs is an error.
fn archive_input(paths: &[PathBuf]) -> anyhow::Result<Option<Archive>> {
    let mut archives = Vec::new();
    for path in paths {
        if is_archive_path(path)? {
            archives.push(path);
        }
    }
    match archives.as_slice() {
        [] => Ok(None),
        [archive] if paths.len() == 1 => Ok(Some(Archive::open(archive, &Limits::default())?)),
        [archive, ..] => bail!(
            "{}: a snapshot archive is analyzed on its own, not together with other inputs",
            archive.display()
        ),
    }
}

/// A pre-apply check's inputs: the snapshot (an archive, or the live cluster), the change set,
/// the `--deleted` list, and how the report names the snapshot.
fn pre_apply_inputs(
    args: &AnalyzeArgs,
) -> anyhow::Result<(LoadedInput, LoadedInput, Vec<Deletion>, String)> {
    for path in &args.paths {
        if is_archive_path(path)? {
            bail!(
                "{}: a snapshot archive cannot be part of the change set (it goes after --against)",
                path.display()
            );
        }
    }
    let deletions = match &args.deleted {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            meshcheck_pipeline::deletions::parse_deletions(&path.display().to_string(), &text)?
        }
        None => Vec::new(),
    };
    let (snapshot, against) = match &args.against {
        Some(path) => {
            if !is_archive_path(path)? {
                if !path.exists() {
                    bail!("{}: no such file", path.display());
                }
                bail!(
                    "{}: not a snapshot archive (`meshcheck pack` or `meshcheck collect` makes one)",
                    path.display()
                );
            }
            let archive = Archive::open(path, &Limits::default())?;
            (
                LoadedInput::from_archive(&archive)?,
                path.display().to_string(),
            )
        }
        None => {
            let snapshot = LoadedInput::from_archive(&live_snapshot(args)?)?.live();
            let against = match &snapshot.cluster.context {
                Some(context) => format!("live {context}"),
                None => "live".to_owned(),
            };
            (snapshot, against)
        }
    };
    let changes = LoadedInput::from_paths(&args.paths)?;
    Ok((snapshot, changes, deletions, against))
}

pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let suppressions = args
        .suppress
        .iter()
        .map(|text| Suppression::parse(text))
        .collect::<Result<Vec<_>, _>>()?;
    let mesh_config = args
        .mesh_config
        .as_deref()
        .map(|path| read_config_file(path, "mesh"))
        .transpose()?;
    let reference = match &args.advisories {
        Some(path) => ReferenceData::with_advisories(advisories::load(path)?),
        None => ReferenceData::bundled(),
    };
    let mesh_networks = args
        .mesh_networks
        .as_deref()
        .map(|path| read_config_file(path, "meshNetworks"))
        .transpose()?;

    let proxy_stats = args
        .proxy_stats
        .iter()
        .map(|path| read_proxy_stats(path))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let options = AnalyzeOptions {
        mesh_config,
        mesh_networks,
        proxy_stats,
        run: RunOptions {
            namespaces: args.namespaces.clone(),
            suppressions,
            reference,
        },
        digest: false,
        exit_after: true,
    };
    let started = Instant::now();
    let (analysis, loaded_at) = if args.against.is_some() || args.against_live {
        let (snapshot, changes, deletions, against) = pre_apply_inputs(&args)?;
        let loaded_at = Instant::now();
        let analysis =
            meshcheck_pipeline::analyze_against(snapshot, changes, deletions, against, options)?;
        (analysis, loaded_at)
    } else {
        let archive = if args.live {
            Some(live_snapshot(&args)?)
        } else {
            archive_input(&args.paths)?
        };
        let input = match &archive {
            Some(archive) if args.live => LoadedInput::from_archive(archive)?.live(),
            Some(archive) => LoadedInput::from_archive(archive)?,
            None => LoadedInput::from_paths(&args.paths)?,
        };
        drop(archive);
        let loaded_at = Instant::now();
        (meshcheck_pipeline::analyze(input, options), loaded_at)
    };
    let Analysis {
        report, timings, ..
    } = analysis;
    let analyzed_at = Instant::now();
    // Printed from the report, which in a pre-apply check also holds the overlay's warnings.
    for problem in &report.input.problems {
        eprintln!("meshcheck: {}: {}", problem.severity, problem_text(problem));
    }
    let input_errors = report
        .input
        .problems
        .iter()
        .any(|problem| problem.severity == "error");
    let rendered = match args.output {
        OutputFormat::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            meshcheck_report::render_text(&report, TextOptions { color })
        }
        OutputFormat::Json => meshcheck_report::render_json(&report),
        OutputFormat::Yaml => meshcheck_report::render_yaml(&report),
        OutputFormat::Markdown => meshcheck_report::render_markdown(&report),
        OutputFormat::Sarif => meshcheck_report::render_sarif(&report),
        OutputFormat::Html => meshcheck_report::render_html(&report),
        OutputFormat::Junit => meshcheck_report::render_junit(
            &report,
            threshold(args.fail_on.unwrap_or(FailOn::Error)),
        ),
    };
    let rendered_at = Instant::now();
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = stdout.write_all(rendered.as_bytes());
    let _ = stdout.flush();

    if args.timings {
        let ms = |took: Duration| took.as_secs_f64() * 1000.0;
        if report.pre_apply.is_some() {
            eprintln!(
                "timings: pre-apply: snapshot alone (copy and overlay included) {:.1} ms, then the changed snapshot:",
                ms(timings.snapshot_alone)
            );
        }
        eprintln!(
            "timings: load {:.1} ms, index {:.1} ms, shared facts {:.1} ms, rules {:.1} ms, report {:.1} ms, digest {:.1} ms, render {:.1} ms, total {:.1} ms ({} objects, {} findings)",
            ms(loaded_at - started),
            ms(timings.index),
            ms(timings.facts),
            ms(timings.rules),
            ms(timings.report),
            ms(timings.digest),
            ms(rendered_at - analyzed_at),
            ms(rendered_at - started),
            report.input.objects,
            report.summary.total,
        );
        let slowest: Vec<String> = timings
            .per_rule
            .iter()
            .filter(|(_, took)| *took >= Duration::from_millis(10))
            .take(30)
            .map(|(code, took)| format!("{code} {:.1} ms", ms(*took)))
            .collect();
        // The sum exceeds the phase's wall time by the parallelism the rules got.
        let busy: Duration = timings.per_rule.iter().map(|(_, took)| *took).sum();
        eprintln!(
            "timings: {} rules busy {:.1} ms in all; over 10 ms: {}",
            timings.per_rule.len(),
            ms(busy),
            slowest.join(", ")
        );
    }

    if input_errors {
        return Ok(ExitCode::from(2));
    }
    let failed = args.fail_on.is_some_and(|fail_on| {
        report
            .worst()
            .is_some_and(|worst| worst >= threshold(fail_on))
    });
    let failed_new = args.fail_on_new.is_some_and(|fail_on| {
        report
            .new_findings()
            .any(|finding| finding.severity >= threshold(fail_on))
    });
    let failed = failed || failed_new;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
