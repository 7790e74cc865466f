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

pub(crate) fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl FileLock {
    pub(crate) fn acquire(database: &Path) -> Result<Self, LockError> {
        let lock = lock_path(database);
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
