use std::path::{Path, PathBuf};

/// A directory of its own for one test's SQLite file (and its `-wal`, `-shm` and `.lock`
/// companions), removed when dropped.
#[derive(Debug)]
pub struct ScratchDatabase {
    dir: PathBuf,
}

impl ScratchDatabase {
    /// A new, empty directory under the system's temporary directory.
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "trachios-test-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        Self { dir }
    }

    /// Where the database file goes (it does not exist until a store opens it).
    pub fn path(&self) -> PathBuf {
        self.dir.join("trachios.db")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Default for ScratchDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        // Best effort: a leftover directory in /tmp harms nothing.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
