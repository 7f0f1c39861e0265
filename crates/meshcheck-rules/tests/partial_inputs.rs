//! Partial inputs, judged honestly: a GitOps folder holds the Istio configuration but not the
//! applications, and its certificates come from cert-manager. Every rule runs through the engine
//! (which lowers conclusions drawn from absence where the input holds none of what is missing);
//! no finding may then be an error or worse, and the findings are kept as a snapshot.

use std::path::Path;
use std::sync::Arc;

use meshcheck_model::{Mesh, MeshInputs};
use meshcheck_rules::{RunOptions, Severity, registry};

fn fixture(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/partial_inputs")
        .join(file);
    std::fs::read_to_string(&path).unwrap()
}

/// Every finding of every rule on the objects of `text`, as `severity [code] (resource):line message`.
fn findings_for(file: &str, text: &str) -> Vec<(Severity, String)> {
    let name = format!("partial_inputs/{file}");
    let (objects, issues) = meshcheck_input::parse_documents(&Arc::from(name.as_str()), text);
    assert!(issues.is_empty(), "{file}: {issues:?}");
    let mesh = Mesh::build(objects, MeshInputs::default());
    meshcheck_rules::run(&mesh, registry::all(), &RunOptions::default())
        .into_iter()
        .map(|finding| {
            let resource = finding
                .resource
                .as_ref()
                .map(|resource| format!("{} {}", resource.kind, resource.display_name()))
                .unwrap_or_default();
            let line = finding
                .source
                .as_ref()
                .and_then(|source| source.line)
                .map(|line| format!(":{line}"))
                .unwrap_or_default();
            let text = format!(
                "{} [{}{}] ({resource}){line} {}",
                finding.severity,
                finding.code,
                finding
                    .istio_code
                    .map(|code| format!("/{code}"))
                    .unwrap_or_default(),
                finding.message
            );
            (finding.severity, text)
        })
        .collect()
}

#[test]
fn gitops_folder_without_the_applications() {
    let findings = findings_for("gitops.yaml", &fixture("gitops.yaml"));
    let errors: Vec<&String> = findings
        .iter()
        .filter(|(severity, _)| *severity >= Severity::Error)
        .map(|(_, text)| text)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let lines: Vec<&str> = findings.iter().map(|(_, text)| text.as_str()).collect();
    insta::assert_snapshot!(lines.join("\n"));
}

/// Where the input does hold objects of the missing kind in that namespace, the same conclusions
/// stand as errors: the folder shows that part of the mesh, and the object is not in it.
#[test]
fn absence_stands_where_the_input_holds_the_kind() {
    let more = "---
apiVersion: v1
kind: Service
metadata: {name: checkout, namespace: shop}
spec: {selector: {app: checkout}, ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: payments-legacy, namespace: payments}
spec: {selector: {app: payments}, ports: [{name: http, port: 8080}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: payments-legacy, namespace: payments}
spec: {host: payments-legacy}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: partners-internal, namespace: partners}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8443, name: https, protocol: HTTPS}
    hosts: [\"shop/internal.partners.example.com\"]
    tls: {mode: SIMPLE, credentialName: shop-cert}
---
apiVersion: v1
kind: Secret
metadata: {name: other-cert, namespace: istio-system}
type: kubernetes.io/tls
";
    let text = format!("{}{more}", fixture("gitops.yaml"));
    let errors: Vec<String> = findings_for("gitops.yaml", &text)
        .into_iter()
        .filter(|(severity, _)| *severity == Severity::Error)
        .map(|(_, text)| text)
        .collect();
    for (code, what) in [
        ("MC037/IST0101", "\"frontend\""),
        ("MC037/IST0101", "payments.payments.svc.cluster.local"),
        ("MC038/IST0101", "+stable"),
        ("MC039]", "partners/partner-gateway"),
        ("MC016/IST0101", "partners-cert"),
    ] {
        assert!(
            errors
                .iter()
                .any(|error| error.contains(code) && error.contains(what)),
            "no error {code} about {what} in {errors:#?}"
        );
    }
    assert!(
        errors.iter().all(|error| !error.contains("not confirmed")),
        "{errors:#?}"
    );
}
