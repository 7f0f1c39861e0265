//! `meshcheck analyze`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use meshcheck_archive::{Archive, Limits};
use meshcheck_input::Severity as IssueSeverity;
use meshcheck_input::Value;
use meshcheck_model::ProxyStats;
use meshcheck_pipeline::{Analysis, AnalyzeOptions, LoadedInput};
use meshcheck_report::TextOptions;
use meshcheck_rules::rules::platform::advisories;
use meshcheck_rules::{RunOptions, Severity, Suppression};

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
    if let Some(path) = &args.advisories {
        advisories::install(advisories::load(path)?);
    }
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

    let started = Instant::now();
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
    let loaded_at = Instant::now();
    for issue in &input.issues {
        let label = match issue.severity {
            IssueSeverity::Error => "error",
            IssueSeverity::Warning => "warning",
        };
        eprintln!("meshcheck: {label}: {issue}");
    }
    let input_errors = input.has_errors();

    let options = AnalyzeOptions {
        mesh_config,
        mesh_networks,
        proxy_stats,
        run: RunOptions {
            namespaces: args.namespaces.clone(),
            suppressions,
        },
        digest: false,
        exit_after: true,
    };
    let Analysis {
        report, timings, ..
    } = meshcheck_pipeline::analyze(input, options);
    let analyzed_at = Instant::now();
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
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
