//! Kubernetes Services as Istio sees them.

mod port_name;

pub static RULES: &[&crate::Rule] = &[&port_name::SERVICE_PORT_NAME];
