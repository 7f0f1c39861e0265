use crate::Context;
use std::collections::{BTreeSet, HashMap, HashSet};

use meshcheck_input::Value;
use meshcheck_model::{Kind, Resource, items, str_field, strings};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds ServiceEntries that define the same host and port number with different protocols
    /// (compared case-insensitively; an unset protocol counts as its own value), where both are
    /// visible from a common namespace per their `exportTo`. Every ServiceEntry involved is
    /// reported once.
    ///
    /// ## Why is this bad?
    /// Istio merges ServiceEntries for the same host; for one port it can only use one protocol,
    /// chosen by creation order. The other definition silently loses: HTTP routing may not apply
    /// or TLS traffic may be parsed as HTTP, and which one wins can change on re-creation.
    ///
    /// ## How to fix
    /// Agree on one protocol for the host and port, remove the duplicate ServiceEntry, or scope
    /// them apart with `exportTo`.
    ///
    /// ## Example
    /// ```yaml
    /// # team-a: {hosts: [api.example.com], ports: [{number: 443, name: https, protocol: HTTPS}]}
    /// # team-b: {hosts: [api.example.com], ports: [{number: 443, name: tls, protocol: TLS}]}
    /// ```
    pub static SERVICE_ENTRY_CONFLICTING_PROTOCOL = {
        code: "MC030",
        name: "service-entry-conflicting-protocol",
        category: IngressEgress,
        severity: Warning,
        summary: "ServiceEntries for the same host and port must agree on the protocol",
        istio_analyzer: Some("serviceentry.ConflictingServiceEntryProtocolAnalyzer"),
        istio_codes: &["IST0177"],
        inputs: &[Kind::ServiceEntry],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/service-entry/",
        remediation: "Use one protocol for the host and port in every ServiceEntry, or separate them with exportTo.",
        check: check,
    }
}

/// (visibility scope, host as written, port number).
type Key<'a> = (String, &'a str, u64);

/// The scopes a ServiceEntry is visible in: `*` when exported everywhere, else namespaces.
fn scopes(entry: &Resource) -> BTreeSet<String> {
    meshcheck_model::hosts::service_entry_scopes(entry)
        .into_iter()
        .collect()
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let entries: Vec<&Resource> = mesh.of_kind(Kind::ServiceEntry).collect();
    let mut index: HashMap<Key, Vec<(&str, usize)>> = HashMap::new();
    for (position, entry) in entries.iter().enumerate() {
        let spec = entry.spec();
        let hosts = strings(spec.get("hosts"));
        for scope in scopes(entry) {
            for host in &hosts {
                for port in items(spec.get("ports")) {
                    let number = port.get("number").and_then(Value::as_u64).unwrap_or(0);
                    let protocol = str_field(port, "protocol").unwrap_or_default();
                    index
                        .entry((scope.clone(), host, number))
                        .or_default()
                        .push((protocol, position));
                }
            }
        }
    }
    let mut keys: Vec<&Key> = index.keys().collect();
    keys.sort();
    let mut reported: HashSet<usize> = HashSet::new();
    for key in keys {
        let (scope, host, port) = key;
        let mut involved: Vec<(&str, usize)> = index[key].clone();
        if scope != "*"
            && let Some(global) = index.get(&("*".to_owned(), *host, *port))
        {
            involved.extend(global.iter().copied());
        }
        let protocols: BTreeSet<String> = involved
            .iter()
            .map(|(protocol, _)| protocol.to_ascii_uppercase())
            .collect();
        if protocols.len() < 2 {
            continue;
        }
        let names: BTreeSet<String> = involved
            .iter()
            .map(|(_, position)| {
                let entry = entries[*position];
                format!("{}/{}", entry.namespace, entry.name())
            })
            .collect();
        let names = names.into_iter().collect::<Vec<_>>().join(", ");
        let protocols = protocols
            .iter()
            .map(|protocol| {
                if protocol.is_empty() {
                    "<unset>"
                } else {
                    protocol
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        for (_, position) in &involved {
            if !reported.insert(*position) {
                continue;
            }
            sink.istio(
                "IST0177",
                entries[*position],
                &["metadata", "name"],
                format!(
                    "ServiceEntries {names} define host {host:?} port {port} with conflicting protocols ({protocols})"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    fn entry(name: &str, namespace: &str, export_to: &str, protocol: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec: {{hosts: [api.example.com], exportTo: {export_to}, ports: [{{number: 443, name: p, protocol: {protocol}}}]}}\n---\n"
        )
    }

    #[test]
    fn scopes_must_overlap() {
        let apart = entry("a", "one", "['.']", "TLS") + &entry("b", "two", "['.']", "HTTPS");
        assert!(check(&SERVICE_ENTRY_CONFLICTING_PROTOCOL, &apart).is_empty());
        let shared = entry("a", "one", "['.']", "TLS") + &entry("b", "two", "['*']", "HTTPS");
        assert_eq!(check(&SERVICE_ENTRY_CONFLICTING_PROTOCOL, &shared).len(), 2);
        let same = entry("a", "one", "[]", "tls") + &entry("b", "two", "[]", "TLS");
        assert!(check(&SERVICE_ENTRY_CONFLICTING_PROTOCOL, &same).is_empty());
    }
}
