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
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".part");
        // A temporary file is private (0600) by default; the file it becomes should be
        // like any other the user writes: 0666 less the umask (usually 0644).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_committed_file_is_readable_by_others_as_the_umask_allows() {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("model.safetensors");
        let mut f = AtomicFile::create(&dest).unwrap();
        f.file().write_all(b"x").unwrap();
        f.commit().unwrap();
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        // The umask of the test process decides the group and other bits; the temporary
        // file's private 0600 would give 0o600 whatever the umask.
        let umask = {
            let probe = dir.path().join("probe");
            std::fs::File::create(&probe).unwrap();
            std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode, umask, "mode {mode:o}, a new file here gets {umask:o}");
    }
}
