use crate::Context;
use meshcheck_model::Kind;

use crate::facts::planes::{describe_plane, report_plane_image};
use crate::facts::releases::{SupportStatus, analysis_date, each_control_plane_status};
use crate::{Severity, Sink, declare_rule};

/// How far ahead an announced end of life is reported.
const HORIZON_DAYS: i64 = 90;
/// Closer than this, the finding is a warning: an upgrade needs planning and testing time.
const URGENT_DAYS: i64 = 30;

declare_rule! {
    /// ## What it does
    /// Reports control planes whose Istio minor release is still supported but whose end of
    /// life, as announced in Istio's release support table, falls within the next 90 days
    /// (a warning within 30 days). Judged at the archive's collection date, or today.
    ///
    /// ## Why is this bad?
    /// Istio supports a minor release for only about seven to eight months. Once support ends,
    /// security fixes stop; an upgrade started late is rushed or skips releases.
    ///
    /// ## How to fix
    /// Plan the upgrade to the next minor release now: read its upgrade notes, install it as a
    /// canary revision, move namespaces over and remove the old revision.
    pub static ISTIO_NEARING_END_OF_LIFE = {
        code: "MC102",
        name: "istio-nearing-end-of-life",
        category: Platform,
        severity: Info,
        summary: "The Istio release in use should not be about to lose support",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/setup/upgrade/canary/",
        remediation: "Plan a canary upgrade to the next supported minor release before support ends.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let table = &*cx.reference.releases;
    let on = analysis_date(mesh);
    each_control_plane_status(mesh, table, on, |plane, version, status| {
        let SupportStatus::Supported {
            end_of_life: Some(end),
        } = status
        else {
            return;
        };
        let days = on.days_until(end);
        if days > HORIZON_DAYS {
            return;
        }
        let newer: Vec<String> = table
            .supported_on(on)
            .into_iter()
            .filter(|minor| *minor != version.minor_text())
            .collect();
        let finding = report_plane_image(
            sink,
            plane,
            format!(
                "{} runs Istio {version}: support for Istio {} ends on {end}, in {days} days; plan the upgrade to {} (release data as of {})",
                describe_plane(plane),
                version.minor_text(),
                if newer.is_empty() {
                    "a newer minor release".to_owned()
                } else {
                    newer.join(" or ")
                },
                table.data_as_of
            ),
        );
        if days <= URGENT_DAYS {
            finding.severity(Severity::Warning);
        }
    });
}
