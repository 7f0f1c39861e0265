//! Structural validation of a VirtualService that the CRD schema cannot express (IST0106).

use super::virtual_service::MESH_GATEWAY;
use crate::facts::virtual_services::is_claim_key;
use meshcheck_model::ValueAt;
use meshcheck_model::hosts::hosts_intersect;

use meshcheck_input::Value;
use meshcheck_model::{items, str_field, strings};

use super::virtual_service::Report;

fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn present(value: Option<&Value>) -> bool {
    value.is_some_and(|value| !value.is_null())
}

fn non_empty_list(value: Option<&Value>) -> bool {
    value
        .and_then(Value::as_array)
        .is_some_and(|list| !list.is_empty())
}

/// The structural errors of Istio's VirtualService validation that are unambiguous.
pub(super) fn validate_structure(report: &mut Report<'_, '_>) {
    let spec = report.vs.spec();
    let hosts = strings(spec.get("hosts"));
    let gateways = strings(spec.get("gateways"));
    let delegate = hosts.is_empty();
    if delegate {
        for (field, what) in [
            ("gateways", "gateways specified"),
            ("tls", "tls route specified"),
            ("tcp", "tcp route specified"),
        ] {
            if non_empty_list(spec.get(field)) {
                report.error(
                    &["spec", field],
                    format!("delegate virtual service must have no {what}"),
                );
            }
        }
    }
    let applies_to_gateway = !gateways.is_empty() && !gateways.contains(&MESH_GATEWAY);
    let applies_to_mesh = !applies_to_gateway;

    if !applies_to_gateway {
        for (index, route) in items(spec.get("http")).enumerate() {
            for matched in items(route.get("match")) {
                for field in ["headers", "withoutHeaders"] {
                    let keys = matched
                        .get(field)
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten();
                    for (key, _) in keys {
                        if is_claim_key(key) {
                            let index = index.to_string();
                            report.error(
                                &["spec", "http", &index, "match"],
                                format!(
                                    "JWT claim based routing (key: {key}) is only supported for gateways, but the VirtualService is bound to the mesh"
                                ),
                            );
                        }
                    }
                }
            }
        }
    }

    let mut hosts_valid = true;
    for (index, host) in hosts.iter().enumerate() {
        if applies_to_mesh && *host == "*" {
            let index = index.to_string();
            report.error(
                &["spec", "hosts", &index],
                "wildcard host * is not allowed for virtual services bound to the mesh gateway"
                    .to_owned(),
            );
            hosts_valid = false;
        }
    }
    if hosts_valid {
        for (index, host) in hosts.iter().enumerate() {
            for other in &hosts[index + 1..] {
                if hosts_intersect(host, other) {
                    let index = index.to_string();
                    report.error(
                        &["spec", "hosts", &index],
                        format!("duplicate hosts in virtual service: {host} & {other}"),
                    );
                }
            }
        }
    }

    if !non_empty_list(spec.get("http"))
        && !non_empty_list(spec.get("tcp"))
        && !non_empty_list(spec.get("tls"))
    {
        report.error(
            &["spec"],
            "http, tcp or tls must be provided in virtual service".to_owned(),
        );
    }

    for (index, route) in items(spec.get("http")).enumerate() {
        if route.is_null() {
            continue;
        }
        let index = index.to_string();
        let path = ["spec", "http", index.as_str()];
        let mut errors: Vec<String> = Vec::new();
        let has_route = non_empty_list(route.get("route"));
        let redirect = present(route.get("redirect"));
        let direct = present(route.get("directResponse"));
        let fault = present(route.get("fault"));
        let rewrite = present(route.get("rewrite"));
        if !delegate && present(route.get("delegate")) {
            let name = str_field(route, "name").unwrap_or_default();
            if redirect {
                errors.push(format!("root HTTP route {name} must not specify redirect"));
            }
            if has_route {
                errors.push(format!("root HTTP route {name} must not specify route"));
            }
        } else {
            if delegate && present(route.get("delegate")) {
                errors.push("delegate HTTP route cannot contain delegate".to_owned());
            }
            if redirect {
                if has_route {
                    errors.push("HTTP route cannot contain both route and redirect".to_owned());
                }
                if fault {
                    errors.push("HTTP route cannot contain both fault and redirect".to_owned());
                }
                if rewrite {
                    errors.push(
                        "HTTP route rule cannot contain both rewrite and redirect".to_owned(),
                    );
                }
                if direct {
                    errors.push(
                        "HTTP route rule cannot contain both direct_response and redirect"
                            .to_owned(),
                    );
                }
            } else if direct {
                if has_route {
                    errors.push(
                        "HTTP route cannot contain both route and direct_response".to_owned(),
                    );
                }
                if fault {
                    errors.push(
                        "HTTP route cannot contain both fault and direct_response".to_owned(),
                    );
                }
                if rewrite {
                    errors.push(
                        "HTTP route rule cannot contain both rewrite and direct_response"
                            .to_owned(),
                    );
                }
            } else if !has_route {
                errors.push("HTTP route, redirect or direct_response is required".to_owned());
            }
            if present(route.get("mirror")) && non_empty_list(route.get("mirrors")) {
                errors.push("HTTP route cannot contain both mirror and mirrors".to_owned());
            }
        }
        if let Some(value) = route.at("/mirrorPercentage/value").and_then(Value::as_f64) {
            if value > 100.0 {
                errors.push(format!(
                    "mirror_percentage must have a max value of 100 (it has {value})"
                ));
            }
            if value < 0.0 {
                errors.push(format!(
                    "mirror_percentage must have a min value of 0 (it has {value})"
                ));
            }
        }
        errors.extend(destination_errors(route.get("route")));
        for error in errors {
            report.error(&path, error);
        }
    }

    for section in ["tcp", "tls"] {
        for (index, route) in items(spec.get(section)).enumerate() {
            if route.is_null() {
                continue;
            }
            let index = index.to_string();
            let path = ["spec", section, index.as_str()];
            let mut errors: Vec<String> = Vec::new();
            if section == "tls" && !non_empty_list(route.get("match")) {
                errors.push("TLS route must have at least one match condition".to_owned());
            }
            if !non_empty_list(route.get("route")) {
                errors.push(format!("{} route is required", section.to_uppercase()));
            }
            errors.extend(destination_errors(route.get("route")));
            for error in errors {
                report.error(&path, error);
            }
        }
    }
}

/// Errors of a route's weighted destinations.
fn destination_errors(weights: Option<&Value>) -> Vec<String> {
    let mut errors = Vec::new();
    let weights: Vec<&Value> = items(weights).collect();
    let mut total = 0i64;
    for weight in &weights {
        if weight.is_null() {
            errors.push("weight may not be nil".to_owned());
            continue;
        }
        match weight
            .get("destination")
            .filter(|destination| !destination.is_null())
        {
            None => errors.push("destination is required".to_owned()),
            Some(destination) => {
                if str_field(destination, "host") == Some("*") {
                    errors.push("invalid destination host *".to_owned());
                }
                if let Some(subset) = str_field(destination, "subset")
                    && !subset.is_empty()
                    && !is_dns1123_label(subset)
                {
                    errors.push(format!("subset name is invalid: {subset}"));
                }
            }
        }
        let value = weight.get("weight").and_then(Value::as_i64).unwrap_or(0);
        if value < 0 {
            errors.push(format!("weight {value} < 0"));
        }
        total += value;
    }
    if weights.len() > 1 && total == 0 {
        errors.push("total destination weight = 0".to_owned());
    }
    errors
}
