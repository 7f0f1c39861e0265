//! Versions as Istio image tags and Kubernetes servers print them.
//!
//! `semver` is not enough here: it reads `1.28.2-gke.1157000` as a pre-release of 1.28.2 (so it
//! sorts below 1.28.2) and rejects `1.25-dev`. Platform versions carry vendor and variant suffixes
//! that do not change the release they are built from, so this parser keeps three parts apart:
//! the release (`major.minor[.patch]`), a pre-release marker (`alpha`, `beta`, `rc`, `dev`) and
//! everything else as a build suffix (`distroless`, `gke.1043002`, `asm.1`, `k3s1`).

use std::cmp::Ordering;
use std::fmt;

/// Pre-release markers: a suffix starting with one of these is not the final release.
const PRE_RELEASE_MARKERS: [&str; 5] = ["alpha", "beta", "rc", "dev", "pre"];

/// Image variants Istio itself publishes for every release (not vendor builds).
const ISTIO_VARIANTS: [&str; 2] = ["distroless", "debug"];

/// A parsed version. Equality and ordering ignore the build suffix: `1.24.3-distroless` is the
/// same release as `1.24.3`, and `v1.29.4-gke.1043002` is Kubernetes 1.29.4.
#[derive(Clone, Debug)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    /// Absent in development tags (`1.25-dev`) and in minor-only versions (`1.29`).
    pub patch: Option<u32>,
    /// Pre-release marker and what follows it (`alpha.0`, `rc.1`, `dev`).
    pub pre: Option<String>,
    /// Vendor or variant suffix (`distroless`, `gke.1043002`, `asm.1`, `k3s1`).
    pub build: Option<String>,
}

impl Version {
    /// Parses `1.24.3`, `v1.29.4-gke.1043002`, `1.25-dev`, `1.24.0-rc.1-distroless`,
    /// `v1.27.6+k3s1`. Returns `None` for text that does not start with `major.minor`
    /// (`latest`, a digest, `auto`).
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text
            .strip_prefix('v')
            .or_else(|| text.strip_prefix('V'))
            .unwrap_or(text);
        let core_end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (core, rest) = text.split_at(core_end);
        let core = core.trim_end_matches('.');
        let mut numbers = core.split('.');
        let major = numbers.next()?.parse().ok()?;
        let minor = numbers.next()?.parse().ok()?;
        let patch = match numbers.next() {
            Some(patch) => Some(patch.parse().ok()?),
            None => None,
        };
        // A fourth number (`1.2.3.4`) is not a version either system uses.
        if numbers.next().is_some() {
            return None;
        }
        let (pre, build) = split_suffix(rest);
        Some(Version {
            major,
            minor,
            patch,
            pre,
            build,
        })
    }

    /// `(major, minor)`: the release line support and skew policies talk about.
    pub fn minor_line(&self) -> (u32, u32) {
        (self.major, self.minor)
    }

    /// `1.24`, the minor release this version belongs to.
    pub fn minor_text(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// Whether this is a pre-release or development build.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some()
    }

    /// Whether the build suffix names a vendor build (not one of Istio's own image variants).
    /// Vendors may back-port fixes, so advisories are matched with a caveat.
    pub fn is_vendor_build(&self) -> bool {
        self.build.as_deref().is_some_and(|build| {
            !build
                .split(['-', '.'])
                .all(|part| ISTIO_VARIANTS.contains(&part))
        })
    }

    /// The release without suffixes: `1.24.3`, `1.25` or `1.24.0-rc.1`.
    pub fn release_text(&self) -> String {
        use std::fmt::Write as _;
        let mut text = String::with_capacity(16);
        let _ = write!(text, "{}.{}", self.major, self.minor);
        if let Some(patch) = self.patch {
            let _ = write!(text, ".{patch}");
        }
        if let Some(pre) = &self.pre {
            text.push('-');
            text.push_str(pre);
        }
        text
    }

    /// How many minor releases `self` is ahead of `other` (negative: behind), within one major.
    pub fn minors_ahead_of(&self, other: &Version) -> i64 {
        if self.major != other.major {
            return (i64::from(self.major) - i64::from(other.major)) * 100;
        }
        i64::from(self.minor) - i64::from(other.minor)
    }

    /// Whether both are the same release (suffixes ignored).
    pub fn same_release(&self, other: &Version) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

/// Splits what follows the numbers into a pre-release marker and a build suffix.
fn split_suffix(rest: &str) -> (Option<String>, Option<String>) {
    if rest.is_empty() {
        return (None, None);
    }
    // `+` starts build metadata (semver, k3s); `-` or `_` a suffix.
    if let Some(build) = rest.strip_prefix('+') {
        return (None, non_empty(build));
    }
    let rest = rest.trim_start_matches(['-', '_']);
    let mut segments = rest.splitn(2, '-');
    let first = segments.next().unwrap_or_default();
    let remainder = segments.next();
    let is_pre = PRE_RELEASE_MARKERS
        .iter()
        .any(|marker| first.to_ascii_lowercase().starts_with(marker));
    if is_pre {
        (non_empty(first), remainder.and_then(non_empty))
    } else {
        (None, non_empty(rest))
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    /// Release order: numbers first (a missing patch counts as 0), then a pre-release sorts
    /// before the release it leads to. Build suffixes do not take part.
    fn cmp(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch.unwrap_or(0))
            .cmp(&(other.major, other.minor, other.patch.unwrap_or(0)))
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(a), Some(b)) => compare_pre(a, b),
            })
    }
}

/// Compares pre-release markers part by part, numbers numerically (`rc.10` after `rc.9`).
fn compare_pre(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.release_text())?;
        if let Some(build) = &self.build {
            write!(f, "-{build}")?;
        }
        Ok(())
    }
}

/// The tag of a container image reference (`docker.io/istio/proxyv2:1.24.2` → `1.24.2`), or
/// `None` for untagged and digest-only references. A registry port (`registry:5000/x`) is not a
/// tag.
pub fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let name_start = without_digest.rfind('/').map_or(0, |slash| slash + 1);
    let (_, tag) = without_digest[name_start..].split_once(':')?;
    (!tag.is_empty()).then_some(tag)
}

/// The repository name of an image without registry, path and tag (`proxyv2`).
pub fn image_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

/// The version an image tag names, if it names one.
pub fn image_version(image: &str) -> Option<Version> {
    image_tag(image).and_then(Version::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn istio_tags() {
        let plain = v("1.24.3");
        assert_eq!((plain.major, plain.minor, plain.patch), (1, 24, Some(3)));
        assert!(!plain.is_prerelease() && !plain.is_vendor_build());

        let distroless = v("1.24.3-distroless");
        assert_eq!(distroless, plain);
        assert_eq!(distroless.build.as_deref(), Some("distroless"));
        assert!(!distroless.is_vendor_build());

        let dev = v("1.25-dev");
        assert_eq!(dev.patch, None);
        assert_eq!(dev.pre.as_deref(), Some("dev"));
        assert!(dev.is_prerelease());
        assert_eq!(dev.minor_text(), "1.25");

        let rc = v("1.24.0-rc.1-distroless");
        assert_eq!(rc.pre.as_deref(), Some("rc.1"));
        assert_eq!(rc.build.as_deref(), Some("distroless"));
        assert!(rc < v("1.24.0"));
        assert!(v("1.24.0-rc.2") > rc);
        assert!(v("1.24.0-rc.10") > v("1.24.0-rc.9"));

        let alpha = v("1.25-alpha.bf5c0fa9f8e1d2a2c3b4");
        assert!(alpha.is_prerelease());

        let vendor = v("1.20.3-asm.1");
        assert!(vendor.is_vendor_build() && !vendor.is_prerelease());
        assert_eq!(vendor, v("1.20.3"));
        assert!(v("1.24.3-patch1-solo-fips-distroless").is_vendor_build());
    }

    #[test]
    fn kubernetes_versions_are_releases_not_prereleases() {
        let gke = v("v1.29.4-gke.1043002");
        assert_eq!((gke.major, gke.minor, gke.patch), (1, 29, Some(4)));
        assert!(!gke.is_prerelease());
        assert_eq!(gke, v("1.29.4"));
        assert!(gke > v("v1.29.3"));
        assert_eq!(gke.to_string(), "1.29.4-gke.1043002");

        let eks = v("v1.28.3-eks-4f4795d");
        assert_eq!(eks.build.as_deref(), Some("eks-4f4795d"));
        let k3s = v("v1.27.6+k3s1");
        assert_eq!(k3s.build.as_deref(), Some("k3s1"));
        assert_eq!(k3s.patch, Some(6));
        assert!(v("v1.31.0-alpha.1").is_prerelease());
        assert_eq!(v("1.29").patch, None);
    }

    #[test]
    fn not_versions() {
        for text in ["latest", "auto", "", "v", "1", "1.x", "1.2.3.4", "sha256"] {
            assert!(Version::parse(text).is_none(), "{text}");
        }
    }

    #[test]
    fn ordering_and_skew() {
        assert!(v("1.9.0") < v("1.10.0"));
        assert!(v("1.24") < v("1.24.1"));
        assert_eq!(v("1.24.3").minors_ahead_of(&v("1.22.1")), 2);
        assert_eq!(v("1.22.1").minors_ahead_of(&v("1.24.3")), -2);
    }

    #[test]
    fn image_references() {
        assert_eq!(image_tag("docker.io/istio/proxyv2:1.24.2"), Some("1.24.2"));
        assert_eq!(
            image_tag("registry.local:5000/istio/pilot:1.24.2-distroless"),
            Some("1.24.2-distroless")
        );
        assert_eq!(image_tag("registry.local:5000/istio/pilot"), None);
        assert_eq!(
            image_tag("gcr.io/istio-release/proxyv2:1.23.1@sha256:abcd"),
            Some("1.23.1")
        );
        assert_eq!(image_tag("istio/proxyv2@sha256:abcd"), None);
        assert_eq!(image_name("registry.local:5000/istio/pilot:1.2"), "pilot");
        assert_eq!(image_name("auto"), "auto");
        assert_eq!(
            image_version("docker.io/istio/proxyv2:1.24.2").map(|v| v.to_string()),
            Some("1.24.2".to_owned())
        );
        assert!(image_version("auto").is_none());
    }
}
