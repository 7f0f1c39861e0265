//! Walking paths, reading files (or stdin) and parsing them in parallel.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::documents::parse_files;
use crate::object::{LoadIssue, Object};

/// Input problems that stop the run: a path the user named does not exist or cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not UTF-8 text (byte {offset})")]
    NotUtf8 { path: String, offset: usize },
}

/// Everything loaded from the inputs, with the problems met on the way.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    pub objects: Vec<Object>,
    pub issues: Vec<LoadIssue>,
    /// How many files were read.
    pub files: usize,
    /// The first file read (never stdin), for reports that must point somewhere.
    pub first_file: Option<String>,
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|ext| ext.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Expands the paths given by the user: directories are walked recursively (`.yaml`, `.yml`,
/// `.json`, in name order), files are kept as given, `-` stands for stdin.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            files.push(path.clone());
            continue;
        }
        let metadata = std::fs::metadata(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => InputError::NotFound {
                path: path.display().to_string(),
            },
            _ => InputError::Io {
                path: path.display().to_string(),
                source,
            },
        })?;
        if metadata.is_dir() {
            walk(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let io_error = |source| InputError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io_error)?
        .collect::<Result<_, _>>()
        .map_err(io_error)?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let file_type = entry.file_type().map_err(io_error)?;
        if file_type.is_dir() {
            walk(&path, files)?;
        } else if is_manifest(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn read_text(path: &Path) -> Result<String, InputError> {
    let display = if path.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    };
    let mut bytes = Vec::new();
    let result = if path.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut file| file.read_to_end(&mut bytes).map(|_| ()))
    };
    result.map_err(|source| InputError::Io {
        path: display.clone(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|error| InputError::NotUtf8 {
        path: display,
        offset: error.utf8_error().valid_up_to(),
    })
}

/// Loads every object from the given paths. Files are read and their documents parsed in
/// parallel; objects keep file order.
pub fn load_paths(paths: &[PathBuf]) -> Result<LoadOutcome, InputError> {
    let files = collect_files(paths)?;
    let texts: Vec<Result<String, InputError>> =
        files.par_iter().map(|path| read_text(path)).collect();
    let mut named = Vec::with_capacity(files.len());
    for (path, text) in files.iter().zip(texts) {
        let name: Arc<str> = if path.as_os_str() == "-" {
            Arc::from("<stdin>")
        } else {
            Arc::from(path.display().to_string())
        };
        named.push((name, text?));
    }
    let borrowed: Vec<(Arc<str>, &str)> = named
        .iter()
        .map(|(name, text)| (name.clone(), text.as_str()))
        .collect();
    let (objects, issues) = parse_files(&borrowed);
    let first_file = files
        .iter()
        .find(|path| path.as_os_str() != "-")
        .map(|path| path.display().to_string());
    Ok(LoadOutcome {
        objects,
        issues,
        files: files.len(),
        first_file,
    })
}

/// Loads objects from any reader (used for stdin and archive members).
pub fn load_reader(name: &str, mut reader: impl Read) -> Result<LoadOutcome, InputError> {
    let mut text = String::new();
    reader
        .read_to_string(&mut text)
        .map_err(|source| InputError::Io {
            path: name.to_owned(),
            source,
        })?;
    let (objects, issues) = parse_files(&[(Arc::from(name), text.as_str())]);
    Ok(LoadOutcome {
        objects,
        issues,
        files: 1,
        first_file: None,
    })
}
