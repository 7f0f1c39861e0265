//! Workloads (Deployments, Pods) and how they fit the mesh.

mod application_uid;
mod service_association;

pub static RULES: &[&crate::Rule] = &[
    &service_association::SERVICE_ASSOCIATION,
    &application_uid::APPLICATION_UID,
];
