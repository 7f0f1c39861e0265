//! The pod a resource runs or will run: a Pod itself, or the pod template of a controller,
//! found once when the mesh is built so that the dozens of rules about workloads read fields
//! instead of walking the same JSON paths again.

use serde_json::{Map, Value};

use crate::Kind;
use crate::resource::{EMPTY_MAP, items, str_field};

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
    pub labels: &'a Map<String, Value>,
    pub annotations: &'a Map<String, Value>,
    /// The first container or init container named `istio-proxy` (the injected sidecar, or a
    /// native sidecar).
    pub proxy_container: Option<&'a Value>,
    /// Whether an `istio-proxy` container with an image is in the pod: it runs a sidecar
    /// whatever its labels say.
    pub has_proxy: bool,
    /// `sidecar.istio.io/inject`: the label, else the annotation (the order Istio reads them).
    pub inject: Option<&'a Value>,
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
        let containers = || items(spec.get("containers")).chain(items(spec.get("initContainers")));
        let is_proxy = |container: &&Value| str_field(container, "name") == Some("istio-proxy");
        Some(PodTemplate {
            path,
            present,
            metadata,
            spec,
            labels,
            annotations,
            proxy_container: containers().find(is_proxy),
            has_proxy: containers().filter(is_proxy).any(|container| {
                str_field(container, "image").is_some_and(|image| !image.is_empty())
            }),
            inject: labels
                .get("sidecar.istio.io/inject")
                .or_else(|| annotations.get("sidecar.istio.io/inject")),
        })
    }

    pub fn label(&self, key: &str) -> Option<&'a str> {
        self.labels.get(key).and_then(Value::as_str)
    }

    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.annotations.get(key).and_then(Value::as_str)
    }

    /// `spec.containers` of the pod.
    pub fn containers(&self) -> impl Iterator<Item = &'a Value> + use<'a> {
        items(self.spec.get("containers"))
    }

    /// `spec.initContainers` of the pod.
    pub fn init_containers(&self) -> impl Iterator<Item = &'a Value> + use<'a> {
        items(self.spec.get("initContainers"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(pod.containers().count(), 2);
    }

    #[test]
    fn the_inject_label_wins_over_the_annotation_and_an_imageless_proxy_is_not_one() {
        let pod = json!({"metadata": {"labels": {"sidecar.istio.io/inject": "true"},
                                      "annotations": {"sidecar.istio.io/inject": "false"}},
                         "spec": {"initContainers": [{"name": "istio-proxy"}]}});
        let template = PodTemplate::of(Kind::Pod, &pod).unwrap();
        assert_eq!(template.inject, Some(&json!("true")));
        assert!(template.proxy_container.is_some());
        assert!(!template.has_proxy);
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
