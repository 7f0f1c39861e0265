use crate::Context;
use meshcheck_model::Kind;

use crate::facts::workloads::mesh_workloads;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports long-running workloads in the mesh (Deployments, StatefulSets, DaemonSets,
    /// ReplicaSets and standalone Pods with a sidecar) whose pods carry no application name label
    /// (`app`, `app.kubernetes.io/name` or `service.istio.io/canonical-name`) or no version label
    /// (`version`, `app.kubernetes.io/version` or `service.istio.io/canonical-revision`). Istio's
    /// gateways and control plane are left out.
    ///
    /// ## Why is this bad?
    /// Istio derives the canonical service and revision of every request in metrics, traces and
    /// Kiali from these labels. Without them, telemetry falls back to the workload name and the
    /// revision `latest`: versions of a service cannot be told apart in dashboards, canary
    /// analysis compares nothing, and DestinationRule subsets have no version label to select.
    ///
    /// ## How to fix
    /// Label the pod template with `app: <service>` and `version: <release>` (or the
    /// `app.kubernetes.io/name` / `app.kubernetes.io/version` pair).
    ///
    /// ## Example
    /// ```yaml
    /// template:
    ///   metadata:
    ///     labels:
    ///       app: reviews
    ///       version: v2
    /// ```
    pub static WORKLOAD_LABELS = {
        code: "MC410",
        name: "workload-app-version-labels",
        category: ApplicationPolicy,
        severity: Info,
        summary: "Mesh workloads should carry app and version labels",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::ReplicaSet, Kind::Pod, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/ops/deployment/application-requirements/",
        remediation: "Add app and version labels (or app.kubernetes.io/name and app.kubernetes.io/version) to the pod template.",
        check: check,
    }
}

const NAME_LABELS: [&str; 3] = [
    "app",
    "app.kubernetes.io/name",
    "service.istio.io/canonical-name",
];
const VERSION_LABELS: [&str; 3] = [
    "version",
    "app.kubernetes.io/version",
    "service.istio.io/canonical-revision",
];

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for workload in mesh_workloads(mesh) {
        if matches!(workload.resource.kind, Kind::Job | Kind::CronJob) {
            continue;
        }
        let labels = workload.labels();
        let has = |keys: &[&str]| keys.iter().any(|key| labels.contains_key(key));
        let missing_name = !has(&NAME_LABELS);
        let missing_version = !has(&VERSION_LABELS);
        let problem = match (missing_name, missing_version) {
            (false, false) => continue,
            (true, true) => {
                "no app and no version label: telemetry names it after the workload and gives every release the revision \"latest\""
            }
            (true, false) => {
                "no app label (app, app.kubernetes.io/name): telemetry and tracing name its service after the workload instead"
            }
            (false, true) => {
                "no version label (version, app.kubernetes.io/version): every release reports the revision \"latest\", so versions cannot be told apart in metrics or selected by subsets"
            }
        };
        let mut path = workload.path(&["metadata", "labels"]);
        if workload.labels().is_empty() {
            path.pop();
        }
        sink.report(
            workload.resource,
            &path,
            format!("{} runs in the mesh with {problem}", workload.display()),
        );
    }
}
