//! Writing a file so that readers never see half of it: a temporary file in the target's
//! folder, checked, then renamed into place ([`AtomicFile`]).
//!
//! The data cache (downloads) and model checkpoints both write this way: when anything
//! fails before [`AtomicFile::commit`] (a broken connection, a failed check, a full disk, a
//! panic), the temporary file is deleted and whatever stood at the target before is
//! untouched. A rename within one folder is atomic on the file systems Linux and macOS use.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A file being written: a hidden temporary file `.<name>.XXXXXX.part` beside `dest`,
/// deleted on drop unless [`commit`](AtomicFile::commit) renamed it to `dest`.
///
/// ```
/// use std::io::Write;
/// use cnnkit_data::cache::AtomicFile;
///
/// let dir = std::env::temp_dir().join(format!("cnnkit-doc-atomic-{}", std::process::id()));
/// let dest = dir.join("weights.bin");
/// let mut f = AtomicFile::create(&dest)?;
/// f.file().write_all(b"1234").map_err(|e| cnnkit_data::Error::io("write", f.path(), e))?;
/// assert!(!dest.exists()); // nothing visible before the commit
/// f.commit()?;
/// assert_eq!(std::fs::read(&dest).unwrap(), b"1234");
///
/// let f = AtomicFile::create(&dest)?;
/// drop(f); // abandoned: the old file stays, no temporary file is left behind
/// assert_eq!(std::fs::read(&dest).unwrap(), b"1234");
/// assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl AtomicFile {
    /// Creates the temporary file for `dest`, and `dest`'s folder if it is missing.
    ///
    /// # Errors
    /// [`Error::Io`] when the folder cannot be created or written.
    pub fn create(dest: impl AsRef<Path>) -> Result<Self> {
        let dest = dest.as_ref();
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, e))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_string());
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|e| Error::io("create a temporary file in", dir, e))?;
        Ok(AtomicFile {
            temp,
            dest: dest.to_path_buf(),
        })
    }

    /// The temporary file's path, for writers that open a path themselves.
    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// The temporary file, open for writing.
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// The path the file will have after [`commit`](AtomicFile::commit).
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flushes the temporary file to disk and renames it to its destination, replacing
    /// what stood there.
    ///
    /// # Errors
    /// [`Error::Io`] when flushing or renaming fails; the temporary file is deleted then.
    pub fn commit(self) -> Result<PathBuf> {
        self.temp
            .as_file()
            .sync_all()
            .map_err(|e| Error::io("write", self.temp.path(), e))?;
        let AtomicFile { temp, dest } = self;
        temp.persist(&dest)
            .map_err(|e| Error::io("move into place", &dest, e.error))?;
        Ok(dest)
    }
}
