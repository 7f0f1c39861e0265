//! Controllers and what they own, as the input shows them: the kinds whose pod template makes a
//! workload, and the listed controllers an object's `ownerReferences` lead to. Shared by the
//! application and security workload lists, which differ in what they count as one workload.

use meshcheck_model::{Kind, Mesh, Resource, items, str_field};

/// Kinds whose pod template makes a workload, in the order workloads are listed.
pub(crate) const CONTROLLER_KINDS: [Kind; 6] = [
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::ReplicaSet,
    Kind::Job,
    Kind::CronJob,
];

/// A controller kind by the name an owner reference gives it (`ReplicaSet`).
pub(crate) fn controller_kind(name: &str) -> Option<Kind> {
    CONTROLLER_KINDS
        .into_iter()
        .find(|kind| kind.name() == name)
}

/// A resource's `metadata.ownerReferences` as (kind, name); entries missing either are left out.
pub(crate) fn owner_references(resource: &Resource) -> impl Iterator<Item = (&str, &str)> {
    items(resource.metadata().get("ownerReferences"))
        .filter_map(|owner| Some((str_field(owner, "kind")?, str_field(owner, "name")?)))
}

/// The first owner of `resource` that is of one of `kinds` and that the input holds.
pub(crate) fn listed_owner<'m>(
    mesh: &'m Mesh,
    resource: &Resource,
    kinds: &[Kind],
) -> Option<&'m Resource> {
    owner_references(resource).find_map(|(kind, name)| {
        let kind = controller_kind(kind).filter(|kind| kinds.contains(kind))?;
        mesh.get(kind, &resource.namespace, name)
    })
}

/// The listed Deployment or CronJob that generated a ReplicaSet or Job, found by the generated
/// name (`<deployment>-<hash>`, `<cronjob>-<schedule time>`): for owners the input does not hold.
pub(crate) fn generating_controller<'m>(
    mesh: &'m Mesh,
    namespace: &str,
    kind: Kind,
    name: &str,
) -> Option<&'m Resource> {
    let parent = match kind {
        Kind::ReplicaSet => Kind::Deployment,
        Kind::Job => Kind::CronJob,
        _ => return None,
    };
    let (prefix, suffix) = name.rsplit_once('-')?;
    if suffix.is_empty() {
        return None;
    }
    mesh.get(parent, namespace, prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::mesh;

    #[test]
    fn owners_and_generating_controllers() {
        let mesh = mesh(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n---\napiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web-5d8c, namespace: shop, ownerReferences: [{kind: Service, name: web}, {kind: Deployment, name: web}]}\n",
        );
        let set = mesh.get(Kind::ReplicaSet, "shop", "web-5d8c").unwrap();
        let owner = listed_owner(&mesh, set, &[Kind::Deployment, Kind::CronJob]);
        assert_eq!(owner.map(Resource::name), Some("web"));
        assert!(listed_owner(&mesh, set, &[Kind::CronJob]).is_none());
        assert_eq!(owner_references(set).count(), 2);
        let generated = generating_controller(&mesh, "shop", Kind::ReplicaSet, "web-7f9b");
        assert_eq!(generated.map(Resource::name), Some("web"));
        assert!(generating_controller(&mesh, "shop", Kind::Job, "web-7f9b").is_none());
        assert!(generating_controller(&mesh, "shop", Kind::ReplicaSet, "web-").is_none());
        assert_eq!(controller_kind("CronJob"), Some(Kind::CronJob));
        assert_eq!(controller_kind("Service"), None);
    }
}
