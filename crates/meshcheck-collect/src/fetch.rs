//! Requests with retries, paging and error classification: a kind that cannot be read becomes a
//! gap; only an unreachable server or rejected credentials abort.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kube::api::{DynamicObject, GetParams, ListParams};
use kube::core::Request;
use kube::core::{ApiResource, GroupVersion};
use kube::discovery::{ApiCapabilities, ApiGroup, Discovery};
use kube::{Client, Resource};
use meshcheck_model::CollectionGap;
use serde_json::Value;

use crate::connect::error_chain;
use crate::plan::{CollectTarget, ListMode, is_mesh_group};
use crate::{CollectError, CollectOptions, Connection, shape};

/// Secret types read with field-selected metadata lists, so a Secret's type is known without
/// reading the Secret (gateway `credentialName` checks need TLS vs. generic).
const SECRET_TYPES: &[&str] = &[
    "kubernetes.io/tls",
    "Opaque",
    "istio.io/key-and-cert",
    "kubernetes.io/dockerconfigjson",
    "kubernetes.io/service-account-token",
    "helm.sh/release.v1",
];

/// A served API group and the resources of its preferred version.
pub(crate) struct DiscoveredGroup {
    pub name: String,
    pub resources: Vec<(ApiResource, ApiCapabilities)>,
}

impl DiscoveredGroup {
    fn of(group: &ApiGroup) -> DiscoveredGroup {
        DiscoveredGroup {
            name: group.name().to_owned(),
            resources: group.recommended_resources(),
        }
    }
}

/// Why one request did not produce a body.
enum Failure {
    /// This kind/scope cannot be read; record it and go on.
    Gap(String),
    /// The `continue` token expired (410 Gone): restart the list.
    Expired,
    /// Stop the whole collection.
    Abort(CollectError),
}

/// Objects of one target plus the scopes that failed.
pub(crate) struct Fetched {
    pub items: Vec<Value>,
    pub gaps: Vec<CollectionGap>,
}

pub(crate) struct Fetcher {
    client: Client,
    server: String,
    context: String,
    page_size: u32,
    max_attempts: u32,
    initial_backoff: Duration,
    requests: AtomicU64,
}

impl Fetcher {
    pub fn new(connection: &Connection, options: &CollectOptions) -> Fetcher {
        Fetcher {
            client: connection.client.clone(),
            server: connection.server.clone(),
            context: connection.context.clone(),
            page_size: options.page_size.max(1),
            max_attempts: options.max_attempts.max(1),
            initial_backoff: options.initial_backoff,
            requests: AtomicU64::new(0),
        }
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn unreachable(&self, error: &dyn std::error::Error) -> CollectError {
        CollectError::Unreachable {
            server: self.server.clone(),
            context: self.context.clone(),
            reason: error_chain(error),
        }
    }

    fn unauthorized(&self, reason: String) -> CollectError {
        CollectError::Unauthorized {
            server: self.server.clone(),
            context: self.context.clone(),
            reason,
        }
    }

    /// Sorts a client error into retry-worthy or final.
    fn classify(&self, error: kube::Error) -> (bool, Failure) {
        match error {
            kube::Error::Api(status) => {
                let reason = if status.message.is_empty() {
                    status.reason.clone()
                } else {
                    status.message.clone()
                };
                match status.code {
                    401 => (false, Failure::Abort(self.unauthorized(reason))),
                    403 => (false, Failure::Gap(format!("forbidden: {reason}"))),
                    404 => (false, Failure::Gap(format!("not found: {reason}"))),
                    410 => (false, Failure::Expired),
                    429 | 500 | 502 | 503 | 504 => (
                        true,
                        Failure::Gap(format!("HTTP {} after retries: {reason}", status.code)),
                    ),
                    code => (false, Failure::Gap(format!("HTTP {code}: {reason}"))),
                }
            }
            kube::Error::Auth(error) => (
                false,
                Failure::Abort(self.unauthorized(error_chain(&error))),
            ),
            error @ (kube::Error::HyperError(_) | kube::Error::Service(_)) => {
                (true, Failure::Abort(self.unreachable(&error)))
            }
            other => (false, Failure::Gap(error_chain(&other))),
        }
    }

    /// Sends a request, retrying throttling, server errors and connection failures with
    /// exponential backoff.
    async fn request(
        &self,
        build: impl Fn() -> Option<http::Request<Vec<u8>>>,
    ) -> Result<Value, Failure> {
        let mut backoff = self.initial_backoff;
        let mut attempt = 1;
        loop {
            let Some(request) = build() else {
                return Err(Failure::Gap("could not build the request".to_owned()));
            };
            self.requests.fetch_add(1, Ordering::Relaxed);
            match self.client.request::<Value>(request).await {
                Ok(body) => return Ok(body),
                Err(error) => {
                    let (retry, failure) = self.classify(error);
                    if !retry || attempt >= self.max_attempts {
                        return Err(failure);
                    }
                    tracing::debug!(attempt, ?backoff, "retrying a failed request");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                    attempt += 1;
                }
            }
        }
    }

    fn fatal(&self, what: &str, failure: Failure) -> CollectError {
        match failure {
            Failure::Abort(error) => error,
            Failure::Gap(reason) => CollectError::Request {
                what: what.to_owned(),
                server: self.server.clone(),
                reason,
            },
            Failure::Expired => CollectError::Request {
                what: what.to_owned(),
                server: self.server.clone(),
                reason: "410 Gone".to_owned(),
            },
        }
    }

    /// `/version`; failing here means the server is not usable at all.
    pub async fn version(&self) -> Result<Value, CollectError> {
        let build = || http::Request::get("/version").body(Vec::new()).ok();
        self.request(build)
            .await
            .map_err(|failure| self.fatal("GET /version", failure))
    }

    /// Discovery of the groups worth reading: aggregated discovery (Kubernetes ≥ 1.26, two
    /// requests) when the server has it, otherwise one request per group at its preferred
    /// version. A group that cannot be discovered (an aggregated API that is down, a CRD version
    /// not served yet) becomes a gap; the other groups are still read.
    pub async fn discovery(
        &self,
    ) -> Result<(Vec<DiscoveredGroup>, Vec<CollectionGap>), CollectError> {
        let listing = self
            .request(|| http::Request::get("/apis").body(Vec::new()).ok())
            .await
            .map_err(|failure| self.fatal("GET /apis", failure))?;
        let wanted: Vec<(String, String)> = listing
            .get("groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|group| {
                let name = group.get("name").and_then(Value::as_str)?;
                let preferred = group
                    .pointer("/preferredVersion/version")
                    .or_else(|| group.pointer("/versions/0/version"))
                    .and_then(Value::as_str)?;
                (is_mesh_group(name) || crate::plan::is_core_group(name))
                    .then(|| (name.to_owned(), preferred.to_owned()))
            })
            .collect();

        // Servers before 1.26 answer the aggregated request with the legacy document, which
        // parses as an empty aggregated list: only a result that has the core group counts.
        let mut names: Vec<&str> = wanted.iter().map(|(name, _)| name.as_str()).collect();
        names.push(ApiGroup::CORE_GROUP);
        self.requests.fetch_add(2, Ordering::Relaxed);
        if let Ok(discovery) = Discovery::new(self.client.clone())
            .filter(&names)
            .run_aggregated()
            .await
            && discovery.has_group(ApiGroup::CORE_GROUP)
        {
            return Ok((
                discovery.groups().map(DiscoveredGroup::of).collect(),
                Vec::new(),
            ));
        }

        let mut groups = Vec::new();
        let mut gaps = Vec::new();
        let core = self
            .with_retries(|| kube::discovery::group(&self.client, ApiGroup::CORE_GROUP))
            .await
            .map_err(|failure| self.fatal("discovery of the core API group", failure))?;
        groups.push(DiscoveredGroup::of(&core));
        for (name, version) in wanted {
            let group_version = GroupVersion::gv(&name, &version);
            match self
                .with_retries(|| kube::discovery::pinned_group(&self.client, &group_version))
                .await
            {
                Ok(group) => groups.push(DiscoveredGroup::of(&group)),
                Err(Failure::Abort(error)) => return Err(error),
                Err(Failure::Gap(reason)) => gaps.push(CollectionGap {
                    api_version: format!("{name}/{version}"),
                    kind: "*".to_owned(),
                    namespace: None,
                    reason: format!("API discovery failed: {reason}"),
                }),
                Err(Failure::Expired) => {}
            }
        }
        Ok((groups, gaps))
    }

    /// Runs a kube-rs call with the same retry policy as raw requests.
    async fn with_retries<T, F, Fut>(&self, call: F) -> Result<T, Failure>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let mut backoff = self.initial_backoff;
        let mut attempt = 1;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            match call().await {
                Ok(value) => return Ok(value),
                Err(error) => {
                    let (retry, failure) = self.classify(error);
                    if !retry || attempt >= self.max_attempts {
                        return Err(failure);
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                    attempt += 1;
                }
            }
        }
    }

    /// Every item of a list, page by page; restarts from scratch when the continue token expired.
    async fn list_all(
        &self,
        url_path: &str,
        metadata_only: bool,
        field_selector: Option<&str>,
    ) -> Result<Vec<Value>, Failure> {
        let mut items = Vec::new();
        let mut continue_token: Option<String> = None;
        let mut restarts = 0;
        loop {
            let mut params = ListParams::default().limit(self.page_size);
            if let Some(token) = &continue_token {
                params = params.continue_token(token);
            }
            if let Some(selector) = field_selector {
                params = params.fields(selector);
            }
            let request = Request::new(url_path);
            let build = || {
                if metadata_only {
                    request.list_metadata(&params).ok()
                } else {
                    request.list(&params).ok()
                }
            };
            match self.request(build).await {
                Ok(mut page) => {
                    if let Some(Value::Array(page_items)) = page.get_mut("items").map(Value::take) {
                        items.extend(page_items);
                    }
                    continue_token = page
                        .pointer("/metadata/continue")
                        .and_then(Value::as_str)
                        .filter(|token| !token.is_empty())
                        .map(str::to_owned);
                    if continue_token.is_none() {
                        return Ok(items);
                    }
                }
                Err(Failure::Expired) if restarts < 3 => {
                    restarts += 1;
                    items.clear();
                    continue_token = None;
                }
                Err(Failure::Expired) => {
                    return Err(Failure::Gap(
                        "the list kept expiring (410 Gone) while paging".to_owned(),
                    ));
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// Lists one target in every requested scope.
    pub async fn collect_target(
        &self,
        target: &CollectTarget,
        namespaces: &Option<Vec<String>>,
    ) -> Result<Fetched, CollectError> {
        let scopes: Vec<Option<&str>> = match namespaces {
            Some(namespaces) if target.namespaced => {
                namespaces.iter().map(|ns| Some(ns.as_str())).collect()
            }
            _ => vec![None],
        };
        let mut fetched = Fetched {
            items: Vec::new(),
            gaps: Vec::new(),
        };
        for scope in scopes {
            let url = DynamicObject::url_path(&target.resource, scope);
            match self.list_scope(target, &url).await {
                Ok(items) => fetched.items.extend(items),
                Err(Failure::Abort(error)) => return Err(error),
                Err(Failure::Gap(reason)) => fetched.gaps.push(CollectionGap {
                    api_version: target.api_version.clone(),
                    kind: target.kind.clone(),
                    namespace: scope.map(str::to_owned),
                    reason,
                }),
                Err(Failure::Expired) => unreachable!("list_all resolves 410"),
            }
        }
        Ok(fetched)
    }

    async fn list_scope(&self, target: &CollectTarget, url: &str) -> Result<Vec<Value>, Failure> {
        let (api_version, kind) = (target.api_version.as_str(), target.kind.as_str());
        match target.mode {
            ListMode::Full | ListMode::Events => {
                let items = self.list_all(url, false, None).await?;
                Ok(items
                    .into_iter()
                    .map(|item| shape::listed(item, api_version, kind))
                    .collect())
            }
            ListMode::CrdSummary => {
                let items = self.list_all(url, false, None).await?;
                Ok(items
                    .into_iter()
                    .map(|item| shape::crd_summary(shape::listed(item, api_version, kind)))
                    .collect())
            }
            ListMode::SecretMetadata => {
                let items = self.list_all(url, true, None).await?;
                let mut types: HashMap<(String, String), &str> = HashMap::new();
                for secret_type in SECRET_TYPES {
                    // A failed type list only loses the type, never the Secret.
                    let selector = format!("type={secret_type}");
                    if let Ok(typed) = self.list_all(url, true, Some(&selector)).await {
                        for item in &typed {
                            types.insert(shape::object_key(item), secret_type);
                        }
                    }
                }
                Ok(items
                    .into_iter()
                    .map(|item| {
                        let secret_type = types.get(&shape::object_key(&item)).copied();
                        shape::secret_metadata(item, api_version, secret_type)
                    })
                    .collect())
            }
            ListMode::ConfigMapMetadata => {
                let items = self.list_all(url, true, None).await?;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let (namespace, name) = shape::object_key(&item);
                    if shape::is_mesh_configmap(&name) {
                        let path = DynamicObject::url_path(&target.resource, Some(&namespace));
                        let request = Request::new(path);
                        let params = GetParams::default();
                        match self.request(|| request.get(&name, &params).ok()).await {
                            Ok(full) => {
                                out.push(shape::listed(full, api_version, kind));
                                continue;
                            }
                            Err(Failure::Abort(error)) => return Err(Failure::Abort(error)),
                            // Forbidden to read it in full: keep what the metadata list said.
                            Err(_) => {}
                        }
                    }
                    out.push(shape::metadata_only(item, api_version, kind));
                }
                Ok(out)
            }
        }
    }
}
