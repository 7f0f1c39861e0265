//! The pod a resource runs or will run: a Pod itself, or the pod template of a controller,
//! found once when the mesh is built so that the dozens of rules about workloads read fields
//! instead of walking the same JSON paths again.

use meshcheck_input::{Map, Value};

use crate::Kind;
use crate::resource::{EMPTY_MAP, items};

/// A Pod, or the pod template of a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob.
#[derive(Debug)]
pub struct PodTemplate<'a> {
    /// Path from the resource's root to the pod (template): empty for a Pod.
    pub path: &'static [&'static str],
    /// Whether the template is in the object (a controller may lack one in a partial manifest;
    /// its other fields are then null and empty).
    pub present: bool,
    pub metadata: &'a Value,
    pub spec: &'a Value,
    pub labels: &'a Map,
    pub annotations: &'a Map,
    /// The first container or init container named `istio-proxy` (the injected sidecar, or a
    /// native sidecar).
    pub proxy_container: Option<&'a Value>,
    /// Whether an `istio-proxy` container with an image is in the pod: it runs a sidecar
    /// whatever its labels say.
    pub has_proxy: bool,
    /// `sidecar.istio.io/inject`: the label, else the annotation (the order Istio reads them).
    pub inject: Option<&'a Value>,
    /// `spec.hostNetwork` is `true`.
    pub host_network: bool,
    /// `spec.securityContext` (`Null` when missing).
    pub security_context: &'a Value,
    /// `spec.containers` then `spec.initContainers`, each read once (see [`Container`]).
    all_containers: Vec<Container<'a>>,
    /// How many of `all_containers` are `spec.containers`.
    main_containers: usize,
}

/// One container of a pod with the fields rules read most, found in a single pass over its
/// mapping: dozens of rules walk every container of every pod, and searching each container's
/// keys again (a string comparison per key, each a likely cache miss) was most of their time.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    /// `"containers"` or `"initContainers"`.
    pub field: &'static str,
    /// Its position in that list.
    pub index: usize,
    /// `name` (`""` when missing).
    pub name: &'a str,
    /// `image` (`""` when missing).
    pub image: &'a str,
    /// `securityContext` (`Null` when missing).
    pub security_context: &'a Value,
    /// The whole container.
    pub value: &'a Value,
}

impl<'a> Container<'a> {
    fn read(field: &'static str, index: usize, value: &'a Value) -> Container<'a> {
        let mut container = Container {
            field,
            index,
            name: "",
            image: "",
            security_context: &Value::Null,
            value,
        };
        for (key, field_value) in value.as_object().into_iter().flatten() {
            match key.as_str() {
                "name" => container.name = field_value.as_str().unwrap_or_default(),
                "image" => container.image = field_value.as_str().unwrap_or_default(),
                "securityContext" => container.security_context = field_value,
                _ => {}
            }
        }
        container
    }

    /// A field of the container.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.value.get(key)
    }
}

const TEMPLATE: &[&str] = &["spec", "template"];
const CRON_TEMPLATE: &[&str] = &["spec", "jobTemplate", "spec", "template"];

/// Where a kind keeps its pod, or `None` for kinds without one.
pub fn pod_path(kind: Kind) -> Option<&'static [&'static str]> {
    match kind {
        Kind::Pod => Some(&[]),
        Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet | Kind::Job => {
            Some(TEMPLATE)
        }
        Kind::CronJob => Some(CRON_TEMPLATE),
        _ => None,
    }
}

impl<'a> PodTemplate<'a> {
    pub(crate) fn of(kind: Kind, object: &'a Value) -> Option<PodTemplate<'a>> {
        let path = pod_path(kind)?;
        let mut pod = Some(object);
        for key in path {
            pod = pod.and_then(|value| value.get(key));
        }
        let present = pod.is_some();
        let pod = pod.unwrap_or(&Value::Null);
        let metadata = pod.get("metadata").unwrap_or(&Value::Null);
        let spec = pod.get("spec").unwrap_or(&Value::Null);
        let map = |key: &str| {
            metadata
                .get(key)
                .and_then(Value::as_object)
                .unwrap_or(&EMPTY_MAP)
        };
        let labels = map("labels");
        let annotations = map("annotations");
        // One pass over the spec's keys for every field kept.
        let (mut containers, mut init_containers) = (None, None);
        let mut host_network = false;
        let mut security_context = &Value::Null;
        for (key, value) in spec.as_object().into_iter().flatten() {
            match key.as_str() {
                "containers" => containers = Some(value),
                "initContainers" => init_containers = Some(value),
                "hostNetwork" => host_network = value.as_bool() == Some(true),
                "securityContext" => security_context = value,
                _ => {}
            }
        }
        let mut all_containers: Vec<Container> = items(containers)
            .enumerate()
            .map(|(index, value)| Container::read("containers", index, value))
            .collect();
        let main_containers = all_containers.len();
        all_containers.extend(
            items(init_containers)
                .enumerate()
                .map(|(index, value)| Container::read("initContainers", index, value)),
        );
        let proxies = || {
            all_containers
                .iter()
                .filter(|container| container.name == "istio-proxy")
        };
        Some(PodTemplate {
            path,
            present,
            metadata,
            spec,
            labels,
            annotations,
            proxy_container: proxies().next().map(|container| container.value),
            has_proxy: proxies().any(|container| !container.image.is_empty()),
            inject: labels
                .get("sidecar.istio.io/inject")
                .or_else(|| annotations.get("sidecar.istio.io/inject")),
            host_network,
            security_context,
            main_containers,
            all_containers,
        })
    }

    pub fn label(&self, key: &str) -> Option<&'a str> {
        self.labels.get(key).and_then(Value::as_str)
    }

    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.annotations.get(key).and_then(Value::as_str)
    }

    /// `spec.containers` of the pod.
    pub fn containers(&self) -> &[Container<'a>] {
        &self.all_containers[..self.main_containers]
    }

    /// `spec.initContainers` of the pod.
    pub fn init_containers(&self) -> &[Container<'a>] {
        &self.all_containers[self.main_containers..]
    }

    /// `spec.containers`, then `spec.initContainers`.
    pub fn all_containers(&self) -> &[Container<'a>] {
        &self.all_containers
    }

    /// The first container, else init container, with this name.
    pub fn container(&self, name: &str) -> Option<&Container<'a>> {
        self.all_containers
            .iter()
            .find(|container| container.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::str_field;
    use meshcheck_input::json;

    #[test]
    fn finds_a_deployments_template_and_its_sidecar() {
        let deployment = json!({"spec": {"template": {
            "metadata": {"labels": {"app": "web"},
                         "annotations": {"sidecar.istio.io/inject": "false"}},
            "spec": {"containers": [{"name": "web", "image": "web:1"},
                                    {"name": "istio-proxy", "image": "proxyv2:1.24"}]}}}});
        let pod = PodTemplate::of(Kind::Deployment, &deployment).unwrap();
        assert!(pod.present);
        assert_eq!(pod.path, TEMPLATE);
        assert_eq!(pod.label("app"), Some("web"));
        assert!(pod.has_proxy);
        assert_eq!(
            str_field(pod.proxy_container.unwrap(), "image"),
            Some("proxyv2:1.24")
        );
        assert_eq!(pod.inject, Some(&json!("false")));
        assert_eq!(pod.containers().len(), 2);
        assert_eq!(pod.container("web").map(|web| web.image), Some("web:1"));
        assert!(pod.init_containers().is_empty());
        assert!(!pod.host_network && pod.security_context.is_null());
    }

    #[test]
    fn the_inject_label_wins_over_the_annotation_and_an_imageless_proxy_is_not_one() {
        let pod = json!({"metadata": {"labels": {"sidecar.istio.io/inject": "true"},
                                      "annotations": {"sidecar.istio.io/inject": "false"}},
                         "spec": {"initContainers": [{"name": "istio-proxy"}], "hostNetwork": true,
                                  "securityContext": {"runAsUser": 1337}}});
        let template = PodTemplate::of(Kind::Pod, &pod).unwrap();
        assert_eq!(template.inject, Some(&json!("true")));
        assert!(template.proxy_container.is_some());
        assert!(!template.has_proxy);
        assert!(template.host_network);
        assert_eq!(template.security_context["runAsUser"], 1337);
        let proxy = template.container("istio-proxy").unwrap();
        assert_eq!(
            (proxy.field, proxy.index, proxy.image),
            ("initContainers", 0, "")
        );
        assert!(proxy.security_context.is_null());
    }

    #[test]
    fn a_controller_without_template_and_other_kinds() {
        let cron = json!({"spec": {"schedule": "* * * * *"}});
        let template = PodTemplate::of(Kind::CronJob, &cron).unwrap();
        assert!(!template.present);
        assert!(template.spec.is_null() && template.labels.is_empty());
        assert!(PodTemplate::of(Kind::Service, &cron).is_none());
    }
}
