use crate::Context;
use std::collections::HashSet;

use meshcheck_model::{InputSource, Kind, SYSTEM_NAMESPACES};

use crate::facts::coverage::{cluster_lists_every, holds_any};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks the `exportTo` lists of ServiceEntries, VirtualServices and DestinationRules: every
    /// entry other than `.` (own namespace), `*` (all) and `~` (none) must name a namespace that
    /// exists. Namespaces are known from a collected cluster that listed them, or from plain
    /// manifests that hold Namespace objects (then every namespace an object of the input lives
    /// in counts too); manifests without any Namespace object are not checked.
    ///
    /// ## Why is this bad?
    /// An export to a namespace that does not exist reaches nobody. It is usually a typo or a
    /// renamed namespace: the clients the author meant to serve do not see the ServiceEntry's
    /// hosts (their traffic is passed through or blocked as unknown), the VirtualService's routes
    /// or the DestinationRule's policy (TLS, load balancing, outlier detection).
    ///
    /// ## How to fix
    /// Correct the namespace name, or remove the entry if the namespace is gone.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ServiceEntry
    /// metadata: {name: payments-api, namespace: egress}
    /// spec:
    ///   hosts: [api.payments.example.com]
    ///   exportTo: [".", "chekout"]      # the namespace is checkout
    /// ```
    pub static EXPORT_TO_NAMESPACE = {
        code: "MC421",
        name: "export-to-unknown-namespace",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "exportTo of ServiceEntries, VirtualServices and DestinationRules must name existing namespaces",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::ServiceEntry, Kind::VirtualService, Kind::DestinationRule, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/service-entry/#ServiceEntry-export_to",
        remediation: "Name an existing namespace in exportTo (or \".\", \"*\"), or remove the entry.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let snapshot = mesh.cluster.source != InputSource::Manifests;
    // Only a list of the cluster's namespaces, or Namespace objects in the manifests, can show
    // that a namespace does not exist.
    if !holds_any(mesh, Kind::Namespace, None)
        || (snapshot && !cluster_lists_every(mesh, Kind::Namespace))
    {
        return;
    }
    let known: HashSet<&str> = mesh
        .namespace_names()
        .into_iter()
        // Their objects are left out of the mesh, not their namespaces.
        .chain(SYSTEM_NAMESPACES)
        .collect();
    let (missing, consequence) = if snapshot {
        ("does not exist in the cluster", "the export reaches nobody")
    } else {
        (
            "is not among the namespaces of the input",
            "if it does not exist, the export reaches nobody",
        )
    };
    for kind in [
        Kind::ServiceEntry,
        Kind::VirtualService,
        Kind::DestinationRule,
    ] {
        for resource in mesh.of_kind(kind) {
            for (index, target) in resource.export_to().into_iter().enumerate() {
                if matches!(target, "." | "*" | "~") || known.contains(target) {
                    continue;
                }
                let index = index.to_string();
                sink.report(
                    resource,
                    &["spec", "exportTo", &index],
                    format!(
                        "{kind} {}/{} is exported to namespace {target:?}, which {missing}: {consequence}, and the clients it was meant for do not see this {kind}",
                        resource.namespace,
                        resource.name()
                    ),
                );
            }
        }
    }
}
