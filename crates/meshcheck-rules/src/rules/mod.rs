//! Rule families. Add a family here and its rules join the registry.

use crate::Rule;

pub mod application;
pub mod ingress_egress;
pub mod istio;
pub mod performance;
pub mod platform;
pub mod readiness;
pub mod security;

/// Every family's rule list.
pub(crate) static FAMILIES: &[&[&[&Rule]]] = &[
    istio::FAMILIES,
    &[
        platform::RULES,
        security::RULES,
        ingress_egress::RULES,
        application::RULES,
        performance::RULES,
        readiness::RULES,
    ],
];
