use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// An exclusive lock on `{database}.lock`, held for as long as the store is open: the
/// in-process cache and change feed are only right when this process makes every write,
/// so a second process on the same file is refused rather than left serving stale data.
#[derive(Debug)]
pub(crate) struct FileLock {
    // The lock lasts while the file stays open; the OS releases it if the process dies.
    _file: File,
}

/// Why the database file could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{database} is in use by another Trachios process (lock file {lock}); the embedded \
         store serves one process only: stop the other one, or move to PostgreSQL to run several"
    )]
    InUse { database: String, lock: String },
    #[error("cannot lock {lock}")]
    Io {
        lock: String,
        #[source]
        source: std::io::Error,
    },
}

/// The lock file of a database: beside the file the path leads to, once symbolic links are
/// followed, so that two names of one file (a link to it, or to its directory) share one
/// lock.
pub(crate) fn lock_path(database: &Path) -> std::io::Result<PathBuf> {
    let mut name = canonical(database)?.into_os_string();
    name.push(".lock");
    Ok(PathBuf::from(name))
}

/// The file's canonical path; for a file not created yet, its directory's canonical path
/// and its name.
fn canonical(path: &Path) -> std::io::Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(found) => Ok(found),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = path.file_name().ok_or(e)?;
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            Ok(std::fs::canonicalize(parent)?.join(name))
        }
        Err(e) => Err(e),
    }
}

impl FileLock {
    pub(crate) fn acquire(database: &Path) -> Result<Self, LockError> {
        let lock = lock_path(database).map_err(|source| LockError::Io {
            lock: format!("{}.lock", database.display()),
            source,
        })?;
        let io = |source| LockError::Io {
            lock: lock.display().to_string(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(LockError::InUse {
                database: database.display().to_string(),
                lock: lock.display().to_string(),
            }),
            Err(TryLockError::Error(source)) => Err(io(source)),
        }
    }
}
