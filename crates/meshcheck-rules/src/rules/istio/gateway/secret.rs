use crate::Context;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use meshcheck_input::Value;
use meshcheck_model::{Kind, Resource, items, str_field};

use crate::facts::gateways::{Workloads, gateway_selector, report_no_workload, selector_string};
use crate::facts::secrets::{Contents, KnownSecret, secrets};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// For every Gateway server with `tls.credentialName`, checks that the Secret exists in the
    /// namespace of the gateway workload (the pods the Gateway selects, not the Gateway's own
    /// namespace) and that it holds a usable certificate: `tls.crt`/`tls.key` (or `cert`/`key`)
    /// present and non-empty, the certificate valid PEM/X.509, and not expired or not yet valid.
    /// It also reports Gateways whose selector matches no pod, since then no namespace can be
    /// searched.
    ///
    /// A Secret that a controller produces counts as present: a cert-manager `Certificate`
    /// (`spec.secretName`), an external-secrets `ExternalSecret` (`spec.target.name`, else its
    /// name) or a Bitnami `SealedSecret`. Their contents, like those of a Secret listed without
    /// `data` (a metadata-only export or a collected snapshot), are not in the input: a
    /// `kubernetes.io/tls` Secret is then taken as holding its keys (the API server accepts no
    /// other), and for other types an info finding says that the contents could not be checked.
    /// When the input holds no Secret object in the workload's namespace at all (Secrets are kept
    /// out of Git), a missing credential is reported as info: it may well exist in the cluster.
    ///
    /// ## Why is this bad?
    /// The gateway proxy reads the credential from its own namespace. A missing or unusable
    /// Secret leaves the TLS server without a certificate: its listener is not served and HTTPS
    /// clients fail the handshake. An expired certificate makes every client reject the gateway.
    ///
    /// ## How to fix
    /// Create the Secret in the gateway deployment's namespace (for the default ingress that is
    /// `istio-system`), as a `kubernetes.io/tls` Secret with `tls.crt` and `tls.key`, and renew
    /// expired certificates.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Gateway
    /// metadata: {name: shop, namespace: shop}
    /// spec:
    ///   selector: {istio: ingressgateway}       # pods in istio-system
    ///   servers:
    ///   - port: {number: 443, name: https, protocol: HTTPS}
    ///     tls: {mode: SIMPLE, credentialName: shop-cert}   # Secret only in namespace shop
    /// ```
    /// Create `shop-cert` in `istio-system`.
    pub static GATEWAY_SECRET = {
        code: "MC016",
        name: "gateway-credential",
        category: Security,
        severity: Error,
        summary: "Gateway TLS credentials must exist in the gateway workload's namespace and hold a valid certificate",
        istio_analyzer: Some("gateway.SecretAnalyzer"),
        istio_codes: &["IST0101", "IST0161"],
        inputs: &[
            Kind::Gateway, Kind::Pod, Kind::Secret, Kind::Certificate, Kind::ExternalSecret,
            Kind::SealedSecret,
        ],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/ingress/secure-ingress/",
        remediation: "Create the credentialName Secret (tls.crt and tls.key) in the namespace of the gateway pods, with a valid, unexpired certificate.",
        check: check,
    }
}

/// The decoded entries of a Secret (`data` base64-decoded, plus `stringData` as written).
fn secret_entries(secret: &Resource) -> BTreeMap<&str, Vec<u8>> {
    let mut entries = BTreeMap::new();
    if let Some(data) = secret.value().get("data").and_then(Value::as_object) {
        for (key, value) in data {
            let text = value.as_str().unwrap_or_default();
            let compact: String = text.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .unwrap_or_default();
            entries.insert(key.as_str(), bytes);
        }
    }
    // The API server merges `stringData` into `data`.
    if let Some(data) = secret.value().get("stringData").and_then(Value::as_object) {
        for (key, value) in data {
            let text = value.as_str().unwrap_or_default();
            entries.insert(key.as_str(), text.as_bytes().to_vec());
        }
    }
    entries
}

/// Why a Secret cannot serve as a gateway credential, or `None` when it can.
fn credential_problem(secret: &Resource) -> Option<String> {
    let entries = secret_entries(secret);
    let non_empty = |key: &str| entries.get(key).is_some_and(|value| !value.is_empty());
    let cert = if non_empty("cert") && non_empty("key") {
        &entries["cert"]
    } else if non_empty("tls.crt") && non_empty("tls.key") {
        &entries["tls.crt"]
    } else if entries.contains_key("cert") && entries.contains_key("key") {
        return Some("its keys \"cert\" and \"key\" are empty".to_owned());
    } else if entries.contains_key("tls.crt") && entries.contains_key("tls.key") {
        return Some("its keys \"tls.crt\" and \"tls.key\" are empty".to_owned());
    } else {
        let found: Vec<&str> = entries.keys().copied().collect();
        let found = if found.is_empty() {
            "none".to_owned()
        } else {
            found.join(", ")
        };
        return Some(format!(
            "it has neither \"tls.crt\" and \"tls.key\" nor \"cert\" and \"key\" (found: {found})"
        ));
    };
    certificate_problem(cert)
}

/// The contents of the first PEM block of `data` (whatever its label).
fn first_pem_block(data: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(data);
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    let body = &rest[label_end + "-----".len()..];
    let end = body.find(&format!("-----END {label}-----"))?;
    let encoded: String = body[..end]
        .lines()
        // Encapsulated headers (`Proc-Type: ...`) are not part of the payload.
        .filter(|line| !line.contains(':'))
        .flat_map(str::split_whitespace)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
}

/// A certificate time as `2020-01-01 00:00:00 UTC`.
fn date(time: x509_parser::time::ASN1Time) -> String {
    let seconds = time.timestamp();
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        of_day / 3_600,
        of_day % 3_600 / 60,
        of_day % 60
    )
}

/// Why PEM data is not a currently valid certificate, or `None` when it is.
fn certificate_problem(pem: &[u8]) -> Option<String> {
    let Some(der) = first_pem_block(pem) else {
        return Some("its certificate is not PEM encoded".to_owned());
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default();
    let mut rest: &[u8] = &der;
    if rest.is_empty() {
        return Some("its certificate PEM block is empty".to_owned());
    }
    while !rest.is_empty() {
        let (remaining, certificate) = match x509_parser::parse_x509_certificate(rest) {
            Ok(parsed) => parsed,
            Err(error) => {
                return Some(format!("its certificate does not parse as X.509 ({error})"));
            }
        };
        let validity = certificate.validity();
        if now > validity.not_after.timestamp() {
            return Some(format!(
                "its certificate expired on {}",
                date(validity.not_after)
            ));
        }
        if now < validity.not_before.timestamp() {
            return Some(format!(
                "its certificate is not valid before {}",
                date(validity.not_before)
            ));
        }
        rest = remaining;
    }
    None
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let workloads = Workloads::new(mesh);
    let secrets = secrets(mesh);
    for gateway in mesh.of_kind(Kind::Gateway) {
        let selector = gateway_selector(gateway);
        let servers: Vec<&Value> = items(gateway.spec().get("servers")).collect();
        let pods = workloads.matching(None, selector);
        // The gateway proxy reads credentials from its own namespace; istioctl takes the first
        // selected pod's. Where selected pods span namespaces, any of them may hold the Secret.
        let mut namespaces: Vec<&str> = Vec::new();
        for pod in &pods {
            if !namespaces.contains(&pod.namespace) {
                namespaces.push(pod.namespace);
            }
        }
        let Some(&workload_namespace) = namespaces.first() else {
            report_no_workload(
                sink,
                gateway,
                selector,
                format!(
                    "Gateway {} selects no workload (no pod matches selector {:?}), so its credentials cannot be found.",
                    gateway.display_name(),
                    selector_string(selector)
                ),
            )
            .about_workloads();
            continue;
        };

        for (index, server) in servers.iter().enumerate() {
            let Some(credential) = server
                .get("tls")
                .and_then(|tls| str_field(tls, "credentialName"))
                .filter(|name| !name.is_empty())
            else {
                continue;
            };
            let index = index.to_string();
            let path = ["spec", "servers", index.as_str(), "tls", "credentialName"];
            let (secret, looked_in) = match credential.split_once('/') {
                Some((namespace, name)) => (secrets.get(mesh, namespace, name), vec![namespace]),
                None => (
                    namespaces
                        .iter()
                        .find_map(|namespace| secrets.get(mesh, namespace, credential)),
                    namespaces.clone(),
                ),
            };
            let Some(secret) = secret else {
                let shown = looked_in.first().copied().unwrap_or(workload_namespace);
                sink.istio(
                    "IST0101",
                    gateway,
                    &path,
                    format!(
                        "Gateway {} references credential {credential:?}, but no Secret of that name exists in namespace {shown:?} where its workload runs (nor a Certificate, ExternalSecret or SealedSecret that produces one).",
                        gateway.display_name()
                    ),
                )
                // Kept out of Git, Secrets are often made by hand: Certificates and the like in
                // the input do not show those.
                .from_absence(&[Kind::Secret], &looked_in);
                continue;
            };
            let problem = match secret.contents() {
                Contents::Known(object) => credential_problem(object),
                Contents::KeysOnly(keys) => sealed_keys_problem(&secret, &keys),
                Contents::Unknown => {
                    // The API server keeps no TLS Secret without both keys; anything else may
                    // hold any keys.
                    if !secret.is_tls() {
                        report_contents_unknown(sink, gateway, &path, credential, &secret);
                    }
                    None
                }
            };
            if let Some(problem) = problem {
                sink.istio(
                    "IST0161",
                    gateway,
                    &path,
                    format!(
                        "The credential {credential:?} referenced by Gateway {} is invalid: {} cannot be used because {problem}.",
                        gateway.display_name(),
                        secret.describe()
                    ),
                );
            }
        }
    }
}

/// Why a Secret whose key names alone are known (sealed values) cannot be a credential.
fn sealed_keys_problem(secret: &KnownSecret<'_>, keys: &[&str]) -> Option<String> {
    let has = |key: &str| keys.contains(&key);
    if secret.is_tls() || (has("tls.crt") && has("tls.key")) || (has("cert") && has("key")) {
        return None;
    }
    let found = if keys.is_empty() {
        "none".to_owned()
    } else {
        keys.join(", ")
    };
    Some(format!(
        "its sealed data has neither \"tls.crt\" and \"tls.key\" nor \"cert\" and \"key\" (keys: {found}; their values were not available)"
    ))
}

/// Says that a credential's Secret exists but that what it holds could not be checked.
fn report_contents_unknown(
    sink: &mut Sink,
    gateway: &Resource,
    path: &[&str],
    credential: &str,
    secret: &KnownSecret<'_>,
) {
    let kind = secret.secret_type.unwrap_or("not given");
    sink.report(
        gateway,
        path,
        format!(
            "The credential {credential:?} of Gateway {} could not be checked: the contents of {} were not available (type: {kind}), so whether it holds \"tls.crt\" and \"tls.key\" (or \"cert\" and \"key\") and a valid certificate is unknown.",
            gateway.display_name(),
            secret.describe()
        ),
    )
    .severity(Severity::Info);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_block_skips_leading_text() {
        let block = first_pem_block(
            b"junk\n-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n",
        );
        assert_eq!(block, Some(vec![0, 1, 2]));
        assert!(first_pem_block(b"hush hush").is_none());
        assert!(
            certificate_problem(b"-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n")
                .is_some()
        );
    }
}
