//! Istio's admission webhooks (sidecar injection).

mod injector_overlap;
pub(crate) mod selector;

pub static RULES: &[&crate::Rule] = &[&injector_overlap::INJECTOR_WEBHOOKS];
