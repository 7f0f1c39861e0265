//! Intended and running state. A controller's pod template is what every new pod will get; its
//! running pods were made from the template that was current when they started, which may be
//! an older one (a snapshot taken mid-rollout, a GitOps change not yet applied). A rule about
//! pod-level configuration judges both and reports once per workload, saying which state has
//! the problem; [`judge`] does the judging and words the note.

use meshcheck_model::{Mesh, Workload};

use super::workloads::pod_workload;

/// What a rule sees in one state of a workload.
#[derive(Debug)]
pub(crate) enum Seen<T> {
    Problem(T),
    Clean,
    /// The state does not show it (a template says nothing of what the injector adds when the
    /// injector's settings are not in the input).
    Unknown,
}

impl<T> From<Option<T>> for Seen<T> {
    fn from(problem: Option<T>) -> Seen<T> {
        match problem {
            Some(problem) => Seen::Problem(problem),
            None => Seen::Clean,
        }
    }
}

/// What a rule found in a workload's states.
#[derive(Debug)]
pub(crate) struct Verdict<T> {
    /// The problem to report: the template's when it has one, else the first running pod's.
    pub problem: T,
    /// Said after the message: how the running pods compare (empty when there is nothing to say).
    pub note: String,
    /// Only the running pods have the problem: the template no longer does.
    pub running_only: bool,
}

/// Checks a workload's template (or the Pod itself, for a Pod on its own) and each of its running
/// pods with `problem`, and returns what to report, if anything.
pub(crate) fn judge<'m, T>(
    mesh: &'m Mesh,
    workload: &Workload<'m>,
    seen: impl Fn(&Workload<'m>) -> Seen<T>,
) -> Option<Verdict<T>> {
    let intended = seen(workload);
    if workload.is_pod() || workload.pod_count() == 0 {
        return match intended {
            Seen::Problem(problem) => Some(Verdict {
                problem,
                note: String::new(),
                running_only: false,
            }),
            Seen::Clean | Seen::Unknown => None,
        };
    }
    let total = workload.pod_count();
    let mut affected = 0;
    let mut first_running = None;
    // Pods with the same template hash were made from the same template (and injected alike):
    // one of them stands for the others, which keeps this linear in templates, not pods.
    let mut judged: Vec<(&str, bool)> = Vec::new();
    for pod in workload.pods() {
        let revision = pod
            .label("pod-template-hash")
            .or_else(|| pod.label("controller-revision-hash"));
        if let Some(revision) = revision
            && let Some((_, problem)) = judged.iter().find(|(seen, _)| *seen == revision)
        {
            affected += usize::from(*problem);
            continue;
        }
        let problem = match seen(&pod_workload(mesh, pod)) {
            Seen::Problem(found) => {
                if first_running.is_none() {
                    first_running = Some(found);
                }
                true
            }
            Seen::Clean | Seen::Unknown => false,
        };
        affected += usize::from(problem);
        if let Some(revision) = revision {
            judged.push((revision, problem));
        }
    }
    let pods = |count: usize| {
        if count == 1 {
            "1 running pod".to_owned()
        } else {
            format!("{count} running pods")
        }
    };
    match (intended, first_running) {
        (Seen::Problem(problem), _) => {
            let note = if affected == total {
                format!(" (the template and its {} have it)", pods(total))
            } else if affected == 0 {
                let (predate, lack) = if total == 1 {
                    ("predates", "does")
                } else {
                    ("predate", "do")
                };
                format!(
                    " (in the pod template only: its {} {predate} it and {lack} not have it yet; new pods will)",
                    pods(total)
                )
            } else {
                format!(
                    " (the template and {affected} of its {} have it; the others predate this template)",
                    pods(total)
                )
            };
            Some(Verdict {
                problem,
                note,
                running_only: false,
            })
        }
        (Seen::Unknown, Some(problem)) => Some(Verdict {
            problem,
            note: format!(
                " (seen in {affected} of its {}; the pod template does not show it)",
                pods(total)
            ),
            running_only: false,
        }),
        (Seen::Clean, Some(problem)) => Some(Verdict {
            problem,
            note: format!(
                " (running state only: {affected} of its {} predate the current pod template, which no longer has it; restart them to pick it up, e.g. kubectl rollout restart)",
                pods(total)
            ),
            running_only: true,
        }),
        (_, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::mesh;

    const ROLLOUT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}, annotations: {mark: TEMPLATE}}\n    spec: {containers: [{name: web, image: web}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: shop, labels: {app: web}, annotations: {mark: POD}}\nspec: {containers: [{name: web, image: web}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-2, namespace: shop, labels: {app: web}, annotations: {mark: POD}}\nspec: {containers: [{name: web, image: web}]}\n";

    fn verdict(bad: &str) -> Option<Verdict<String>> {
        let mesh = mesh(ROLLOUT);
        let workload = mesh.workloads().all(&mesh).next().unwrap();
        judge(&mesh, &workload, |state| {
            Seen::from((state.annotation("mark") == Some(bad)).then(|| state.describe()))
        })
    }

    #[test]
    fn a_wrong_template_is_reported_even_when_its_older_pods_are_right() {
        let found = verdict("TEMPLATE").unwrap();
        assert_eq!(found.problem, "Deployment shop/web");
        assert!(!found.running_only);
        assert!(
            found.note.contains("2 running pods predate it"),
            "{}",
            found.note
        );
    }

    #[test]
    fn wrong_running_pods_under_a_fixed_template_are_running_state_only() {
        let found = verdict("POD").unwrap();
        assert!(found.running_only);
        assert_eq!(found.problem, "Pod shop/web-1");
        assert!(
            found
                .note
                .contains("running state only: 2 of its 2 running pods"),
            "{}",
            found.note
        );
        assert!(verdict("NEITHER").is_none());
    }
}
