use crate::Context;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, items, str_field, strings};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks istiod Deployments (label `app: istiod`) for the unauthenticated plaintext ports
    /// Istio's security best practices suggest closing: the debug interface on port 8080
    /// (unless `ENABLE_DEBUG_ON_HTTP=false`) and plaintext xDS on port 15010 (unless
    /// `--grpcAddr=""`).
    ///
    /// ## Why is this bad?
    /// The debug interface gives anyone who can reach istiod read access to the mesh's full
    /// configuration (every service, endpoint and policy), which maps the attack surface for an
    /// intruder. Plaintext xDS serves proxy configuration without authenticating the client.
    ///
    /// ## How to fix
    /// Set `ENABLE_DEBUG_ON_HTTP=false` on istiod (note that some `istioctl` commands rely on
    /// it) and add `--grpcAddr=""` to its arguments, or at least restrict access to these ports
    /// with a NetworkPolicy.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    /// - name: ENABLE_DEBUG_ON_HTTP
    ///   value: "false"
    /// ```
    pub static ISTIOD_DEBUG_ENDPOINTS = {
        code: "MC225",
        name: "istiod-debug-endpoints",
        category: Security,
        severity: Info,
        summary: "istiod's unauthenticated debug (8080) and plaintext xDS (15010) ports should be closed",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment],
        docs_url: "https://istio.io/latest/docs/ops/best-practices/security/#control-plane",
        remediation: "Set ENABLE_DEBUG_ON_HTTP=false and --grpcAddr=\"\" on istiod, or restrict the ports with a NetworkPolicy.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for deployment in mesh.of_kind(Kind::Deployment) {
        if deployment.label("app") != Some("istiod") {
            continue;
        }
        let containers = deployment.spec().at("/template/spec/containers");
        let Some((index, discovery)) = items(containers)
            .enumerate()
            .find(|(_, container)| str_field(container, "name") == Some("discovery"))
        else {
            continue;
        };
        let debug_off = items(discovery.get("env")).any(|variable| {
            str_field(variable, "name") == Some("ENABLE_DEBUG_ON_HTTP")
                && str_field(variable, "value")
                    .is_some_and(|value| value.eq_ignore_ascii_case("false"))
        });
        let args = strings(discovery.get("args"));
        let xds_off = args.iter().enumerate().any(|(position, arg)| {
            matches!(*arg, "--grpcAddr=" | "--grpcAddr=\"\"" | "--grpcAddr=''")
                || *arg == "--grpcAddr"
                    && args
                        .get(position + 1)
                        .is_some_and(|next| next.is_empty() || *next == "\"\"")
        });
        let mut open = Vec::new();
        if !debug_off {
            open.push("the debug interface on port 8080");
        }
        if !xds_off {
            open.push("plaintext xDS on port 15010");
        }
        if open.is_empty() {
            continue;
        }
        let index = index.to_string();
        sink.report(
            deployment,
            &["spec", "template", "spec", "containers", &index],
            format!(
                "istiod Deployment {}/{} serves {} without authentication",
                deployment.namespace,
                deployment.name(),
                open.join(" and ")
            ),
        );
    }
}
