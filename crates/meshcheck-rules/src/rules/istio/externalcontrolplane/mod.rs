//! Remote clusters served by an external Istio control plane.

mod external_istiod;
mod webhook_url;

pub static RULES: &[&crate::Rule] = &[&external_istiod::EXTERNAL_ISTIOD_WEBHOOKS];
