//! Istio annotations on Kubernetes objects, checked against Istio's annotation catalog.

pub(crate) mod catalog;
mod k8s_annotations;
mod values;

pub static RULES: &[&crate::Rule] = &[&k8s_annotations::ISTIO_ANNOTATIONS];
