//! Command-line definition (clap derive).

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

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
    /// Upload a snapshot archive to a meshcheck portal (`meshcheck serve`); prints the report URL.
    Upload(UploadArgs),
    /// Compare two snapshots of a cluster: findings introduced and resolved, objects added,
    /// removed and changed, version and score changes.
    Diff(DiffArgs),
    /// List the rule catalog.
    Rules(RulesArgs),
    /// Explain a rule: what it checks, why it matters, how to fix it.
    Explain(ExplainArgs),
    /// Run the portal: snapshot uploads, reports kept per tenant, fleet history (HTTP API).
    Serve(ServeArgs),
    /// Administer the portal: create, list and revoke API tokens.
    #[command(subcommand)]
    Admin(AdminCommand),
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
#[command(group(ArgGroup::new("pre_apply").args(["against", "against_live"])))]
#[command(group(ArgGroup::new("cluster").args(["live", "against_live"])))]
pub struct AnalyzeArgs {
    /// Files or directories to analyze (directories are read recursively: .yaml, .yml, .json);
    /// `-` reads stdin. A snapshot archive (`meshcheck pack`/`collect`) is analyzed on its own.
    /// With --against, these are the change set.
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

    /// Pre-apply check: lay the PATHs (the change set) over this snapshot archive and mark each
    /// finding `new` (the change brings it) or `existing` (the snapshot has it already).
    #[arg(long, value_name = "SNAPSHOT", conflicts_with = "live")]
    pub against: Option<PathBuf>,

    /// Pre-apply check against the live cluster (--kubeconfig, --context), collected for this
    /// run and not kept.
    #[arg(long)]
    pub against_live: bool,

    /// Pre-apply check: objects the change removes from the snapshot, one `Kind namespace/name`
    /// (or `Kind name`) per line, `#` comments. Documents annotated `meshcheck.io/delete: "true"`
    /// in the change set are removed too.
    #[arg(long, value_name = "FILE", requires = "pre_apply")]
    pub deleted: Option<PathBuf>,

    /// Pre-apply check: exit with status 1 when a new finding at or above this severity appears
    /// (existing ones do not count). For pull-request gates.
    #[arg(long, value_enum, value_name = "SEVERITY", requires = "pre_apply")]
    pub fail_on_new: Option<FailOn>,

    /// kubeconfig file for `--live`/`--against-live` (default: $KUBECONFIG, ~/.kube/config, then
    /// in-cluster).
    #[arg(long, value_name = "FILE", requires = "cluster")]
    pub kubeconfig: Option<PathBuf>,

    /// kubeconfig context for `--live`/`--against-live` (default: the current context).
    #[arg(long, value_name = "NAME", requires = "cluster")]
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

    /// No progress bars or summary; only the archive path (and the report URL) on stdout.
    #[arg(short, long)]
    pub quiet: bool,

    /// Upload the archive to this meshcheck portal once written (as `meshcheck upload` does);
    /// the report URL is printed as the last line.
    #[arg(long, value_name = "URL")]
    pub upload: Option<String>,

    #[command(flatten)]
    pub token: TokenArgs,

    /// With --upload: list the snapshot under this cluster name (default: the kubeconfig
    /// context; `in-cluster` inside a Pod).
    #[arg(long, value_name = "NAME", requires = "upload")]
    pub cluster: Option<String>,
}

/// How to authenticate to the portal.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Upload token (`meshcheck admin create-token --role uploader`). A command line is visible to
    /// other users of the machine: prefer --token-file or the environment variable.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "MESHCHECK_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Read the token from this file (a mounted Kubernetes Secret, say); takes precedence over
    /// --token and MESHCHECK_TOKEN.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The snapshot archive (`meshcheck collect` or `meshcheck pack` output).
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,

    /// The portal's URL, e.g. `https://meshcheck.example.com`.
    #[arg(long, value_name = "URL")]
    pub server: String,

    #[command(flatten)]
    pub token: TokenArgs,

    /// List the snapshot under this cluster name instead of the archive's kubeconfig context.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
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

    /// Print how long loading, analysing and hashing each snapshot took (to stderr).
    #[arg(long)]
    pub timings: bool,
}

/// `meshcheck serve`.
///
/// Every request needs `Authorization: Bearer <token>` (`meshcheck admin create-token`), except
/// `/healthz` and `/metrics`. Uploads go to `POST /api/v1/snapshots`; reports are at
/// `/snapshots/<id>` and `/api/v1/snapshots/<id>/findings`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory for the SQLite database, local archive storage and temporary uploads.
    #[arg(long, value_name = "DIR", env = "MESHCHECK_DATA_DIR")]
    pub data_dir: PathBuf,

    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,

    /// Metadata database URL (default: SQLite in the data directory; `sqlite://PATH`).
    #[arg(
        long,
        value_name = "URL",
        env = "MESHCHECK_DATABASE",
        hide_env_values = true
    )]
    pub database: Option<String>,

    /// Where archives and reports are kept: `s3://bucket/prefix` (configured by the usual AWS_*
    /// variables; AWS_ENDPOINT_URL for S3-compatible stores) or `file:///path` (default: the
    /// data directory).
    #[arg(long, value_name = "URL", env = "MESHCHECK_BLOB_STORE")]
    pub blob_store: Option<String>,

    /// Largest accepted archive in bytes (larger uploads get 413).
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20)]
    pub max_upload_bytes: u64,

    /// Analyses running at the same time (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// Delete snapshots uploaded more than N days ago (checked hourly).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub retain_days: Option<u32>,

    /// TLS certificate chain (PEM); serve HTTPS. Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM). Needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Requests per second allowed per token (bursts of twice as many); 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = 50.0)]
    pub rate_limit: f64,

    /// Base of the URLs the API hands out (`report_url`), e.g. `https://meshcheck.example.com`
    /// behind a proxy (default: from the request's Host).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

/// Who may use the database: the data directory (SQLite) or `--database`.
#[derive(Debug, Args)]
pub struct AdminStore {
    /// The portal's data directory (as given to `meshcheck serve`).
    #[arg(
        long,
        value_name = "DIR",
        env = "MESHCHECK_DATA_DIR",
        required_unless_present = "database"
    )]
    pub data_dir: Option<PathBuf>,

    /// The portal's metadata database URL, when it is not SQLite in the data directory.
    #[arg(
        long,
        value_name = "URL",
        env = "MESHCHECK_DATABASE",
        hide_env_values = true
    )]
    pub database: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an API token (and the tenant when new); the token is printed as the last line and
    /// cannot be shown again.
    CreateToken(CreateTokenArgs),
    /// List tokens: id, tenant, role, created, last used, revoked (never the token itself).
    ListTokens(ListTokensArgs),
    /// Revoke a token by its id (`mck_<id>_...`); requests with it get 401 from then on.
    RevokeToken(RevokeTokenArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenRole {
    /// Read snapshots, findings and reports.
    Viewer,
    /// Also upload snapshots and download archives.
    Uploader,
    /// Also delete snapshots.
    Admin,
}

#[derive(Debug, Args)]
pub struct CreateTokenArgs {
    #[command(flatten)]
    pub store: AdminStore,

    /// The tenant (team) the token belongs to; its snapshots are visible to its tokens only.
    #[arg(long, value_name = "NAME")]
    pub tenant: String,

    /// What the token may do.
    #[arg(long, value_enum, default_value_t = TokenRole::Uploader)]
    pub role: TokenRole,
}

#[derive(Debug, Args)]
pub struct ListTokensArgs {
    #[command(flatten)]
    pub store: AdminStore,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = RulesFormat::Text)]
    pub output: RulesFormat,
}

#[derive(Debug, Args)]
pub struct RevokeTokenArgs {
    #[command(flatten)]
    pub store: AdminStore,

    /// The token's id (the part after `mck_`), as `admin list-tokens` shows it.
    #[arg(value_name = "ID")]
    pub id: String,
}
