//! The kinds meshcheck knows by name. Anything else is kept as [`Kind::Other`] and stays visible to
//! rules that look at every object (annotations, deprecated APIs).

macro_rules! kinds {
    ($($variant:ident => ($group:literal, $kind:literal, $namespaced:literal),)*) => {
        /// A Kubernetes or Istio kind, identified by group and kind (the version does not matter for
        /// analysis: every served version of a kind holds the same object).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind {
            $($variant,)*
            Other,
        }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            pub fn from_group_kind(group: &str, kind: &str) -> Kind {
                match (group, kind) {
                    $(($group, $kind) => Kind::$variant,)*
                    _ => Kind::Other,
                }
            }

            pub fn group(self) -> &'static str {
                match self { $(Kind::$variant => $group,)* Kind::Other => "" }
            }

            /// The kind's name as written in manifests.
            pub fn name(self) -> &'static str {
                match self { $(Kind::$variant => $kind,)* Kind::Other => "Other" }
            }

            /// Whether objects of this kind live in a namespace.
            pub fn is_namespaced(self) -> bool {
                match self { $(Kind::$variant => $namespaced,)* Kind::Other => true }
            }
        }
    };
}

kinds! {
    Namespace => ("", "Namespace", false),
    Node => ("", "Node", false),
    Pod => ("", "Pod", true),
    Service => ("", "Service", true),
    Endpoints => ("", "Endpoints", true),
    ServiceAccount => ("", "ServiceAccount", true),
    ConfigMap => ("", "ConfigMap", true),
    Secret => ("", "Secret", true),
    Event => ("", "Event", true),
    EventsEvent => ("events.k8s.io", "Event", true),
    EndpointSlice => ("discovery.k8s.io", "EndpointSlice", true),
    Deployment => ("apps", "Deployment", true),
    StatefulSet => ("apps", "StatefulSet", true),
    DaemonSet => ("apps", "DaemonSet", true),
    ReplicaSet => ("apps", "ReplicaSet", true),
    Job => ("batch", "Job", true),
    CronJob => ("batch", "CronJob", true),
    HorizontalPodAutoscaler => ("autoscaling", "HorizontalPodAutoscaler", true),
    PodDisruptionBudget => ("policy", "PodDisruptionBudget", true),
    NetworkPolicy => ("networking.k8s.io", "NetworkPolicy", true),
    Ingress => ("networking.k8s.io", "Ingress", true),
    MutatingWebhookConfiguration => ("admissionregistration.k8s.io", "MutatingWebhookConfiguration", false),
    ValidatingWebhookConfiguration => ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", false),
    CustomResourceDefinition => ("apiextensions.k8s.io", "CustomResourceDefinition", false),
    ClusterRole => ("rbac.authorization.k8s.io", "ClusterRole", false),
    ClusterRoleBinding => ("rbac.authorization.k8s.io", "ClusterRoleBinding", false),
    Role => ("rbac.authorization.k8s.io", "Role", true),
    RoleBinding => ("rbac.authorization.k8s.io", "RoleBinding", true),
    VirtualService => ("networking.istio.io", "VirtualService", true),
    DestinationRule => ("networking.istio.io", "DestinationRule", true),
    Gateway => ("networking.istio.io", "Gateway", true),
    ServiceEntry => ("networking.istio.io", "ServiceEntry", true),
    Sidecar => ("networking.istio.io", "Sidecar", true),
    EnvoyFilter => ("networking.istio.io", "EnvoyFilter", true),
    WorkloadEntry => ("networking.istio.io", "WorkloadEntry", true),
    WorkloadGroup => ("networking.istio.io", "WorkloadGroup", true),
    ProxyConfig => ("networking.istio.io", "ProxyConfig", true),
    PeerAuthentication => ("security.istio.io", "PeerAuthentication", true),
    RequestAuthentication => ("security.istio.io", "RequestAuthentication", true),
    AuthorizationPolicy => ("security.istio.io", "AuthorizationPolicy", true),
    Telemetry => ("telemetry.istio.io", "Telemetry", true),
    WasmPlugin => ("extensions.istio.io", "WasmPlugin", true),
    IstioOperator => ("install.istio.io", "IstioOperator", true),
    GatewayClass => ("gateway.networking.k8s.io", "GatewayClass", false),
    KubernetesGateway => ("gateway.networking.k8s.io", "Gateway", true),
    HttpRoute => ("gateway.networking.k8s.io", "HTTPRoute", true),
    GrpcRoute => ("gateway.networking.k8s.io", "GRPCRoute", true),
    TcpRoute => ("gateway.networking.k8s.io", "TCPRoute", true),
    TlsRoute => ("gateway.networking.k8s.io", "TLSRoute", true),
    UdpRoute => ("gateway.networking.k8s.io", "UDPRoute", true),
    ReferenceGrant => ("gateway.networking.k8s.io", "ReferenceGrant", true),
    BackendTlsPolicy => ("gateway.networking.k8s.io", "BackendTLSPolicy", true),
    InferencePool => ("inference.networking.k8s.io", "InferencePool", true),
    // Controllers that produce Secrets from objects kept in Git: a Secret they write is not among
    // the manifests, so rules that look Secrets up by name need to know them.
    Certificate => ("cert-manager.io", "Certificate", true),
    ExternalSecret => ("external-secrets.io", "ExternalSecret", true),
    SealedSecret => ("bitnami.com", "SealedSecret", true),
}

impl Kind {
    /// Whether the kind belongs to one of Istio's API groups.
    pub fn is_istio(self) -> bool {
        self.group().ends_with("istio.io")
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn same_kind_name_in_two_groups_stays_apart() {
        assert_eq!(
            Kind::from_group_kind("networking.istio.io", "Gateway"),
            Kind::Gateway
        );
        assert_eq!(
            Kind::from_group_kind("gateway.networking.k8s.io", "Gateway"),
            Kind::KubernetesGateway
        );
        assert_eq!(Kind::from_group_kind("example.com", "Gateway"), Kind::Other);
        assert_eq!(
            Kind::from_group_kind("cert-manager.io", "Certificate"),
            Kind::Certificate
        );
        assert_eq!(
            Kind::from_group_kind("example.com", "Certificate"),
            Kind::Other
        );
        assert!(!Kind::Namespace.is_namespaced());
    }
}
