use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, strings};

use super::mesh_config_ref::report_mesh_config;
use crate::facts::proxy_config::{annotation_config, proxied_workloads};
use crate::facts::workloads::any_pod;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports Envoy stats inclusion settings that turn on every statistic, or every
    /// per-cluster statistic: a `proxyStatsMatcher` (mesh config `defaultConfig` or a pod's
    /// `proxy.istio.io/config`) or the `sidecar.istio.io/statsInclusionPrefixes`,
    /// `statsInclusionRegexps` and `statsInclusionSuffixes` annotations whose patterns match all
    /// names (`.*`, `.+`, an empty prefix or suffix) or all clusters (prefix `cluster` or
    /// `cluster.`).
    ///
    /// ## Why is this bad?
    /// Istio keeps only a small set of Envoy statistics by default. Envoy creates about a
    /// hundred counters, gauges and histograms per cluster, listener and route; with everything
    /// included, a sidecar in a mesh of a thousand services holds hundreds of thousands of
    /// stats: tens of megabytes per proxy, slower scrapes, and a time-series count that can
    /// overwhelm Prometheus.
    ///
    /// ## How to fix
    /// Include only what you use: specific prefixes such as
    /// `cluster.outbound|9080||reviews.shop.svc.cluster.local` or suffixes such as
    /// `upstream_rq_pending_overflow`, on the workloads that need them.
    ///
    /// ## Example
    /// ```yaml
    /// annotations:
    ///   proxy.istio.io/config: |
    ///     proxyStatsMatcher:
    ///       inclusionRegexps: [".*"]
    /// ```
    pub static STATS_INCLUSION_BROAD = {
        code: "MC515",
        name: "proxy-stats-inclusion-broad",
        category: Performance,
        severity: Warning,
        summary: "Proxies should not include every Envoy statistic",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Pod, Kind::ConfigMap, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/ops/configuration/telemetry/envoy-stats/",
        remediation: "Include only the Envoy statistics you use (specific prefixes or suffixes), on the workloads that need them.",
        check: check,
    }
}

fn broad_prefix(prefix: &str) -> bool {
    matches!(
        prefix.trim(),
        "" | "cluster" | "cluster." | "listener" | "listener."
    )
}

fn broad_regex(regex: &str) -> bool {
    matches!(
        regex.trim(),
        ".*" | ".+"
            | "^.*$"
            | "^.*"
            | ".*$"
            | "(.*)"
            | ".*\\..*"
            | "cluster\\..*"
            | "^cluster\\..*"
    )
}

/// The broad patterns of a `proxyStatsMatcher` block.
fn broad_in_matcher(matcher: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for prefix in strings(matcher.get("inclusionPrefixes")) {
        if broad_prefix(prefix) {
            found.push(format!("inclusionPrefixes {prefix:?}"));
        }
    }
    for suffix in strings(matcher.get("inclusionSuffixes")) {
        if suffix.trim().is_empty() {
            found.push("inclusionSuffixes \"\"".to_owned());
        }
    }
    for regex in strings(matcher.get("inclusionRegexps")) {
        if broad_regex(regex) {
            found.push(format!("inclusionRegexps {regex:?}"));
        }
    }
    found
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if let Some(matcher) = mesh.mesh_config.at("/defaultConfig/proxyStatsMatcher") {
        let broad = broad_in_matcher(matcher);
        if !broad.is_empty() {
            report_mesh_config(
                mesh,
                sink,
                format!(
                    "The mesh config's defaultConfig.proxyStatsMatcher includes every statistic ({}) on every proxy of the mesh",
                    broad.join(", ")
                ),
            );
        }
    }
    let any_inclusion = any_pod(mesh, |pod| {
        [
            "sidecar.istio.io/statsInclusionPrefixes",
            "sidecar.istio.io/statsInclusionRegexps",
            "sidecar.istio.io/statsInclusionSuffixes",
        ]
        .iter()
        .any(|key| pod.annotations.contains_key(key))
            || pod
                .annotation("proxy.istio.io/config")
                .is_some_and(|config| config.contains("proxyStatsMatcher"))
    });
    if !any_inclusion {
        return;
    }
    for proxied in proxied_workloads(mesh) {
        let observed = &proxied.observed;
        let mut broad = annotation_config(observed)
            .and_then(|config| config.get("proxyStatsMatcher").map(broad_in_matcher))
            .unwrap_or_default();
        for (annotation, is_broad) in [
            (
                "sidecar.istio.io/statsInclusionPrefixes",
                broad_prefix as fn(&str) -> bool,
            ),
            ("sidecar.istio.io/statsInclusionRegexps", broad_regex),
            ("sidecar.istio.io/statsInclusionSuffixes", |suffix: &str| {
                suffix.trim().is_empty()
            }),
        ] {
            if let Some(list) = observed.annotation(annotation)
                && list.split(',').any(is_broad)
            {
                broad.push(format!("{annotation}: {list:?}"));
            }
        }
        if broad.is_empty() {
            continue;
        }
        let workload = &proxied.workload;
        let path = workload.path(&["metadata", "annotations"]);
        sink.report(
            workload.resource,
            &path,
            format!(
                "The proxy of {} includes every Envoy statistic or every per-cluster one ({}): about a hundred stats per cluster, listener and route, in memory and in every scrape",
                workload.display(),
                broad.join(", ")
            ),
        );
    }
}
