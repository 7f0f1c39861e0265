//! Istio security bulletins (bundled from istio.io `news/security`, see `data/NOTICE`), matched
//! against versions. `meshcheck analyze --advisories FILE` replaces the bundled data for the
//! process with [`install`].

use std::path::Path;
use std::sync::{Arc, LazyLock};

use meshcheck_model::inventory::Version;
use serde::Deserialize;

use super::releases::{Date, ReleaseTable, SupportStatus};

/// What a bulletin's fix is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    /// istiod.
    ControlPlane,
    /// Envoy-based proxies: sidecars, gateways, waypoints.
    DataPlane,
    /// The istio-cni node agent.
    Cni,
}

/// One affected range: `from..=through`, or every release `before` a version.
#[derive(Debug, Clone)]
pub struct AffectedRange {
    pub from: Option<Version>,
    pub through: Option<Version>,
    pub before: Option<Version>,
    /// The first release of that line with the fix (none for `before` ranges).
    pub fixed: Option<Version>,
}

impl AffectedRange {
    /// Whether `version` is in the range. Pre-releases and versions without a patch number
    /// cannot be placed and never match.
    pub fn contains(&self, version: &Version) -> bool {
        if version.is_prerelease() || version.patch.is_none() {
            return false;
        }
        if let Some(before) = &self.before {
            return version < before;
        }
        let after_start = self.from.as_ref().is_none_or(|from| version >= from);
        let before_end = self
            .through
            .as_ref()
            .is_some_and(|through| version <= through);
        after_start && before_end
    }
}

/// One bulletin.
#[derive(Debug, Clone)]
pub struct Bulletin {
    pub id: String,
    pub date: Date,
    pub summary: String,
    pub cves: Vec<String>,
    /// GitHub advisories without a CVE id.
    pub advisories: Vec<String>,
    /// The bulletin's CVSS score (`None`: not scored).
    pub cvss: Option<f64>,
    pub components: Vec<Component>,
    pub affected: Vec<AffectedRange>,
}

impl Bulletin {
    /// `ISTIO-SECURITY-2024-007 (CVSS 7.5; CVE-2024-53269, CVE-2024-53270)`.
    pub fn describe(&self) -> String {
        let score = self
            .cvss
            .map(|score| format!("CVSS {score:.1}"))
            .unwrap_or_else(|| "not scored".to_owned());
        let ids: Vec<&str> = self
            .cves
            .iter()
            .chain(&self.advisories)
            .map(String::as_str)
            .collect();
        if ids.is_empty() {
            format!("{} ({score})", self.id)
        } else {
            format!("{} ({score}; {})", self.id, ids.join(", "))
        }
    }

    /// The range `version` falls in, if it is affected.
    pub fn affects(&self, version: &Version) -> Option<&AffectedRange> {
        self.affected.iter().find(|range| range.contains(version))
    }
}

/// A set of bulletins with the date they are current to.
#[derive(Debug, Clone)]
pub struct AdvisoryData {
    /// Where the data came from (the bundled source URL or the `--advisories` file).
    pub source: String,
    pub data_as_of: Date,
    pub bulletins: Vec<Bulletin>,
}

/// Why an advisory file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AdvisoryError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    #[serde(rename = "_notice", default)]
    _notice: Option<String>,
    source: String,
    data_as_of: String,
    #[serde(default)]
    compiled: Option<String>,
    bulletins: Vec<RawBulletin>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBulletin {
    id: String,
    date: String,
    summary: String,
    #[serde(default)]
    cves: Vec<String>,
    #[serde(default)]
    advisories: Vec<String>,
    cvss: Option<f64>,
    components: Vec<Component>,
    affected: Vec<RawRange>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRange {
    from: Option<String>,
    through: Option<String>,
    before: Option<String>,
    fixed: Option<String>,
}

fn version(text: &Option<String>, what: &str, id: &str) -> Result<Option<Version>, String> {
    match text {
        None => Ok(None),
        Some(text) => match Version::parse(text) {
            Some(version) if version.patch.is_some() && !version.is_prerelease() => {
                Ok(Some(version))
            }
            _ => Err(format!(
                "{id}: {what} {text:?} is not a release version (x.y.z)"
            )),
        },
    }
}

/// Parses advisory data (the bundled file's format). `path` names the input in errors.
pub fn parse(text: &str, path: &str) -> Result<AdvisoryData, AdvisoryError> {
    let raw: RawData = serde_json::from_str(text).map_err(|error| AdvisoryError::Syntax {
        path: path.to_owned(),
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    })?;
    let invalid = |message: String| AdvisoryError::Invalid {
        path: path.to_owned(),
        message,
    };
    let _ = (raw._notice, raw.compiled);
    let data_as_of = Date::parse(&raw.data_as_of).ok_or_else(|| {
        invalid(format!(
            "data_as_of {:?} is not a YYYY-MM-DD date",
            raw.data_as_of
        ))
    })?;
    let mut bulletins = Vec::with_capacity(raw.bulletins.len());
    for bulletin in raw.bulletins {
        let id = bulletin.id;
        let _ = bulletin.note;
        let date = Date::parse(&bulletin.date).ok_or_else(|| {
            invalid(format!(
                "{id}: date {:?} is not a YYYY-MM-DD date",
                bulletin.date
            ))
        })?;
        if let Some(score) = bulletin.cvss
            && !(0.0..=10.0).contains(&score)
        {
            return Err(invalid(format!(
                "{id}: cvss {score} is not between 0 and 10"
            )));
        }
        let mut affected = Vec::with_capacity(bulletin.affected.len());
        for range in bulletin.affected {
            let range = AffectedRange {
                from: version(&range.from, "from", &id).map_err(invalid)?,
                through: version(&range.through, "through", &id).map_err(invalid)?,
                before: version(&range.before, "before", &id).map_err(invalid)?,
                fixed: version(&range.fixed, "fixed", &id).map_err(invalid)?,
            };
            let valid = match (&range.before, &range.through) {
                (Some(_), None) => range.from.is_none(),
                (None, Some(through)) => range.from.as_ref().is_none_or(|from| from <= through),
                _ => false,
            };
            if !valid {
                return Err(invalid(format!(
                    "{id}: an affected range needs either `before`, or `through` (with an optional `from` not after it)"
                )));
            }
            affected.push(range);
        }
        bulletins.push(Bulletin {
            id,
            date,
            summary: bulletin.summary,
            cves: bulletin.cves,
            advisories: bulletin.advisories,
            cvss: bulletin.cvss,
            components: bulletin.components,
            affected,
        });
    }
    Ok(AdvisoryData {
        source: raw.source,
        data_as_of,
        bulletins,
    })
}

/// Reads an advisory file for `--advisories`.
pub fn load(path: &Path) -> Result<AdvisoryData, AdvisoryError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| AdvisoryError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&text, &shown)
}

static BUNDLED: LazyLock<Arc<AdvisoryData>> = LazyLock::new(|| {
    Arc::new(
        parse(
            include_str!("../../data/istio-security-bulletins.json"),
            "data/istio-security-bulletins.json",
        )
        .expect("the bundled advisory data is valid (checked by a test)"),
    )
});

/// The bundled data (`--advisories FILE` replaces it through
/// [`crate::ReferenceData::with_advisories`]).
pub fn bundled() -> Arc<AdvisoryData> {
    BUNDLED.clone()
}

/// Bulletins affecting `version` in one of `components`, with the matching range.
pub fn affecting<'a>(
    data: &'a AdvisoryData,
    version: &Version,
    components: &[Component],
) -> Vec<(&'a Bulletin, &'a AffectedRange)> {
    data.bulletins
        .iter()
        .filter(|bulletin| {
            bulletin
                .components
                .iter()
                .any(|component| components.contains(component))
        })
        .filter_map(|bulletin| bulletin.affects(version).map(|range| (bulletin, range)))
        .collect()
}

/// What fixes a version: the lowest patch release of its own minor line that fixes every
/// matching bulletin, or `None` when some bulletin has no fix in that line (then only a newer
/// minor release helps).
pub fn fixed_in_line(
    version: &Version,
    matches: &[(&Bulletin, &AffectedRange)],
) -> Option<Version> {
    let mut needed: Option<Version> = None;
    for (_, range) in matches {
        let fixed = range
            .fixed
            .as_ref()
            .filter(|fixed| fixed.minor_line() == version.minor_line())?;
        if needed.as_ref().is_none_or(|current| fixed > current) {
            needed = Some(fixed.clone());
        }
    }
    needed
}

/// The severity a set of matching bulletins deserves: by the highest CVSS score, critical from
/// 9.0, error from 7.0, else (or unscored) warning.
pub fn severity_of(matches: &[(&Bulletin, &AffectedRange)]) -> crate::Severity {
    let highest = matches
        .iter()
        .filter_map(|(bulletin, _)| bulletin.cvss)
        .fold(0.0_f64, f64::max);
    if highest >= 9.0 {
        crate::Severity::Critical
    } else if highest >= 7.0 {
        crate::Severity::Error
    } else {
        crate::Severity::Warning
    }
}

/// `ISTIO-SECURITY-2024-007 (CVSS 7.5; CVE-…, CVE-…), …` with long CVE lists shortened.
pub fn list_bulletins(matches: &[(&Bulletin, &AffectedRange)]) -> String {
    matches
        .iter()
        .map(|(bulletin, _)| {
            let score = bulletin
                .cvss
                .map(|score| format!("CVSS {score:.1}"))
                .unwrap_or_else(|| "not scored".to_owned());
            let ids: Vec<&str> = bulletin
                .cves
                .iter()
                .chain(&bulletin.advisories)
                .map(String::as_str)
                .collect();
            let ids = match ids.len() {
                0 => String::new(),
                1..=3 => format!("; {}", ids.join(", ")),
                count => format!("; {} and {} more", ids[..3].join(", "), count - 3),
            };
            format!("{} ({score}{ids})", bulletin.id)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The oldest release above `version` that no bulletin of `components` affects, preferring
/// minor lines still supported on `on`: candidates are every fixed version and every minor
/// release's `.0`.
pub fn oldest_safe_release(
    data: &AdvisoryData,
    table: &ReleaseTable,
    version: &Version,
    components: &[Component],
    on: Date,
) -> Option<Version> {
    let mut candidates: Vec<Version> = data
        .bulletins
        .iter()
        .flat_map(|bulletin| {
            bulletin
                .affected
                .iter()
                .filter_map(|range| range.fixed.clone())
        })
        .chain(table.releases.iter().filter_map(|release| {
            Version::parse(&format!("{}.{}.0", release.minor.0, release.minor.1))
        }))
        .filter(|candidate| candidate > version)
        .collect();
    candidates.sort();
    candidates.dedup();
    let safe = |candidate: &&Version| affecting(data, candidate, components).is_empty();
    let supported = |candidate: &&Version| {
        matches!(table.status(candidate, on), SupportStatus::Supported { .. })
    };
    candidates
        .iter()
        .filter(supported)
        .find(safe)
        .or_else(|| candidates.iter().find(safe))
        .cloned()
}

/// What to upgrade to: the patch of the version's own line that fixes every matching
/// bulletin, else the oldest safe (supported) release, noting what a patch of the own line
/// would still fix.
pub fn upgrade_advice(
    data: &AdvisoryData,
    table: &ReleaseTable,
    version: &Version,
    matches: &[(&Bulletin, &AffectedRange)],
    components: &[Component],
    on: Date,
) -> String {
    if let Some(fixed) = fixed_in_line(version, matches) {
        return format!("upgrade to {fixed} or later");
    }
    let (unfixable, fixable): (Vec<_>, Vec<_>) = matches.iter().partition(|(_, range)| {
        range
            .fixed
            .as_ref()
            .is_none_or(|fixed| fixed.minor_line() != version.minor_line())
    });
    let ids: Vec<&str> = unfixable.iter().map(|(b, _)| b.id.as_str()).collect();
    let target = match oldest_safe_release(data, table, version, components, on) {
        Some(safe) => format!("{safe} or later"),
        None => "a newer supported minor release".to_owned(),
    };
    let mut advice = format!(
        "no Istio {} patch release fixes {}: upgrade to {target}",
        version.minor_text(),
        ids.join(", ")
    );
    if let Some(fixed) = fixed_in_line(version, &fixable) {
        advice.push_str(&format!(" ({fixed} fixes the others)"));
    }
    advice
}

/// The note for vendor builds, whose vendor may have back-ported fixes.
pub fn vendor_note(version: &Version) -> String {
    match (&version.build, version.is_vendor_build()) {
        (Some(build), true) => format!(
            "; {version} is a vendor build ({build}): the vendor may have back-ported fixes, check its advisories"
        ),
        _ => String::new(),
    }
}

/// The message tail every advisory finding carries.
pub fn as_of_note(data: &AdvisoryData) -> String {
    format!("advisory data as of {}", data.data_as_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn bundled_data_is_valid_and_recent() {
        let data = &*bundled();
        assert!(data.bulletins.len() >= 25);
        let cutoff = Date::parse("2023-01-01").unwrap();
        assert!(data.bulletins.iter().filter(|b| b.date >= cutoff).count() >= 20);
        for bulletin in &data.bulletins {
            assert!(
                bulletin.id.starts_with("ISTIO-SECURITY-20"),
                "{}",
                bulletin.id
            );
            for range in &bulletin.affected {
                if let (Some(through), Some(fixed)) = (&range.through, &range.fixed) {
                    assert!(fixed > through, "{}", bulletin.id);
                    assert_eq!(fixed.minor_line(), through.minor_line(), "{}", bulletin.id);
                }
            }
        }
        assert!(data.data_as_of >= data.bulletins.iter().map(|b| b.date).max().unwrap());
    }

    #[test]
    fn matching() {
        let data = &*bundled();
        let control = affecting(data, &v("1.24.1"), &[Component::ControlPlane]);
        let data_plane = affecting(data, &v("1.24.1"), &[Component::DataPlane]);
        // 2026-006 states that releases older than its supported lines are affected too.
        let control_ids: Vec<&str> = control.iter().map(|(b, _)| b.id.as_str()).collect();
        assert_eq!(control_ids, vec!["ISTIO-SECURITY-2026-006"]);
        assert_eq!(fixed_in_line(&v("1.24.1"), &control), None);
        let ids: Vec<&str> = data_plane.iter().map(|(b, _)| b.id.as_str()).collect();
        assert_eq!(ids, vec!["ISTIO-SECURITY-2024-007"]);
        assert_eq!(fixed_in_line(&v("1.24.1"), &data_plane), Some(v("1.24.2")));

        // Vendor suffixes do not hide the release; pre-releases are never matched.
        assert_eq!(
            affecting(data, &v("1.24.1-distroless"), &[Component::DataPlane]).len(),
            1
        );
        assert!(affecting(data, &v("1.24.0-rc.1"), &[Component::DataPlane]).is_empty());
        assert!(affecting(data, &v("1.24-dev"), &[Component::DataPlane]).is_empty());

        // An old release is caught by "all releases prior to" ranges, with no fix in its line.
        let old = affecting(data, &v("1.10.3"), &[Component::DataPlane]);
        assert!(old.len() >= 5);
        assert_eq!(fixed_in_line(&v("1.10.3"), &old), None);

        // The first fixed patch is not affected.
        assert!(affecting(data, &v("1.24.2"), &[Component::DataPlane]).is_empty());
    }

    #[test]
    fn file_errors_name_the_problem() {
        let error = parse("{", "adv.json").unwrap_err().to_string();
        assert!(error.starts_with("adv.json:1:"), "{error}");
        let text = r#"{"source": "x", "data_as_of": "2026-01-01", "bulletins": [
            {"id": "X-1", "date": "2026-01-01", "summary": "s", "cvss": 7.0,
             "components": ["data-plane"], "affected": [{"from": "1.2.0", "fixed": "1.2.1"}]}]}"#;
        let error = parse(text, "adv.json").unwrap_err().to_string();
        assert!(error.contains("X-1: an affected range needs"), "{error}");
        let ok = text.replace(
            r#""from": "1.2.0""#,
            r#""from": "1.2.0", "through": "1.2.0""#,
        );
        let data = parse(&ok, "adv.json").unwrap();
        assert_eq!(
            affecting(&data, &v("1.2.0"), &[Component::DataPlane]).len(),
            1
        );
        let bad_version = ok.replace("1.2.1", "one");
        assert!(
            parse(&bad_version, "adv.json")
                .unwrap_err()
                .to_string()
                .contains("fixed \"one\"")
        );
    }
}
