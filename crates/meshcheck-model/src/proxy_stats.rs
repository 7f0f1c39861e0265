//! Envoy admin statistics of one proxy, as dumped from its admin port: `/stats` (`name: value`
//! lines), `/stats?format=json`, or `/stats/prometheus` (`name{labels} value`). Only the figures
//! meshcheck's rules read are kept: per-worker listener connections, circuit-breaker overflows,
//! the worker count, the number of clusters and the memory in use.
//!
//! The pod a dump belongs to comes from a first-line comment `# pod: <namespace>/<name>`, or from
//! a file named `<pod>.<namespace>.<ext>` (istioctl's `name.namespace`).

use std::collections::BTreeMap;
use std::path::Path;

use meshcheck_input::Value;

/// The pod a stats dump was taken from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PodRef {
    /// Unknown when the dump names only the pod.
    pub namespace: Option<String>,
    pub name: String,
}

impl PodRef {
    /// `namespace/name`, or `name`.
    pub fn parse(text: &str) -> Option<PodRef> {
        let text = text.trim();
        if text.is_empty() || text.contains(char::is_whitespace) {
            return None;
        }
        match text.split_once('/') {
            Some((namespace, name)) if !namespace.is_empty() && !name.is_empty() => Some(PodRef {
                namespace: Some(namespace.to_owned()),
                name: name.to_owned(),
            }),
            Some(_) => None,
            None => Some(PodRef {
                namespace: None,
                name: text.to_owned(),
            }),
        }
    }

    /// A file named `<pod>.<namespace>.txt` (also `.prom`, `.json`, `.stats`): the pod it names.
    pub fn from_file_name(path: &Path) -> Option<PodRef> {
        let mut stem = path.file_name()?.to_str()?;
        while let Some((rest, extension)) = stem.rsplit_once('.') {
            if matches!(extension, "txt" | "prom" | "json" | "stats" | "log") {
                stem = rest;
            } else {
                break;
            }
        }
        let (name, namespace) = stem.rsplit_once('.')?;
        (!name.is_empty() && !namespace.is_empty()).then(|| PodRef {
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        })
    }

    /// `namespace/name` or `name`.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{namespace}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Which admin endpoint the dump came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsFormat {
    /// `/stats`: `name: value` lines.
    Text,
    /// `/stats?format=json`.
    Json,
    /// `/stats/prometheus` (Envoy's own or Istio's merged endpoint).
    Prometheus,
}

/// Connections one worker thread accepted on a listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerConnections {
    /// `downstream_cx_active`: open now.
    pub active: Option<u64>,
    /// `downstream_cx_total`: accepted since the proxy started.
    pub total: Option<u64>,
}

/// One listener's per-worker counters (`listener.<address>.worker_<n>.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerStats {
    /// Worker id → its connections.
    pub workers: BTreeMap<u32, WorkerConnections>,
}

/// Circuit-breaker counters of one upstream cluster (`cluster.<name>.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterStats {
    /// `upstream_cx_overflow`: connections refused by `maxConnections`.
    pub cx_overflow: u64,
    /// `upstream_rq_pending_overflow`: requests refused by `http1MaxPendingRequests`.
    pub rq_pending_overflow: u64,
    /// `upstream_rq_retry_overflow`: retries refused by `maxRetries`.
    pub rq_retry_overflow: u64,
    /// `upstream_rq_total`: requests sent (to put the overflows in proportion).
    pub rq_total: u64,
}

/// The statistics of one proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyStats {
    /// Where the dump came from (a file path, or an archive member).
    pub source: String,
    pub pod: Option<PodRef>,
    pub format: StatsFormat,
    /// `server.concurrency`: the number of worker threads.
    pub concurrency: Option<u64>,
    /// Listener address (`0.0.0.0_15006`) → per-worker counters.
    pub listeners: BTreeMap<String, ListenerStats>,
    /// Cluster name → circuit-breaker counters (only clusters with such counters).
    pub clusters: BTreeMap<String, ClusterStats>,
    /// `cluster_manager.active_clusters`: the clusters the proxy holds (its config size).
    pub active_clusters: Option<u64>,
    /// `server.memory_allocated` in bytes.
    pub memory_allocated: Option<u64>,
    /// `server.memory_heap_size` in bytes.
    pub memory_heap_size: Option<u64>,
}

/// Why a stats dump could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyStatsError {
    #[error("{file}:{line}: {message}")]
    Line {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

const CLUSTER_COUNTERS: [&str; 4] = [
    "upstream_cx_overflow",
    "upstream_rq_pending_overflow",
    "upstream_rq_retry_overflow",
    "upstream_rq_total",
];

impl ProxyStats {
    fn empty(source: &str, format: StatsFormat) -> ProxyStats {
        ProxyStats {
            source: source.to_owned(),
            pod: None,
            format,
            concurrency: None,
            listeners: BTreeMap::new(),
            clusters: BTreeMap::new(),
            active_clusters: None,
            memory_allocated: None,
            memory_heap_size: None,
        }
    }

    /// Parses a dump. `source` names it in errors and findings; the pod comes from a leading
    /// `# pod: <namespace>/<name>` comment, else from `source`'s file name.
    pub fn parse(source: &str, text: &str) -> Result<ProxyStats, ProxyStatsError> {
        let trimmed = text.trim_start();
        let mut stats = if trimmed.starts_with('{') {
            parse_json(source, trimmed)?
        } else {
            parse_lines(source, text)?
        };
        if stats.pod.is_none() {
            stats.pod = PodRef::from_file_name(Path::new(source));
        }
        if !stats.recognized_anything() {
            return Err(ProxyStatsError::File {
                file: source.to_owned(),
                message: "no Envoy statistics meshcheck reads (server.concurrency, listener.<address>.worker_<n>.downstream_cx_*, cluster.<name>.upstream_*_overflow, cluster_manager.active_clusters): is this an Envoy admin /stats or /stats/prometheus dump?".to_owned(),
            });
        }
        Ok(stats)
    }

    fn recognized_anything(&self) -> bool {
        self.concurrency.is_some()
            || !self.listeners.is_empty()
            || !self.clusters.is_empty()
            || self.active_clusters.is_some()
            || self.memory_allocated.is_some()
            || self.memory_heap_size.is_some()
    }

    /// Whether the dump looks like a sidecar's (it has the virtual inbound or outbound listener)
    /// rather than a gateway's.
    pub fn is_sidecar(&self) -> bool {
        self.listeners.keys().any(|address| {
            listener_port(address).is_some_and(|port| port == 15001 || port == 15006)
        })
    }

    /// Records one statistic given by its Envoy name (`listener.0.0.0.0_15006.worker_1.downstream_cx_active`).
    fn record_text(&mut self, name: &str, value: f64) {
        let count = value.max(0.0) as u64;
        match name {
            "server.concurrency" => self.concurrency = Some(count),
            "cluster_manager.active_clusters" => self.active_clusters = Some(count),
            "server.memory_allocated" => self.memory_allocated = Some(count),
            "server.memory_heap_size" => self.memory_heap_size = Some(count),
            _ => {
                if let Some(rest) = name.strip_prefix("listener.") {
                    if let Some((address, worker_part)) = rest.rsplit_once(".worker_")
                        && let Some((worker, stat)) = worker_part.split_once('.')
                        && let Ok(worker) = worker.parse::<u32>()
                    {
                        self.record_worker(address, worker, stat, count);
                    }
                } else if let Some(rest) = name.strip_prefix("cluster.") {
                    for counter in CLUSTER_COUNTERS {
                        if let Some(cluster) = rest
                            .strip_suffix(counter)
                            .and_then(|cluster| cluster.strip_suffix('.'))
                        {
                            self.record_cluster(cluster, counter, count);
                        }
                    }
                }
            }
        }
    }

    fn record_worker(&mut self, address: &str, worker: u32, stat: &str, count: u64) {
        let slot = match stat {
            "downstream_cx_active" => 0,
            "downstream_cx_total" => 1,
            _ => return,
        };
        let connections = self
            .listeners
            .entry(address.to_owned())
            .or_default()
            .workers
            .entry(worker)
            .or_default();
        if slot == 0 {
            connections.active = Some(count);
        } else {
            connections.total = Some(count);
        }
    }

    fn record_cluster(&mut self, cluster: &str, counter: &str, count: u64) {
        let stats = self.clusters.entry(cluster.to_owned()).or_default();
        match counter {
            "upstream_cx_overflow" => stats.cx_overflow = count,
            "upstream_rq_pending_overflow" => stats.rq_pending_overflow = count,
            "upstream_rq_retry_overflow" => stats.rq_retry_overflow = count,
            _ => stats.rq_total = count,
        }
    }

    /// Records one Prometheus sample (`envoy_listener_downstream_cx_active{...}`).
    fn record_prometheus(&mut self, name: &str, labels: &BTreeMap<String, String>, value: f64) {
        let count = value.max(0.0) as u64;
        let Some(name) = name.strip_prefix("envoy_") else {
            return;
        };
        match name {
            "server_concurrency" => return self.concurrency = Some(count),
            "cluster_manager_active_clusters" => return self.active_clusters = Some(count),
            "server_memory_allocated" => return self.memory_allocated = Some(count),
            "server_memory_heap_size" => return self.memory_heap_size = Some(count),
            _ => {}
        }
        if let Some(stat) = name.strip_prefix("listener_") {
            let Some(address) = labels.get("envoy_listener_address") else {
                return;
            };
            // Newer Envoys tag the worker (`envoy_worker_id`); older ones leave it in the name
            // (`envoy_listener_worker_3_downstream_cx_active`).
            let stat = stat.strip_prefix("worker_").unwrap_or(stat);
            if let Some(worker) = labels.get("envoy_worker_id") {
                let worker = worker.strip_prefix("worker_").unwrap_or(worker);
                if let Ok(worker) = worker.parse::<u32>() {
                    self.record_worker(address, worker, stat, count);
                }
            } else if let Some((worker, stat)) = stat.split_once('_')
                && let Ok(worker) = worker.parse::<u32>()
            {
                self.record_worker(address, worker, stat, count);
            }
        } else if let Some(stat) = name.strip_prefix("cluster_")
            && CLUSTER_COUNTERS.contains(&stat)
            && let Some(cluster) = labels.get("envoy_cluster_name")
        {
            self.record_cluster(cluster, stat, count);
        }
    }
}

/// The port of a listener address (`0.0.0.0_15006`, `[__1]_15006`).
pub fn listener_port(address: &str) -> Option<u16> {
    address.rsplit_once('_')?.1.parse().ok()
}

fn pod_comment(line: &str) -> Option<PodRef> {
    let rest = line.strip_prefix('#')?.trim_start();
    let rest = rest.strip_prefix("pod")?;
    let rest = rest
        .strip_prefix(':')
        .or_else(|| rest.strip_prefix('='))
        .or_else(|| rest.strip_prefix(' '))?;
    PodRef::parse(rest)
}

fn parse_lines(source: &str, text: &str) -> Result<ProxyStats, ProxyStatsError> {
    let mut stats = ProxyStats::empty(source, StatsFormat::Text);
    let mut seen_stat = false;
    let mut seen_prometheus = false;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            if !seen_stat
                && stats.pod.is_none()
                && let Some(pod) = pod_comment(line)
            {
                stats.pod = Some(pod);
            }
            continue;
        }
        seen_stat = true;
        let error = |message: String| ProxyStatsError::Line {
            file: source.to_owned(),
            line: index + 1,
            message,
        };
        if let Some((name, labels, value)) = prometheus_sample(line).map_err(error)? {
            seen_prometheus = true;
            if let Some(value) = value {
                stats.record_prometheus(name, &labels, value);
            }
            continue;
        }
        let Some((name, value)) = line.split_once(": ") else {
            return Err(error(format!(
                "expected `name: value` (/stats) or `name{{labels}} value` (/stats/prometheus), found {:?}",
                truncate(line)
            )));
        };
        // Histograms (`P0(...) P25(...)`, `No recorded values`) and text stats are skipped.
        if let Ok(value) = value.trim().parse::<f64>() {
            stats.record_text(name.trim(), value);
        }
    }
    if seen_prometheus {
        stats.format = StatsFormat::Prometheus;
    }
    Ok(stats)
}

fn truncate(line: &str) -> String {
    line.chars().take(80).collect()
}

type Sample<'a> = (&'a str, BTreeMap<String, String>, Option<f64>);

/// A Prometheus exposition line: `Ok(None)` when the line is not one (then it may be `/stats`).
fn prometheus_sample(line: &str) -> Result<Option<Sample<'_>>, String> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok(None);
    }
    let rest = &line[name_end..];
    let has_labels = rest.starts_with('{');
    let (labels, rest) = if let Some(body) = rest.strip_prefix('{') {
        parse_labels(body)?
    } else if rest.starts_with(' ') || rest.starts_with('\t') {
        (BTreeMap::new(), rest)
    } else {
        return Ok(None);
    };
    let value = match rest.split_whitespace().next() {
        None if has_labels => return Err(format!("sample {name} has no value")),
        None => return Ok(None),
        Some("NaN" | "+Inf" | "-Inf") => None,
        Some(number) => match number.parse::<f64>() {
            Ok(number) => Some(number),
            // `word word ...` is not a sample at all; `name{...} word` is a broken one.
            Err(_) if !has_labels => return Ok(None),
            Err(_) => return Err(format!("sample {name} has value {number:?}, not a number")),
        },
    };
    Ok(Some((name, labels, value)))
}

/// Parses `a="x",b="y"}` and returns the labels and what follows the `}`.
fn parse_labels(body: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = body.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (key, after) = rest
            .split_once('=')
            .ok_or("unterminated label set (missing `}`)")?;
        let after = after.strip_prefix('"').ok_or("label value is not quoted")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, escaped)) => value.push(escaped),
                    None => return Err("unterminated label value".to_owned()),
                },
                Some((position, '"')) => break position,
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value".to_owned()),
            }
        };
        labels.insert(key.trim().to_owned(), value);
        rest = after[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
}

fn parse_json(source: &str, text: &str) -> Result<ProxyStats, ProxyStatsError> {
    let value: Value = serde_json::from_str(text).map_err(|error| ProxyStatsError::Line {
        file: source.to_owned(),
        line: error.line(),
        message: format!("invalid JSON: {error}"),
    })?;
    let entries = value
        .get("stats")
        .and_then(Value::as_array)
        .ok_or_else(|| ProxyStatsError::File {
            file: source.to_owned(),
            message: "JSON stats must be Envoy's `/stats?format=json` object with a `stats` list"
                .to_owned(),
        })?;
    let mut stats = ProxyStats::empty(source, StatsFormat::Json);
    for entry in entries {
        if let (Some(name), Some(value)) = (
            entry.get("name").and_then(Value::as_str),
            entry.get("value").and_then(Value::as_f64),
        ) {
            stats.record_text(name, value);
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format() {
        let text = "# pod: shop/reviews-v1-7d9c6b7c4-x2x9k\n\
            server.concurrency: 4\n\
            cluster_manager.active_clusters: 212\n\
            listener.0.0.0.0_15006.worker_0.downstream_cx_active: 12\n\
            listener.0.0.0.0_15006.worker_1.downstream_cx_active: 0\n\
            listener.0.0.0.0_15006.worker_1.downstream_cx_total: 40\n\
            listener.0.0.0.0_15006.downstream_cx_active: 12\n\
            listener.[__]_15006.worker_0.downstream_cx_active: 1\n\
            cluster.outbound|9080||ratings.shop.svc.cluster.local.upstream_rq_pending_overflow: 7\n\
            cluster.outbound|9080||ratings.shop.svc.cluster.local.upstream_rq_total: 700\n\
            cluster.xds-grpc.upstream_rq_time: P0(nan,1.0) P25(nan,1.025)\n";
        let stats = ProxyStats::parse("dump.txt", text).unwrap();
        assert_eq!(stats.format, StatsFormat::Text);
        assert_eq!(
            stats.pod,
            Some(PodRef {
                namespace: Some("shop".into()),
                name: "reviews-v1-7d9c6b7c4-x2x9k".into()
            })
        );
        assert_eq!(stats.concurrency, Some(4));
        assert_eq!(stats.active_clusters, Some(212));
        let inbound = &stats.listeners["0.0.0.0_15006"].workers;
        assert_eq!(inbound[&0].active, Some(12));
        assert_eq!(inbound[&1].total, Some(40));
        assert_eq!(stats.listeners["[__]_15006"].workers[&0].active, Some(1));
        let cluster = &stats.clusters["outbound|9080||ratings.shop.svc.cluster.local"];
        assert_eq!((cluster.rq_pending_overflow, cluster.rq_total), (7, 700));
        assert!(stats.is_sidecar());
    }

    #[test]
    fn prometheus_format_both_worker_spellings() {
        let text = "# TYPE envoy_listener_downstream_cx_active gauge\n\
            envoy_listener_downstream_cx_active{envoy_listener_address=\"0.0.0.0_15006\",envoy_worker_id=\"3\"} 12\n\
            envoy_listener_worker_downstream_cx_total{envoy_worker_id=\"0\",envoy_listener_address=\"0.0.0.0_8080\"} 150\n\
            envoy_listener_worker_2_downstream_cx_active{envoy_listener_address=\"0.0.0.0_8443\"} 5\n\
            envoy_listener_downstream_cx_active{envoy_listener_address=\"0.0.0.0_15006\"} 12\n\
            envoy_cluster_upstream_cx_overflow{envoy_cluster_name=\"outbound|5432||db.data.svc.cluster.local\"} 3\n\
            envoy_server_concurrency{} 2\n\
            envoy_server_memory_allocated 73400320 1700000000000\n\
            istio_requests_total{response_code=\"200\",source_app=\"a\\\"b\"} 10\n\
            envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"x\",le=\"+Inf\"} NaN\n";
        let stats = ProxyStats::parse("reviews-v1-abc.shop.prom", text).unwrap();
        assert_eq!(stats.format, StatsFormat::Prometheus);
        assert_eq!(stats.pod.as_ref().unwrap().display(), "shop/reviews-v1-abc");
        assert_eq!(
            stats.listeners["0.0.0.0_15006"].workers[&3].active,
            Some(12)
        );
        assert_eq!(stats.listeners["0.0.0.0_15006"].workers.len(), 1);
        assert_eq!(stats.listeners["0.0.0.0_8080"].workers[&0].total, Some(150));
        assert_eq!(stats.listeners["0.0.0.0_8443"].workers[&2].active, Some(5));
        assert_eq!(
            stats.clusters["outbound|5432||db.data.svc.cluster.local"].cx_overflow,
            3
        );
        assert_eq!(stats.concurrency, Some(2));
        assert_eq!(stats.memory_allocated, Some(73_400_320));
        assert!(stats.is_sidecar());
    }

    #[test]
    fn json_format() {
        let text = r#"{"stats":[{"name":"server.concurrency","value":8},{"name":"listener.0.0.0.0_8443.worker_7.downstream_cx_total","value":99},{"histograms":{}}]}"#;
        let stats = ProxyStats::parse("gw.json", text).unwrap();
        assert_eq!(stats.format, StatsFormat::Json);
        assert_eq!(stats.concurrency, Some(8));
        assert_eq!(stats.listeners["0.0.0.0_8443"].workers[&7].total, Some(99));
        assert!(!stats.is_sidecar());
        assert_eq!(stats.pod, None);
    }

    #[test]
    fn errors_name_file_and_line() {
        let error = ProxyStats::parse("s.txt", "server.concurrency: 2\nthis is not a stat\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("s.txt:2: expected `name: value`"),
            "{error}"
        );
        let error = ProxyStats::parse("s.txt", "envoy_x{a=\"b\" 1\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("s.txt:1:"), "{error}");
        let error = ProxyStats::parse("s.txt", "foo.bar: 1\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("no Envoy statistics"), "{error}");
        let error = ProxyStats::parse("s.json", "{\"stats\": 1}")
            .unwrap_err()
            .to_string();
        assert!(error.contains("`stats` list"), "{error}");
    }

    #[test]
    fn pod_names() {
        assert_eq!(PodRef::parse("a b"), None);
        assert_eq!(PodRef::parse("/x"), None);
        assert_eq!(PodRef::parse("x").unwrap().display(), "x");
        assert_eq!(
            PodRef::from_file_name(Path::new("dir/web-1.prod.stats.txt"))
                .unwrap()
                .display(),
            "prod/web-1"
        );
        assert_eq!(PodRef::from_file_name(Path::new("stats.txt")), None);
        assert_eq!(listener_port("0.0.0.0_15001"), Some(15001));
        assert_eq!(listener_port("virtualOutbound"), None);
    }
}
