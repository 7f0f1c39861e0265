//! Value checks for the annotations the sidecar injector parses (Istio's
//! `inject.AnnotationValidation`): a bad value makes injection fail or behave unexpectedly.

use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;
use meshcheck_input::Value;
use regex::Regex;

use crate::facts::duration::signed_seconds;

/// Checks `value` for annotation `name`; `Err` holds the problem. Annotations without a known
/// format are accepted.
pub(crate) fn validate(name: &str, value: &str) -> Option<Result<(), String>> {
    let result = match name {
        "sidecar.istio.io/interceptionMode" => interception_mode(value),
        "status.sidecar.istio.io/port" => port(value).map(drop),
        "readiness.status.sidecar.istio.io/initialDelaySeconds"
        | "readiness.status.sidecar.istio.io/periodSeconds"
        | "readiness.status.sidecar.istio.io/failureThreshold" => uint32(value),
        "traffic.sidecar.istio.io/includeOutboundIPRanges" => {
            if value == "*" {
                Ok(())
            } else {
                cidr_list(value)
            }
        }
        "traffic.sidecar.istio.io/excludeOutboundIPRanges" => cidr_list(value),
        "traffic.sidecar.istio.io/includeInboundPorts" => {
            if value == "*" {
                Ok(())
            } else {
                port_list(value)
            }
        }
        "traffic.sidecar.istio.io/excludeInboundPorts"
        | "traffic.sidecar.istio.io/excludeOutboundPorts" => port_list(value),
        "traffic.sidecar.istio.io/excludeInterfaces"
        | "traffic.sidecar.istio.io/kubevirtInterfaces"
        | "istio.io/reroute-virtual-interfaces" => interface_names(value),
        "prometheus.istio.io/merge-metrics" => boolean(value),
        "proxy.istio.io/config" => proxy_config(value),
        "sidecar.istio.io/proxyCPU"
        | "sidecar.istio.io/proxyMemory"
        | "sidecar.istio.io/proxyCPULimit"
        | "sidecar.istio.io/proxyMemoryLimit" => quantity(value),
        _ => return None,
    };
    Some(result)
}

fn interception_mode(value: &str) -> Result<(), String> {
    match value {
        "REDIRECT" | "TPROXY" | "NONE" => Ok(()),
        other => Err(format!(
            "interceptionMode {other:?} is invalid, use REDIRECT, TPROXY or NONE"
        )),
    }
}

/// Go's `strconv.ParseUint(value, 10, bits)`: ASCII digits only, no sign, within range.
fn parse_uint(value: &str, max: u64) -> Result<u64, String> {
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("{value:?} is not a non-negative integer"));
    }
    match value.parse::<u64>() {
        Ok(number) if number <= max => Ok(number),
        _ => Err(format!("{value:?} is out of range (max {max})")),
    }
}

fn uint32(value: &str) -> Result<(), String> {
    parse_uint(value, u64::from(u32::MAX)).map(drop)
}

fn port(value: &str) -> Result<u64, String> {
    parse_uint(value.trim(), u64::from(u16::MAX))
        .map_err(|_| format!("port {value:?} is not a number between 0 and 65535"))
}

fn port_list(value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(());
    }
    value.split(',').try_for_each(|item| port(item).map(drop))
}

fn cidr_list(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    for cidr in value.split(',') {
        if cidr.parse::<IpNet>().is_err() {
            return Err(format!(
                "{cidr:?} is not a CIDR range (for example 10.0.0.0/8)"
            ));
        }
    }
    Ok(())
}

static INTERFACE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z][a-zA-Z0-9_.\-]*$").expect("valid regex"));

fn interface_names(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    for name in value.split(',') {
        let name = name.trim();
        if name.is_empty() {
            return Err("empty interface name".to_owned());
        }
        if name.len() > 15 {
            return Err(format!("interface name {name:?} too long (max 15 chars)"));
        }
        if !INTERFACE_NAME.is_match(name) {
            return Err(format!(
                "interface name {name:?} contains invalid characters"
            ));
        }
    }
    Ok(())
}

/// Go's `strconv.ParseBool`.
fn boolean(value: &str) -> Result<(), String> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" | "0" | "f" | "F" | "FALSE" | "false"
        | "False" => Ok(()),
        other => Err(format!("{other:?} is not a boolean")),
    }
}

static QUANTITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$")
        .expect("valid regex")
});

/// A Kubernetes resource quantity (`100m`, `1.5Gi`, `2e3`).
fn quantity(value: &str) -> Result<(), String> {
    if value.chars().any(char::is_control) {
        return Err("value contains control characters".to_owned());
    }
    if QUANTITY.is_match(value) {
        Ok(())
    } else {
        Err(format!(
            "{value:?} is not a Kubernetes resource quantity (for example 100m, 128Mi)"
        ))
    }
}

/// `host:port` with a port in range and a host that is a DNS name or an IP address.
fn proxy_address(address: &str) -> Result<(), String> {
    let (host, port) = match address.strip_prefix('[') {
        Some(rest) => match rest.split_once("]:") {
            Some((host, port)) => (host, port),
            None => return Err(format!("unable to split {address:?} into host and port")),
        },
        None => match address.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, port),
            _ => return Err(format!("unable to split {address:?} into host and port")),
        },
    };
    let number: i64 = port
        .parse()
        .map_err(|_| format!("port ({port}) is not a number"))?;
    if !(1..=65535).contains(&number) {
        return Err(format!(
            "port number {number} must be in the range 1..65535"
        ));
    }
    let dns_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let is_fqdn = !host.is_empty()
        && host.len() <= 255
        && host.trim_end_matches('.').split('.').all(dns_label);
    if is_fqdn || host.parse::<IpAddr>().is_ok() {
        Ok(())
    } else {
        Err(format!("{host:?} is not a valid hostname or an IP address"))
    }
}

/// `proxy.istio.io/config`: a ProxyConfig in YAML, applied over Istio's defaults, that must still
/// validate (required fields kept, addresses and ports well formed, drain duration in seconds).
fn proxy_config(value: &str) -> Result<(), String> {
    let parsed = if value.trim().is_empty() {
        Value::Null
    } else {
        meshcheck_input::parse_yaml_document(value)
            .map_err(|(problem, _)| format!("failed to parse proxy config: {problem}"))?
    };
    let config = match &parsed {
        Value::Null => return Ok(()),
        Value::Object(map) => map,
        _ => return Err("proxy config must be a YAML mapping of ProxyConfig fields".to_owned()),
    };
    let mut problems = Vec::new();
    let text = |key: &str| config.get(key).and_then(Value::as_str);
    for (key, what) in [
        ("configPath", "config path must be set"),
        ("binaryPath", "binary path must be set"),
        ("serviceCluster", "service cluster must be specified"),
    ] {
        if text(key) == Some("") {
            problems.push(what.to_owned());
        }
    }
    match text("discoveryAddress") {
        Some("") => {
            problems.push("discovery address must be set to the proxy discovery service".to_owned())
        }
        Some(address) => {
            if let Err(problem) = proxy_address(address) {
                problems.push(format!("invalid discovery address: {problem}"));
            }
        }
        None => {}
    }
    if let Some(address) = text("statsdUdpAddress").filter(|address| !address.is_empty())
        && let Err(problem) = proxy_address(address)
    {
        problems.push(format!("invalid statsd udp address {address:?}: {problem}"));
    }
    if let Some(drain) = config.get("drainDuration") {
        match drain.as_str().and_then(signed_seconds) {
            None => problems.push(format!("invalid drain duration: {drain}")),
            Some(seconds) if seconds < 0.001 => {
                problems.push("invalid drain duration: duration must be at least 1ms".to_owned())
            }
            Some(seconds) if seconds.fract().abs() > 1e-9 => {
                problems.push("drain time only supports durations to seconds precision".to_owned())
            }
            Some(_) => {}
        }
    }
    for (key, what) in [
        ("proxyAdminPort", "invalid proxy admin port"),
        ("statusPort", "invalid status port"),
    ] {
        if let Some(port) = config.get(key) {
            let number = port
                .as_i64()
                .or_else(|| port.as_str().and_then(|text| text.parse().ok()));
            match number {
                Some(number) if (1..=65535).contains(&number) => {}
                _ => problems.push(format!(
                    "{what}: port number {port} must be in the range 1..65535"
                )),
            }
        }
    }
    if let Some(policy) = config.get("controlPlaneAuthPolicy") {
        let known = matches!(policy.as_str(), Some("NONE" | "MUTUAL_TLS"))
            || matches!(policy.as_i64(), Some(0 | 1));
        if !known {
            problems.push(format!(
                "invalid authentication policy: unrecognized control plane auth policy {policy}"
            ));
        }
    }
    if let Some(concurrency) = config.get("concurrency")
        && !(concurrency.is_i64() || concurrency.is_object() || concurrency.is_null())
    {
        problems.push(format!("concurrency {concurrency} is not an integer"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::validate;

    fn ok(name: &str, value: &str) -> bool {
        validate(name, value).expect("validated annotation").is_ok()
    }

    #[test]
    fn values() {
        assert!(!ok(
            "readiness.status.sidecar.istio.io/initialDelaySeconds",
            "bar"
        ));
        assert!(ok("readiness.status.sidecar.istio.io/periodSeconds", "10"));
        assert!(!ok("readiness.status.sidecar.istio.io/periodSeconds", "-1"));
        assert!(ok("sidecar.istio.io/interceptionMode", "TPROXY"));
        assert!(!ok("sidecar.istio.io/interceptionMode", "redirect"));
        assert!(ok("traffic.sidecar.istio.io/includeOutboundIPRanges", "*"));
        assert!(ok(
            "traffic.sidecar.istio.io/excludeOutboundIPRanges",
            "10.0.0.0/8,fd00::/8"
        ));
        assert!(!ok(
            "traffic.sidecar.istio.io/excludeOutboundIPRanges",
            "10.0.0.0"
        ));
        assert!(ok(
            "traffic.sidecar.istio.io/excludeInboundPorts",
            " 15020, 8080 "
        ));
        assert!(!ok(
            "traffic.sidecar.istio.io/excludeInboundPorts",
            "80,,90"
        ));
        assert!(!ok(
            "traffic.sidecar.istio.io/excludeOutboundPorts",
            "70000"
        ));
        assert!(ok(
            "traffic.sidecar.istio.io/excludeInterfaces",
            "eth1,net1"
        ));
        assert!(!ok("traffic.sidecar.istio.io/excludeInterfaces", "1eth"));
        assert!(ok("sidecar.istio.io/proxyCPU", "100m"));
        assert!(ok("sidecar.istio.io/proxyMemory", "1.5Gi"));
        assert!(!ok("sidecar.istio.io/proxyMemory", "lots"));
        assert!(ok("prometheus.istio.io/merge-metrics", "false"));
        assert!(!ok("prometheus.istio.io/merge-metrics", "no"));
        assert!(ok("proxy.istio.io/config", "{}"));
        assert!(ok(
            "proxy.istio.io/config",
            "concurrency: 2\ndrainDuration: 10s"
        ));
        assert!(!ok("proxy.istio.io/config", "drainDuration: 1.5s"));
        assert!(!ok("proxy.istio.io/config", "drainDuration: -5s"));
        assert!(!ok("proxy.istio.io/config", "drainDuration: soon"));
        assert!(!ok("proxy.istio.io/config", "discoveryAddress: istiod"));
        assert!(ok(
            "proxy.istio.io/config",
            "discoveryAddress: istiod.istio-system.svc:15012"
        ));
        assert!(!ok("proxy.istio.io/config", "- a\n- b"));
        assert!(validate("sidecar.istio.io/logLevel", "anything").is_none());
    }
}
