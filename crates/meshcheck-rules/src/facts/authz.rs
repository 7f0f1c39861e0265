//! AuthorizationPolicy helpers shared by the security rules: the action, the scope a policy
//! applies to, and walking its rules' fields.

use meshcheck_input::{Map, Value};
use meshcheck_model::ValueAt;
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Mesh, Resource, items, str_field, strings};

/// An AuthorizationPolicy action (`ALLOW` when unset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Allow,
    Deny,
    Audit,
    Custom,
}

impl Action {
    pub(crate) fn of(policy: &Resource) -> Action {
        match policy.spec().get("action") {
            Some(Value::String(text)) => {
                let is = |name: &str| text.eq_ignore_ascii_case(name);
                if is("DENY") {
                    Action::Deny
                } else if is("AUDIT") {
                    Action::Audit
                } else if is("CUSTOM") {
                    Action::Custom
                } else {
                    Action::Allow
                }
            }
            Some(Value::Number(number)) => match number.as_u64() {
                Some(1) => Action::Deny,
                Some(2) => Action::Audit,
                Some(3) => Action::Custom,
                _ => Action::Allow,
            },
            _ => Action::Allow,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "ALLOW",
            Action::Deny => "DENY",
            Action::Audit => "AUDIT",
            Action::Custom => "CUSTOM",
        }
    }
}

/// What a policy (AuthorizationPolicy, RequestAuthentication) applies to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Scope<'a> {
    /// Root namespace, no selector: every workload of the mesh.
    Mesh,
    /// No selector: every workload of the namespace.
    Namespace(&'a str),
    /// `selector.matchLabels` in a namespace (the root namespace's own workloads for a
    /// root-namespace policy).
    Workloads(&'a str, &'a Map),
    /// `targetRef`/`targetRefs` (Gateway API gateways, Services): not resolved here.
    Targets(&'a str),
}

impl<'a> Scope<'a> {
    pub(crate) fn of(mesh: &Mesh, policy: &'a Resource) -> Scope<'a> {
        let spec = policy.spec();
        if spec
            .get("targetRef")
            .is_some_and(|target| !target.is_null())
            || items(spec.get("targetRefs")).next().is_some()
        {
            return Scope::Targets(&policy.namespace);
        }
        match spec
            .at("/selector/matchLabels")
            .and_then(Value::as_object)
            .filter(|labels| !labels.is_empty())
        {
            Some(labels) => Scope::Workloads(&policy.namespace, labels),
            None if policy.namespace == mesh.root_namespace() => Scope::Mesh,
            None => Scope::Namespace(&policy.namespace),
        }
    }

    /// Whether the scope covers a workload with these labels in this namespace.
    pub(crate) fn covers(&self, namespace: &str, labels: &Map) -> bool {
        match self {
            Scope::Mesh => true,
            Scope::Namespace(own) => *own == namespace,
            Scope::Workloads(own, selector) => {
                *own == namespace && matches_labels(selector, labels)
            }
            Scope::Targets(_) => false,
        }
    }

    /// Whether this scope covers at least everything `other` covers, judged from the selectors
    /// alone (for inputs without pods).
    pub(crate) fn contains(&self, other: &Scope) -> bool {
        match (self, other) {
            (Scope::Mesh, Scope::Targets(_)) => false,
            (Scope::Mesh, _) => true,
            (Scope::Namespace(own), Scope::Namespace(namespace))
            | (Scope::Namespace(own), Scope::Workloads(namespace, _)) => own == namespace,
            (Scope::Workloads(own, selector), Scope::Workloads(namespace, labels)) => {
                own == namespace && matches_labels(selector, labels)
            }
            _ => false,
        }
    }

    /// `mesh-wide`, `namespace shop`, `workloads app=web in shop`, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Scope::Mesh => "every workload of the mesh".to_owned(),
            Scope::Namespace(namespace) => format!("every workload of namespace {namespace}"),
            Scope::Workloads(namespace, labels) => {
                let mut pairs: Vec<String> = labels
                    .iter()
                    .map(|(key, value)| {
                        format!("{key}={}", meshcheck_model::selector::value_text(value))
                    })
                    .collect();
                pairs.sort();
                format!("workloads {} in namespace {namespace}", pairs.join(","))
            }
            Scope::Targets(namespace) => format!("the targetRefs in namespace {namespace}"),
        }
    }
}

/// One field of a rule, with where it is in the policy.
#[derive(Debug)]
pub(crate) struct RuleField<'a> {
    /// `source`, `operation` or `when`.
    pub section: &'static str,
    /// `principals`, `notPaths`, or for `when` the condition key.
    pub name: &'a str,
    pub values: Vec<&'a str>,
    /// For `when`: whether the values are `notValues`.
    pub negated: bool,
    /// Index of the rule in `spec.rules`.
    rule: usize,
    /// `from`/`to` and the entry's index, or `when` and the condition's index.
    list: &'static str,
    entry: usize,
    /// The last path element: the field's name, or `values`/`notValues` for `when`.
    leaf: &'a str,
}

impl RuleField<'_> {
    /// The field's path below the policy, built only when a finding needs it (the authorization
    /// rules walk every field of every policy and report on few).
    pub(crate) fn path(&self) -> Vec<String> {
        let mut path = vec![
            "spec".to_owned(),
            "rules".to_owned(),
            self.rule.to_string(),
            self.list.to_owned(),
            self.entry.to_string(),
        ];
        if self.section != "when" {
            path.push(self.section.to_owned());
        }
        path.push(self.leaf.to_owned());
        path
    }
}

/// Every field of rule `index` of a policy: each `from[].source` and `to[].operation` field and
/// each `when` condition (once for `values`, once for `notValues`).
pub(crate) fn rule_fields(rule: &Value, index: usize) -> Vec<RuleField<'_>> {
    let mut fields = Vec::new();
    for (list, section) in [("from", "source"), ("to", "operation")] {
        for (entry_index, entry) in items(rule.get(list)).enumerate() {
            let Some(object) = entry.get(section).and_then(Value::as_object) else {
                continue;
            };
            for (name, value) in object {
                fields.push(RuleField {
                    section,
                    name,
                    values: strings(Some(value)),
                    negated: name.starts_with("not"),
                    rule: index,
                    list,
                    entry: entry_index,
                    leaf: name,
                });
            }
        }
    }
    for (condition_index, condition) in items(rule.get("when")).enumerate() {
        let key = str_field(condition, "key").unwrap_or_default();
        for (field, negated) in [("values", false), ("notValues", true)] {
            if let Some(value) = condition.get(field) {
                fields.push(RuleField {
                    section: "when",
                    name: key,
                    values: strings(Some(value)),
                    negated,
                    rule: index,
                    list: "when",
                    entry: condition_index,
                    leaf: field,
                });
            }
        }
    }
    fields
}

/// Whether a rule matches every request: no `from`, `to` or `when` constraint at all.
pub(crate) fn matches_everything(rule: &Value) -> bool {
    let empty_section = |list: &str, section: &str| {
        items(rule.get(list)).all(|entry| {
            entry
                .get(section)
                .and_then(Value::as_object)
                .is_none_or(|object| object.values().all(is_empty_value))
        })
    };
    empty_section("from", "source")
        && empty_section("to", "operation")
        && items(rule.get("when")).next().is_none()
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// The policy's rules (`spec.rules`).
pub(crate) fn rules(policy: &Resource) -> impl Iterator<Item = &Value> {
    items(policy.spec().get("rules"))
}

/// The fields of a policy's rules (see [`rule_fields`]) that `wanted` picks and that list
/// values, rule by rule.
pub(crate) fn fields_with_values(
    policy: &Resource,
    wanted: impl Fn(&RuleField) -> bool,
) -> Vec<RuleField<'_>> {
    rules(policy)
        .enumerate()
        .flat_map(|(index, rule)| rule_fields(rule, index))
        .filter(|field| !field.values.is_empty() && wanted(field))
        .collect()
}

/// Whether a policy is an "allow-nothing" (ALLOW without rules) or "deny-all" (DENY with a rule
/// that matches everything): the building blocks of default-deny.
pub(crate) fn denies_by_default(policy: &Resource) -> bool {
    match Action::of(policy) {
        Action::Allow => rules(policy).next().is_none(),
        Action::Deny => rules(policy).any(matches_everything),
        Action::Audit | Action::Custom => false,
    }
}

/// Pods of the mesh that look like gateways an Istio `Gateway` configures, or carry the default
/// ingress gateway labels.
pub(crate) fn is_ingress_gateway_labels(mesh: &Mesh, labels: &Map) -> bool {
    if labels.get("istio").and_then(Value::as_str) == Some("ingressgateway") {
        return true;
    }
    mesh.of_kind(Kind::Gateway).any(|gateway| {
        gateway
            .spec()
            .get("selector")
            .and_then(Value::as_object)
            .is_some_and(|selector| {
                !selector.is_empty()
                    && matches_labels(selector, labels)
                    && selector.get("istio").and_then(Value::as_str) != Some("egressgateway")
            })
    })
}

/// Whether a policy scope reaches an ingress gateway (judged by pods, and by the selector itself
/// when it names gateway labels).
pub(crate) fn scope_reaches_ingress(mesh: &Mesh, scope: &Scope) -> bool {
    match scope {
        Scope::Mesh => true,
        Scope::Namespace(namespace) => mesh
            .pods_in(namespace)
            .any(|pod| is_ingress_gateway_labels(mesh, pod.labels())),
        Scope::Workloads(namespace, selector) => {
            is_ingress_gateway_labels(mesh, selector)
                || mesh
                    .pods_matching(Some(namespace), selector)
                    .iter()
                    .any(|pod| is_ingress_gateway_labels(mesh, pod.labels()))
        }
        Scope::Targets(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_input::json;

    #[test]
    fn match_everything_rules() {
        assert!(matches_everything(&json!({})));
        assert!(matches_everything(&json!({"from": [{"source": {}}]})));
        assert!(!matches_everything(
            &json!({"from": [{"source": {"principals": ["*"]}}]})
        ));
        assert!(!matches_everything(
            &json!({"when": [{"key": "request.auth.claims[iss]", "values": ["x"]}]})
        ));
    }

    #[test]
    fn fields_and_paths() {
        let rule = json!({"from": [{"source": {"notNamespaces": ["a"]}}], "when": [{"key": "source.principal", "notValues": ["x"]}]});
        let fields = rule_fields(&rule, 2);
        assert_eq!(fields.len(), 2);
        assert!(fields[0].negated);
        assert_eq!(
            fields[0].path(),
            ["spec", "rules", "2", "from", "0", "source", "notNamespaces"]
        );
        assert_eq!(fields[1].name, "source.principal");
        assert!(fields[1].negated);
        assert_eq!(
            fields[1].path(),
            ["spec", "rules", "2", "when", "0", "notValues"]
        );
    }
}
