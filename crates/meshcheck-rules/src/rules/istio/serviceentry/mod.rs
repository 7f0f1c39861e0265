//! Istio ServiceEntry analyzers.

mod addresses_required;
mod conflicting_protocol;

pub static RULES: &[&crate::Rule] = &[
    &addresses_required::SERVICE_ENTRY_ADDRESSES_REQUIRED,
    &conflicting_protocol::SERVICE_ENTRY_CONFLICTING_PROTOCOL,
];
