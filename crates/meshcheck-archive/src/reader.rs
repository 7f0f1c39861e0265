//! Reading an archive: every member is read into memory (never unpacked to disk) under size and
//! count limits, checked against the manifest's checksums, and only then handed out.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use meshcheck_input::{LoadIssue, Object};
use meshcheck_model::{ClusterInfo, InputSource};
use serde_json::Value;

use crate::error::ArchiveError;
use crate::manifest::{FORMAT_VERSION, MANIFEST_MEMBER, Manifest, Source};
use crate::writer::{EVENTS_MEMBER, PROXY_STATS_DIR, VERSION_MEMBER, sha256_hex};

/// The four magic bytes every zstd frame starts with.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Caps that keep a hostile or broken archive from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Decompressed bytes over the whole tar stream.
    pub max_total_bytes: u64,
    pub max_members: usize,
    /// Bytes of any one member.
    pub max_member_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_total_bytes: 2 << 30,
            max_members: 100_000,
            max_member_bytes: 1 << 30,
        }
    }
}

/// True when the file starts with the zstd magic bytes (content decides, not the extension).
pub fn is_archive(path: &Path) -> std::io::Result<bool> {
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path)?;
    let mut read = 0;
    while read < magic.len() {
        match file.read(&mut magic[read..])? {
            0 => return Ok(false),
            n => read += n,
        }
    }
    Ok(magic == ZSTD_MAGIC)
}

/// Whether a file is meant as a snapshot archive: its name ends in `.tar.zst` (or `.tzst`), or
/// it starts with the zstd magic bytes. The name alone is enough so that an empty or garbled file
/// meant as an archive is refused as one, never read as an empty manifest.
pub fn claims_archive(path: &Path) -> std::io::Result<bool> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase());
    if name.is_some_and(|name| name.ends_with(".tar.zst") || name.ends_with(".tzst")) {
        return Ok(true);
    }
    is_archive(path)
}

/// A verified archive held in memory.
#[derive(Debug)]
pub struct Archive {
    name: String,
    manifest: Manifest,
    /// Every member but the manifest, by path.
    members: BTreeMap<String, Vec<u8>>,
    decompressed_bytes: u64,
}

/// Counts decompressed bytes and fails the read once the limit is passed.
struct CappedReader<R> {
    inner: R,
    read: Rc<Cell<u64>>,
    limit: u64,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        if self.read.get() > self.limit {
            return Err(std::io::Error::other("decompressed size limit exceeded"));
        }
        Ok(n)
    }
}

impl Archive {
    /// Opens and verifies the archive at `path`.
    pub fn open(path: &Path, limits: &Limits) -> Result<Archive, ArchiveError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| ArchiveError::io(&name, source))?;
        // zstd reads an empty stream as zero frames and tar as zero members: say what it is.
        let length = file
            .metadata()
            .map_err(|source| ArchiveError::io(&name, source))?
            .len();
        if length == 0 {
            return Err(ArchiveError::Corrupt {
                archive: name,
                detail: "empty file".to_owned(),
            });
        }
        Archive::from_reader(&name, std::io::BufReader::new(file), limits)
    }

    /// Reads and verifies an archive from any reader; `name` identifies it in errors.
    pub fn from_reader(
        name: &str,
        reader: impl Read,
        limits: &Limits,
    ) -> Result<Archive, ArchiveError> {
        let (members, decompressed_bytes) = read_members(name, reader, limits)?;
        let mut members = members;
        let manifest_bytes =
            members
                .remove(MANIFEST_MEMBER)
                .ok_or_else(|| ArchiveError::MissingManifest {
                    archive: name.to_owned(),
                })?;
        let manifest = parse_manifest(name, &manifest_bytes)?;
        verify_members(name, &manifest, &members)?;
        Ok(Archive {
            name: name.to_owned(),
            manifest,
            members,
            decompressed_bytes,
        })
    }

    /// The archive's name as given to [`Archive::open`] or [`Archive::from_reader`].
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Number of members, the manifest included.
    pub fn member_count(&self) -> usize {
        self.members.len() + 1
    }

    /// Decompressed size of the tar stream, headers included.
    pub fn decompressed_bytes(&self) -> u64 {
        self.decompressed_bytes
    }

    /// A member's bytes (verified), by path.
    pub fn member(&self, path: &str) -> Option<&[u8]> {
        self.members.get(path).map(Vec::as_slice)
    }

    /// Every object of the snapshot, with problems met decoding them. Each object's source is
    /// its member path and the line of its item.
    pub fn objects(&self) -> (Vec<Object>, Vec<LoadIssue>) {
        // Events are objects too (rules read Warning events on mesh components).
        let events = self
            .members
            .get_key_value(EVENTS_MEMBER)
            .map(|(path, data)| (path.as_str(), data.as_slice()));
        let members = self
            .members
            .range("objects/".to_owned()..)
            .take_while(|(path, _)| path.starts_with("objects/"))
            .map(|(path, data)| (path.as_str(), data.as_slice()))
            .chain(events);
        crate::objects::load_objects(members)
    }

    /// The input facts rules may use. A snapshot packed from manifests keeps manifest semantics
    /// (absence of an object is not evidence of anything).
    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            source: match self.manifest.source {
                Source::Cluster => InputSource::Archive,
                Source::Manifests => InputSource::Manifests,
            },
            context: self.manifest.context.clone(),
            collected_at: Some(self.manifest.collected_at.clone()),
            kubernetes_version: self.manifest.kubernetes_version.clone(),
            collection_gaps: self.manifest.collection_errors.clone(),
        }
    }

    /// `(name, text)` of every Envoy stats dump.
    pub fn proxy_stats(&self) -> Vec<(String, String)> {
        self.members
            .iter()
            .filter_map(|(path, data)| {
                let name = path.strip_prefix(PROXY_STATS_DIR)?;
                let name = name.strip_suffix(".txt").unwrap_or(name);
                Some((name.to_owned(), String::from_utf8_lossy(data).into_owned()))
            })
            .collect()
    }

    /// The Events, newest first.
    pub fn events(&self) -> Vec<Value> {
        self.member(EVENTS_MEMBER)
            .and_then(|data| serde_json::from_slice::<Value>(data).ok())
            .and_then(|mut list| list.get_mut("items").map(Value::take))
            .and_then(|items| match items {
                Value::Array(items) => Some(items),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The API server's `/version` body, when it was collected.
    pub fn version_json(&self) -> Option<Value> {
        serde_json::from_slice(self.member(VERSION_MEMBER)?).ok()
    }
}

fn read_members(
    name: &str,
    reader: impl Read,
    limits: &Limits,
) -> Result<(BTreeMap<String, Vec<u8>>, u64), ArchiveError> {
    let corrupt = |error: std::io::Error| ArchiveError::Corrupt {
        archive: name.to_owned(),
        detail: error.to_string(),
    };
    let decoder = zstd::Decoder::new(reader).map_err(corrupt)?;
    let read = Rc::new(Cell::new(0u64));
    let capped = CappedReader {
        inner: decoder,
        read: read.clone(),
        limit: limits.max_total_bytes,
    };
    // Any read error past the cap is the cap's doing, whatever tar or zstd made of it.
    let read_error = |error: std::io::Error, member: &str| {
        if read.get() > limits.max_total_bytes {
            ArchiveError::TooLarge {
                archive: name.to_owned(),
                member: member.to_owned(),
                limit: limits.max_total_bytes,
            }
        } else {
            corrupt(error)
        }
    };
    let mut tar = tar::Archive::new(capped);
    let mut members = BTreeMap::new();
    let mut count = 0usize;
    let mut last_member = String::from("(first)");
    let entries = tar
        .entries()
        .map_err(|error| read_error(error, &last_member))?;
    for entry in entries {
        let mut entry = entry.map_err(|error| read_error(error, &last_member))?;
        let member = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        last_member.clone_from(&member);
        count += 1;
        if count > limits.max_members {
            return Err(ArchiveError::TooManyMembers {
                archive: name.to_owned(),
                limit: limits.max_members,
            });
        }
        check_path(name, &member)?;
        if !check_entry_type(name, &member, entry.header().entry_type())? {
            continue;
        }
        let too_large = || ArchiveError::MemberTooLarge {
            archive: name.to_owned(),
            member: member.clone(),
            limit: limits.max_member_bytes,
        };
        let declared = entry.header().size().map_err(corrupt)?;
        if declared > limits.max_member_bytes {
            return Err(too_large());
        }
        let mut data = Vec::with_capacity(declared.min(1 << 20) as usize);
        (&mut entry)
            .take(limits.max_member_bytes + 1)
            .read_to_end(&mut data)
            .map_err(|error| read_error(error, &member))?;
        if data.len() as u64 > limits.max_member_bytes {
            return Err(too_large());
        }
        if members.insert(member.clone(), data).is_some() {
            return Err(ArchiveError::DuplicateMember {
                archive: name.to_owned(),
                member,
            });
        }
    }
    Ok((members, read.get()))
}

fn check_path(archive: &str, member: &str) -> Result<(), ArchiveError> {
    if member.starts_with('/') || member.starts_with('\\') {
        return Err(ArchiveError::AbsolutePath {
            archive: archive.to_owned(),
            member: member.to_owned(),
        });
    }
    if member.split(['/', '\\']).any(|component| component == "..") {
        return Err(ArchiveError::PathTraversal {
            archive: archive.to_owned(),
            member: member.to_owned(),
        });
    }
    Ok(())
}

/// Ok(true) for a regular file, Ok(false) for an entry to skip (a directory), an error for the
/// rest.
fn check_entry_type(
    archive: &str,
    member: &str,
    entry_type: tar::EntryType,
) -> Result<bool, ArchiveError> {
    use tar::EntryType;
    let link = |link_kind| ArchiveError::Link {
        archive: archive.to_owned(),
        member: member.to_owned(),
        link_kind,
    };
    let special = |entry_kind| ArchiveError::SpecialFile {
        archive: archive.to_owned(),
        member: member.to_owned(),
        entry_kind,
    };
    match entry_type {
        EntryType::Regular | EntryType::Continuous => Ok(true),
        EntryType::Directory => Ok(false),
        EntryType::Symlink => Err(link("symbolic link")),
        EntryType::Link => Err(link("hard link")),
        EntryType::Char => Err(special("character device")),
        EntryType::Block => Err(special("block device")),
        EntryType::Fifo => Err(special("FIFO")),
        _ => Err(special("non-regular")),
    }
}

fn parse_manifest(archive: &str, bytes: &[u8]) -> Result<Manifest, ArchiveError> {
    let invalid = |detail: String| ArchiveError::InvalidManifest {
        archive: archive.to_owned(),
        detail,
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|error| invalid(error.to_string()))?;
    let version = value
        .get("format_version")
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid("no numeric format_version".to_owned()))?;
    if version > u64::from(FORMAT_VERSION) {
        return Err(ArchiveError::UnsupportedVersion {
            archive: archive.to_owned(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version == 0 {
        return Err(invalid("format_version 0 does not exist".to_owned()));
    }
    serde_json::from_value(value).map_err(|error| invalid(error.to_string()))
}

fn verify_members(
    archive: &str,
    manifest: &Manifest,
    members: &BTreeMap<String, Vec<u8>>,
) -> Result<(), ArchiveError> {
    for (member, expected) in &manifest.members {
        let Some(data) = members.get(member) else {
            return Err(ArchiveError::MissingMember {
                archive: archive.to_owned(),
                member: member.clone(),
            });
        };
        let actual = sha256_hex(data);
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(ArchiveError::ChecksumMismatch {
                archive: archive.to_owned(),
                member: member.clone(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    if let Some(extra) = members
        .keys()
        .find(|member| !manifest.members.contains_key(*member))
    {
        return Err(ArchiveError::UnexpectedMember {
            archive: archive.to_owned(),
            member: extra.clone(),
        });
    }
    Ok(())
}
