use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, Mesh};

use crate::facts::authz::{Action, rule_fields, rules};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// When the mesh config is known, checks the path normalization it sets
    /// (`pathNormalization.normalization`, `BASE` by default) against policies whose match fails
    /// open when a path is spelled differently: DENY and CUSTOM policies with `paths`, and ALLOW
    /// policies with `notPaths`. It reports them unless normalization is `MERGE_SLASHES` or
    /// `DECODE_AND_MERGE_SLASHES`; with `NONE` it is an error.
    ///
    /// ## Why is this bad?
    /// Policies compare the path after the proxy normalizes it. With `BASE`, `//admin` and
    /// `/admin%2Fusers` are not turned into `/admin` and `/admin/users`, but most applications
    /// treat them as the same resource: a DENY on `/admin*` is bypassed by doubling a slash or
    /// encoding one. With `NONE` even `/./admin` and `/public/../admin` get through.
    ///
    /// ## How to fix
    /// Set `meshConfig.pathNormalization.normalization: DECODE_AND_MERGE_SLASHES` (or
    /// `MERGE_SLASHES` if the application does not decode `%2F`), test the policies, or rewrite
    /// them as ALLOW policies with positive `paths`.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   action: DENY
    ///   rules:
    ///   - to:
    ///     - operation:
    ///         paths: ["/admin*"]    # "//admin" is not denied under BASE normalization
    /// ```
    pub static AUTHORIZATION_PATH_NORMALIZATION = {
        code: "MC208",
        name: "authorization-path-normalization",
        category: Security,
        severity: Warning,
        summary: "Path-based DENY policies need mesh path normalization MERGE_SLASHES or DECODE_AND_MERGE_SLASHES",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::AuthorizationPolicy, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/ops/best-practices/security/#customize-your-system-on-path-normalization",
        remediation: "Set meshConfig.pathNormalization.normalization to DECODE_AND_MERGE_SLASHES (or MERGE_SLASHES), or rewrite the policy as ALLOW with positive paths.",
        check: check,
    }
}

/// The normalization in force (`BASE` when unset or `DEFAULT`).
fn normalization(mesh: &Mesh) -> &'static str {
    match mesh.mesh_config.at("/pathNormalization/normalization") {
        Some(Value::String(text)) => match text.to_ascii_uppercase().as_str() {
            "NONE" => "NONE",
            "MERGE_SLASHES" => "MERGE_SLASHES",
            "DECODE_AND_MERGE_SLASHES" => "DECODE_AND_MERGE_SLASHES",
            _ => "BASE",
        },
        Some(Value::Number(number)) => match number.as_u64() {
            Some(1) => "NONE",
            Some(3) => "MERGE_SLASHES",
            Some(4) => "DECODE_AND_MERGE_SLASHES",
            _ => "BASE",
        },
        _ => "BASE",
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if !mesh.mesh_config.explicit {
        return;
    }
    let normalization = normalization(mesh);
    if matches!(normalization, "MERGE_SLASHES" | "DECODE_AND_MERGE_SLASHES") {
        return;
    }
    let source = mesh
        .mesh_config
        .source
        .as_deref()
        .unwrap_or("the mesh config");
    for policy in mesh.of_kind(Kind::AuthorizationPolicy) {
        let action = Action::of(policy);
        let field = match action {
            Action::Deny | Action::Custom => "paths",
            Action::Allow => "notPaths",
            Action::Audit => continue,
        };
        for (index, rule) in rules(policy).enumerate() {
            let fields = rule_fields(rule, index);
            let Some(found) = fields.iter().find(|candidate| {
                candidate.section == "operation"
                    && candidate.name == field
                    && !candidate.values.is_empty()
            }) else {
                continue;
            };
            let finding = sink.report_at(
                policy,
                &found.path(),
                format!(
                    "{} AuthorizationPolicy {}/{} matches {field} {:?} while path normalization is {normalization} ({source}): differently spelled paths (\"//\", \"%2F\"{}) escape the match",
                    action.as_str(),
                    policy.namespace,
                    policy.name(),
                    found.values,
                    if normalization == "NONE" { ", \"/./\", \"/../\"" } else { "" }
                ),
            );
            if normalization == "NONE" {
                finding.severity(Severity::Error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    const POLICY: &str = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-admin, namespace: shop}\nspec:\n  action: DENY\n  rules:\n  - to: [{operation: {paths: ['/admin*']}}]\n";

    fn with_mesh(mesh: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: istio, namespace: istio-system}}\ndata:\n  mesh: |\n    {mesh}\n---\n{POLICY}"
        )
    }

    #[test]
    fn depends_on_the_mesh_config() {
        assert!(check(&AUTHORIZATION_PATH_NORMALIZATION, POLICY).is_empty());
        assert_eq!(
            check(
                &AUTHORIZATION_PATH_NORMALIZATION,
                &with_mesh("enableTracing: true")
            )
            .len(),
            1
        );
        let none = check(
            &AUTHORIZATION_PATH_NORMALIZATION,
            &with_mesh("pathNormalization: {normalization: NONE}"),
        );
        assert_eq!(none[0].severity, Severity::Error);
        assert!(
            check(
                &AUTHORIZATION_PATH_NORMALIZATION,
                &with_mesh("pathNormalization: {normalization: MERGE_SLASHES}")
            )
            .is_empty()
        );
    }
}
