use crate::Context;
use meshcheck_model::Kind;

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reads the `gateway.networking.k8s.io/bundle-version` annotation of the Gateway API CRDs
    /// and reports those installed at a version older than the one Istio requires:
    /// GRPCRoute 1.1.0, BackendTLSPolicy 1.4.0, TLSRoute 1.5.0, TCPRoute 1.6.0.
    ///
    /// ## Why is this bad?
    /// istiod ignores a Gateway API CRD that is too old: it does not watch it, so routes of that
    /// kind are never programmed. Gateways then report `attachedRoutes: 0` and, for TLS
    /// passthrough, never get a listener, without any error on the route itself.
    ///
    /// ## How to fix
    /// Upgrade the Gateway API CRDs (standard or experimental channel, as you use them) to a
    /// bundle at least as recent as the minimum listed.
    ///
    /// ## Example
    /// ```yaml
    /// kind: CustomResourceDefinition
    /// metadata:
    ///   name: tlsroutes.gateway.networking.k8s.io
    ///   annotations:
    ///     gateway.networking.k8s.io/bundle-version: v1.4.1   # Istio needs at least 1.5.0
    /// ```
    pub static GATEWAY_API_CRD_VERSION = {
        code: "MC022",
        name: "gateway-api-crd-version",
        category: IngressEgress,
        severity: Warning,
        summary: "Gateway API CRDs must be at the minimum bundle version Istio requires",
        istio_analyzer: Some("k8sgateway.CRDVersionAnalyzer"),
        istio_codes: &["IST0176"],
        inputs: &[Kind::CustomResourceDefinition],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/",
        remediation: "Upgrade the Gateway API CRDs to at least the bundle version Istio requires.",
        check: check,
    }
}

const BUNDLE_VERSION: &str = "gateway.networking.k8s.io/bundle-version";

/// The oldest Gateway API bundle each CRD must come from for istiod to process it.
const MINIMUM_VERSIONS: &[(&str, Version)] = &[
    (
        "grpcroutes.gateway.networking.k8s.io",
        Version::new(1, 1, 0),
    ),
    (
        "backendtlspolicies.gateway.networking.k8s.io",
        Version::new(1, 4, 0),
    ),
    ("tlsroutes.gateway.networking.k8s.io", Version::new(1, 5, 0)),
    ("tcproutes.gateway.networking.k8s.io", Version::new(1, 6, 0)),
];

/// A semantic version's release part (pre-release and build metadata are ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
}

impl Version {
    const fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Parses `v1.4.1`, `1.4`, `1.5.0-rc.1+build` (missing parts are zero).
    fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
        let release = text.split(['-', '+']).next()?;
        let mut parts = release.split('.');
        let mut number = |required: bool| -> Option<u64> {
            match parts.next() {
                Some(part) if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) => {
                    part.parse().ok()
                }
                Some(_) => None,
                None if required => None,
                None => Some(0),
            }
        };
        let version = Version::new(number(true)?, number(false)?, number(false)?);
        parts.next().is_none().then_some(version)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for crd in mesh.of_kind(Kind::CustomResourceDefinition) {
        let Some((_, minimum)) = MINIMUM_VERSIONS
            .iter()
            .find(|(name, _)| *name == crd.name())
        else {
            continue;
        };
        let Some(annotated) = crd.annotation(BUNDLE_VERSION) else {
            continue;
        };
        let Some(installed) = Version::parse(annotated) else {
            continue;
        };
        if installed < *minimum {
            sink.istio(
                "IST0176",
                crd,
                &["metadata", "annotations", BUNDLE_VERSION],
                format!(
                    "Gateway API CRD {} is at bundle version {annotated} but Istio requires at least {minimum}: istiod ignores it and its resources are not processed.",
                    crd.name()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Version;

    #[test]
    fn versions_parse_leniently() {
        assert_eq!(Version::parse("v1.4.1"), Some(Version::new(1, 4, 1)));
        assert_eq!(Version::parse("1.5"), Some(Version::new(1, 5, 0)));
        assert_eq!(
            Version::parse("v1.5.0-rc.1+build"),
            Some(Version::new(1, 5, 0))
        );
        assert_eq!(Version::parse("latest"), None);
        assert_eq!(Version::parse("1.2.3.4"), None);
        assert!(Version::parse("v1.4.1").unwrap() < Version::new(1, 5, 0));
    }
}
