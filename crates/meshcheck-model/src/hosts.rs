//! Istio host names: short names, FQDNs, wildcards, and which Services and ServiceEntries a host
//! resolves to from a given namespace (honouring `exportTo` and `networking.istio.io/exportTo`).

use rustc_hash::FxHashMap;

use meshcheck_input::Value;

use crate::resource::{ResourceId, items, str_field, strings};
use crate::{Kind, Resource};

/// The cluster's DNS suffix for services (Istio's analyzers assume the default domain).
pub const CLUSTER_DOMAIN: &str = "svc.cluster.local";

/// Expands a short host (`reviews`) to `reviews.<ns>.svc.cluster.local`; hosts with a dot and
/// wildcards are kept as written.
pub fn to_fqdn(namespace: &str, host: &str) -> String {
    if host.starts_with('*') || host.contains('.') {
        host.to_owned()
    } else {
        // Pushed piece by piece: `format!` costs ten times more, and rules call this per route.
        let mut fqdn =
            String::with_capacity(host.len() + namespace.len() + CLUSTER_DOMAIN.len() + 2);
        for piece in [host, ".", namespace, ".", CLUSTER_DOMAIN] {
            fqdn.push_str(piece);
        }
        fqdn
    }
}

/// Splits `name.namespace.svc.cluster.local` into (name, namespace).
pub fn fqdn_parts(fqdn: &str) -> Option<(&str, &str)> {
    let rest = fqdn.strip_suffix(".svc.cluster.local")?;
    let (name, namespace) = rest.rsplit_once('.')?;
    (!name.is_empty() && !namespace.is_empty()).then_some((name, namespace))
}

/// Whether host `a` matches host `b` where either may be a wildcard (`*.example.com`, `*`).
pub fn hosts_intersect(a: &str, b: &str) -> bool {
    if a == b || a == "*" || b == "*" {
        return true;
    }
    match (a.strip_prefix('*'), b.strip_prefix('*')) {
        (Some(a_suffix), Some(b_suffix)) => {
            a_suffix.ends_with(b_suffix) || b_suffix.ends_with(a_suffix)
        }
        (Some(a_suffix), None) => b.ends_with(a_suffix),
        (None, Some(b_suffix)) => a.ends_with(b_suffix),
        (None, None) => false,
    }
}

/// Whether `host` is covered by `pattern` (a wildcard pattern covers the hosts below it).
pub fn host_covered_by(host: &str, pattern: &str) -> bool {
    if pattern == "*" || host == pattern {
        return true;
    }
    match pattern.strip_prefix('*') {
        Some(suffix) => host.strip_prefix('*').unwrap_or(host).ends_with(suffix),
        None => false,
    }
}

/// A set of host patterns answering [`host_covered_by`] for any of them without scanning them
/// all: exact hosts by hash, wildcards by suffix.
#[derive(Debug, Default, Clone)]
pub struct HostPatterns {
    exact: std::collections::HashSet<String>,
    wildcard_suffixes: Vec<String>,
    everything: bool,
}

impl HostPatterns {
    pub fn new<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> HostPatterns {
        let mut set = HostPatterns::default();
        for pattern in patterns {
            let pattern = pattern.as_ref();
            if pattern == "*" {
                set.everything = true;
            } else if let Some(suffix) = pattern.strip_prefix('*') {
                set.wildcard_suffixes.push(suffix.to_owned());
            } else {
                set.exact.insert(pattern.to_owned());
            }
        }
        set
    }

    /// Whether any pattern covers `host`.
    pub fn covers(&self, host: &str) -> bool {
        if self.everything || self.exact.contains(host) {
            return true;
        }
        let bare = host.strip_prefix('*').unwrap_or(host);
        self.wildcard_suffixes
            .iter()
            .any(|suffix| bare.ends_with(suffix.as_str()))
    }
}

/// One port a host serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPort {
    pub number: u32,
    pub name: String,
    pub protocol: String,
}

/// What a host resolves to.
#[derive(Clone, Debug)]
pub struct HostTarget {
    pub resource: ResourceId,
    pub kind: Kind,
    pub ports: Vec<HostPort>,
}

/// The index of every host a Service or ServiceEntry defines, by visibility scope.
#[derive(Debug, Default)]
pub struct HostIndex {
    /// fqdn → (scope, target) for each scope it is visible in: `*` (all namespaces) or a
    /// namespace name. Keyed by the FQDN alone so that a lookup hashes one string it already
    /// has and allocates nothing more.
    exact: FxHashMap<String, Vec<(String, HostTarget)>>,
    /// Wildcard hosts: (scope, suffix without the leading `*`, target).
    wildcards: Vec<(String, String, HostTarget)>,
}

fn ports_of(resource: &Resource) -> Vec<HostPort> {
    let number_key = if resource.kind == Kind::Service {
        "port"
    } else {
        "number"
    };
    items(resource.spec().get("ports"))
        .map(|port| HostPort {
            number: port.get(number_key).and_then(Value::as_u64).unwrap_or(0) as u32,
            name: str_field(port, "name").unwrap_or_default().to_owned(),
            protocol: str_field(port, "protocol").unwrap_or_default().to_owned(),
        })
        .collect()
}

impl HostIndex {
    /// Builds the index: ServiceEntries first, then Services (a Service wins on the same key,
    /// as in Istio's analyzers).
    pub fn build<'a>(
        service_entries: impl Iterator<Item = (ResourceId, &'a Resource)>,
        services: impl Iterator<Item = (ResourceId, &'a Resource)>,
    ) -> HostIndex {
        let mut index = HostIndex::default();
        for (id, entry) in service_entries {
            let target = HostTarget {
                resource: id,
                kind: Kind::ServiceEntry,
                ports: ports_of(entry),
            };
            let scopes = service_entry_scopes(entry);
            for host in strings(entry.spec().get("hosts")) {
                let fqdn = to_fqdn(&entry.namespace, host);
                for scope in &scopes {
                    index.insert(scope.clone(), fqdn.clone(), target.clone());
                }
            }
        }
        for (id, service) in services {
            let target = HostTarget {
                resource: id,
                kind: Kind::Service,
                ports: ports_of(service),
            };
            let fqdn = to_fqdn(&service.namespace, service.name());
            for scope in service_scopes(service) {
                index.insert(scope, fqdn.clone(), target.clone());
            }
        }
        index
    }

    fn insert(&mut self, scope: String, fqdn: String, target: HostTarget) {
        if let Some(suffix) = fqdn.strip_prefix('*') {
            self.wildcards
                .push((scope.clone(), suffix.to_owned(), target.clone()));
        }
        let scopes = self.exact.entry(fqdn).or_default();
        match scopes.iter_mut().find(|(known, _)| *known == scope) {
            Some((_, known)) => *known = target,
            None => scopes.push((scope, target)),
        }
    }

    /// Resolves `host` as written in an object of namespace `source_ns` whose `exportTo` is
    /// `export_to`: first hosts visible everywhere, then hosts scoped to the namespaces the object
    /// is exported to (its own when none), then wildcard hosts.
    pub fn lookup(&self, source_ns: &str, export_to: &[&str], host: &str) -> Option<&HostTarget> {
        let fqdn = to_fqdn(source_ns, host);
        if let Some(scopes) = self.exact.get(&fqdn) {
            let in_scope = |wanted: &str| {
                scopes
                    .iter()
                    .find(|(scope, _)| scope == wanted)
                    .map(|(_, target)| target)
            };
            if let Some(target) = in_scope("*") {
                return Some(target);
            }
            let exported = export_to
                .iter()
                .map(|scope| if *scope == "." { source_ns } else { scope });
            let mut wanted = std::iter::once(source_ns)
                .filter(|_| export_to.is_empty())
                .chain(exported);
            if let Some(target) = wanted.find_map(in_scope) {
                return Some(target);
            }
        }
        let bare = fqdn.strip_prefix('*').unwrap_or(&fqdn);
        self.wildcards
            .iter()
            .filter(|(scope, _, _)| scope == "*" || scope == source_ns)
            .find(|(_, suffix, _)| bare.ends_with(suffix.as_str()))
            .map(|(_, _, target)| target)
    }
}

/// The scopes a ServiceEntry's hosts are visible in: `*` when exported everywhere (or when
/// `exportTo` is empty), else the namespaces it names (`.` is its own).
pub fn service_entry_scopes(entry: &Resource) -> Vec<String> {
    let export_to = entry.export_to();
    if export_to.is_empty() || export_to.contains(&"*") {
        return vec!["*".to_owned()];
    }
    let mut scopes: Vec<String> = export_to
        .iter()
        .map(|scope| match *scope {
            "." => entry.namespace.clone(),
            other => other.to_owned(),
        })
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}

/// The namespaces a Service is visible from, per its `networking.istio.io/exportTo` annotation.
pub fn service_scopes(service: &Resource) -> Vec<String> {
    match service.annotation("networking.istio.io/exportTo") {
        None | Some("") => vec!["*".to_owned()],
        Some(list) => list
            .split(',')
            .map(str::trim)
            .map(|scope| {
                if scope == "." {
                    service.namespace.clone()
                } else {
                    scope.to_owned()
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns_agree_with_host_covered_by() {
        let patterns = [
            "reviews.shop.svc.cluster.local",
            "*.bank.com",
            "*.svc.cluster.local",
        ];
        let set = HostPatterns::new(patterns);
        for host in [
            "reviews.shop.svc.cluster.local",
            "ratings.shop.svc.cluster.local",
            "a.bank.com",
            "*.bank.com",
            "bank.com",
            "example.org",
            "*",
        ] {
            let expected = patterns
                .iter()
                .any(|pattern| host_covered_by(host, pattern));
            assert_eq!(set.covers(host), expected, "{host}");
        }
        assert!(HostPatterns::new(["*"]).covers("anything.example"));
        assert!(!HostPatterns::new(Vec::<String>::new()).covers("a"));
    }

    #[test]
    fn fqdn_conversion() {
        assert_eq!(to_fqdn("ns", "reviews"), "reviews.ns.svc.cluster.local");
        assert_eq!(to_fqdn("ns", "reviews.other"), "reviews.other");
        assert_eq!(to_fqdn("ns", "*.example.com"), "*.example.com");
        assert_eq!(fqdn_parts("a.b.svc.cluster.local"), Some(("a", "b")));
        assert_eq!(fqdn_parts("x.a.b.svc.cluster.local"), Some(("x.a", "b")));
        assert_eq!(fqdn_parts("a.svc.cluster.local"), None);
    }

    #[test]
    fn wildcard_matching() {
        assert!(hosts_intersect("*.example.com", "a.example.com"));
        assert!(hosts_intersect("*.com", "*.example.com"));
        assert!(!hosts_intersect("a.example.com", "b.example.com"));
        assert!(host_covered_by("a.example.com", "*.example.com"));
        assert!(!host_covered_by("*.com", "*.example.com"));
    }
}
