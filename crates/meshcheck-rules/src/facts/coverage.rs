//! What the input shows completely. A collected cluster lists every object of a kind unless its
//! collection gaps name that kind; only then does a missing object mean that it does not exist
//! rather than that it was not part of the files analyzed. In plain manifests, a missing object
//! is evidence only where the input holds other objects of its kind: a GitOps folder with the
//! Istio config of a namespace but none of its Services says nothing about those Services.

use rustc_hash::{FxHashMap, FxHashSet};

use meshcheck_model::hosts::fqdn_parts;
use meshcheck_model::{InputSource, Kind, Mesh};

use crate::finding::Absence;

/// Whether the input is a collected cluster in which every object of `kind` was listed.
pub(crate) fn cluster_lists_every(mesh: &Mesh, kind: Kind) -> bool {
    mesh.cluster.source != InputSource::Manifests
        && !mesh
            .cluster
            .collection_gaps
            .iter()
            .any(|gap| gap.kind == kind.name())
}

/// The namespaces in which the input holds objects of each kind (`""` for cluster-scoped ones).
struct Presence(FxHashMap<Kind, FxHashSet<String>>);

impl Presence {
    fn build(mesh: &Mesh) -> Presence {
        let mut present: FxHashMap<Kind, FxHashSet<String>> = FxHashMap::default();
        for resource in &mesh.resources {
            let namespaces = present.entry(resource.kind).or_default();
            if !namespaces.contains(resource.namespace.as_str()) {
                namespaces.insert(resource.namespace.clone());
            }
        }
        Presence(present)
    }
}

/// Whether the input holds any object of `kind` in `namespace`, or anywhere with `None`.
pub(crate) fn holds_any(mesh: &Mesh, kind: Kind, namespace: Option<&str>) -> bool {
    let Some(namespace) = namespace else {
        return mesh.count(kind) > 0;
    };
    mesh.derived(Presence::build)
        .0
        .get(&kind)
        .is_some_and(|namespaces| namespaces.contains(namespace))
}

/// Whether the input can show what a finding concludes from absence: it holds an object of one
/// of the kinds in one of the namespaces (so the one looked for would be there too), or it is a
/// collected cluster that listed every object of one of the kinds.
pub(crate) fn absence_is_evidence(mesh: &Mesh, absence: &Absence) -> bool {
    absence.kinds.iter().any(|&kind| {
        cluster_lists_every(mesh, kind)
            || if absence.namespaces.is_empty() {
                holds_any(mesh, kind, None)
            } else {
                absence
                    .namespaces
                    .iter()
                    .any(|namespace| holds_any(mesh, kind, Some(namespace)))
            }
    })
}

/// What would define a host written in `namespace`, for [`crate::Finding::from_absence`]: a
/// cluster-local name (`reviews`, `reviews.shop.svc.cluster.local`) is a Service of its
/// namespace; any other host (`api.example.com`) a ServiceEntry, in any namespace.
pub(crate) fn host_definers<'a>(
    namespace: &'a str,
    host: &'a str,
) -> (&'static [Kind], Vec<&'a str>) {
    if let Some((_, host_namespace)) = fqdn_parts(host) {
        return (&[Kind::Service], vec![host_namespace]);
    }
    if !host.contains('.') && !host.contains('*') {
        return (&[Kind::Service], vec![namespace]);
    }
    (&[Kind::ServiceEntry], Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::mesh;

    #[test]
    fn presence_by_kind_and_namespace() {
        let mesh = mesh(
            "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: shop}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: edge}\n",
        );
        assert!(holds_any(&mesh, Kind::Service, Some("shop")));
        // A namespaced object without a namespace lives in `default`.
        assert!(holds_any(&mesh, Kind::Service, Some("default")));
        assert!(!holds_any(&mesh, Kind::Service, Some("edge")));
        assert!(holds_any(&mesh, Kind::Gateway, None));
        assert!(!holds_any(&mesh, Kind::Pod, None));

        let absence = |kinds: &'static [Kind], namespaces: &[&str]| Absence {
            kinds,
            namespaces: namespaces.iter().map(|name| name.to_string()).collect(),
        };
        assert!(absence_is_evidence(
            &mesh,
            &absence(&[Kind::Service], &["shop"])
        ));
        assert!(!absence_is_evidence(
            &mesh,
            &absence(&[Kind::Service], &["edge"])
        ));
        assert!(absence_is_evidence(
            &mesh,
            &absence(&[Kind::Service], &["edge", "shop"])
        ));
        assert!(absence_is_evidence(
            &mesh,
            &absence(&[Kind::Service, Kind::Gateway], &["edge"])
        ));
        assert!(!absence_is_evidence(&mesh, &absence(&[Kind::Pod], &[])));
    }

    #[test]
    fn where_hosts_are_defined() {
        assert_eq!(
            host_definers("shop", "reviews"),
            (&[Kind::Service][..], vec!["shop"])
        );
        assert_eq!(
            host_definers("shop", "reviews.books.svc.cluster.local"),
            (&[Kind::Service][..], vec!["books"])
        );
        assert_eq!(
            host_definers("shop", "api.example.com"),
            (&[Kind::ServiceEntry][..], vec![])
        );
    }

    #[test]
    fn a_collected_cluster_lists_what_it_holds() {
        let inputs = meshcheck_model::MeshInputs {
            cluster: meshcheck_model::ClusterInfo {
                source: InputSource::Archive,
                ..Default::default()
            },
            ..Default::default()
        };
        let mesh = crate::testing::mesh_with(
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: edge}\n",
            inputs,
        );
        let absence = Absence {
            kinds: &[Kind::Service],
            namespaces: vec!["edge".to_owned()],
        };
        assert!(absence_is_evidence(&mesh, &absence));
    }
}
