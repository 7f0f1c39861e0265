use crate::Context;
use meshcheck_model::ValueAt;
use std::collections::BTreeMap;

use meshcheck_input::Value;
use meshcheck_model::inventory::{Workload, control_planes, gateways, node_agents};
use meshcheck_model::{Kind, Mesh, Resource, str_field};

use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reads the Kubernetes Events in the input (`v1` and `events.k8s.io/v1`) and reports
    /// `Warning` events about Istio's own components: istiod, the gateways and waypoints, and
    /// the ztunnel and istio-cni node agents (their pods, ReplicaSets, Deployments and
    /// DaemonSets). Events are grouped per object and reason (`BackOff`, `FailedScheduling`,
    /// `Unhealthy`, `OOMKilling`, ...) with their total count and latest message; crash loops,
    /// scheduling, image and out-of-memory failures are errors.
    ///
    /// ## Why is this bad?
    /// These events are the first sign of a control plane or gateway in trouble: a crash-looping
    /// istiod stops configuration and certificates, an unschedulable gateway replica removes
    /// capacity, failing probes take replicas out of load balancing.
    ///
    /// ## How to fix
    /// Look at the pod (`kubectl describe pod`, `kubectl logs --previous`) and fix the cause:
    /// raise memory limits for OOM kills, free or add nodes for scheduling failures, fix the
    /// image reference for pull errors, look at istiod's logs for failing readiness probes.
    pub static ISTIO_COMPONENT_EVENTS = {
        code: "MC120",
        name: "istio-component-warning-events",
        category: Platform,
        severity: Warning,
        summary: "istiod, gateways and node agents should have no Warning events",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Event, Kind::EventsEvent, Kind::Deployment, Kind::DaemonSet, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/ops/diagnostic-tools/",
        remediation: "Describe the pod and read its previous logs (kubectl describe pod, kubectl logs --previous), then fix the cause (memory limits, node capacity, image, configuration).",
        check: check,
    }
}

/// Reasons that mean the component is down or cannot start.
const FAILURE_REASONS: [&str; 14] = [
    "BackOff",
    "CrashLoopBackOff",
    "FailedScheduling",
    "OOMKilling",
    "OOMKilled",
    "Failed",
    "FailedCreate",
    "FailedCreatePodSandBox",
    "FailedMount",
    "FailedAttachVolume",
    "Evicted",
    "ErrImagePull",
    "ImagePullBackOff",
    "FailedKillPod",
];

/// Istio component objects, to recognise what an event is about.
struct Components<'m> {
    /// (namespace, kind, name) → (component description, resource).
    objects: BTreeMap<(String, String, String), (String, &'m Resource)>,
    /// (namespace, controller name, description, controller): pods and ReplicaSets absent from
    /// the input are matched by their name prefix.
    controllers: Vec<(String, String, String, &'m Resource)>,
}

impl<'m> Components<'m> {
    fn add(&mut self, workload: &Workload<'m>, description: String) {
        for pod in workload.pods() {
            self.objects.insert(
                (
                    pod.namespace.clone(),
                    "Pod".to_owned(),
                    pod.name().to_owned(),
                ),
                (description.clone(), pod),
            );
        }
        if let Some(controller) = workload.controller {
            self.objects.insert(
                (
                    controller.namespace.clone(),
                    controller.object().kind.clone(),
                    controller.name().to_owned(),
                ),
                (description.clone(), controller),
            );
            self.controllers.push((
                controller.namespace.clone(),
                controller.name().to_owned(),
                description,
                controller,
            ));
        }
    }

    /// The component an event's object belongs to.
    fn find(&self, namespace: &str, kind: &str, name: &str) -> Option<(&str, &'m Resource)> {
        let key = (namespace.to_owned(), kind.to_owned(), name.to_owned());
        if let Some((description, resource)) = self.objects.get(&key) {
            return Some((description, resource));
        }
        if !matches!(kind, "Pod" | "ReplicaSet") {
            return None;
        }
        self.controllers
            .iter()
            .find(|(controller_namespace, controller, _, _)| {
                controller_namespace == namespace
                    && name
                        .strip_prefix(controller.as_str())
                        .is_some_and(|rest| rest.starts_with('-'))
            })
            .map(|(_, _, description, resource)| (description.as_str(), *resource))
    }
}

struct Group<'m> {
    event: &'m Resource,
    count: i64,
    message: String,
}

/// (namespace, kind, name, reason) of the object an event is about.
type EventKey = (String, String, String, String);

fn collect<'m>(mesh: &'m Mesh, components: &Components<'m>) -> BTreeMap<EventKey, Group<'m>> {
    let mut groups: BTreeMap<EventKey, Group> = BTreeMap::new();
    let events = mesh
        .of_kind(Kind::Event)
        .chain(mesh.of_kind(Kind::EventsEvent));
    for event in events {
        let value = event.value();
        if str_field(value, "type") != Some("Warning") {
            continue;
        }
        let involved = value
            .get("involvedObject")
            .or_else(|| value.get("regarding"))
            .unwrap_or(&Value::Null);
        let kind = str_field(involved, "kind").unwrap_or_default();
        let name = str_field(involved, "name").unwrap_or_default();
        let namespace = str_field(involved, "namespace").unwrap_or(&event.namespace);
        if components.find(namespace, kind, name).is_none() {
            continue;
        }
        let reason = str_field(value, "reason").unwrap_or("Unknown");
        let count = value
            .get("count")
            .or_else(|| value.at("/series/count"))
            .or_else(|| value.get("deprecatedCount"))
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(1);
        let message = str_field(value, "message")
            .or_else(|| str_field(value, "note"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let key = (
            namespace.to_owned(),
            kind.to_owned(),
            name.to_owned(),
            reason.to_owned(),
        );
        let group = groups.entry(key).or_insert(Group {
            event,
            count: 0,
            message: String::new(),
        });
        group.count += count;
        if !message.is_empty() {
            group.message = message;
        }
    }
    groups
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if mesh.count(Kind::Event) == 0 && mesh.count(Kind::EventsEvent) == 0 {
        return;
    }
    let mut components = Components {
        objects: BTreeMap::new(),
        controllers: Vec::new(),
    };
    for plane in control_planes(mesh) {
        let description = format!("istiod (revision {})", plane.revision);
        components.add(&plane.workload, description);
    }
    for gateway in gateways(mesh) {
        components.add(&gateway.workload, gateway.role.as_str().to_owned());
    }
    for (agent, daemon_set) in node_agents(mesh) {
        let workload = Workload::of_controller(mesh, daemon_set);
        components.add(&workload, agent.as_str().to_owned());
    }
    for ((namespace, kind, name, reason), group) in collect(mesh, &components) {
        let (description, component) = components
            .find(&namespace, &kind, &name)
            .expect("grouped only matching events");
        // Point at the object itself when the input has it, else at the event.
        let target = if component.object().kind == kind && component.name() == name {
            component
        } else {
            group.event
        };
        let detail = if group.message.is_empty() {
            String::new()
        } else {
            format!(": {}", group.message)
        };
        let finding = sink.report(
            target,
            &[],
            format!(
                "{description}: {kind} {namespace}/{name} has {} Warning event{} {reason}{detail}",
                group.count,
                if group.count == 1 { "" } else { "s" }
            ),
        );
        if FAILURE_REASONS.contains(&reason.as_str()) {
            finding.severity(Severity::Error);
        }
    }
}
