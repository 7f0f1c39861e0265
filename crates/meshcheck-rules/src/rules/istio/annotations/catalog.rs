//! Istio's catalog of resource annotations (name, feature status, deprecation, the kinds each may
//! be placed on), shared by the annotation and maturity rules.
//!
//! NOTICE: `annotations.json` is generated from Istio's `istio/api` repository
//! (`annotation/annotations.gen.go`, `AllResourceAnnotations()`), Apache-2.0, Copyright Istio
//! Authors. Regenerate it when Istio adds or retires annotations.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// How mature the feature behind an annotation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub(crate) enum FeatureStatus {
    Alpha,
    Beta,
    Stable,
}

/// One annotation Istio defines.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AnnotationDef {
    pub name: String,
    pub feature_status: FeatureStatus,
    pub deprecated: bool,
    /// Kinds the annotation belongs on (`Any` = every kind).
    pub resources: Vec<String>,
}

impl AnnotationDef {
    /// Whether the annotation may be placed on any kind.
    pub fn applies_to_any(&self) -> bool {
        self.resources.iter().any(|kind| kind == "Any")
    }

    /// Whether the annotation belongs on objects of kind `kind` (`Pod`, `Service`, ...).
    pub fn applies_to(&self, kind: &str) -> bool {
        self.applies_to_any() || self.resources.iter().any(|allowed| allowed == kind)
    }
}

#[derive(Deserialize)]
struct CatalogFile {
    annotations: Vec<AnnotationDef>,
}

static CATALOG: LazyLock<HashMap<String, AnnotationDef>> = LazyLock::new(|| {
    let file: CatalogFile =
        serde_json::from_str(include_str!("annotations.json")).expect("annotations.json is valid");
    file.annotations
        .into_iter()
        .map(|def| (def.name.clone(), def))
        .collect()
});

/// Looks an annotation up by its full name.
pub(crate) fn lookup(name: &str) -> Option<&'static AnnotationDef> {
    CATALOG.get(name)
}

/// Whether Istio considers the annotation its own: any key whose prefix (before the first `/`)
/// ends in `istio.io`, plus `kubernetes.io/ingress.class`, which Istio documents.
pub(crate) fn is_istio_annotation(name: &str) -> bool {
    if name == "kubernetes.io/ingress.class" {
        return true;
    }
    let prefix = name.split('/').next().unwrap_or_default();
    prefix.ends_with("istio.io")
}

/// Annotations Istio's components set themselves; never reported.
pub(crate) fn always_ignored(name: &str) -> bool {
    matches!(
        name,
        "sidecar.istio.io/status" | "gateway.istio.io/controller-version" | "istio.io/rev"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_loads_and_answers() {
        let inject = lookup("sidecar.istio.io/inject").expect("known");
        assert!(inject.deprecated);
        assert_eq!(inject.feature_status, FeatureStatus::Beta);
        assert!(inject.applies_to("Pod"));
        assert!(!inject.applies_to("Deployment"));
        assert!(
            lookup("galley.istio.io/analyze-suppress")
                .unwrap()
                .applies_to("Service")
        );
        assert!(lookup("networking.istio.io/exportThree").is_none());
        assert!(is_istio_annotation("networking.istio.io/exportTo"));
        assert!(is_istio_annotation("kubernetes.io/ingress.class"));
        assert!(!is_istio_annotation("kubernetes.io/psp"));
        assert!(!is_istio_annotation("helm.sh/hook"));
    }
}
