use crate::Context;
use meshcheck_model::{Kind, items, str_field};

use super::jwt_rules::jwt_rules;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds RequestAuthentication JWT rules without `audiences`.
    ///
    /// ## Why is this bad?
    /// Without audiences the proxy does not check the token's `aud` claim: any token the issuer
    /// signed is accepted, including tokens issued for other applications of the same identity
    /// provider. A token leaked from (or legitimately held by) a low-value application can then
    /// be replayed against this one.
    ///
    /// ## How to fix
    /// List the audiences (client IDs or API identifiers) the workload accepts tokens for.
    ///
    /// ## Example
    /// ```yaml
    /// jwtRules:
    /// - issuer: https://accounts.google.com
    ///   jwksUri: https://www.googleapis.com/oauth2/v3/certs
    ///   audiences: ["orders-api"]
    /// ```
    pub static JWT_AUDIENCES_UNCHECKED = {
        code: "MC214",
        name: "jwt-audiences-unchecked",
        category: Security,
        severity: Info,
        summary: "JWT rules should restrict the audiences they accept",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::RequestAuthentication],
        docs_url: "https://istio.io/latest/docs/reference/config/security/jwt/#JWTRule",
        remediation: "Set audiences to the client IDs or API identifiers the workload accepts tokens for.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for policy in mesh.of_kind(Kind::RequestAuthentication) {
        for (index, rule) in jwt_rules(policy) {
            if items(rule.get("audiences")).next().is_some() {
                continue;
            }
            let issuer = str_field(rule, "issuer").unwrap_or("its issuer");
            let index = index.to_string();
            sink.report(
                policy,
                &["spec", "jwtRules", &index],
                format!(
                    "RequestAuthentication {}/{} accepts tokens from {issuer} for any audience: tokens issued to other applications are accepted too",
                    policy.namespace,
                    policy.name()
                ),
            );
        }
    }
}
