//! `meshcheck collect`: reads a live cluster through its API server into a [`Collection`] — the
//! Istio and Gateway API kinds found by discovery plus the core kinds the rules read — without ever
//! asking for Secret data, certificates, tokens or logs.
//!
//! What may carry secrets is avoided at the source: Secrets and ConfigMaps are listed as metadata
//! only (their data never leaves the API server), except Istio's own mesh configuration
//! ConfigMaps; CRDs are trimmed to their names and versions. The archive writer then redacts what
//! is left (env values, PEM blocks, tokens, `caBundle`s) before anything touches disk.

mod connect;
mod error;
mod fetch;
mod plan;
mod progress;
mod shape;

use std::time::{Duration, Instant};

pub use connect::{ClusterTarget, Connection, error_chain};
pub use error::CollectError;
pub use plan::{CORE_KINDS, CollectTarget, ListMode, is_mesh_group, list_mode};
pub use progress::{NoProgress, Progress};

use futures::StreamExt;
use meshcheck_model::CollectionGap;
use serde_json::Value;

/// What to collect.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Namespaced kinds are listed only in these namespaces (plus the Istio root namespace, so
    /// mesh configuration and the control plane stay visible); empty means every namespace.
    pub namespaces: Vec<String>,
    /// Objects per list page (`limit`); the rest is fetched with `continue` tokens.
    pub page_size: u32,
    /// Kinds listed at the same time.
    pub parallel_lists: usize,
    /// At most this many Events are kept, newest first.
    pub max_events: usize,
    /// Attempts per request on throttling (429), server errors (5xx) and connection failures.
    pub max_attempts: u32,
    /// First backoff; doubled on each further attempt.
    pub initial_backoff: Duration,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            namespaces: Vec::new(),
            page_size: 500,
            parallel_lists: 4,
            max_events: 2000,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
        }
    }
}

/// All objects of one kind, as the API server served them (after collector-side trimming).
#[derive(Debug, Clone)]
pub struct KindList {
    /// `group/version` or `v1`.
    pub api_version: String,
    pub kind: String,
    pub items: Vec<Value>,
}

/// The result of a collection run.
#[derive(Debug, Clone)]
pub struct Collection {
    pub context: String,
    pub server: String,
    /// The API server's `/version` body.
    pub version: Value,
    /// Its `gitVersion`, e.g. `v1.29.4-gke.1043002`.
    pub kubernetes_version: Option<String>,
    pub lists: Vec<KindList>,
    /// Events, newest first, capped at [`CollectOptions::max_events`].
    pub events: Vec<Value>,
    /// Kinds that could not be listed (forbidden, not found, failing) — collection went on.
    pub gaps: Vec<CollectionGap>,
    /// Requests made, including retries and pages.
    pub requests: u64,
    pub elapsed: Duration,
}

impl Collection {
    /// Number of objects collected (events included).
    pub fn object_count(&self) -> usize {
        self.lists
            .iter()
            .map(|list| list.items.len())
            .sum::<usize>()
            + self.events.len()
    }
}

/// Collects a snapshot of the cluster behind `connection`. Only an unreachable API server (or
/// failing authentication) aborts; kinds that cannot be listed become [`Collection::gaps`].
pub async fn collect(
    connection: &Connection,
    options: &CollectOptions,
    progress: &dyn Progress,
) -> Result<Collection, CollectError> {
    let started = Instant::now();
    let fetcher = fetch::Fetcher::new(connection, options);

    progress.phase("version");
    let version = fetcher.version().await?;
    let kubernetes_version = version
        .get("gitVersion")
        .and_then(Value::as_str)
        .map(str::to_owned);

    progress.phase("discovery");
    let (targets, discovery_gaps) = plan::discover(&fetcher).await?;
    progress.planned(targets.len());

    progress.phase("objects");
    let namespaces = plan::namespaces_to_list(&options.namespaces);
    let mut results = futures::stream::iter(targets.iter().map(|target| {
        let fetcher = &fetcher;
        let namespaces = &namespaces;
        async move {
            progress.kind_started(&target.api_version, &target.kind);
            let outcome = fetcher.collect_target(target, namespaces).await;
            (target, outcome)
        }
    }))
    .buffer_unordered(options.parallel_lists.max(1));

    let mut lists = Vec::new();
    let mut events = Vec::new();
    let mut gaps = discovery_gaps;
    while let Some((target, outcome)) = results.next().await {
        match outcome {
            Ok(fetched) => {
                gaps.extend(fetched.gaps);
                progress.kind_done(&target.api_version, &target.kind, fetched.items.len());
                if target.mode == ListMode::Events {
                    events.extend(fetched.items);
                } else {
                    lists.push(KindList {
                        api_version: target.api_version.clone(),
                        kind: target.kind.clone(),
                        items: fetched.items,
                    });
                }
            }
            Err(error) => return Err(error),
        }
    }
    drop(results);

    lists.sort_by(|a, b| (&a.api_version, &a.kind).cmp(&(&b.api_version, &b.kind)));
    for list in &mut lists {
        list.items.sort_by_key(shape::object_key);
    }
    let events = shape::newest_events(events, options.max_events);
    gaps.sort_by(|a, b| {
        (&a.api_version, &a.kind, &a.namespace).cmp(&(&b.api_version, &b.kind, &b.namespace))
    });
    Ok(Collection {
        context: connection.context.clone(),
        server: connection.server.clone(),
        version,
        kubernetes_version,
        lists,
        events,
        gaps,
        requests: fetcher.requests(),
        elapsed: started.elapsed(),
    })
}
