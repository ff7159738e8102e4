//! The error type of the data crate.
//!
//! Every fallible public function returns [`Result`]; `cnnkit-nn`'s error wraps this one, so
//! a notebook sees one `cnnkit_data::Error`. Messages are written for a student:
//! they say what was wrong (which file, which layer, expected versus actual) and what to do.

use std::path::PathBuf;

/// What an operating-system error means and what to do, for a person (the `Display` of
/// [`Error::Io`]): `Permission denied (os error 13)` becomes a sentence that says to pick
/// a folder you may write to.
///
/// ```
/// use std::io::{Error, ErrorKind};
/// let text = cnnkit_data::explain_io(&Error::from(ErrorKind::PermissionDenied));
/// assert!(text.starts_with("permission denied"), "{text}");
/// ```
pub fn explain_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    let what = match e.kind() {
        K::PermissionDenied => {
            "permission denied: this user may not use that file or folder; choose a folder \
             you can write to or fix its permissions (권한이 없습니다)"
        }
        K::NotFound => "no such file or folder (파일이나 폴더가 없습니다)",
        K::StorageFull => "the disk is full: free some space and retry (디스크가 가득 찼습니다)",
        K::ReadOnlyFilesystem => {
            "the file system is read-only: choose another folder (읽기 전용 파일 시스템입니다)"
        }
        K::IsADirectory => "this is a folder, not a file (폴더입니다)",
        K::UnexpectedEof => "the file ends too early: it is truncated (파일이 잘렸습니다)",
        _ => return e.to_string(),
    };
    format!("{what} [{e}]")
}

/// Shorthand for `std::result::Result<T, cnnkit_data::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while finding, reading, checking or downloading data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- files and data -------------------------------------------------------------
    /// Reading or writing a file failed.
    #[error("could not {action} `{path}`: {}", explain_io(source))]
    Io {
        /// What we were doing ("read", "write", "create folder", ...).
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// Fashion-MNIST was in none of the places searched and could not be downloaded.
    #[error(
        "Fashion-MNIST was not found. Places searched:{}\n\
         It could not be downloaded either: {reason}.\n\
         To fix this, do one of:\n  \
         - install the Debian package: `sudo apt-get install dataset-fashion-mnist`\n  \
         - set FASHION_MNIST_DIR to a folder holding the four files \
         (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, \
         t10k-labels-idx1-ubyte.gz; `.gz` or decompressed)\n  \
         - connect to the internet and retry (the files, about 30 MB, go to `{}`)\n\
         Fashion-MNIST 데이터를 찾지 못했습니다: `sudo apt-get install dataset-fashion-mnist`로 \
         설치하거나 FASHION_MNIST_DIR에 네 파일이 있는 폴더를 지정하십시오.",
        .searched.iter().map(|s| format!("\n  - {s}")).collect::<String>(),
        .cache.display()
    )]
    DatasetNotFound {
        /// Every place looked at, with what was missing there.
        searched: Vec<String>,
        /// Why downloading was not possible (switched off, no connection, ...).
        reason: String,
        /// The cache folder a download would have used.
        cache: PathBuf,
    },

    /// A file does not start with the IDX magic number expected for its kind.
    #[error(
        "`{path}` is not an IDX {kind} file: expected magic number {expected:#010x}, found \
         {found:#010x}. The file is damaged or is not Fashion-MNIST: delete or replace it and retry"
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// "images" or "labels".
        kind: &'static str,
        /// The magic number of that kind of file (`0x00000803` for images, `0x00000801` for labels).
        expected: u32,
        /// The first four bytes of the (decompressed) file, big-endian.
        found: u32,
    },

    /// A file is shorter than its header says.
    #[error(
        "`{path}` is truncated: its header announces {expected} bytes (decompressed) but it holds \
         {actual}. Probably an interrupted copy or download: delete it and retry"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header announces (header included).
        expected: u64,
        /// Bytes actually present.
        actual: u64,
    },

    /// An image file and its label file hold different numbers of items.
    #[error(
        "`{images_path}` holds {images} images but `{labels_path}` holds {labels} labels: the two \
         files come from different data sets or splits. Use an images file and a labels file \
         of the same split"
    )]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// Number of images it declares.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// Number of labels it declares.
        labels: usize,
    },

    /// An image file holds images of the wrong size.
    #[error(
        "`{path}` holds images of {found} pixels, expected {expected}: this is not Fashion-MNIST \
         (or MNIST-style) data. Point the loader at the Fashion-MNIST files"
    )]
    BadDimensions {
        /// The images file.
        path: PathBuf,
        /// What the loader needs, e.g. `28 x 28`.
        expected: String,
        /// What the header declares.
        found: String,
    },

    /// The SHA-256 digest of a file's decompressed bytes is not the reference one.
    #[error(
        "checksum mismatch for `{path}`: expected SHA-256 {expected}, got {actual} (computed on \
         the decompressed bytes). {advice}"
    )]
    ChecksumMismatch {
        /// The file (for a download, its URL file name inside the cache folder).
        path: PathBuf,
        /// The reference digest (hex).
        expected: String,
        /// The digest of the bytes found (hex).
        actual: String,
        /// What to do: which file to delete, or that the cache was left untouched.
        advice: String,
    },

    /// A file's content is inconsistent in some other way (bad gzip stream, trailing bytes,
    /// a label outside 0..=9, ...).
    #[error("`{path}` is damaged: {why}. Delete or replace it and retry")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },

    /// The server answered a download request with an HTTP error status.
    #[error(
        "download failed: HTTP {status} {status_text} for `{url}`. Check the address (base URL) \
         or retry later; or install the data offline: `sudo apt-get install dataset-fashion-mnist`. \
         This file was not saved"
    )]
    Http {
        /// The HTTP status code, e.g. 404.
        status: u16,
        /// The server's reason phrase, e.g. `Not Found`.
        status_text: String,
        /// The address requested.
        url: String,
    },

    /// A download started but did not complete (connection dropped, timeout, ...).
    #[error(
        "download of `{url}` failed: {why}. The partial file was deleted, the cache holds no \
         part of it: retry, or install the data offline: \
         `sudo apt-get install dataset-fashion-mnist`"
    )]
    Download {
        /// The address requested.
        url: String,
        /// What went wrong, e.g. `connection closed after 1000 of 5000 bytes`.
        why: String,
    },

    // ---- settings -----------------------------------------------------------------------
    /// A configuration value is out of range (an empty data set, a split past the end, ...).
    #[error("invalid {what}: {why}")]
    Invalid {
        /// The setting or argument.
        what: String,
        /// Why it is wrong and what to use instead.
        why: String,
    },

    // ---- images -----------------------------------------------------------------------
    /// Decoding or encoding an image failed.
    #[error("image `{name}`: {source}")]
    Image {
        /// File name or photo name.
        name: String,
        /// The `image` crate's error.
        #[source]
        source: image::ImageError,
    },
}

impl Error {
    /// Builds an [`Error::Io`] for `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::Invalid`].
    pub fn invalid(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            why: why.into(),
        }
    }
}
