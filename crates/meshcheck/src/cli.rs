//! Command-line definition (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Health check for Istio service meshes.
///
/// Reads Kubernetes and Istio configuration (manifests today; collector archives and live
/// clusters as they land), runs a catalog of checks that covers and extends `istioctl analyze`,
/// and reports findings with severity and remediation.
#[derive(Debug, Parser)]
#[command(name = "meshcheck", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze manifests (files, directories, `-` for stdin) or a snapshot archive and report
    /// findings.
    Analyze(AnalyzeArgs),
    /// Snapshot a live cluster (kubeconfig context or in-cluster) into a redacted archive.
    Collect(CollectArgs),
    /// Pack manifests into a snapshot archive (redacted, optionally anonymized).
    Pack(PackArgs),
    /// Verify a snapshot archive and show what it holds.
    Inspect(InspectArgs),
    /// Compare two snapshots of a cluster: findings introduced and resolved, objects added,
    /// removed and changed, version and score changes.
    Diff(DiffArgs),
    /// List the rule catalog.
    Rules(RulesArgs),
    /// Explain a rule: what it checks, why it matters, how to fix it.
    Explain(ExplainArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Yaml,
    /// For a pull-request comment: score, summary table, collapsible details.
    Markdown,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML: a test case per rule and resource; failures at or above --fail-on (default error).
    Junit,
    /// One self-contained HTML page: score, charts, inventory, findings with filters, checklist.
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Warning,
    Error,
    Critical,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Files or directories to analyze (directories are read recursively: .yaml, .yml, .json);
    /// `-` reads stdin. A snapshot archive (`meshcheck pack`/`collect`) is analyzed on its own.
    #[arg(
        required_unless_present = "live",
        conflicts_with = "live",
        value_name = "PATH"
    )]
    pub paths: Vec<PathBuf>,

    /// Analyze a live cluster: collect it (as `meshcheck collect` does, redaction included) and
    /// analyze the snapshot without keeping it.
    #[arg(long)]
    pub live: bool,

    /// kubeconfig file for `--live` (default: $KUBECONFIG, ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "FILE", requires = "live")]
    pub kubeconfig: Option<PathBuf>,

    /// kubeconfig context for `--live` (default: the current context).
    #[arg(long, value_name = "NAME", requires = "live")]
    pub context: Option<String>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// MeshConfig file to use instead of the `istio` ConfigMap found in the input.
    #[arg(long, value_name = "FILE")]
    pub mesh_config: Option<PathBuf>,

    /// MeshNetworks file (multi-network meshes).
    #[arg(long, value_name = "FILE")]
    pub mesh_networks: Option<PathBuf>,

    /// Istio security bulletins to match versions against, instead of the bundled data (same JSON
    /// format as `crates/meshcheck-rules/data/istio-security-bulletins.json`).
    #[arg(long, value_name = "FILE")]
    pub advisories: Option<PathBuf>,

    /// Envoy admin stats of a proxy (`/stats`, `/stats?format=json` or `/stats/prometheus`
    /// output). The pod is named by a first line `# pod: <namespace>/<name>` or by the file
    /// name `<pod>.<namespace>.txt`. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub proxy_stats: Vec<PathBuf>,

    /// Exit with status 1 when a finding at or above this severity remains.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,

    /// Silence findings: `CODE=Kind name.namespace` (istioctl syntax, `*` globs; CODE is an MC or
    /// IST code). Repeatable. Resources can also carry `galley.istio.io/analyze-suppress: CODE,...`.
    #[arg(long, value_name = "CODE=RESOURCE")]
    pub suppress: Vec<String>,

    /// Report only findings on resources in these namespaces (the whole input is still analyzed,
    /// so cross-namespace references resolve). Repeatable.
    #[arg(short, long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,

    /// Print how long loading, indexing, rules and rendering took (to stderr).
    #[arg(long)]
    pub timings: bool,
}

/// `meshcheck collect`.
///
/// Reads every Istio and Gateway API kind plus the core kinds the checks need. Never reads Secret
/// data (Secrets are listed as metadata only), drops ConfigMap data except Istio's mesh
/// configuration, and redacts env values, certificates, keys, tokens and webhook CA bundles.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Collect namespaced objects only from these namespaces (the Istio root namespace is always
    /// included). Repeatable. Default: all namespaces.
    #[arg(short, long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,

    /// Archive to write (default: meshcheck-<context>-<UTC time>.tar.zst).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace names, namespaces, hosts and label values with consistent keyed hashes.
    #[arg(long)]
    pub anonymize: bool,

    /// Keep at most this many Kubernetes events (newest first).
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub max_events: usize,

    /// No progress bars or summary; only the archive path on stdout.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = RulesFormat::Text)]
    pub output: RulesFormat,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule code (MC028), rule name (service-port-name) or Istio code (IST0118).
    pub code: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// Manifest files or directories to pack (as `analyze` reads them); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// The archive to write (`.tar.zst`).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Replace names, namespaces, hosts and label values with hashes keyed by a random key
    /// that is not stored.
    #[arg(long)]
    pub anonymize: bool,

    /// Anonymize with this key instead, so that archives packed with the same key correlate.
    #[arg(
        long,
        value_name = "KEY",
        env = "MESHCHECK_ANONYMIZE_KEY",
        hide_env_values = true
    )]
    pub anonymize_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The snapshot archive.
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,

    /// Output format (`json` prints the manifest).
    #[arg(short, long, value_enum, default_value_t = InspectFormat::Text)]
    pub output: InspectFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
    /// One self-contained HTML page.
    Html,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier snapshot (an archive, or a manifest file or directory).
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// The later snapshot.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = DiffFormat::Text)]
    pub output: DiffFormat,

    /// Exit with status 1 when findings at or above this severity were introduced (for CI).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on_new: Option<FailOn>,

    /// Compare snapshots of different clusters (refused by default: the drift would be noise).
    #[arg(long)]
    pub any_cluster: bool,
}
