use crate::Context;
use std::collections::{BTreeMap, HashMap, HashSet};

use meshcheck_model::hosts::{hosts_intersect, to_fqdn};
use meshcheck_model::{Kind, Resource, strings};

use crate::facts::virtual_services::{applies_to_mesh, full_name};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds VirtualServices bound to the mesh (no `gateways`, or `mesh` among them) that define
    /// the same host for the same set of namespaces. A host exported to a few namespaces also
    /// conflicts with a VirtualService exporting a matching host to every namespace.
    ///
    /// ## Why is this bad?
    /// Sidecars take one VirtualService per host: when two claim the same host, which one wins is
    /// undefined, and routes silently disappear or change from one push to the next.
    ///
    /// ## How to fix
    /// Merge the conflicting VirtualServices into one, or narrow their `exportTo` so that no
    /// namespace sees two of them for the same host.
    ///
    /// ## Example
    /// ```yaml
    /// # two VirtualServices in team-a and team-b, both with
    /// spec:
    ///   hosts: [ratings.shop.svc.cluster.local]
    /// ```
    /// Use instead: a single VirtualService for `ratings.shop.svc.cluster.local` holding every route.
    pub static CONFLICTING_MESH_GATEWAY_HOSTS = {
        code: "MC036",
        name: "virtual-service-conflicting-mesh-hosts",
        category: ApplicationPolicy,
        severity: Error,
        summary: "VirtualServices bound to the mesh gateway must not define the same host",
        istio_analyzer: Some("virtualservice.ConflictingMeshGatewayHostsAnalyzer"),
        istio_codes: &["IST0109"],
        inputs: &[Kind::VirtualService],
        docs_url: "https://istio.io/latest/docs/reference/config/analysis/ist0109/",
        remediation: "Merge the VirtualServices that define the same host into one resource, or separate them with exportTo.",
        check: check,
    }
}

/// The namespaces a mesh VirtualService's hosts apply to: `*` for all, else its export list.
fn scopes(vs: &Resource) -> Vec<String> {
    let export_to = strings(vs.spec().get("exportTo"));
    if export_to.is_empty() || export_to.contains(&"*") {
        return vec!["*".to_owned()];
    }
    let mut scopes: Vec<String> = export_to
        .iter()
        .map(|scope| match *scope {
            "." => vs.namespace.clone(),
            other => other.to_owned(),
        })
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    // (scope, fqdn) → VirtualServices, in input order; sorted keys keep reports stable.
    let mut by_host: BTreeMap<(String, String), Vec<&Resource>> = BTreeMap::new();
    for vs in mesh.of_kind(Kind::VirtualService) {
        if !applies_to_mesh(vs) {
            continue;
        }
        for scope in scopes(vs) {
            for host in strings(vs.spec().get("hosts")) {
                by_host
                    .entry((scope.clone(), to_fqdn(&vs.namespace, host)))
                    .or_default()
                    .push(vs);
            }
        }
    }
    // Hosts visible everywhere: exact ones by name, wildcard ones in a list.
    let mut global_exact: HashMap<&str, &[&Resource]> = HashMap::new();
    let mut global_all: Vec<(&str, &[&Resource])> = Vec::new();
    let mut global_wildcards: Vec<(&str, &[&Resource])> = Vec::new();
    for ((scope, fqdn), list) in &by_host {
        if scope == "*" {
            global_exact.insert(fqdn, list);
            global_all.push((fqdn, list));
            if fqdn.starts_with('*') {
                global_wildcards.push((fqdn, list));
            }
        }
    }

    let mut reported: HashSet<(String, String)> = HashSet::new();
    for ((scope, fqdn), list) in &by_host {
        let mut conflicting: Vec<&Resource> = list.clone();
        if scope != "*" {
            // A scoped host also collides with every matching host exported to all namespaces.
            if fqdn.starts_with('*') {
                for (other, others) in &global_all {
                    if hosts_intersect(fqdn, other) {
                        conflicting.extend_from_slice(others);
                    }
                }
            } else {
                if let Some(others) = global_exact.get(fqdn.as_str()) {
                    conflicting.extend_from_slice(others);
                }
                for (other, others) in &global_wildcards {
                    if hosts_intersect(fqdn, other) {
                        conflicting.extend_from_slice(others);
                    }
                }
            }
        }
        if conflicting.len() < 2 {
            continue;
        }
        let mut names: Vec<String> = conflicting.iter().map(|vs| full_name(vs)).collect();
        names.sort_unstable();
        let names = names.join(",");
        for vs in conflicting {
            if !reported.insert((vs.namespace.clone(), vs.name().to_owned())) {
                continue;
            }
            let shown = if scope == "*" {
                format!("{fqdn} (exported to all namespaces)")
            } else {
                format!("{fqdn} (as seen from namespace {scope})")
            };
            sink.istio(
                "IST0109",
                vs,
                &["metadata", "name"],
                format!(
                    "The VirtualServices {names} associated with mesh gateway define the same host {shown}, which leads to undefined routing; merge them into a single VirtualService."
                ),
            );
        }
    }
}
