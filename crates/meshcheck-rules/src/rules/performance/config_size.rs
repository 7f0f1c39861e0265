//! An estimate of the configuration istiod sends each sidecar: the Services and ServiceEntries
//! visible from its namespace (`exportTo`, `networking.istio.io/exportTo`, the mesh's
//! `defaultServiceExportTo`), narrowed by the egress hosts of the Sidecar resource that applies
//! to it. Each service port becomes one Envoy cluster (plus listeners and routes).

use meshcheck_model::ValueAt;
use std::collections::HashMap;

use meshcheck_input::Value;
use meshcheck_model::hosts::{fqdn_parts, host_covered_by, service_entry_scopes, to_fqdn};
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Mesh, Resource, items, strings};

/// One host a proxy may learn about.
struct VisibleHost {
    fqdn: String,
    /// Namespace the host is defined in (for `ns/host` egress entries).
    namespace: String,
    clusters: usize,
    /// `*` or the namespaces it is exported to.
    scopes: Vec<String>,
}

/// What a proxy receives, as counted here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConfigEstimate {
    pub services: usize,
    pub clusters: usize,
}

/// A Sidecar and its non-empty workload selector.
type SidecarWithSelector<'a> = (&'a Resource, Option<&'a meshcheck_input::Map>);

/// Host visibility of the whole mesh, computed once.
pub(crate) struct ConfigSizes<'a> {
    hosts: Vec<VisibleHost>,
    /// namespace → indexes in `hosts` of the hosts defined there: a Sidecar that names its
    /// namespaces is answered from those alone, not from every host of the mesh.
    hosts_by_namespace: HashMap<String, Vec<usize>>,
    /// namespace → its Sidecars with their (non-empty) workload selector, in input order.
    sidecars: HashMap<&'a str, Vec<SidecarWithSelector<'a>>>,
    root: String,
    cache: HashMap<(usize, String), ConfigEstimate>,
}

fn service_scopes(service: &Resource, default: &[String]) -> Vec<String> {
    match service.annotation("networking.istio.io/exportTo") {
        Some(list) if !list.trim().is_empty() => list
            .split(',')
            .map(str::trim)
            .map(|scope| {
                if scope == "." {
                    service.namespace.clone()
                } else {
                    scope.to_owned()
                }
            })
            .collect(),
        _ => default
            .iter()
            .map(|scope| {
                if scope == "." {
                    service.namespace.clone()
                } else {
                    scope.clone()
                }
            })
            .collect(),
    }
}

fn visible(scopes: &[String], namespace: &str) -> bool {
    scopes
        .iter()
        .any(|scope| scope == "*" || scope == namespace)
}

impl<'a> ConfigSizes<'a> {
    pub fn new(mesh: &'a Mesh) -> ConfigSizes<'a> {
        let mut default_export: Vec<String> =
            strings(mesh.mesh_config.at("/defaultServiceExportTo"))
                .into_iter()
                .map(str::to_owned)
                .collect();
        if default_export.is_empty() {
            default_export.push("*".to_owned());
        }
        let mut hosts = Vec::new();
        for service in mesh.of_kind(Kind::Service) {
            hosts.push(VisibleHost {
                fqdn: to_fqdn(&service.namespace, service.name()),
                namespace: service.namespace.clone(),
                clusters: items(service.spec().get("ports")).count().max(1),
                scopes: service_scopes(service, &default_export),
            });
        }
        for entry in mesh.of_kind(Kind::ServiceEntry) {
            let ports = items(entry.spec().get("ports")).count().max(1);
            let scopes = service_entry_scopes(entry);
            for host in strings(entry.spec().get("hosts")) {
                hosts.push(VisibleHost {
                    fqdn: to_fqdn(&entry.namespace, host),
                    namespace: entry.namespace.clone(),
                    clusters: ports,
                    scopes: scopes.clone(),
                });
            }
        }
        let mut hosts_by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, host) in hosts.iter().enumerate() {
            hosts_by_namespace
                .entry(host.namespace.clone())
                .or_default()
                .push(index);
        }
        ConfigSizes {
            hosts,
            hosts_by_namespace,
            sidecars: {
                let mut by_namespace: HashMap<&str, Vec<_>> = HashMap::new();
                for sidecar in mesh.of_kind(Kind::Sidecar) {
                    let selector = sidecar
                        .spec()
                        .at("/workloadSelector/labels")
                        .and_then(Value::as_object)
                        .filter(|selector| !selector.is_empty());
                    by_namespace
                        .entry(sidecar.namespace.as_str())
                        .or_default()
                        .push((sidecar, selector));
                }
                by_namespace
            },
            root: mesh.root_namespace().to_owned(),
            cache: HashMap::new(),
        }
    }

    /// The Sidecar resource that applies to a workload: one selecting it, else its namespace's
    /// selector-less one, else the root namespace's.
    pub fn sidecar_for(
        &self,
        namespace: &str,
        labels: &meshcheck_input::Map,
    ) -> Option<&'a Resource> {
        let in_namespace = |namespace: &str| {
            self.sidecars
                .get(namespace)
                .map(Vec::as_slice)
                .unwrap_or_default()
        };
        in_namespace(namespace)
            .iter()
            .find(|(_, selector)| selector.is_some_and(|selector| matches_labels(selector, labels)))
            .or_else(|| {
                in_namespace(namespace)
                    .iter()
                    .find(|(_, selector)| selector.is_none())
            })
            .or_else(|| {
                in_namespace(&self.root)
                    .iter()
                    .find(|(_, selector)| selector.is_none())
            })
            .map(|(sidecar, _)| *sidecar)
    }

    /// What a workload's proxy receives.
    pub fn estimate(
        &mut self,
        namespace: &str,
        labels: &meshcheck_input::Map,
    ) -> (ConfigEstimate, Option<&'a Resource>) {
        let sidecar = self.sidecar_for(namespace, labels);
        let key = (
            sidecar.map_or(usize::MAX, |sidecar| sidecar as *const Resource as usize),
            namespace.to_owned(),
        );
        if let Some(estimate) = self.cache.get(&key) {
            return (*estimate, sidecar);
        }
        // Egress entries as (namespace or `*`, host pattern, the pattern's FQDN in that
        // namespace when it names one).
        let egress: Option<Vec<(String, String, Option<String>)>> = sidecar.and_then(|sidecar| {
            let listeners: Vec<&Value> = items(sidecar.spec().get("egress")).collect();
            if listeners.is_empty() {
                return None;
            }
            Some(
                listeners
                    .iter()
                    .flat_map(|listener| strings(listener.get("hosts")))
                    .filter_map(|entry| entry.split_once('/'))
                    .map(|(scope, host)| {
                        let scope = if scope == "." { namespace } else { scope };
                        let fqdn = (scope != "*").then(|| to_fqdn(scope, host));
                        (scope.to_owned(), host.to_owned(), fqdn)
                    })
                    .collect(),
            )
        });
        // Only hosts of the namespaces the egress names can be selected (all, for `*/…`).
        let candidates: Vec<usize> = match &egress {
            Some(entries) if entries.iter().all(|(scope, _, _)| scope != "*") => {
                let mut namespaces: Vec<&str> =
                    entries.iter().map(|(scope, _, _)| scope.as_str()).collect();
                namespaces.sort_unstable();
                namespaces.dedup();
                namespaces
                    .into_iter()
                    .filter_map(|scope| self.hosts_by_namespace.get(scope))
                    .flatten()
                    .copied()
                    .collect()
            }
            _ => (0..self.hosts.len()).collect(),
        };
        let mut estimate = ConfigEstimate {
            services: 0,
            clusters: 0,
        };
        for host in candidates.into_iter().map(|index| &self.hosts[index]) {
            if !visible(&host.scopes, namespace) {
                continue;
            }
            let selected = match &egress {
                None => true,
                Some(entries) => entries.iter().any(|(scope, pattern, pattern_fqdn)| {
                    (scope == "*" || *scope == host.namespace)
                        && (pattern == "*"
                            || match pattern_fqdn {
                                Some(fqdn) => host_covered_by(&host.fqdn, fqdn),
                                None => {
                                    host_covered_by(&host.fqdn, &to_fqdn(&host.namespace, pattern))
                                }
                            }
                            || fqdn_parts(&host.fqdn).is_some_and(|(name, _)| name == pattern))
                }),
            };
            if selected {
                estimate.services += 1;
                estimate.clusters += host.clusters;
            }
        }
        self.cache.insert(key, estimate);
        (estimate, sidecar)
    }
}

/// Whether a Sidecar narrows what its proxies receive (an egress listener without `*/*`).
pub(crate) fn limits_egress(sidecar: &Resource) -> bool {
    let hosts: Vec<&str> = items(sidecar.spec().get("egress"))
        .flat_map(|listener| strings(listener.get("hosts")))
        .collect();
    !hosts.is_empty() && !hosts.contains(&"*/*")
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_model::MeshInputs;
    use std::sync::Arc;

    #[test]
    fn egress_narrows_the_estimate() {
        let mut yaml = String::new();
        for namespace in ["a", "b"] {
            for index in 0..3 {
                yaml.push_str(&format!(
                    "apiVersion: v1\nkind: Service\nmetadata: {{name: s{index}, namespace: {namespace}}}\nspec: {{ports: [{{port: 80}}, {{port: 81}}]}}\n---\n"
                ));
            }
        }
        yaml.push_str("apiVersion: v1\nkind: Service\nmetadata: {name: private, namespace: b, annotations: {networking.istio.io/exportTo: '.'}}\nspec: {ports: [{port: 80}]}\n---\n");
        yaml.push_str("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: a}\nspec: {egress: [{hosts: ['./*', 'b/s1.b.svc.cluster.local']}]}\n");
        let (objects, _) = meshcheck_input::parse_documents(&Arc::from("t.yaml"), &yaml);
        let mesh = Mesh::build(objects, MeshInputs::default());
        let mut sizes = ConfigSizes::new(&mesh);
        let labels = meshcheck_input::Map::new();
        let (a, sidecar) = sizes.estimate("a", &labels);
        assert!(sidecar.is_some_and(limits_egress));
        assert_eq!(
            a,
            ConfigEstimate {
                services: 4,
                clusters: 8
            }
        );
        let (b, sidecar) = sizes.estimate("b", &labels);
        assert!(sidecar.is_none());
        assert_eq!(
            b,
            ConfigEstimate {
                services: 7,
                clusters: 13
            }
        );
        let (c, _) = sizes.estimate("c", &labels);
        assert_eq!(
            c,
            ConfigEstimate {
                services: 6,
                clusters: 12
            }
        );
    }
}
