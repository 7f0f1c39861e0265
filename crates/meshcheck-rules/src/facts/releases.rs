//! Istio's release support table (bundled from istio.io, see `data/NOTICE`): when each minor
//! release came out, when its support ends, which Kubernetes versions it supports. And the date
//! support is judged at: the archive's collection time, else today.

use std::fmt;
use std::sync::{Arc, LazyLock};

use meshcheck_model::Mesh;
use meshcheck_model::inventory::{ControlPlane, Version, control_planes};
use serde::Deserialize;

/// A calendar date (days since 1970-01-01), enough for support windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i64);

impl Date {
    /// Parses `YYYY-MM-DD` (or the date part of an RFC 3339 timestamp).
    pub fn parse(text: &str) -> Option<Date> {
        let date = text.get(..10)?;
        let mut parts = date.split('-');
        let year: i64 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        Some(Date::from_ymd(year, month, day))
    }

    /// Days from the civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    pub fn from_ymd(year: i64, month: u32, day: u32) -> Date {
        let year = if month <= 2 { year - 1 } else { year };
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(month);
        let day_of_year =
            (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        Date(era * 146_097 + day_of_era - 719_468)
    }

    /// `(year, month, day)`.
    pub fn ymd(self) -> (i64, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        (year, month, day)
    }

    pub fn today() -> Date {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs() as i64)
            .unwrap_or(0);
        Date(seconds.div_euclid(86_400))
    }

    /// Days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        later.0 - self.0
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.ymd();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

/// The date support is judged at: when the archive was collected (a snapshot describes that
/// moment, and findings stay reproducible), else today.
pub fn analysis_date(mesh: &Mesh) -> Date {
    mesh.cluster
        .collected_at
        .as_deref()
        .and_then(Date::parse)
        .unwrap_or_else(Date::today)
}

/// Visits every control plane whose Istio version is known, with that version's support status
/// on `on`.
pub fn each_control_plane_status(
    mesh: &Mesh,
    table: &ReleaseTable,
    on: Date,
    mut visit: impl FnMut(&ControlPlane, &Version, SupportStatus),
) {
    for plane in control_planes(mesh) {
        if let Some(version) = &plane.version {
            visit(&plane, version, table.status(version, on));
        }
    }
}

/// One minor release line.
#[derive(Debug, Clone)]
pub struct Release {
    pub minor: (u32, u32),
    pub released: Date,
    /// `None` while support continues and no end date is announced.
    pub end_of_life: Option<Date>,
    /// Supported Kubernetes minor versions.
    pub kubernetes: Vec<(u32, u32)>,
}

impl Release {
    pub fn name(&self) -> String {
        format!("{}.{}", self.minor.0, self.minor.1)
    }

    pub fn kubernetes_range(&self) -> String {
        match (self.kubernetes.first(), self.kubernetes.last()) {
            (Some(first), Some(last)) => {
                format!("{}.{} to {}.{}", first.0, first.1, last.0, last.1)
            }
            _ => "none listed".to_owned(),
        }
    }
}

/// The support table.
#[derive(Debug)]
pub struct ReleaseTable {
    pub source: String,
    pub data_as_of: Date,
    /// Newest first.
    pub releases: Vec<Release>,
}

/// Where an Istio version stands on a given date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupportStatus {
    /// Supported; the end date when announced.
    Supported { end_of_life: Option<Date> },
    /// Past its end of life (`None`: older than every release the table lists).
    EndOfLife { since: Option<Date> },
    /// Newer than the table knows: nothing can be said.
    Unknown,
}

impl ReleaseTable {
    pub fn find(&self, minor: (u32, u32)) -> Option<&Release> {
        self.releases.iter().find(|release| release.minor == minor)
    }

    pub fn status(&self, version: &Version, on: Date) -> SupportStatus {
        let minor = version.minor_line();
        if let Some(release) = self.find(minor) {
            return match release.end_of_life {
                Some(end) if end <= on => SupportStatus::EndOfLife { since: Some(end) },
                end_of_life => SupportStatus::Supported { end_of_life },
            };
        }
        match self.releases.last() {
            Some(oldest) if minor < oldest.minor => SupportStatus::EndOfLife { since: None },
            _ => SupportStatus::Unknown,
        }
    }

    /// The minor releases supported on `on`, newest first (`1.31, 1.30`).
    pub fn supported_on(&self, on: Date) -> Vec<String> {
        self.releases
            .iter()
            .filter(|release| {
                release.released <= on && release.end_of_life.is_none_or(|end| end > on)
            })
            .map(Release::name)
            .collect()
    }
}

#[derive(Deserialize)]
struct RawTable {
    source: String,
    data_as_of: String,
    releases: Vec<RawRelease>,
}

#[derive(Deserialize)]
struct RawRelease {
    minor: String,
    released: String,
    end_of_life: Option<String>,
    kubernetes: Vec<String>,
}

fn minor_of(text: &str) -> Result<(u32, u32), String> {
    Version::parse(text)
        .map(|version| version.minor_line())
        .ok_or_else(|| format!("{text:?} is not a minor version"))
}

fn date_of(text: &str) -> Result<Date, String> {
    Date::parse(text).ok_or_else(|| format!("{text:?} is not a YYYY-MM-DD date"))
}

fn parse_table(text: &str) -> Result<ReleaseTable, String> {
    let raw: RawTable = serde_json::from_str(text).map_err(|error| error.to_string())?;
    let mut releases = Vec::with_capacity(raw.releases.len());
    for release in raw.releases {
        releases.push(Release {
            minor: minor_of(&release.minor)?,
            released: date_of(&release.released)?,
            end_of_life: release.end_of_life.as_deref().map(date_of).transpose()?,
            kubernetes: release
                .kubernetes
                .iter()
                .map(|minor| minor_of(minor))
                .collect::<Result<_, _>>()?,
        });
    }
    releases.sort_by_key(|release| std::cmp::Reverse(release.minor));
    Ok(ReleaseTable {
        source: raw.source,
        data_as_of: date_of(&raw.data_as_of)?,
        releases,
    })
}

static TABLE: LazyLock<Arc<ReleaseTable>> = LazyLock::new(|| {
    Arc::new(
        parse_table(include_str!("../../data/istio-releases.json"))
            .expect("the bundled Istio release table is valid (checked by a test)"),
    )
});

/// The bundled support table.
pub fn bundled() -> Arc<ReleaseTable> {
    TABLE.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for text in [
            "1970-01-01",
            "2000-02-29",
            "2024-12-31",
            "2026-03-01",
            "1999-12-31",
        ] {
            assert_eq!(Date::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Date::parse("1970-01-02").unwrap(), Date(1));
        let start = Date::parse("2026-02-26").unwrap();
        assert_eq!(start.days_until(Date::parse("2026-03-30").unwrap()), 32);
        assert_eq!(
            Date::parse("2026-11-24T10:00:00Z"),
            Date::parse("2026-11-24")
        );
        assert!(Date::parse("2026-13-01").is_none());
        assert!(Date::parse("soon").is_none());
        assert!(Date::today() > Date::parse("2026-01-01").unwrap());
    }

    #[test]
    fn bundled_table() {
        let table = bundled();
        assert!(table.releases.len() >= 20);
        assert!(table.releases.windows(2).all(|w| w[0].minor > w[1].minor));
        for release in &table.releases {
            assert!(!release.kubernetes.is_empty(), "{}", release.name());
            if let Some(end) = release.end_of_life {
                assert!(end > release.released, "{}", release.name());
            }
        }
        let on = Date::parse("2026-11-01").unwrap();
        let version = |text: &str| Version::parse(text).unwrap();
        assert_eq!(
            table.status(&version("1.28.3"), on),
            SupportStatus::EndOfLife {
                since: Date::parse("2026-06-28")
            }
        );
        assert_eq!(
            table.status(&version("1.31.0"), on),
            SupportStatus::Supported { end_of_life: None }
        );
        assert_eq!(
            table.status(&version("1.5.1"), on),
            SupportStatus::EndOfLife { since: None }
        );
        assert_eq!(table.status(&version("1.40.0"), on), SupportStatus::Unknown);
        assert_eq!(table.supported_on(on), vec!["1.31", "1.30"]);
        assert_eq!(
            table.find((1, 24)).unwrap().kubernetes_range(),
            "1.28 to 1.31"
        );
    }
}
