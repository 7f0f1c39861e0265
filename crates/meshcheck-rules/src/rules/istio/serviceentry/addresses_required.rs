use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, Mesh, items, str_field};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports ServiceEntries with a TCP port (protocol `TCP` or none) but no `addresses`, unless
    /// Istio allocates addresses itself: the ServiceEntry's status already lists allocated
    /// addresses, or the mesh config enables DNS capture (`ISTIO_META_DNS_CAPTURE`) together with
    /// auto-allocation (`ISTIO_META_DNS_AUTO_ALLOCATE` or `PILOT_ENABLE_IP_AUTOALLOCATE`) in
    /// `defaultConfig.proxyMetadata`.
    ///
    /// ## Why is this bad?
    /// Plain TCP carries no host name, so the sidecar can only tell TCP services apart by
    /// destination IP and port. Without an address, all TCP ServiceEntries on that port share one
    /// listener `0.0.0.0:<port>` and traffic meant for one may be sent to another, or not
    /// captured at all.
    ///
    /// ## How to fix
    /// Add the service's virtual IPs or CIDRs in `addresses`, use a protocol that carries the
    /// host (`TLS`, `HTTP`), or enable Istio's DNS proxying with address auto-allocation.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hosts: [db.example.com]
    ///   ports:
    ///   - {number: 5432, name: postgres, protocol: TCP}   # no addresses
    /// ```
    pub static SERVICE_ENTRY_ADDRESSES_REQUIRED = {
        code: "MC029",
        name: "service-entry-addresses-required",
        category: IngressEgress,
        severity: Warning,
        summary: "ServiceEntries with TCP ports need addresses (or Istio's address auto-allocation)",
        istio_analyzer: Some("serviceentry.ProtocolAddressesAnalyzer"),
        istio_codes: &["IST0134"],
        inputs: &[Kind::ServiceEntry, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/ops/configuration/traffic-management/dns-proxy/#address-auto-allocation",
        remediation: "Add spec.addresses, use a protocol that carries the host (TLS, HTTP), or enable DNS capture with address auto-allocation.",
        check: check,
    }
}

/// Whether a proxy metadata entry of the mesh config is `"true"`.
fn proxy_metadata_true(mesh: &Mesh, key: &str) -> bool {
    match mesh
        .mesh_config
        .at("/defaultConfig/proxyMetadata")
        .and_then(|metadata| metadata.get(key))
    {
        Some(Value::String(text)) => text == "true",
        Some(Value::Bool(flag)) => *flag,
        _ => false,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let auto_allocated = proxy_metadata_true(mesh, "ISTIO_META_DNS_CAPTURE")
        && (proxy_metadata_true(mesh, "ISTIO_META_DNS_AUTO_ALLOCATE")
            || proxy_metadata_true(mesh, "PILOT_ENABLE_IP_AUTOALLOCATE"));
    if auto_allocated {
        return;
    }
    for entry in mesh.of_kind(Kind::ServiceEntry) {
        let spec = entry.spec();
        if items(spec.get("addresses")).next().is_some() {
            continue;
        }
        let allocated = entry
            .value()
            .at("/status/addresses")
            .and_then(Value::as_array)
            .is_some_and(|addresses| !addresses.is_empty());
        if allocated {
            continue;
        }
        // One finding per ServiceEntry, at its first TCP port.
        let tcp_port = items(spec.get("ports")).enumerate().find(|(_, port)| {
            str_field(port, "protocol")
                .is_none_or(|protocol| protocol.is_empty() || protocol.eq_ignore_ascii_case("TCP"))
        });
        let Some((index, port)) = tcp_port else {
            continue;
        };
        let number = port
            .get("number")
            .map(Value::to_string)
            .unwrap_or_else(|| "?".to_owned());
        let index = index.to_string();
        sink.istio(
            "IST0134",
            entry,
            &["spec", "ports", &index],
            format!(
                "ServiceEntry {} has TCP port {number} but no addresses, so the sidecar cannot tell its traffic apart from other TCP services on that port",
                entry.display_name()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    const ENTRY: &str = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: db, namespace: apps}\nspec: {hosts: [db.example.com], ports: [{number: 5432, name: pg, protocol: TCP}, {number: 5433, name: pg2}]}\n";

    fn with_metadata(metadata: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: istio, namespace: istio-system}}\ndata:\n  mesh: |\n    defaultConfig:\n      proxyMetadata: {metadata}\n---\n{ENTRY}"
        )
    }

    #[test]
    fn auto_allocation_needs_dns_capture() {
        assert_eq!(check(&SERVICE_ENTRY_ADDRESSES_REQUIRED, ENTRY).len(), 1);
        let allocate_only = with_metadata("{PILOT_ENABLE_IP_AUTOALLOCATE: 'true'}");
        assert_eq!(
            check(&SERVICE_ENTRY_ADDRESSES_REQUIRED, &allocate_only).len(),
            1
        );
        let both =
            with_metadata("{ISTIO_META_DNS_CAPTURE: 'true', PILOT_ENABLE_IP_AUTOALLOCATE: 'true'}");
        assert!(check(&SERVICE_ENTRY_ADDRESSES_REQUIRED, &both).is_empty());
    }
}
