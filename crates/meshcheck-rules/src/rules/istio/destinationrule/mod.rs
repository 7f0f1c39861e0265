//! Istio DestinationRule analyzers: TLS origination without server verification, and subsets
//! that select no pods.

mod ca_certificates;
mod subset_pods;

pub static RULES: &[&crate::Rule] = &[
    &ca_certificates::DESTINATION_RULE_CA_CERTIFICATES,
    &subset_pods::DESTINATION_RULE_SUBSET_PODS,
];
