use serde_json::{Value, json};

/// The size of the mesh to generate.
#[derive(Debug, Clone, Copy)]
pub struct MeshShape {
    pub namespaces: usize,
    pub services_per_namespace: usize,
    pub pods_per_service: usize,
    /// Plant one fault every this many services (0: none).
    pub fault_every: usize,
}

impl Default for MeshShape {
    /// 100 × 50 × 5: about 55,000 objects, like a large production cluster.
    fn default() -> Self {
        MeshShape {
            namespaces: 100,
            services_per_namespace: 50,
            pods_per_service: 5,
            fault_every: 5,
        }
    }
}

/// A planted fault: what a correct analysis must report.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fault {
    /// The code a finding on the faulty object carries: its `code` (`MC203`) or `istio_code`
    /// (`IST0101`).
    pub code: &'static str,
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub what: &'static str,
}

/// The generated objects, one file per namespace (plus `istio-system`), and the planted faults.
pub struct GeneratedMesh {
    pub files: Vec<(String, Vec<Value>)>,
    pub faults: Vec<Fault>,
}

impl GeneratedMesh {
    pub fn object_count(&self) -> usize {
        self.files
            .iter()
            .map(|(_, documents)| documents.len())
            .sum()
    }
}

fn control_plane() -> Vec<Value> {
    let mesh = "accessLogFile: /dev/stdout\nenableTracing: true\ndefaultConfig:\n  holdApplicationUntilProxyStarts: true\nrootNamespace: istio-system\n";
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "istio-system"},
               "data": {"mesh": mesh}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system", "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"}},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"istio": "ingressgateway"}},
                        "template": {"metadata": {"labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"}},
                                     "spec": {"containers": [{"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.28.1"}]}}}}),
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "istio-ingressgateway-0", "namespace": "istio-system", "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"}},
               "spec": {"containers": [{"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.28.1"}]}}),
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system", "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"}},
               "spec": {"type": "LoadBalancer", "selector": {"istio": "ingressgateway"},
                        "ports": [{"name": "http2", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                                  {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}]}}),
    ]
}

/// Generates the mesh. Deterministic: the same shape always gives the same objects.
pub fn generate(shape: MeshShape) -> GeneratedMesh {
    let mut files = vec![("istio-system.yaml".to_owned(), control_plane())];
    let mut faults = Vec::new();
    let mut service_counter = 0usize;
    for n in 0..shape.namespaces {
        let ns = format!("team-{n:03}");
        let mut docs = vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"istio-injection": "enabled"}}}),
            json!({"apiVersion": "networking.istio.io/v1", "kind": "Sidecar", "metadata": {"name": "default", "namespace": ns},
                   "spec": {"egress": [{"hosts": ["./*", "istio-system/*"]}]}}),
            json!({"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "ingress", "namespace": ns},
                   "spec": {"selector": {"istio": "ingressgateway"},
                            "servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": [format!("{ns}.example.com")]}]}}),
        ];
        for s in 0..shape.services_per_namespace {
            service_counter += 1;
            let fault = (shape.fault_every > 0
                && service_counter.is_multiple_of(shape.fault_every))
            .then(|| (service_counter / shape.fault_every) % 7);
            let app = format!("svc-{s:02}");
            let labels = |version: &str| json!({"app": app, "version": version});
            let port_name = if fault == Some(5) { "web" } else { "http-web" };
            if fault == Some(5) {
                faults.push(Fault {
                    code: "IST0118",
                    kind: "Service",
                    namespace: ns.clone(),
                    name: app.clone(),
                    what: "port without protocol",
                });
            }
            docs.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": app, "namespace": ns}}));
            docs.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": ns, "labels": {"app": app}},
                             "spec": {"selector": {"app": app}, "ports": [{"name": port_name, "port": 8080, "targetPort": 8080, "protocol": "TCP"}]}}));
            docs.push(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("{app}-v1"), "namespace": ns, "labels": labels("v1")},
                             "spec": {"replicas": shape.pods_per_service, "selector": {"matchLabels": labels("v1")},
                                      "template": {"metadata": {"labels": labels("v1")},
                                                   "spec": {"serviceAccountName": app,
                                                            "containers": [{"name": "app", "image": format!("registry.example.com/{app}:1.4.2"),
                                                                            "ports": [{"containerPort": 8080}],
                                                                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}}));
            for p in 0..shape.pods_per_service {
                let version = if p % 2 == 0 { "v1" } else { "v2" };
                docs.push(json!({"apiVersion": "v1", "kind": "Pod",
                                 "metadata": {"name": format!("{app}-{version}-{p:04}"), "namespace": ns, "labels": labels(version),
                                              "annotations": {"sidecar.istio.io/status": "{\"initContainers\":[\"istio-init\"],\"containers\":[\"istio-proxy\"]}"}},
                                 "spec": {"serviceAccountName": app,
                                          "containers": [{"name": "app", "image": format!("registry.example.com/{app}:1.4.2")},
                                                         {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.28.1",
                                                          "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}}}]}}));
            }
            let (route_host, route_subset) = match fault {
                Some(0) => {
                    faults.push(Fault {
                        code: "IST0101",
                        kind: "VirtualService",
                        namespace: ns.clone(),
                        name: app.clone(),
                        what: "route to an undefined subset",
                    });
                    (app.clone(), "v3")
                }
                Some(1) => {
                    faults.push(Fault {
                        code: "IST0101",
                        kind: "VirtualService",
                        namespace: ns.clone(),
                        name: app.clone(),
                        what: "route to a host that does not exist",
                    });
                    (format!("{app}-missing"), "v1")
                }
                _ => (app.clone(), "v1"),
            };
            docs.push(json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": app, "namespace": ns},
                             "spec": {"hosts": [app], "http": [{
                                 "match": [{"uri": {"prefix": "/api"}}],
                                 "route": [{"destination": {"host": route_host, "subset": route_subset}, "weight": 90},
                                           {"destination": {"host": app, "subset": "v2"}, "weight": 10}],
                                 "timeout": "5s", "retries": {"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx,reset"}},
                                 {"route": [{"destination": {"host": app, "subset": "v1"}}]}]}}));
            let v2_labels = if fault == Some(2) {
                faults.push(Fault {
                    code: "IST0173",
                    kind: "DestinationRule",
                    namespace: ns.clone(),
                    name: app.clone(),
                    what: "subset selecting no pods",
                });
                json!({"version": "v2-canary"})
            } else {
                json!({"version": "v2"})
            };
            let mut traffic_policy = json!({"outlierDetection": {"consecutive5xxErrors": 5, "interval": "10s", "baseEjectionTime": "30s"},
                                            "connectionPool": {"http": {"http2MaxRequests": 1000}}});
            if fault == Some(6) {
                faults.push(Fault {
                    code: "MC203",
                    kind: "DestinationRule",
                    namespace: ns.clone(),
                    name: app.clone(),
                    what: "TLS disabled towards mesh workloads",
                });
                traffic_policy["tls"] = json!({"mode": "DISABLE"});
            }
            docs.push(json!({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": app, "namespace": ns},
                             "spec": {"host": app,
                                      "trafficPolicy": traffic_policy,
                                      "subsets": [{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": v2_labels}]}}));
            let policy_app = if fault == Some(3) {
                faults.push(Fault {
                    code: "IST0127",
                    kind: "AuthorizationPolicy",
                    namespace: ns.clone(),
                    name: app.clone(),
                    what: "selector matching no workload",
                });
                format!("{app}-old")
            } else {
                app.clone()
            };
            docs.push(json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": {"name": app, "namespace": ns},
                             "spec": {"selector": {"matchLabels": {"app": policy_app}}, "action": "ALLOW",
                                      "rules": [{"from": [{"source": {"principals": [format!("cluster.local/ns/{ns}/sa/frontend")]}}],
                                                 "to": [{"operation": {"methods": ["GET", "POST"], "paths": ["/api/*"]}}]}]}}));
            if fault == Some(4) {
                faults.push(Fault {
                    code: "IST0101",
                    kind: "Sidecar",
                    namespace: ns.clone(),
                    name: format!("{app}-egress"),
                    what: "workload selector matching no pods",
                });
                docs.push(json!({"apiVersion": "networking.istio.io/v1", "kind": "Sidecar", "metadata": {"name": format!("{app}-egress"), "namespace": ns},
                                 "spec": {"workloadSelector": {"labels": {"app": format!("{app}-legacy")}}, "egress": [{"hosts": ["./*"]}]}}));
            }
        }
        files.push((format!("{ns}.yaml"), docs));
    }
    GeneratedMesh { files, faults }
}
