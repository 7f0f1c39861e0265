//! A VirtualService's routes and destinations, read once when the mesh is built: a dozen rules
//! walk every route of every VirtualService, and searching the same JSON keys again in each of
//! them was most of their time.

use meshcheck_input::Value;

use crate::resource::{items, str_field};

/// Where a destination sits in a VirtualService.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DestinationKind {
    /// `spec.<http|tcp|tls>[i].route[j].destination`.
    Route(&'static str),
    /// `spec.http[i].mirror`.
    Mirror,
    /// `spec.http[i].mirrors[j].destination`.
    Mirrors,
}

/// One destination of a VirtualService with its position and its fields.
#[derive(Clone, Copy, Debug)]
pub struct Destination<'a> {
    pub kind: DestinationKind,
    /// The index of the rule in its section.
    pub rule: usize,
    /// The index of the destination in the rule's `route` or `mirrors` (0 for `mirror`).
    pub index: usize,
    /// The `Destination` object (`host`, `subset`, `port`).
    pub value: &'a Value,
    /// `host` (`""` when missing).
    pub host: &'a str,
    /// `subset` (`""` when missing).
    pub subset: &'a str,
    /// `port.number` when a `port` is given (a `port` without a number reads as 0, as in Istio).
    pub port: Option<u64>,
}

impl<'a> Destination<'a> {
    fn read(kind: DestinationKind, rule: usize, index: usize, value: &'a Value) -> Self {
        Destination {
            kind,
            rule,
            index,
            value,
            host: str_field(value, "host").unwrap_or_default(),
            subset: str_field(value, "subset").unwrap_or_default(),
            port: value
                .get("port")
                .filter(|port| !port.is_null())
                .map(|port| port.get("number").and_then(Value::as_u64).unwrap_or(0)),
        }
    }

    pub fn is_mirror(&self) -> bool {
        !matches!(self.kind, DestinationKind::Route(_))
    }

    /// The field path of the destination's host, for locating findings.
    pub fn path(&self) -> Vec<String> {
        let rule = self.rule.to_string();
        let index = self.index.to_string();
        let parts: Vec<&str> = match self.kind {
            DestinationKind::Route(section) => vec![
                "spec",
                section,
                &rule,
                "route",
                &index,
                "destination",
                "host",
            ],
            DestinationKind::Mirror => vec!["spec", "http", &rule, "mirror", "host"],
            DestinationKind::Mirrors => {
                vec![
                    "spec",
                    "http",
                    &rule,
                    "mirrors",
                    &index,
                    "destination",
                    "host",
                ]
            }
        };
        parts.into_iter().map(str::to_owned).collect()
    }

    /// A short description of where the destination is, e.g. `http[0].route[1]`.
    pub fn location(&self) -> String {
        match self.kind {
            DestinationKind::Route(section) => {
                format!("{section}[{}].route[{}]", self.rule, self.index)
            }
            DestinationKind::Mirror => format!("http[{}].mirror", self.rule),
            DestinationKind::Mirrors => format!("http[{}].mirrors[{}]", self.rule, self.index),
        }
    }
}

/// One `spec.http[i]` entry.
#[derive(Debug)]
pub struct HttpRoute<'a> {
    pub index: usize,
    pub value: &'a Value,
    /// `name` (`""` when missing).
    pub name: &'a str,
    /// `timeout` as written.
    pub timeout: Option<&'a str>,
    /// The `retries` block, when it is an object.
    pub retries: Option<&'a Value>,
    /// Whether the route forwards to destinations (not a redirect or a direct response).
    pub forwards: bool,
    /// The destination hosts of `route`, in order.
    pub hosts: Vec<&'a str>,
}

/// The routes of a VirtualService.
#[derive(Debug, Default)]
pub struct Routes<'a> {
    /// `spec.http`, in order.
    pub http: Vec<HttpRoute<'a>>,
    /// Route destinations in Istio's order: every TCP route, then TLS, then HTTP.
    pub destinations: Vec<Destination<'a>>,
    /// HTTP mirror destinations (`mirror`, then `mirrors`, per rule).
    pub mirrors: Vec<Destination<'a>>,
}

impl<'a> Routes<'a> {
    pub(crate) fn of(spec: &'a Value) -> Routes<'a> {
        let mut routes = Routes::default();
        for section in ["tcp", "tls", "http"] {
            for (rule, route) in items(spec.get(section)).enumerate() {
                for (index, weighted) in items(route.get("route")).enumerate() {
                    let value = weighted.get("destination").unwrap_or(&Value::Null);
                    routes.destinations.push(Destination::read(
                        DestinationKind::Route(section),
                        rule,
                        index,
                        value,
                    ));
                }
            }
        }
        for (rule, route) in items(spec.get("http")).enumerate() {
            if let Some(mirror) = route.get("mirror").filter(|mirror| !mirror.is_null()) {
                routes
                    .mirrors
                    .push(Destination::read(DestinationKind::Mirror, rule, 0, mirror));
            }
            for (index, mirror) in items(route.get("mirrors")).enumerate() {
                let value = mirror.get("destination").unwrap_or(&Value::Null);
                routes.mirrors.push(Destination::read(
                    DestinationKind::Mirrors,
                    rule,
                    index,
                    value,
                ));
            }
            let forwards_somewhere = items(route.get("route")).next().is_some();
            routes.http.push(HttpRoute {
                index: rule,
                value: route,
                name: str_field(route, "name").unwrap_or_default(),
                timeout: str_field(route, "timeout"),
                retries: route.get("retries").filter(|retries| retries.is_object()),
                forwards: forwards_somewhere
                    && route.get("redirect").is_none()
                    && route.get("directResponse").is_none(),
                hosts: items(route.get("route"))
                    .filter_map(|weighted| weighted.get("destination"))
                    .filter_map(|destination| str_field(destination, "host"))
                    .collect(),
            });
        }
        routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_input::json;

    #[test]
    fn reads_destinations_in_istios_order_and_the_http_routes() {
        let spec = json!({
            "http": [
                {"name": "main", "timeout": "5s", "retries": {"attempts": 3},
                 "route": [{"destination": {"host": "web", "subset": "v1", "port": {"number": 80}}}],
                 "mirror": {"host": "shadow"}},
                {"redirect": {"uri": "/"}, "route": [{"destination": {"host": "web"}}],
                 "mirrors": [{"destination": {"host": "copy", "port": {}}}]}
            ],
            "tcp": [{"route": [{"destination": {"host": "db"}}]}]
        });
        let routes = Routes::of(&spec);
        let hosts: Vec<_> = routes.destinations.iter().map(|d| d.host).collect();
        assert_eq!(hosts, ["db", "web", "web"]);
        assert_eq!(routes.destinations[0].kind, DestinationKind::Route("tcp"));
        assert_eq!(
            (routes.destinations[1].subset, routes.destinations[1].port),
            ("v1", Some(80))
        );
        let mirrors: Vec<_> = routes
            .mirrors
            .iter()
            .map(|d| (d.kind, d.rule, d.host, d.port))
            .collect();
        assert_eq!(
            mirrors,
            [
                (DestinationKind::Mirror, 0, "shadow", None),
                (DestinationKind::Mirrors, 1, "copy", Some(0))
            ]
        );
        let main = &routes.http[0];
        assert_eq!(
            (main.name, main.timeout, main.forwards),
            ("main", Some("5s"), true)
        );
        assert!(main.retries.is_some());
        assert!(!routes.http[1].forwards);
        assert_eq!(routes.http[1].hosts, ["web"]);
    }
}
