//! Opening connections, and the pool of readers.

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use trachios_domain::BoxError;

/// Settings every connection needs, whoever opens it. `synchronous = FULL` syncs the WAL at
/// every commit: an acknowledged write survives a power cut, as it does in PostgreSQL.
/// Foreign keys are off by default in SQLite. The busy timeout only matters against tools
/// that open the file beside the server (sqlite3, a backup), never between its own
/// connections: the process writes one at a time.
const CONNECTION_PRAGMAS: &str = "\
PRAGMA busy_timeout = 5000;
PRAGMA foreign_keys = ON;
PRAGMA synchronous = FULL;";

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the SQLite database {path}")]
pub struct OpenFailure {
    path: String,
    #[source]
    source: BoxError,
}

pub(crate) fn open(path: &Path) -> Result<SqliteConnection, OpenFailure> {
    let failure = |source: BoxError| OpenFailure {
        path: path.display().to_string(),
        source,
    };
    let url = path
        .to_str()
        .ok_or_else(|| failure("the path is not UTF-8".into()))?;
    let mut conn = SqliteConnection::establish(url).map_err(|e| failure(e.into()))?;
    conn.batch_execute(CONNECTION_PRAGMAS)
        .map_err(|e| failure(e.into()))?;
    Ok(conn)
}

/// Opens reader connections for the pool, each on a blocking thread.
pub(crate) struct Readers {
    pub path: PathBuf,
}

impl deadpool::managed::Manager for Readers {
    type Type = SqliteConnection;
    type Error = OpenFailure;

    async fn create(&self) -> Result<SqliteConnection, OpenFailure> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || open(&path))
            .await
            .map_err(|e| OpenFailure {
                path: self.path.display().to_string(),
                source: e.into(),
            })?
    }

    async fn recycle(
        &self,
        _conn: &mut SqliteConnection,
        _metrics: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<OpenFailure> {
        // A reader holds no state between calls: every call is a few autocommit reads.
        Ok(())
    }
}

pub(crate) type ReaderPool = deadpool::managed::Pool<Readers>;
