//! One object of the mesh with the accessors rules need.

use meshcheck_input::Object;
use meshcheck_input::{Map, Value};

use crate::Kind;
use crate::pod_template::PodTemplate;
use crate::virtual_service::Routes;

/// Index of a resource in [`crate::Mesh::resources`].
pub type ResourceId = u32;

pub(crate) static EMPTY_MAP: std::sync::LazyLock<Map> = std::sync::LazyLock::new(Map::new);

/// The parts of an object that rules read all the time, found once. A lookup in a JSON map is a
/// search over sorted keys (one `memcmp` per key passed); rules asked for `spec` and `metadata`
/// about two million times on a 55k-object mesh, which was a tenth of the whole run.
#[derive(Debug)]
struct Parts<'a> {
    metadata: &'a Value,
    spec: &'a Value,
    labels: &'a Map,
    annotations: &'a Map,
    pod: Option<PodTemplate<'a>>,
    /// A VirtualService's routes (boxed: most objects have none).
    routes: Option<Box<Routes<'a>>>,
}

impl<'a> Parts<'a> {
    fn of(kind: Kind, object: &'a Object) -> Parts<'a> {
        let metadata = object.value.get("metadata").unwrap_or(&Value::Null);
        let map = |key: &str| {
            metadata
                .get(key)
                .and_then(Value::as_object)
                .unwrap_or(&EMPTY_MAP)
        };
        Parts {
            metadata,
            spec: object.value.get("spec").unwrap_or(&Value::Null),
            labels: map("labels"),
            annotations: map("annotations"),
            pod: PodTemplate::of(kind, &object.value),
            routes: (kind == Kind::VirtualService)
                .then(|| Box::new(Routes::of(object.value.get("spec").unwrap_or(&Value::Null)))),
        }
    }
}

self_cell::self_cell!(
    /// An object together with references to its common parts (they borrow from it, so they
    /// live in the same cell and stay valid as long as the object, which is never changed).
    struct ObjectCell {
        owner: Object,
        #[covariant]
        dependent: Parts,
    }
    impl {Debug}
);

/// An object with its resolved kind and effective namespace.
#[derive(Debug)]
pub struct Resource {
    /// Its index in [`crate::Mesh::resources`] (0 until the mesh is built).
    pub id: ResourceId,
    pub kind: Kind,
    cell: ObjectCell,
    /// The namespace the object lives in for analysis: its own, `default` for a namespaced object
    /// that names none (as `kubectl apply` and `istioctl analyze` treat it), or `""` for
    /// cluster-scoped kinds. Findings report `object.namespace`, never this default.
    pub namespace: String,
}

impl Resource {
    pub fn new(object: Object) -> Resource {
        let kind = Kind::from_group_kind(object.group(), &object.kind);
        let namespaced = kind.is_namespaced();
        let namespace = match (&object.namespace, namespaced) {
            (_, false) => String::new(),
            (Some(namespace), true) => namespace.clone(),
            (None, true) => "default".to_owned(),
        };
        Resource {
            id: 0,
            kind,
            cell: ObjectCell::new(object, |object| Parts::of(kind, object)),
            namespace,
        }
    }

    /// The object as loaded.
    pub fn object(&self) -> &Object {
        self.cell.borrow_owner()
    }

    pub fn name(&self) -> &str {
        &self.object().name
    }

    pub fn value(&self) -> &Value {
        &self.object().value
    }

    /// `spec` (or `Value::Null`).
    pub fn spec(&self) -> &Value {
        self.cell.borrow_dependent().spec
    }

    pub fn metadata(&self) -> &Value {
        self.cell.borrow_dependent().metadata
    }

    pub fn labels(&self) -> &Map {
        self.cell.borrow_dependent().labels
    }

    pub fn annotations(&self) -> &Map {
        self.cell.borrow_dependent().annotations
    }

    /// The pod it runs: a Pod's own metadata and spec, a controller's pod template; `None` for
    /// other kinds.
    pub fn pod_template(&self) -> Option<&PodTemplate<'_>> {
        self.cell.borrow_dependent().pod.as_ref()
    }

    /// A VirtualService's routes and destinations; `None` for other kinds.
    pub fn routes(&self) -> Option<&Routes<'_>> {
        self.cell.borrow_dependent().routes.as_deref()
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels().get(key).and_then(Value::as_str)
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations().get(key).and_then(Value::as_str)
    }

    /// `name.namespace` (or `name`), the way istioctl prints a resource.
    pub fn display_name(&self) -> String {
        let object = self.object();
        match &object.namespace {
            Some(namespace) => format!("{}.{}", object.name, namespace),
            None => object.name.clone(),
        }
    }

    /// The line of a field, e.g. `&["spec", "hosts", "0"]`, or of the document.
    pub fn line_of(&self, path: &[&str]) -> Option<u32> {
        self.object().line_of(path)
    }

    /// `spec.exportTo` as strings (empty when absent).
    pub fn export_to(&self) -> Vec<&str> {
        strings(self.spec().get("exportTo"))
    }
}

/// A JSON array of strings as a vector (non-strings are ignored; absent is empty).
pub fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Iterates a JSON array (absent or not an array is empty).
pub fn items(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_array).into_iter().flatten()
}

/// A string field of a JSON object.
pub fn str_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}
