//! Everything that can go wrong reading or writing an archive. Each variant displays as one line
//! that names the archive and, where there is one, the member.

use std::io;

/// An archive could not be written, or is not one meshcheck can trust.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{archive}: {source}")]
    Io {
        archive: String,
        #[source]
        source: io::Error,
    },
    #[error("{archive}: not a meshcheck archive or truncated/corrupt ({detail})")]
    Corrupt { archive: String, detail: String },
    #[error("{archive}: no manifest.json member")]
    MissingManifest { archive: String },
    #[error("{archive}: manifest.json: {detail}")]
    InvalidManifest { archive: String, detail: String },
    #[error(
        "{archive}: archive format version {found} is newer than this meshcheck reads (up to {supported}); upgrade meshcheck"
    )]
    UnsupportedVersion {
        archive: String,
        found: u64,
        supported: u32,
    },
    #[error(
        "{archive}: member {member}: checksum mismatch (manifest {expected}, content {actual})"
    )]
    ChecksumMismatch {
        archive: String,
        member: String,
        expected: String,
        actual: String,
    },
    #[error("{archive}: member {member}: listed in the manifest but missing from the archive")]
    MissingMember { archive: String, member: String },
    #[error("{archive}: member {member}: present in the archive but not listed in the manifest")]
    UnexpectedMember { archive: String, member: String },
    #[error("{archive}: member {member}: appears more than once")]
    DuplicateMember { archive: String, member: String },
    #[error("{archive}: member {member}: absolute path")]
    AbsolutePath { archive: String, member: String },
    #[error("{archive}: member {member}: path leaves the archive (`..` component)")]
    PathTraversal { archive: String, member: String },
    #[error("{archive}: member {member}: {link_kind} members are not allowed")]
    Link {
        archive: String,
        member: String,
        link_kind: &'static str,
    },
    #[error("{archive}: member {member}: {entry_kind} members are not allowed")]
    SpecialFile {
        archive: String,
        member: String,
        entry_kind: &'static str,
    },
    #[error("{archive}: more than {limit} members")]
    TooManyMembers { archive: String, limit: usize },
    #[error("{archive}: member {member}: larger than the {limit}-byte member limit")]
    MemberTooLarge {
        archive: String,
        member: String,
        limit: u64,
    },
    #[error(
        "{archive}: decompresses to more than the {limit}-byte limit (member {member}); refusing a possible decompression bomb"
    )]
    TooLarge {
        archive: String,
        member: String,
        limit: u64,
    },
    #[error("{archive}: cannot write: {detail}")]
    Write { archive: String, detail: String },
}

impl ArchiveError {
    pub(crate) fn io(archive: &str, source: io::Error) -> ArchiveError {
        ArchiveError::Io {
            archive: archive.to_owned(),
            source,
        }
    }
}
