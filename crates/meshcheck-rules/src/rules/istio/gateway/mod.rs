//! Istio gateway analyzers: Gateway workloads, ports, credentials and conflicts.

mod certificate;
mod conflicting;
mod ingress_port;
mod secret;

pub static RULES: &[&crate::Rule] = &[
    &ingress_port::GATEWAY_INGRESS_PORT,
    &secret::GATEWAY_SECRET,
    &conflicting::GATEWAY_CONFLICTING,
    &certificate::GATEWAY_DUPLICATE_CERTIFICATE,
];
