use serde_json::{Value, json};

use super::*;

fn redacted(mut object: Value) -> (Value, RedactionStats) {
    let mut stats = RedactionStats::default();
    redact_object(&mut object, &mut stats);
    (object, stats)
}

const CERT: &str =
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydA==\n-----END CERTIFICATE-----\n";
const JWT_TOKEN: &str =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl";

#[test]
fn secrets_keep_only_what_names_them() {
    let (secret, stats) = redacted(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "shop-cert", "namespace": "istio-system", "labels": {"app": "shop"},
            "annotations": {"note": "c2VjcmV0"}, "uid": "1234",
            "managedFields": [{"manager": "kubectl"}]
        },
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t", "tls.key": "c2VjcmV0LWtleQ=="},
        "stringData": {"password": "hunter2"}
    }));
    assert_eq!(
        secret,
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "shop-cert", "namespace": "istio-system", "labels": {"app": "shop"}},
            "type": "kubernetes.io/tls"
        })
    );
    assert_eq!(stats.count(Redaction::SecretData), 3);
}

#[test]
fn managed_fields_and_last_applied_go_everywhere() {
    let (service, stats) = redacted(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {
            "name": "web",
            "managedFields": [{"manager": "kubectl"}],
            "annotations": {LAST_APPLIED: "{\"kind\":\"Service\"}", "keep": "me"}
        }
    }));
    assert_eq!(
        service["metadata"],
        json!({"name": "web", "annotations": {"keep": "me"}})
    );
    assert_eq!(stats.count(Redaction::ManagedFields), 1);
    assert_eq!(stats.count(Redaction::LastAppliedConfiguration), 1);

    let (pod, _) = redacted(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "annotations": {LAST_APPLIED: "{}"}}
    }));
    assert!(pod["metadata"].get("annotations").is_none());
}

fn container_with_env() -> Value {
    json!({
        "name": "app",
        "args": ["--token", JWT_TOKEN],
        "env": [
            {"name": "DB_PASSWORD", "value": "hunter2"},
            {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "api"}}}
        ]
    })
}

#[test]
fn env_literals_go_in_pods_and_every_pod_template() {
    let spec = json!({
        "containers": [container_with_env()],
        "initContainers": [container_with_env()],
        "ephemeralContainers": [container_with_env()]
    });
    let template = json!({"template": {"metadata": {}, "spec": spec.clone()}});
    let objects = [
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec.clone()}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": template.clone()}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"}, "spec": template.clone()}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds"}, "spec": template.clone()}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"}, "spec": template.clone()}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": template.clone()}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
               "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": template.clone()}}}),
        json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": {"spec": spec}}),
    ];
    for object in objects {
        let kind = object["kind"].as_str().unwrap().to_owned();
        let (object, stats) = redacted(object);
        let text = object.to_string();
        assert!(!text.contains("hunter2"), "{kind}: {text}");
        assert!(!text.contains(JWT_TOKEN), "{kind}: {text}");
        assert!(
            text.contains("DB_PASSWORD") && text.contains("secretKeyRef"),
            "{kind}"
        );
        assert!(text.contains("<redacted:jwt>"), "{kind}");
        assert_eq!(stats.count(Redaction::EnvValue), 3, "{kind}");
        assert_eq!(stats.count(Redaction::Jwt), 3, "{kind}");
    }
}

#[test]
fn istio_settings_in_the_environment_stay() {
    let (pod, stats) = redacted(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "istiod"},
        "spec": {"template": {"spec": {"containers": [{"name": "discovery", "env": [
            {"name": "BLOCKED_CIDRS_IN_JWKS_URIS", "value": "10.0.0.0/8"},
            {"name": "PILOT_ENABLE_ALPHA_GATEWAY_API", "value": "true"},
            {"name": "ISTIO_META_TOKEN", "value": JWT_TOKEN},
            {"name": "DATABASE_URL", "value": "postgres://user:pw@db"}
        ]}]}}}
    }));
    let env = pod.pointer("/spec/template/spec/containers/0/env").unwrap();
    assert_eq!(env[0]["value"], "10.0.0.0/8");
    assert_eq!(env[1]["value"], "true");
    assert_eq!(env[2]["value"], "<redacted:jwt>");
    assert!(env[3].get("value").is_none());
    assert_eq!(stats.count(Redaction::EnvValue), 1);
}

#[test]
fn config_maps_keep_only_istio_mesh_config() {
    let config_map = |name: &str| {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "istio-system"},
            "data": {"mesh": "accessLogFile: /dev/stdout\n", "meshNetworks": "networks: {}",
                     "config": "policy: enabled", "values": "{}", "password": "hunter2"},
            "binaryData": {"blob": "AAEC"}
        })
    };
    let keys = |object: &Value| -> Vec<String> {
        object["data"]
            .as_object()
            .map(|data| data.keys().cloned().collect())
            .unwrap_or_default()
    };
    let (istio, stats) = redacted(config_map("istio"));
    assert_eq!(keys(&istio), ["mesh", "meshNetworks"]);
    assert!(istio.get("binaryData").is_none());
    assert_eq!(stats.count(Redaction::ConfigMapData), 4);
    let (revision, _) = redacted(config_map("istio-1-22"));
    assert_eq!(keys(&revision), ["mesh", "meshNetworks"]);
    let (injector, _) = redacted(config_map("istio-sidecar-injector-canary"));
    assert_eq!(keys(&injector), ["config", "values"]);
    let (other, stats) = redacted(config_map("app-settings"));
    assert!(other.get("data").is_none(), "{other}");
    assert_eq!(stats.count(Redaction::ConfigMapData), 6);
}

#[test]
fn ca_bundles_are_dropped() {
    let webhook = json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "istio-sidecar-injector"},
        "webhooks": [{"name": "a", "clientConfig": {"caBundle": "Q0FCVU5ETEU=", "service": {"name": "istiod"}}}]
    });
    let (webhook, stats) = redacted(webhook);
    assert_eq!(
        webhook["webhooks"][0]["clientConfig"],
        json!({"service": {"name": "istiod"}})
    );
    assert_eq!(stats.count(Redaction::CaBundle), 1);

    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "x.example.com"},
        "spec": {"conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {"caBundle": "Q0E="}}}}
    });
    let (crd, stats) = redacted(crd);
    assert!(
        crd.pointer("/spec/conversion/webhook/clientConfig/caBundle")
            .is_none()
    );
    assert_eq!(stats.count(Redaction::CaBundle), 1);

    let api_service = json!({
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": "v1beta1.metrics.k8s.io"},
        "spec": {"caBundle": "Q0E=", "group": "metrics.k8s.io"}
    });
    let (api_service, stats) = redacted(api_service);
    assert_eq!(api_service["spec"], json!({"group": "metrics.k8s.io"}));
    assert_eq!(stats.count(Redaction::CaBundle), 1);
}

#[test]
fn pem_blocks_and_jwts_are_replaced_in_any_string() {
    let object = json!({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "dr"},
        "spec": {
            "trafficPolicy": {"tls": {"caCertificates": CERT}},
            "note": format!("before {CERT} between {JWT_TOKEN} after"),
            "kubeconfig": "certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSQ==\n",
            "truncated": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow",
            "host": "reviews.default.svc.cluster.local"
        }
    });
    let (object, stats) = redacted(object);
    assert_eq!(
        object
            .pointer("/spec/trafficPolicy/tls/caCertificates")
            .unwrap(),
        "<redacted:pem>\n"
    );
    assert_eq!(
        object.pointer("/spec/note").unwrap(),
        "before <redacted:pem>\n between <redacted:jwt> after"
    );
    assert_eq!(
        object.pointer("/spec/kubeconfig").unwrap(),
        "certificate-authority-data: <redacted:pem>\n"
    );
    assert_eq!(object.pointer("/spec/truncated").unwrap(), "<redacted:pem>");
    assert_eq!(
        object.pointer("/spec/host").unwrap(),
        "reviews.default.svc.cluster.local"
    );
    assert_eq!(stats.count(Redaction::Pem), 4);
    assert_eq!(stats.count(Redaction::Jwt), 1);
}

#[test]
fn ordinary_text_is_left_alone() {
    let mut stats = RedactionStats::default();
    assert_eq!(redact_text("eyJ alone is not a token", &mut stats), None);
    assert_eq!(redact_text("1.2.3", &mut stats), None);
    assert_eq!(stats.total(), 0);
}

#[test]
fn credential_flags_in_container_args_lose_their_values() {
    let mut object = json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "app", "image": "app:1",
            "command": ["/app", "--db-password", "hunter2", "--verbose"],
            "args": ["--token=abc123", "-api-key:xyz", "--password-file=/etc/pw",
                     "--secret=$(SECRET)", "--authorization-mode=RBAC", "--port=8080"]}]}
    });
    let mut stats = RedactionStats::default();
    redact_object(&mut object, &mut stats);
    let container = &object["spec"]["containers"][0];
    assert_eq!(
        container["command"],
        json!([
            "/app",
            "--db-password",
            "<redacted:credential>",
            "--verbose"
        ])
    );
    assert_eq!(
        container["args"],
        json!([
            "--token=<redacted:credential>",
            "-api-key:<redacted:credential>",
            "--password-file=/etc/pw",
            "--secret=$(SECRET)",
            "--authorization-mode=RBAC",
            "--port=8080"
        ])
    );
    assert_eq!(stats.count(Redaction::CredentialArg), 3);
}
