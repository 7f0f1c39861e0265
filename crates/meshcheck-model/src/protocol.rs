//! Istio's protocol selection for service ports: `appProtocol`, then the port name's prefix
//! (`http-web` → HTTP), then well-known port numbers.

/// A protocol as Istio understands it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    Grpc,
    GrpcWeb,
    Http,
    HttpProxy,
    Http2,
    Https,
    Tcp,
    Tls,
    Udp,
    Mongo,
    Redis,
    MySql,
    /// Not named by convention: Istio falls back to protocol sniffing.
    Unsupported,
}

impl Protocol {
    /// Parses a protocol name (case-insensitive), as in a Gateway server port or a ServiceEntry.
    pub fn parse(name: &str) -> Protocol {
        match name.to_ascii_lowercase().as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "grpc" => Protocol::Grpc,
            "grpc-web" => Protocol::GrpcWeb,
            "http" => Protocol::Http,
            "http_proxy" => Protocol::HttpProxy,
            "http2" => Protocol::Http2,
            "https" => Protocol::Https,
            "tls" => Protocol::Tls,
            "mongo" => Protocol::Mongo,
            "redis" => Protocol::Redis,
            "mysql" => Protocol::MySql,
            _ => Protocol::Unsupported,
        }
    }

    /// The protocol Istio selects for a Kubernetes service port.
    pub fn of_service_port(
        port: i64,
        name: &str,
        kube_protocol: Option<&str>,
        app_protocol: Option<&str>,
    ) -> Protocol {
        if kube_protocol == Some("UDP") {
            return Protocol::Udp;
        }
        let mut name = name;
        if let Some(app_protocol) = app_protocol {
            match app_protocol {
                "kubernetes.io/h2c" => return Protocol::Http2,
                "kubernetes.io/ws" => return Protocol::Http,
                "kubernetes.io/wss" => return Protocol::Https,
                other => name = other,
            }
        }
        if name.len() >= 8 && name[..8].eq_ignore_ascii_case("grpc-web") {
            return Protocol::GrpcWeb;
        }
        let prefix = name.split('-').next().unwrap_or(name);
        match Protocol::parse(prefix) {
            Protocol::Unsupported if matches!(port, 25 | 53 | 3306 | 27017) => Protocol::Tcp,
            protocol => protocol,
        }
    }

    pub fn is_http(self) -> bool {
        matches!(
            self,
            Protocol::Http
                | Protocol::Http2
                | Protocol::HttpProxy
                | Protocol::Grpc
                | Protocol::GrpcWeb
        )
    }

    pub fn is_tcp(self) -> bool {
        matches!(
            self,
            Protocol::Tcp
                | Protocol::Https
                | Protocol::Tls
                | Protocol::Mongo
                | Protocol::Redis
                | Protocol::MySql
        )
    }

    pub fn is_tls(self) -> bool {
        matches!(self, Protocol::Https | Protocol::Tls)
    }
}

#[cfg(test)]
mod tests {
    use super::Protocol;

    #[test]
    fn port_protocol_selection() {
        assert_eq!(
            Protocol::of_service_port(80, "http-web", None, None),
            Protocol::Http
        );
        assert_eq!(
            Protocol::of_service_port(80, "web", None, None),
            Protocol::Unsupported
        );
        assert_eq!(
            Protocol::of_service_port(3306, "db", None, None),
            Protocol::Tcp
        );
        assert_eq!(
            Protocol::of_service_port(80, "web", None, Some("http")),
            Protocol::Http
        );
        assert_eq!(
            Protocol::of_service_port(80, "grpc-web-x", None, None),
            Protocol::GrpcWeb
        );
        assert_eq!(
            Protocol::of_service_port(80, "http", Some("UDP"), None),
            Protocol::Udp
        );
    }
}
