use crate::Context;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, items, str_field};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// When the mesh has RequestAuthentication policies, checks that every istiod Deployment
    /// (label `app: istiod`) sets `BLOCKED_CIDRS_IN_JWKS_URIS` on one of its containers.
    ///
    /// ## Why is this bad?
    /// istiod fetches the JWKS of every `jwksUri` in RequestAuthentication policies. Anyone who
    /// can create such a policy can make istiod send requests to any address it can reach, such
    /// as cloud metadata endpoints or internal admin services (server-side request forgery).
    ///
    /// ## How to fix
    /// Set `BLOCKED_CIDRS_IN_JWKS_URIS` on istiod to the ranges it must never fetch from (for
    /// example `169.254.169.254/32,10.0.0.0/8`), e.g. with `pilot.env` in the Helm values.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    /// - name: BLOCKED_CIDRS_IN_JWKS_URIS
    ///   value: "169.254.0.0/16,127.0.0.0/8"
    /// ```
    pub static JWKS_URI_FETCH_UNRESTRICTED = {
        code: "MC006",
        name: "jwks-uri-fetch-unrestricted",
        category: Security,
        severity: Warning,
        summary: "istiod must restrict JWKS URI fetches (BLOCKED_CIDRS_IN_JWKS_URIS) when RequestAuthentications exist",
        istio_analyzer: Some("authn.BlockedCIDRsAnalyzer"),
        istio_codes: &["IST0175"],
        inputs: &[Kind::RequestAuthentication, Kind::Deployment],
        docs_url: "https://istio.io/latest/docs/reference/config/security/request_authentication/",
        remediation: "Set the BLOCKED_CIDRS_IN_JWKS_URIS environment variable on istiod to the address ranges it must not fetch JWKS from.",
        check: check,
    }
}

/// How many policy names a message lists before summarising.
const SHOWN: usize = 5;

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let policies: Vec<String> = mesh
        .of_kind(Kind::RequestAuthentication)
        .map(|policy| format!("{}/{}", policy.namespace, policy.name()))
        .collect();
    if policies.is_empty() {
        return;
    }
    let listed = if policies.len() <= SHOWN {
        policies.join(", ")
    } else {
        format!(
            "{}, and {} more",
            policies[..SHOWN].join(", "),
            policies.len() - SHOWN
        )
    };
    let count = match policies.len() {
        1 => "1 RequestAuthentication".to_owned(),
        many => format!("{many} RequestAuthentications"),
    };
    for deployment in mesh.of_kind(Kind::Deployment) {
        if deployment.label("app") != Some("istiod") {
            continue;
        }
        let containers = deployment.spec().at("/template/spec/containers");
        let configured = items(containers).any(|container| {
            items(container.get("env")).any(|variable| {
                str_field(variable, "name") == Some("BLOCKED_CIDRS_IN_JWKS_URIS")
                    && str_field(variable, "value").is_some_and(|value| !value.is_empty())
            })
        });
        if configured {
            continue;
        }
        sink.istio(
            "IST0175",
            deployment,
            &["spec", "template", "spec", "containers"],
            format!(
                "istiod Deployment {} does not set BLOCKED_CIDRS_IN_JWKS_URIS, so it fetches the JWKS URIs of {count} from any address ({listed})",
                deployment.display_name()
            ),
        );
    }
}
