//! Go-live readiness: the checklist derived from the other categories (control plane HA, mTLS
//! STRICT, default deny, egress locked, supported and patched release, redundant gateways) and
//! collection gaps (MC6xx). Each item fires, with the steps to fix it, only where the input can
//! tell: mesh-wide items need a whole mesh (see [`common::whole_mesh`]), control-plane items an
//! istiod in the input.

mod common;

mod collection_complete;
mod control_plane_ha;
mod default_deny;
mod egress_locked;
mod gateways_redundant;
mod mtls_strict;
mod patched_release;
mod supported_version;

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[
    &control_plane_ha::READINESS_CONTROL_PLANE_HA,
    &mtls_strict::READINESS_MTLS_STRICT,
    &default_deny::READINESS_DEFAULT_DENY,
    &egress_locked::READINESS_EGRESS_LOCKED,
    &supported_version::READINESS_SUPPORTED_VERSION,
    &patched_release::READINESS_PATCHED_RELEASE,
    &gateways_redundant::READINESS_GATEWAYS_REDUNDANT,
    &collection_complete::READINESS_COLLECTION_COMPLETE,
];
