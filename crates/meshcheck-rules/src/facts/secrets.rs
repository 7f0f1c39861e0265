//! Which Secrets exist, and from where. A GitOps repository rarely holds Secrets themselves: it
//! holds the objects that controllers turn into Secrets — a cert-manager `Certificate`
//! (`spec.secretName`), an external-secrets `ExternalSecret` (`spec.target.name`, by default its
//! own name), a Bitnami `SealedSecret` (same name). Each of those counts as the Secret it
//! produces, with the type it will have; its contents are not in the input. Neither are those of
//! a Secret listed without `data` (every metadata-only export, and every collected snapshot).
//! Built once per run; rules that look a Secret up by name ask here instead of `Kind::Secret`.

use rustc_hash::FxHashMap;
use std::sync::Arc;

use meshcheck_input::Value;
use meshcheck_model::{Kind, Mesh, Resource, ResourceId, ValueAt, str_field};

/// The type of a TLS Secret; the API server rejects one without `tls.crt` and `tls.key`.
pub(crate) const TLS_TYPE: &str = "kubernetes.io/tls";

/// Where a Secret comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A Secret object of the input.
    Object,
    /// cert-manager issues it for a `Certificate`.
    Certificate,
    /// external-secrets syncs it for an `ExternalSecret`.
    ExternalSecret,
    /// sealed-secrets decrypts it from a `SealedSecret`.
    SealedSecret,
}

/// What the input shows of a Secret's data.
#[derive(Debug)]
pub(crate) enum Contents<'a> {
    /// The Secret object with its `data` and/or `stringData`.
    Known(&'a Resource),
    /// The key names, not their values (a SealedSecret's encrypted data and template).
    KeysOnly(Vec<&'a str>),
    /// Nothing beyond the Secret's existence and perhaps its type.
    Unknown,
}

/// A Secret known to exist.
#[derive(Debug)]
pub(crate) struct KnownSecret<'a> {
    pub origin: Origin,
    /// The Secret object, or the object that produces it.
    pub source: &'a Resource,
    pub namespace: &'a str,
    pub name: &'a str,
    /// Its `type`, when known (`Opaque` when a Secret object names none, as the API server sets).
    pub secret_type: Option<&'a str>,
}

impl<'a> KnownSecret<'a> {
    pub(crate) fn is_tls(&self) -> bool {
        self.secret_type == Some(TLS_TYPE)
    }

    pub(crate) fn contents(&self) -> Contents<'a> {
        let value = self.source.value();
        match self.origin {
            Origin::Object if value.get("data").is_some() || value.get("stringData").is_some() => {
                Contents::Known(self.source)
            }
            Origin::SealedSecret => {
                let mut keys: Vec<&str> = ["/spec/encryptedData", "/spec/template/data"]
                    .iter()
                    .filter_map(|pointer| value.at(pointer).and_then(Value::as_object))
                    .flat_map(|map| map.keys().map(|key| key.as_str()))
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                Contents::KeysOnly(keys)
            }
            _ => Contents::Unknown,
        }
    }

    /// `Secret ns/name`, with what produces it: `Secret ns/name (issued by cert-manager
    /// Certificate ns/cert)`.
    pub(crate) fn describe(&self) -> String {
        let secret = format!("Secret {}/{}", self.namespace, self.name);
        let producer = match self.origin {
            Origin::Object => return secret,
            Origin::Certificate => "issued by cert-manager Certificate",
            Origin::ExternalSecret => "synced by ExternalSecret",
            Origin::SealedSecret => "unsealed from SealedSecret",
        };
        format!(
            "{secret} ({producer} {}/{})",
            self.source.namespace,
            self.source.name()
        )
    }
}

/// The Secrets of the mesh by (namespace, name).
#[derive(Debug, Default)]
pub(crate) struct Secrets {
    by_name: FxHashMap<(String, String), (ResourceId, Origin)>,
}

/// The name of the Secret an object produces, or `None` when it produces none.
fn produced_name(origin: Origin, resource: &Resource) -> Option<&str> {
    let spec = resource.spec();
    let name = match origin {
        Origin::Object | Origin::SealedSecret => Some(resource.name()),
        Origin::Certificate => str_field(spec, "secretName"),
        Origin::ExternalSecret => {
            // `creationPolicy: None` only reads the Secret: it makes none.
            if spec.at("/target/creationPolicy").and_then(Value::as_str) == Some("None") {
                return None;
            }
            spec.at("/target/name")
                .and_then(Value::as_str)
                .filter(|name| !name.is_empty())
                .or(Some(resource.name()))
        }
    };
    name.filter(|name| !name.is_empty())
}

/// The type the produced Secret will have, when the input says.
fn produced_type(origin: Origin, resource: &Resource) -> Option<&str> {
    let value = resource.value();
    match origin {
        Origin::Object => Some(str_field(value, "type").unwrap_or("Opaque")),
        Origin::Certificate => Some(TLS_TYPE),
        Origin::ExternalSecret => value
            .at("/spec/target/template/type")
            .and_then(Value::as_str),
        Origin::SealedSecret => Some(
            value
                .at("/spec/template/type")
                .and_then(Value::as_str)
                .unwrap_or("Opaque"),
        ),
    }
}

impl Secrets {
    fn build(mesh: &Mesh) -> Secrets {
        let mut secrets = Secrets::default();
        let sources = [
            (Kind::Secret, Origin::Object),
            (Kind::Certificate, Origin::Certificate),
            (Kind::ExternalSecret, Origin::ExternalSecret),
            (Kind::SealedSecret, Origin::SealedSecret),
        ];
        for (kind, origin) in sources {
            for resource in mesh.of_kind(kind) {
                let Some(name) = produced_name(origin, resource) else {
                    continue;
                };
                let key = (resource.namespace.clone(), name.to_owned());
                match secrets.by_name.get(&key) {
                    // A Secret listed without its data says less than what produces it.
                    Some(&(existing, Origin::Object))
                        if origin != Origin::Object
                            && matches!(
                                secret_at(mesh, existing, Origin::Object).contents(),
                                Contents::Unknown
                            ) => {}
                    Some(_) => continue,
                    None => {}
                }
                secrets.by_name.insert(key, (resource.id, origin));
            }
        }
        secrets
    }

    /// The Secret `namespace/name`, if the input holds it or something that produces it.
    pub(crate) fn get<'m>(
        &self,
        mesh: &'m Mesh,
        namespace: &str,
        name: &str,
    ) -> Option<KnownSecret<'m>> {
        let &(id, origin) = self.by_name.get(&(namespace.to_owned(), name.to_owned()))?;
        Some(secret_at(mesh, id, origin))
    }
}

fn secret_at(mesh: &Mesh, id: ResourceId, origin: Origin) -> KnownSecret<'_> {
    let source = mesh.resource(id);
    KnownSecret {
        origin,
        source,
        namespace: &source.namespace,
        name: produced_name(origin, source).unwrap_or_default(),
        secret_type: produced_type(origin, source),
    }
}

/// The Secrets of the mesh, built once per run.
pub(crate) fn secrets(mesh: &Mesh) -> Arc<Secrets> {
    mesh.derived(Secrets::build)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::mesh;

    const PRODUCERS: &str = "apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: shop, namespace: edge}
spec: {secretName: shop-cert}
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: api, namespace: edge}
spec: {target: {name: api-cert, template: {type: kubernetes.io/tls}}}
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: db-password, namespace: edge}
spec: {}
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: reader, namespace: edge}
spec: {target: {name: existing, creationPolicy: None}}
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: docs-cert, namespace: edge}
spec: {encryptedData: {tls.key: AgA, tls.crt: AgB}}
---
apiVersion: v1
kind: Secret
metadata: {name: listed, namespace: edge}
type: kubernetes.io/tls
---
apiVersion: v1
kind: Secret
metadata: {name: plain, namespace: edge}
stringData: {password: hunter2}
";

    #[test]
    fn producers_count_as_the_secrets_they_make() {
        let mesh = mesh(PRODUCERS);
        let secrets = secrets(&mesh);
        let get = |name: &str| secrets.get(&mesh, "edge", name);

        let certificate = get("shop-cert").unwrap();
        assert_eq!(certificate.origin, Origin::Certificate);
        assert!(certificate.is_tls());
        assert!(matches!(certificate.contents(), Contents::Unknown));
        assert_eq!(
            certificate.describe(),
            "Secret edge/shop-cert (issued by cert-manager Certificate edge/shop)"
        );

        let synced = get("api-cert").unwrap();
        assert_eq!(synced.origin, Origin::ExternalSecret);
        assert!(synced.is_tls());
        // Without target.name, the Secret takes the ExternalSecret's name; its type is unknown.
        let defaulted = get("db-password").unwrap();
        assert_eq!(defaulted.secret_type, None);
        // creationPolicy None reads a Secret and makes none.
        assert!(get("existing").is_none());
        assert!(get("reader").is_none());

        let sealed = get("docs-cert").unwrap();
        assert_eq!(sealed.secret_type, Some("Opaque"));
        match sealed.contents() {
            Contents::KeysOnly(keys) => assert_eq!(keys, ["tls.crt", "tls.key"]),
            other => panic!("{other:?}"),
        }

        assert!(
            get("shop").is_none(),
            "a Certificate's own name is not a Secret"
        );
        assert!(secrets.get(&mesh, "other", "shop-cert").is_none());
    }

    #[test]
    fn secret_objects_with_and_without_data() {
        let mesh = mesh(PRODUCERS);
        let secrets = secrets(&mesh);
        let listed = secrets.get(&mesh, "edge", "listed").unwrap();
        assert_eq!(listed.origin, Origin::Object);
        assert!(listed.is_tls());
        assert!(matches!(listed.contents(), Contents::Unknown));
        let plain = secrets.get(&mesh, "edge", "plain").unwrap();
        assert_eq!(plain.secret_type, Some("Opaque"));
        assert!(matches!(plain.contents(), Contents::Known(_)));
    }

    #[test]
    fn a_producer_tells_more_than_a_secret_listed_without_data() {
        let mesh = mesh(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: shop-cert, namespace: edge}\n---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: shop, namespace: edge}\nspec: {secretName: shop-cert}\n",
        );
        let secret = secrets(&mesh).get(&mesh, "edge", "shop-cert").unwrap();
        assert_eq!(secret.origin, Origin::Certificate);
        assert!(secret.is_tls());
    }
}
