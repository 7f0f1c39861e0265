//! Every way an archive can be broken or hostile. Hostile archives are built here with the tar
//! crate, not stored as binary files.

mod common;

use std::io::Write;

use common::{open, open_limited, sample_bytes};
use meshcheck_archive::{Archive, ArchiveError, Limits, Manifest};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The members of a valid archive, decoded, to tamper with.
fn sample_members() -> Vec<(String, Vec<u8>)> {
    let tar = zstd::decode_all(sample_bytes().as_slice()).unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            (path, data)
        })
        .collect()
}

fn manifest_of(members: &[(String, Vec<u8>)]) -> Manifest {
    serde_json::from_slice(
        &members
            .iter()
            .find(|(path, _)| path == "manifest.json")
            .unwrap()
            .1,
    )
    .unwrap()
}

fn with_manifest(members: &mut [(String, Vec<u8>)], manifest: &Manifest) {
    let slot = members
        .iter_mut()
        .find(|(path, _)| path == "manifest.json")
        .unwrap();
    slot.1 = serde_json::to_vec(manifest).unwrap();
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A raw tar header: the path is written into the name field as is (tar's own path setter
/// refuses `..` and absolute paths, which is exactly what these tests need).
fn raw_header(path: &str, entry_type: tar::EntryType, size: u64) -> tar::Header {
    let mut header = tar::Header::new_old();
    let name = &mut header.as_old_mut().name;
    name[..path.len()].copy_from_slice(path.as_bytes());
    header.set_entry_type(entry_type);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    header
}

fn pack(members: &[(String, Vec<u8>)], extra: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in members {
        let header = raw_header(path, tar::EntryType::Regular, data.len() as u64);
        builder.append(&header, data.as_slice()).unwrap();
    }
    extra(&mut builder);
    let tar = builder.into_inner().unwrap();
    zstd::encode_all(tar.as_slice(), 3).unwrap()
}

fn error_of(bytes: &[u8]) -> ArchiveError {
    open(bytes).expect_err("the archive must be rejected")
}

#[test]
fn repacked_members_still_verify() {
    // The tamper helpers themselves produce a valid archive when nothing is changed.
    let archive = open(&pack(&sample_members(), |_| {})).unwrap();
    assert_eq!(archive.manifest().counts["v1/Service"], 3);
}

#[test]
fn truncated_file_is_corrupt() {
    let bytes = sample_bytes();
    for cut in [0, 3, bytes.len() / 2, bytes.len() - 1] {
        let error = error_of(&bytes[..cut]);
        assert!(
            matches!(
                error,
                ArchiveError::Corrupt { .. } | ArchiveError::MissingManifest { .. }
            ),
            "cut {cut}: {error}"
        );
        assert!(error.to_string().starts_with("test.tar.zst: "), "{error}");
    }
}

#[test]
fn not_an_archive_is_corrupt() {
    let error = error_of(b"apiVersion: v1\nkind: Service\n");
    assert!(matches!(error, ArchiveError::Corrupt { .. }), "{error}");
}

#[test]
fn flipped_byte_in_a_member_is_a_checksum_mismatch() {
    let mut members = sample_members();
    let (path, data) = members
        .iter_mut()
        .find(|(path, _)| path == "objects/core/v1/Service.json")
        .unwrap();
    let at = data.iter().position(|byte| *byte == b'9').unwrap();
    data[at] = b'8';
    let path = path.clone();
    let error = error_of(&pack(&members, |_| {}));
    assert!(
        matches!(&error, ArchiveError::ChecksumMismatch { member, .. } if *member == path),
        "{error}"
    );
    assert!(
        error.to_string().contains("objects/core/v1/Service.json"),
        "{error}"
    );
}

#[test]
fn flipped_byte_in_the_compressed_stream_is_rejected() {
    let mut bytes = sample_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    let error = error_of(&bytes);
    assert!(
        matches!(
            error,
            ArchiveError::Corrupt { .. }
                | ArchiveError::ChecksumMismatch { .. }
                | ArchiveError::InvalidManifest { .. }
        ),
        "{error}"
    );
}

#[test]
fn wrong_checksum_in_the_manifest_is_a_mismatch() {
    let mut members = sample_members();
    let mut manifest = manifest_of(&members);
    manifest.members.insert(
        "events/events.json".to_owned(),
        sha256_hex(b"something else"),
    );
    with_manifest(&mut members, &manifest);
    let error = error_of(&pack(&members, |_| {}));
    assert!(
        matches!(&error, ArchiveError::ChecksumMismatch { member, .. } if member == "events/events.json"),
        "{error}"
    );
}

#[test]
fn missing_member_is_rejected() {
    let mut members = sample_members();
    members.retain(|(path, _)| path != "objects/core/v1/Secret.json");
    let error = error_of(&pack(&members, |_| {}));
    assert!(
        matches!(&error, ArchiveError::MissingMember { member, .. } if member == "objects/core/v1/Secret.json"),
        "{error}"
    );
}

#[test]
fn extra_member_is_rejected() {
    let mut members = sample_members();
    members.push((
        "objects/core/v1/Pod.json".to_owned(),
        br#"{"apiVersion":"v1","kind":"List","items":[]}"#.to_vec(),
    ));
    let error = error_of(&pack(&members, |_| {}));
    assert!(
        matches!(&error, ArchiveError::UnexpectedMember { member, .. } if member == "objects/core/v1/Pod.json"),
        "{error}"
    );
}

#[test]
fn duplicate_member_is_rejected() {
    let mut members = sample_members();
    let copy = members
        .iter()
        .find(|(path, _)| path.ends_with("Service.json"))
        .unwrap()
        .clone();
    members.push(copy);
    let error = error_of(&pack(&members, |_| {}));
    assert!(
        matches!(error, ArchiveError::DuplicateMember { .. }),
        "{error}"
    );
}

#[test]
fn missing_manifest_is_rejected() {
    let mut members = sample_members();
    members.retain(|(path, _)| path != "manifest.json");
    assert!(matches!(
        error_of(&pack(&members, |_| {})),
        ArchiveError::MissingManifest { .. }
    ));
}

#[test]
fn parent_directory_path_is_rejected() {
    let members = sample_members();
    let bytes = pack(&members, |builder| {
        let header = raw_header("objects/../../etc/passwd", tar::EntryType::Regular, 4);
        builder.append(&header, &b"root"[..]).unwrap();
    });
    let error = error_of(&bytes);
    assert!(
        matches!(error, ArchiveError::PathTraversal { .. }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "test.tar.zst: member objects/../../etc/passwd: path leaves the archive (`..` component)"
    );
}

#[test]
fn absolute_path_is_rejected() {
    let bytes = pack(&sample_members(), |builder| {
        let header = raw_header("/etc/cron.d/evil", tar::EntryType::Regular, 4);
        builder.append(&header, &b"evil"[..]).unwrap();
    });
    let error = error_of(&bytes);
    assert!(
        matches!(error, ArchiveError::AbsolutePath { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("/etc/cron.d/evil"));
}

#[test]
fn links_and_devices_are_rejected() {
    for (entry_type, expected) in [
        (tar::EntryType::Symlink, "symbolic link"),
        (tar::EntryType::Link, "hard link"),
        (tar::EntryType::Char, "character device"),
        (tar::EntryType::Block, "block device"),
        (tar::EntryType::Fifo, "FIFO"),
    ] {
        let bytes = pack(&sample_members(), |builder| {
            let mut header = raw_header("objects/core/v1/Link.json", entry_type, 0);
            header.set_link_name("/etc/shadow").unwrap();
            header.set_cksum();
            builder.append(&header, &b""[..]).unwrap();
        });
        let error = error_of(&bytes);
        let is_link = matches!(error, ArchiveError::Link { .. });
        let is_special = matches!(error, ArchiveError::SpecialFile { .. });
        assert!(is_link || is_special, "{error}");
        assert!(error.to_string().contains(expected), "{error}");
        assert!(
            error.to_string().contains("objects/core/v1/Link.json"),
            "{error}"
        );
    }
}

#[test]
fn too_many_members_is_rejected() {
    let members = sample_members();
    let limits = Limits {
        max_members: members.len() - 1,
        ..Limits::default()
    };
    let error = open_limited(&pack(&members, |_| {}), limits).unwrap_err();
    assert!(
        matches!(error, ArchiveError::TooManyMembers { limit, .. } if limit == members.len() - 1),
        "{error}"
    );
}

#[test]
fn oversized_member_is_rejected() {
    let limits = Limits {
        max_member_bytes: 64,
        ..Limits::default()
    };
    let error = open_limited(&sample_bytes(), limits).unwrap_err();
    assert!(
        matches!(error, ArchiveError::MemberTooLarge { .. }),
        "{error}"
    );
}

#[test]
fn decompression_bomb_is_stopped_at_the_limit() {
    // 64 MiB of zeros compresses to a few kilobytes.
    let zeros = vec![0u8; 64 << 20];
    let bytes = pack(&sample_members(), |builder| {
        let header = raw_header(
            "proxy-stats/bomb.txt",
            tar::EntryType::Regular,
            zeros.len() as u64,
        );
        builder.append(&header, zeros.as_slice()).unwrap();
    });
    assert!(
        bytes.len() < 64 << 10,
        "the bomb compresses well: {}",
        bytes.len()
    );
    let limits = Limits {
        max_total_bytes: 8 << 20,
        ..Limits::default()
    };
    let error = open_limited(&bytes, limits).unwrap_err();
    assert!(matches!(error, ArchiveError::TooLarge { .. }), "{error}");
    assert!(error.to_string().contains("decompression bomb"), "{error}");
}

#[test]
fn newer_format_names_its_version() {
    let mut members = sample_members();
    let slot = members
        .iter_mut()
        .find(|(path, _)| path == "manifest.json")
        .unwrap();
    let mut manifest: Value = serde_json::from_slice(&slot.1).unwrap();
    manifest["format_version"] = json!(7);
    slot.1 = serde_json::to_vec(&manifest).unwrap();
    let error = error_of(&pack(&members, |_| {}));
    assert!(
        matches!(error, ArchiveError::UnsupportedVersion { found: 7, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("format version 7"), "{error}");
}

#[test]
fn invalid_manifest_is_rejected() {
    let mut members = sample_members();
    members
        .iter_mut()
        .find(|(path, _)| path == "manifest.json")
        .unwrap()
        .1 = b"{not json".to_vec();
    assert!(matches!(
        error_of(&pack(&members, |_| {})),
        ArchiveError::InvalidManifest { .. }
    ));
}

#[test]
fn broken_object_member_becomes_a_load_issue() {
    let mut members = sample_members();
    let broken =
        b"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n{\"kind\":\"Service\"}\n]}\n"
            .to_vec();
    let mut manifest = manifest_of(&members);
    manifest.members.insert(
        "objects/core/v1/Service.json".to_owned(),
        sha256_hex(&broken),
    );
    members
        .iter_mut()
        .find(|(path, _)| path == "objects/core/v1/Service.json")
        .unwrap()
        .1 = broken;
    with_manifest(&mut members, &manifest);
    let archive = open(&pack(&members, |_| {})).unwrap();
    let (_, issues) = archive.objects();
    assert_eq!(issues.len(), 1);
    assert_eq!(
        issues[0].to_string(),
        "objects/core/v1/Service.json:2: skipped: not a Kubernetes object: no apiVersion/kind"
    );
}

#[test]
fn file_errors_name_the_path() {
    let error = Archive::open(
        std::path::Path::new("/nonexistent/x.tar.zst"),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        error.to_string().starts_with("/nonexistent/x.tar.zst: "),
        "{error}"
    );
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"garbage").unwrap();
    assert!(matches!(
        Archive::open(file.path(), &Limits::default()),
        Err(ArchiveError::Corrupt { .. })
    ));
}
