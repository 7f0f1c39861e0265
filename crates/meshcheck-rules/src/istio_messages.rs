//! Istio's analyzer message catalog (code, name, level, description, template), bundled as data
//! from istio/istio `pkg/config/analysis/msg/messages.yaml` (see `data/NOTICE`).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::rule::Severity;

/// One message of Istio's catalog.
#[derive(Debug, Deserialize)]
pub struct IstioMessage {
    pub code: String,
    pub name: String,
    pub level: String,
    pub description: String,
    pub template: String,
}

static CATALOG: LazyLock<HashMap<String, IstioMessage>> = LazyLock::new(|| {
    let messages: Vec<IstioMessage> =
        serde_json::from_str(include_str!("../data/istio-messages.json"))
            .expect("the bundled Istio message catalog is valid JSON (checked by a test)");
    messages
        .into_iter()
        .map(|message| (message.code.clone(), message))
        .collect()
});

/// Looks a message up by code (`IST0101`).
pub fn message(code: &str) -> Option<&'static IstioMessage> {
    CATALOG.get(code)
}

/// The severity Istio gives a message.
pub fn level(code: &str) -> Option<Severity> {
    message(code).and_then(|message| match message.level.as_str() {
        "Error" => Some(Severity::Error),
        "Warning" => Some(Severity::Warning),
        "Info" => Some(Severity::Info),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn catalog_loads_and_maps_levels() {
        assert_eq!(
            super::message("IST0101").unwrap().name,
            "ReferencedResourceNotFound"
        );
        assert_eq!(super::level("IST0101"), Some(crate::Severity::Error));
        assert_eq!(super::level("IST0118"), Some(crate::Severity::Info));
    }
}
