use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, items, str_field};

use crate::facts::injector::istiod_native_sidecars;
use crate::facts::workloads::{Workload, workloads};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports Jobs and CronJobs whose pods get a classic Istio sidecar (their namespace or
    /// template enables injection) while nothing stops the proxy when the job's work is done: no
    /// native sidecar (`sidecar.istio.io/nativeSidecar: "true"`, istiod's
    /// `ENABLE_NATIVE_SIDECARS=true`, or an injected `istio-proxy` init container with
    /// `restartPolicy: Always`), and no container command that calls the agent's
    /// `/quitquitquit` endpoint. Jobs the cluster shows completing (a succeeded Job, a CronJob
    /// with a successful run, a finished Pod) are left out.
    ///
    /// ## Why is this bad?
    /// A pod completes only when all of its containers exit. The `istio-proxy` container keeps
    /// running after the job's container finishes, so the Job never completes: it is never
    /// marked succeeded, CronJob runs pile up (`concurrencyPolicy` blocks new ones or they
    /// accumulate), and `activeDeadlineSeconds` eventually kills it as failed.
    ///
    /// ## How to fix
    /// Enable native sidecars (Kubernetes 1.29+: `ENABLE_NATIVE_SIDECARS=true` on istiod, or the
    /// `sidecar.istio.io/nativeSidecar: "true"` pod annotation), or end the job's command with
    /// `curl -fsS -X POST http://localhost:15020/quitquitquit`, or disable injection for the
    /// job (`sidecar.istio.io/inject: "false"`) if it does not need the mesh.
    ///
    /// ## Example
    /// ```yaml
    /// kind: CronJob
    /// spec:
    ///   jobTemplate:
    ///     spec:
    ///       template:
    ///         spec:
    ///           containers:
    ///           - name: report
    ///             command: ["/bin/report"]     # the sidecar keeps the pod running
    /// ```
    pub static JOB_SIDECAR = {
        code: "MC416",
        name: "job-sidecar-never-exits",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "Jobs with a classic sidecar must stop the proxy or they never complete",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Job, Kind::CronJob, Kind::Pod, Kind::Namespace, Kind::Deployment],
        docs_url: "https://istio.io/latest/blog/2023/native-sidecars/",
        remediation: "Enable native sidecars, call http://localhost:15020/quitquitquit when the job is done, or disable injection for the job.",
        check: check,
    }
}

/// Whether a container's command line stops the proxy when it is done.
fn stops_proxy(container: &Value) -> bool {
    ["command", "args"].iter().any(|field| {
        items(container.get(*field))
            .filter_map(Value::as_str)
            .any(|part| part.contains("quitquitquit"))
    })
}

/// Whether the cluster shows the job completing anyway: a finished Pod, a Job that succeeded,
/// or a CronJob with a successful run.
fn completes(workload: &Workload) -> bool {
    let status = workload
        .resource
        .value()
        .get("status")
        .unwrap_or(&Value::Null);
    matches!(str_field(status, "phase"), Some("Succeeded" | "Failed"))
        || status.get("succeeded").and_then(Value::as_u64).unwrap_or(0) > 0
        || status.get("lastSuccessfulTime").is_some()
        || items(status.get("conditions")).any(|condition| {
            str_field(condition, "type") == Some("Complete")
                && str_field(condition, "status") == Some("True")
        })
}

/// Whether an injected pod runs the proxy as a native sidecar.
fn native_proxy(workload: &Workload) -> bool {
    workload.init_containers().iter().any(|container| {
        container.name == "istio-proxy"
            && str_field(container.value, "restartPolicy") == Some("Always")
    })
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let any_job = mesh.count(Kind::Job) + mesh.count(Kind::CronJob) > 0
        || mesh.of_kind(Kind::Pod).any(|pod| {
            items(pod.metadata().get("ownerReferences"))
                .any(|owner| str_field(owner, "kind") == Some("Job"))
        });
    if !any_job || istiod_native_sidecars(mesh) {
        return;
    }
    for workload in workloads(mesh) {
        let is_job_pod = match workload.resource.kind {
            Kind::Job | Kind::CronJob => true,
            Kind::Pod => items(workload.resource.metadata().get("ownerReferences"))
                .any(|owner| str_field(owner, "kind") == Some("Job")),
            _ => false,
        };
        if !is_job_pod
            || !workload.in_mesh()
            || mesh.pod_in_ambient(workload.resource)
            || workload.annotation("sidecar.istio.io/nativeSidecar") == Some("true")
            || native_proxy(&workload)
            || workload
                .containers()
                .iter()
                .any(|container| stops_proxy(container.value))
            || completes(&workload)
        {
            continue;
        }
        let path = workload.path(&["spec", "containers"]);
        sink.report(
            workload.resource,
            &path,
            format!(
                "{} runs with an Istio sidecar that nothing stops: when its work is done the istio-proxy container keeps running, so the pod never completes and the Job is never marked succeeded",
                workload.display()
            ),
        );
    }
}
