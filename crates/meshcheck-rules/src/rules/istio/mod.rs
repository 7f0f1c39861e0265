//! Rules that mirror Istio's own analyzers (`istioctl analyze`), one family per Istio analyzer
//! folder. Each finding carries the Istio message code it corresponds to.

pub mod annotations;
pub mod authn;
pub mod authz;
pub mod conditions;
pub mod deployment;
pub mod deprecation;
pub mod destinationrule;
pub mod envoyfilter;
pub mod externalcontrolplane;
pub mod gateway;
pub mod injection;
pub mod k8sgateway;
pub mod maturity;
pub mod multicluster;
pub mod schema;
pub mod service;
pub mod serviceentry;
pub mod sidecar;
pub mod telemetry;
pub mod virtualservice;
pub mod webhook;

/// Every Istio-parity family's rules.
pub(crate) static FAMILIES: &[&[&crate::Rule]] = &[
    annotations::RULES,
    authn::RULES,
    authz::RULES,
    conditions::RULES,
    deployment::RULES,
    deprecation::RULES,
    destinationrule::RULES,
    envoyfilter::RULES,
    externalcontrolplane::RULES,
    gateway::RULES,
    injection::RULES,
    k8sgateway::RULES,
    maturity::RULES,
    multicluster::RULES,
    schema::RULES,
    service::RULES,
    serviceentry::RULES,
    sidecar::RULES,
    telemetry::RULES,
    virtualservice::RULES,
    webhook::RULES,
];
