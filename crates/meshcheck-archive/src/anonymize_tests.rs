use meshcheck_input::Object;
use meshcheck_model::{Kind, Mesh, MeshInputs};
use serde_json::{Value, json};

use super::*;

fn shop() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": "shop", "labels": {"istio-injection": "enabled", "kubernetes.io/metadata.name": "shop"}}}),
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "reviews", "namespace": "shop", "labels": {"app": "reviews", "corp.example.com/team": "checkout"}},
               "spec": {"selector": {"app": "reviews"}, "ports": [{"name": "http", "port": 9080, "targetPort": 9080}]}}),
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "reviews-v1-5b7d8-x2x9z", "namespace": "shop",
                            "labels": {"app": "reviews", "version": "v1", "security.istio.io/tlsMode": "istio"},
                            "annotations": {"sidecar.istio.io/status": "{\"containers\":[\"istio-proxy\"]}", "corp.example.com/owner": "alice@example.com"}},
               "spec": {"serviceAccountName": "reviews", "containers": [
                   {"name": "reviews", "image": "registry.example.com/shop/reviews:1.20.1", "ports": [{"containerPort": 9080, "name": "http"}]},
                   {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.22.0"}]}}),
        json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
               "metadata": {"name": "reviews", "namespace": "shop"},
               "spec": {"hosts": ["reviews.shop.svc.cluster.local"], "gateways": ["shop/shop-gateway", "mesh"],
                        "http": [{"route": [{"destination": {"host": "reviews", "subset": "v1", "port": {"number": 9080}}}]}]}}),
        json!({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
               "metadata": {"name": "reviews", "namespace": "shop"},
               "spec": {"host": "reviews", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}}),
        json!({"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
               "metadata": {"name": "payments-api", "namespace": "shop"},
               "spec": {"hosts": ["api.example.com", "*.payments.example.com"], "ports": [{"number": 443, "name": "https", "protocol": "TLS"}]}}),
        json!({"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
               "metadata": {"name": "shop-gateway", "namespace": "shop"},
               "spec": {"selector": {"istio": "ingressgateway"},
                        "servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["shop/*.example.com"],
                                     "tls": {"mode": "SIMPLE", "credentialName": "shop-cert"}}]}}),
        json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
               "metadata": {"name": "reviews-viewer", "namespace": "shop"},
               "spec": {"selector": {"matchLabels": {"app": "reviews"}},
                        "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/reviews"], "namespaces": ["istio-system"]}}]}]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "istiod", "namespace": "istio-system", "labels": {"app": "istiod", "istio.io/rev": "default"}},
               "spec": {"selector": {"matchExpressions": [{"key": "corp.example.com/team", "operator": "In", "values": ["checkout"]}]},
                        "template": {"metadata": {"labels": {"app": "istiod"}}, "spec": {"containers": [{"name": "discovery"}]}}}}),
    ]
}

fn anonymized(key: &str, objects: &[Value]) -> Vec<Value> {
    let mut anonymizer = Anonymizer::with_key(key);
    objects.iter().for_each(|object| anonymizer.learn(object));
    let mut objects = objects.to_vec();
    objects
        .iter_mut()
        .for_each(|object| anonymizer.apply(object));
    objects
}

#[test]
fn identifying_text_does_not_survive() {
    let text = serde_json::to_string(&anonymized("k", &shop())).unwrap();
    for secret in [
        "reviews", "shop", "example", "payments", "checkout", "alice", "x2x9z",
    ] {
        assert!(!text.contains(secret), "{secret} survived: {text}");
    }
}

#[test]
fn structure_and_configuration_stay_readable() {
    let objects = anonymized("k", &shop());
    let text = serde_json::to_string(&objects).unwrap();
    for kept in [
        "\"istio-injection\":\"enabled\"",
        "\"version\":\"v1\"",
        "svc.cluster.local\"",
        "\"name\":\"http\"",
        "\"istio-system\"",
        "\"istio\":\"ingressgateway\"",
        "\"mesh\"",
        "proxyv2:1.22.0",
        "\"app\":\"istiod\"",
        "\"istio.io/rev\":\"default\"",
        "\"security.istio.io/tlsMode\":\"istio\"",
        "\"protocol\":\"TLS\"",
        "\"istio-proxy\"",
        "\"subset\":\"v1\"",
    ] {
        assert!(text.contains(kept), "{kept} lost: {text}");
    }
    let entry = &objects[5];
    let hosts: Vec<&str> = entry["spec"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        hosts[0].ends_with(".com") && hosts[0].starts_with('x'),
        "{hosts:?}"
    );
    assert!(
        hosts[1].starts_with("*.x") && hosts[1].ends_with(".com"),
        "{hosts:?}"
    );
    assert_eq!(hosts[1].split('.').count(), 4);
}

#[test]
fn references_still_resolve() {
    let objects = anonymized("k", &shop());
    let service = &objects[1];
    let service_name = service["metadata"]["name"].as_str().unwrap().to_owned();
    let namespace = service["metadata"]["namespace"]
        .as_str()
        .unwrap()
        .to_owned();
    let service_name = service_name.as_str();
    let namespace = namespace.as_str();
    let virtual_service = &objects[3];
    assert_eq!(
        virtual_service["spec"]["hosts"][0],
        format!("{service_name}.{namespace}.svc.cluster.local")
    );
    assert_eq!(
        virtual_service["spec"]["http"][0]["route"][0]["destination"]["host"],
        service_name
    );
    let gateway_name = objects[6]["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        virtual_service["spec"]["gateways"][0],
        format!("{namespace}/{gateway_name}")
    );
    let pod = &objects[2];
    assert_eq!(
        objects[7]["spec"]["rules"][0]["from"][0]["source"]["principals"][0],
        format!(
            "cluster.local/ns/{namespace}/sa/{}",
            pod["spec"]["serviceAccountName"].as_str().unwrap()
        )
    );
    // The custom label key is rewritten the same in labels and in selector requirements.
    let label_key = service["metadata"]["labels"]
        .as_object()
        .unwrap()
        .keys()
        .find(|key| key.contains('/'))
        .unwrap()
        .clone();
    assert_eq!(
        objects[8]["spec"]["selector"]["matchExpressions"][0]["key"],
        label_key.as_str()
    );
    assert_eq!(
        objects[8]["spec"]["selector"]["matchExpressions"][0]["values"][0],
        service["metadata"]["labels"][&label_key]
    );

    // The model sees the same mesh: the selector selects the pod, the host finds the Service.
    let objects: Vec<Object> = objects
        .clone()
        .into_iter()
        .map(|value| Object::from_value(value.into(), None).unwrap())
        .collect();
    let mesh = Mesh::build(objects, MeshInputs::default());
    let service = mesh.get(Kind::Service, namespace, service_name).unwrap();
    let selector = service
        .value()
        .pointer("/spec/selector")
        .unwrap()
        .as_object()
        .unwrap();
    assert_eq!(mesh.pods_matching(Some(namespace), selector).len(), 1);
    let target = mesh.hosts.lookup(namespace, &[], service_name).unwrap();
    assert_eq!(target.kind, Kind::Service);
}

#[test]
fn the_same_key_gives_the_same_names_and_another_key_does_not() {
    assert_eq!(anonymized("k", &shop()), anonymized("k", &shop()));
    assert_ne!(anonymized("k", &shop()), anonymized("other", &shop()));
    let random = Anonymizer::with_random_key().unwrap();
    assert_ne!(
        random.hash_token("reviews"),
        Anonymizer::with_key("k").hash_token("reviews")
    );
    let hashed = Anonymizer::with_key("k").hash_token("reviews");
    assert_eq!(hashed.len(), 11);
    assert!(hashed.starts_with('x') && hashed[1..].bytes().all(|byte| byte.is_ascii_hexdigit()));
}

#[test]
fn free_text_is_rewritten_token_by_token() {
    let mut anonymizer = Anonymizer::with_key("k");
    anonymizer.learn(&shop()[1]);
    let reviews = anonymizer.hash_token("reviews");
    let shop = anonymizer.hash_token("shop");
    assert_eq!(
        anonymizer.apply_text(
            "cluster.outbound|9080||reviews.shop.svc.cluster.local.upstream_cx_total: 3"
        ),
        format!("cluster.outbound|9080||{reviews}.{shop}.svc.cluster.local.upstream_cx_total: 3")
    );
    assert_eq!(
        anonymizer.apply_text("reviewsx shopping"),
        "reviewsx shopping"
    );
}

#[test]
fn identifiers_exclude_versions_numbers_and_components() {
    for kept in [
        "v1",
        "v1beta1",
        "v2alpha3",
        "9080",
        "istio-ingressgateway",
        "istiod-1-22",
        "default",
        "ab",
    ] {
        assert!(!is_identifier(kept), "{kept}");
    }
    for hashed in ["reviews", "vendor", "v1-api", "productpage"] {
        assert!(is_identifier(hashed), "{hashed}");
    }
}
