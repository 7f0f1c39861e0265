//! The traffic policies of a DestinationRule: the top-level one, its port-level settings, and
//! those of each subset (with their own port-level settings).

use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Resource, items, str_field};

/// One `TrafficPolicy` (or `PortTrafficPolicy`) block and where it sits.
#[derive(Debug, Clone)]
pub(crate) struct PolicyBlock<'a> {
    pub value: &'a Value,
    /// Field path from the resource root.
    pub path: Vec<String>,
    /// `trafficPolicy`, `port 9080`, `subset v2`, `subset v2 port 9080`.
    pub scope: String,
}

impl PolicyBlock<'_> {
    /// `The trafficPolicy`, `The port 9080 trafficPolicy`, `The subset v2 trafficPolicy`.
    pub fn title(&self) -> String {
        if self.scope == "trafficPolicy" {
            "The trafficPolicy".to_owned()
        } else {
            format!("The {} trafficPolicy", self.scope)
        }
    }

    /// The path of a field below this block.
    pub fn path_to(&self, below: &[&str]) -> Vec<String> {
        self.path
            .iter()
            .cloned()
            .chain(below.iter().map(|part| (*part).to_owned()))
            .collect()
    }
}

fn port_label(port: &Value) -> String {
    port.at("/port/number")
        .and_then(Value::as_u64)
        .map(|number| format!("port {number}"))
        .unwrap_or_else(|| "port".to_owned())
}

fn push_policy<'a>(
    blocks: &mut Vec<PolicyBlock<'a>>,
    policy: &'a Value,
    path: Vec<String>,
    scope: String,
) {
    if !policy.is_object() {
        return;
    }
    let ports: Vec<PolicyBlock<'a>> = items(policy.get("portLevelSettings"))
        .enumerate()
        .map(|(index, port)| {
            let mut port_path = path.clone();
            port_path.extend(["portLevelSettings".to_owned(), index.to_string()]);
            let port_scope = if scope == "trafficPolicy" {
                port_label(port)
            } else {
                format!("{scope} {}", port_label(port))
            };
            PolicyBlock {
                value: port,
                path: port_path,
                scope: port_scope,
            }
        })
        .collect();
    blocks.push(PolicyBlock {
        value: policy,
        path,
        scope,
    });
    blocks.extend(ports);
}

/// Every policy block of a DestinationRule, top-level first.
pub(crate) fn policy_blocks(rule: &Resource) -> Vec<PolicyBlock<'_>> {
    let spec = rule.spec();
    let mut blocks = Vec::new();
    if let Some(policy) = spec.get("trafficPolicy") {
        push_policy(
            &mut blocks,
            policy,
            vec!["spec".to_owned(), "trafficPolicy".to_owned()],
            "trafficPolicy".to_owned(),
        );
    }
    for (index, subset) in items(spec.get("subsets")).enumerate() {
        if let Some(policy) = subset.get("trafficPolicy") {
            push_policy(
                &mut blocks,
                policy,
                vec![
                    "spec".to_owned(),
                    "subsets".to_owned(),
                    index.to_string(),
                    "trafficPolicy".to_owned(),
                ],
                format!("subset {}", str_field(subset, "name").unwrap_or_default()),
            );
        }
    }
    blocks
}

/// An integer field that manifests sometimes quote.
pub(crate) fn int_field(value: &Value, pointer: &str) -> Option<i64> {
    match value.at(pointer)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_input::parse_documents;
    use std::sync::Arc;

    #[test]
    fn blocks_in_order() {
        let (objects, _) = parse_documents(
            &Arc::from("t.yaml"),
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspec:\n  host: r\n  trafficPolicy:\n    portLevelSettings: [{port: {number: 80}}]\n  subsets:\n  - name: v1\n    trafficPolicy: {portLevelSettings: [{port: {number: 81}}]}\n",
        );
        let resource = Resource::new(objects.into_iter().next().unwrap());
        let scopes: Vec<String> = policy_blocks(&resource)
            .into_iter()
            .map(|block| block.scope)
            .collect();
        assert_eq!(
            scopes,
            ["trafficPolicy", "port 80", "subset v1", "subset v1 port 81"]
        );
        assert_eq!(
            int_field(&meshcheck_input::json!({"a": {"b": "3"}}), "/a/b"),
            Some(3)
        );
    }
}
