//! One analysis, from loaded input to a [`Report`]: shared by `meshcheck analyze`, the portal
//! (`meshcheck serve`) and the benchmarks, so all three measure and report the same thing.

pub mod deletions;
pub mod overlay;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use meshcheck_archive::Archive;
use meshcheck_drift::SnapshotDigest;
use meshcheck_input::Value;
use meshcheck_input::{LoadIssue, Object, Severity as IssueSeverity};
use meshcheck_model::{ClusterInfo, InputSource, Kind, Mesh, MeshInputs, ProxyStats, Resource};
use meshcheck_report::{InputSummary, LoadProblem, Report};
use meshcheck_rules::{RunOptions, SourceLocation, registry};
use rayon::prelude::*;

/// Where the objects came from, as the report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Manifests,
    Archive,
    Live,
}

impl InputKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Manifests => "manifests",
            InputKind::Archive => "archive",
            InputKind::Live => "live",
        }
    }
}

/// Objects ready for the model, with what loading them found wrong.
#[derive(Debug)]
pub struct LoadedInput {
    pub kind: InputKind,
    pub objects: Vec<Object>,
    pub issues: Vec<LoadIssue>,
    pub files: usize,
    pub cluster: ClusterInfo,
    pub proxy_stats: Vec<ProxyStats>,
    /// The first input file (the archive itself for a snapshot), where SARIF places findings
    /// that name no file of their own.
    pub first_file: Option<String>,
}

impl LoadedInput {
    /// Manifests (files, directories, `-`), parsed in parallel.
    pub fn from_paths(paths: &[PathBuf]) -> anyhow::Result<LoadedInput> {
        let loaded = meshcheck_input::load_paths(paths)?;
        Ok(LoadedInput {
            kind: InputKind::Manifests,
            objects: loaded.objects,
            issues: loaded.issues,
            files: loaded.files,
            cluster: ClusterInfo::default(),
            proxy_stats: Vec::new(),
            first_file: loaded.first_file,
        })
    }

    /// A snapshot archive, already opened (and so verified) by the archive reader.
    pub fn from_archive(archive: &Archive) -> anyhow::Result<LoadedInput> {
        let (objects, issues) = archive.objects();
        let mut proxy_stats = Vec::new();
        for (name, text) in archive.proxy_stats() {
            proxy_stats.push(
                ProxyStats::parse(&name, &text)
                    .with_context(|| format!("{}: proxy-stats/{name}", archive.name()))?,
            );
        }
        Ok(LoadedInput {
            kind: InputKind::Archive,
            objects,
            issues,
            files: archive.manifest().counts.len(),
            cluster: archive.cluster_info(),
            proxy_stats,
            first_file: Some(archive.name().to_owned()),
        })
    }

    /// Marks an archive as collected live for this run.
    pub fn live(mut self) -> LoadedInput {
        self.kind = InputKind::Live;
        self.cluster.source = InputSource::Live;
        // The archive was a temporary file: nothing to point at.
        self.first_file = None;
        self
    }

    /// Whether loading met an error (as opposed to a warning): the CLI exits 2 on it.
    pub fn has_errors(&self) -> bool {
        self.issues
            .iter()
            .any(|issue| issue.severity == IssueSeverity::Error)
    }
}

/// What the user set for this analysis besides the input.
#[derive(Debug, Default, Clone)]
pub struct AnalyzeOptions {
    /// `(source name, document)` of a MeshConfig given outside the input.
    pub mesh_config: Option<(String, Value)>,
    pub mesh_networks: Option<(String, Value)>,
    /// Proxy stats given outside the input (added to the archive's own).
    pub proxy_stats: Vec<ProxyStats>,
    pub run: RunOptions,
    /// Also build the snapshot digest (object hashes for drift). Off for a one-off analysis: on
    /// a 55,000-object mesh hashing costs as much as all the rules.
    pub digest: bool,
    /// Leave the model's memory to the operating system instead of freeing it: for a process
    /// that exits right after the analysis (the CLI). Freeing 55,000 JSON trees costs about
    /// 80 ms of CPU that the report would otherwise share its two cores with; a long-running
    /// process (the portal) must free it.
    pub exit_after: bool,
}

/// How long each phase took.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    pub index: Duration,
    /// Building the indexes rules share (workloads, proxies, gateways), before they run.
    pub facts: Duration,
    pub rules: Duration,
    pub report: Duration,
    /// Hashing the objects for the snapshot digest.
    pub digest: Duration,
    /// Per rule, slowest first.
    pub per_rule: Vec<(&'static str, Duration)>,
    /// A pre-apply check's analysis of the snapshot alone (zero otherwise).
    pub snapshot_alone: Duration,
}

/// A finished analysis.
#[derive(Debug)]
pub struct Analysis {
    pub report: Report,
    /// What a later analysis of the same cluster is compared with (see `meshcheck_drift`), when
    /// [`AnalyzeOptions::digest`] asked for it.
    pub digest: Option<SnapshotDigest>,
    pub timings: Timings,
    /// The thread freeing the model (unless [`AnalyzeOptions::exit_after`]): a benchmark joins it
    /// outside its timing, so that the next run does not share the cores with it.
    pub freeing: Option<std::thread::JoinHandle<()>>,
}

fn problem(issue: &LoadIssue) -> LoadProblem {
    LoadProblem {
        severity: match issue.severity {
            IssueSeverity::Error => "error".to_owned(),
            IssueSeverity::Warning => "warning".to_owned(),
        },
        file: issue.file.to_string(),
        line: issue.line,
        column: issue.column,
        message: issue.message.clone(),
    }
}

/// Where a finding without a file of its own is placed (SARIF needs one): the mesh config's
/// file (`--mesh-config`, or the file of the `istio` ConfigMap), else the first input file, else
/// the file of the first object (a live cluster's archive member).
fn anchor(
    mesh: &Mesh,
    mesh_config_file: Option<String>,
    first_file: Option<String>,
) -> Option<SourceLocation> {
    let located = |resource: &Resource| {
        let source = resource.object().source.as_ref()?;
        Some(SourceLocation {
            file: source.file.to_string(),
            line: Some(source.line),
        })
    };
    let file = |file: String| SourceLocation { file, line: None };
    let config_map = || {
        let source = mesh.mesh_config.source.as_deref()?;
        let (namespace, name) = source.strip_prefix("ConfigMap ")?.split_once('/')?;
        located(mesh.get(Kind::ConfigMap, namespace, name)?)
    };
    mesh_config_file
        .map(file)
        .or_else(config_map)
        .or_else(|| first_file.map(file))
        .or_else(|| mesh.resources.iter().find_map(located))
        .filter(|anchor| !anchor.file.starts_with('<'))
}

/// Builds the model, runs every registered rule and assembles the report.
pub fn analyze(input: LoadedInput, options: AnalyzeOptions) -> Analysis {
    let started = Instant::now();
    let problems = input.issues.iter().map(problem).collect();
    let mesh_config_file = options.mesh_config.as_ref().map(|(name, _)| name.clone());
    let mut proxy_stats = input.proxy_stats;
    proxy_stats.extend(options.proxy_stats);
    let mesh = Mesh::build(
        input.objects,
        MeshInputs {
            mesh_config: options.mesh_config,
            mesh_networks: options.mesh_networks,
            cluster: input.cluster,
            proxy_stats,
        },
    );
    let indexed = Instant::now();
    meshcheck_rules::prepare(&mesh);
    let prepared = Instant::now();

    let rules = registry::all();
    let (findings, mut per_rule) = meshcheck_rules::run_timed(&mesh, rules, &options.run);
    per_rule.sort_by_key(|timing| std::cmp::Reverse(timing.1));
    let ruled = Instant::now();

    let mut objects_by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for resource in &mesh.resources {
        *objects_by_kind
            .entry(resource.object().kind.clone())
            .or_default() += 1;
    }
    let summary = InputSummary {
        kind: input.kind.as_str().to_owned(),
        context: mesh.cluster.context.clone(),
        collected_at: mesh.cluster.collected_at.clone(),
        files: input.files,
        objects: mesh.resources.len(),
        objects_by_kind,
        mesh_config: mesh.mesh_config.source.clone(),
        problems,
        anchor: anchor(&mesh, mesh_config_file, input.first_file),
    };
    let report = Report::new(findings, rules.len(), summary)
        .with_mesh(&mesh)
        .with_reference(&options.run.reference);
    let reported = Instant::now();

    let digest = options.digest.then(|| {
        let objects = meshcheck_drift::hash_objects(
            mesh.resources.par_iter().map(|resource| resource.object()),
        );
        SnapshotDigest::new(&report, objects)
    });
    let freeing = if options.exit_after {
        std::mem::forget(mesh);
        None
    } else {
        // Freeing 50,000 JSON trees takes longer than some whole rule groups: let another
        // thread do it while the caller goes on.
        Some(std::thread::spawn(move || drop(mesh)))
    };
    let digested = Instant::now();
    Analysis {
        report,
        digest,
        timings: Timings {
            index: indexed - started,
            facts: prepared - indexed,
            rules: ruled - prepared,
            report: reported - ruled,
            digest: digested - reported,
            per_rule,
            snapshot_alone: Duration::ZERO,
        },
        freeing,
    }
}

/// A pre-apply check: `changes` laid over `snapshot` (see [`overlay::apply`]) and analysed, each
/// finding marked `new` or `existing` against an analysis of the snapshot alone, new ones first.
/// `against` names the snapshot in the report.
pub fn analyze_against(
    snapshot: LoadedInput,
    changes: LoadedInput,
    deletions: Vec<deletions::Deletion>,
    against: String,
    options: AnalyzeOptions,
) -> anyhow::Result<Analysis> {
    let started = Instant::now();
    // Both analyses need the snapshot's objects; copying them costs far less than reading the
    // archive twice.
    let alone = LoadedInput {
        kind: snapshot.kind,
        objects: snapshot.objects.clone(),
        issues: Vec::new(),
        files: snapshot.files,
        cluster: snapshot.cluster.clone(),
        proxy_stats: snapshot.proxy_stats.clone(),
        first_file: snapshot.first_file.clone(),
    };
    let overlaid = overlay::apply(snapshot, changes, deletions)?;
    let before = analyze(
        alone,
        AnalyzeOptions {
            digest: false,
            ..options.clone()
        },
    );
    let snapshot_alone = started.elapsed();
    let mut analysis = analyze(overlaid.input, options);
    analysis.freeing = match (analysis.freeing.take(), before.freeing) {
        (Some(first), Some(second)) => Some(std::thread::spawn(move || {
            let _ = first.join();
            let _ = second.join();
        })),
        (first, second) => first.or(second),
    };
    let report = &mut analysis.report;
    overlay::mark(&mut report.findings, &before.report.findings);
    // Stable: within each status the findings keep their order (worst first).
    report.findings.sort_by_key(|finding| {
        finding.status != Some(meshcheck_rules::finding::FindingStatus::New)
    });
    let mut new: BTreeMap<String, usize> = meshcheck_rules::Severity::ALL
        .iter()
        .map(|severity| (severity.as_str().to_owned(), 0))
        .collect();
    for finding in report.new_findings() {
        *new.entry(finding.severity.as_str().to_owned()).or_default() += 1;
    }
    let new_total: usize = new.values().sum();
    report.pre_apply = Some(meshcheck_report::PreApply {
        against,
        added: overlaid.added,
        replaced: overlaid.replaced,
        deleted: overlaid.deleted,
        new,
        existing: report.findings.len() - new_total,
    });
    analysis.timings.snapshot_alone = snapshot_alone;
    Ok(analysis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_rules::finding::FindingStatus;

    fn example(name: &str) -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples")).join(name)
    }

    #[test]
    fn broken_example_gives_findings_and_clean_example_none_above_warning() {
        let broken = LoadedInput::from_paths(&[example("bookinfo-broken")]).unwrap();
        assert!(!broken.has_errors());
        let analysis = analyze(broken, AnalyzeOptions::default());
        assert!(analysis.report.summary.total > 0);
        assert_eq!(analysis.report.input.kind, "manifests");
        assert!(analysis.report.inventory.is_some());

        let clean = LoadedInput::from_paths(&[example("bookinfo")]).unwrap();
        let analysis = analyze(clean, AnalyzeOptions::default());
        assert!(
            analysis
                .report
                .worst()
                .is_none_or(|worst| worst < meshcheck_rules::Severity::Error)
        );
    }

    fn virtual_service(name: &str, subset: &str) -> Object {
        let value = meshcheck_input::json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": name},
            "spec": {
                "hosts": ["reviews"],
                "http": [{"route": [{"destination": {"host": "reviews", "subset": subset}}]}]
            }
        });
        let source = meshcheck_input::SourceRef::new(std::sync::Arc::from("change.yaml"), 1);
        Object::from_value(value, Some(source)).unwrap()
    }

    fn changes(objects: Vec<Object>) -> LoadedInput {
        LoadedInput {
            objects,
            ..LoadedInput::from_paths(&[]).unwrap()
        }
    }

    #[test]
    fn a_pre_apply_check_marks_what_the_change_brings() {
        let snapshot = || LoadedInput::from_paths(&[example("bookinfo")]).unwrap();
        // No change: everything the snapshot has is existing.
        let unchanged = analyze_against(
            snapshot(),
            changes(Vec::new()),
            Vec::new(),
            "snapshot.tar.zst".to_owned(),
            AnalyzeOptions::default(),
        )
        .unwrap();
        let report = &unchanged.report;
        let pre_apply = report.pre_apply.as_ref().unwrap();
        assert_eq!(pre_apply.new_total(), 0);
        assert_eq!(pre_apply.existing, report.findings.len());
        assert!(
            report
                .findings
                .iter()
                .all(|finding| finding.status.is_some())
        );

        // A route to a subset no DestinationRule defines: new, first, and in the change file.
        let changed = analyze_against(
            snapshot(),
            changes(vec![virtual_service("reviews", "v9")]),
            Vec::new(),
            "snapshot.tar.zst".to_owned(),
            AnalyzeOptions::default(),
        )
        .unwrap();
        let report = &changed.report;
        let pre_apply = report.pre_apply.as_ref().unwrap();
        assert_eq!((pre_apply.added, pre_apply.replaced), (0, 1));
        assert!(pre_apply.new["error"] >= 1, "{pre_apply:?}");
        let first = &report.findings[0];
        assert_eq!(first.status, Some(FindingStatus::New));
        assert_eq!(first.source.as_ref().unwrap().file, "change.yaml");
        let statuses: Vec<_> = report
            .findings
            .iter()
            .map(|finding| finding.status)
            .collect();
        assert!(statuses.is_sorted(), "new first: {statuses:?}");
    }

    #[test]
    fn outside_a_pre_apply_check_findings_have_no_status() {
        let input = LoadedInput::from_paths(&[example("bookinfo-broken")]).unwrap();
        let report = analyze(input, AnalyzeOptions::default()).report;
        assert!(report.pre_apply.is_none());
        assert!(
            report
                .findings
                .iter()
                .all(|finding| finding.status.is_none())
        );
    }

    fn with_digest() -> AnalyzeOptions {
        AnalyzeOptions {
            digest: true,
            ..AnalyzeOptions::default()
        }
    }

    #[test]
    fn no_digest_unless_asked() {
        let input = LoadedInput::from_paths(&[example("bookinfo")]).unwrap();
        assert!(analyze(input, AnalyzeOptions::default()).digest.is_none());
    }

    #[test]
    fn digest_names_the_objects_and_findings_of_the_analysis() {
        let input = LoadedInput::from_paths(&[example("bookinfo-broken")]).unwrap();
        let objects = input.objects.len();
        let analysis = analyze(input, with_digest());
        let digest = analysis.digest.as_ref().unwrap();
        assert_eq!(digest.object_count(), objects);
        assert_eq!(digest.findings.len(), analysis.report.findings.len());
        assert_eq!(digest.score, analysis.report.summary.score.overall);
        assert_eq!(digest.cluster, None);
    }

    #[test]
    fn a_recollection_that_only_touched_server_fields_has_no_drift() {
        let first = LoadedInput::from_paths(&[example("bookinfo")]).unwrap();
        let mut second = LoadedInput::from_paths(&[example("bookinfo")]).unwrap();
        for (n, object) in second.objects.iter_mut().enumerate() {
            let metadata = object.value["metadata"].as_object_mut().unwrap();
            metadata.insert("resourceVersion", Value::from(n.to_string()));
            metadata.insert("uid", Value::from(format!("uid-{n}")));
            object.value["status"] = meshcheck_input::json!({"observedGeneration": n});
        }
        let first = analyze(first, with_digest()).digest.unwrap();
        let second = analyze(second, with_digest()).digest.unwrap();
        let drift = meshcheck_drift::diff(&first, &second);
        assert!(drift.objects.is_empty(), "{:?}", drift.objects);
        assert!(drift.introduced.is_empty() && drift.resolved.is_empty());
    }
}
