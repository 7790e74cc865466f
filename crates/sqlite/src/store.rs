//! The store: the file lock, the writer, the readers, and how work reaches them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::result::Error;
use diesel::RunQueryDsl;
use diesel::SqliteConnection;
use tokio::sync::Mutex;
use trachios_domain::ports::ChangePublisher;
use trachios_domain::{BoxError, DomainError, EventKind, Order, OrderChange};

use crate::connection::{open, OpenFailure, ReaderPool, Readers};
use crate::error::{query_failure, transaction_failure};
use crate::file_lock::{FileLock, LockError};
use crate::migrations::migrate;

/// Where the file is and how many readers may work at once.
#[derive(Debug, Clone)]
pub struct SqliteSettings {
    pub path: PathBuf,
    /// Connections that read beside the single writer.
    pub readers: usize,
    /// How long a call waits for a reader before answering 503.
    pub wait: Duration,
    /// Whether opening applies pending migrations.
    pub migrate: bool,
}

impl SqliteSettings {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            readers: 8,
            wait: Duration::from_secs(3),
            migrate: true,
        }
    }
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error(transparent)]
    Open(#[from] OpenFailure),
    #[error("cannot prepare the SQLite database {path}")]
    Prepare {
        path: String,
        #[source]
        source: BoxError,
    },
}

/// One SQLite file, open for this process alone. Cheap to clone; the file stays locked
/// until the last clone is dropped.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    readers: ReaderPool,
    /// `None` after a write failed in a way that may have left the connection unusable;
    /// the next write opens a fresh one.
    writer: Arc<Mutex<Option<SqliteConnection>>>,
    publisher: Option<Arc<dyn ChangePublisher>>,
    _lock: FileLock,
}

impl SqliteStore {
    /// Claims the file (creating it when missing), switches it to WAL and, when the
    /// settings say so, applies pending migrations; returns the store and the migrations
    /// applied. Committed changes of orders go to `publisher`.
    pub async fn open(
        settings: SqliteSettings,
        publisher: Option<Arc<dyn ChangePublisher>>,
    ) -> Result<(Self, Vec<String>), OpenError> {
        let path = settings.path.clone();
        let failed = |source: BoxError| OpenError::Prepare {
            path: path.display().to_string(),
            source,
        };
        let (readers, wait) = (settings.readers.max(1), settings.wait);
        let (lock, writer, applied) = tokio::task::spawn_blocking(move || prepare(&settings))
            .await
            .map_err(|e| failed(e.into()))??;
        let readers = ReaderPool::builder(Readers { path: path.clone() })
            .max_size(readers)
            .runtime(deadpool::Runtime::Tokio1)
            .wait_timeout(Some(wait))
            .create_timeout(Some(wait))
            .build()
            .map_err(|e| failed(e.into()))?;
        let store = Self {
            inner: Arc::new(Inner {
                path,
                readers,
                writer: Arc::new(Mutex::new(Some(writer))),
                publisher,
                _lock: lock,
            }),
        };
        Ok((store, applied))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The reader pool as it is now, for the pool metrics.
    pub fn readers_status(&self) -> deadpool::managed::Status {
        self.inner.readers.status()
    }

    /// Stops handing out readers; calls after this answer 503.
    pub fn close(&self) {
        self.inner.readers.close();
    }

    /// Runs SQL statements in one immediate transaction on the writer, publishing nothing:
    /// for tools that load data in bulk (benchmarks, imports), never for request input.
    pub async fn execute_batch(&self, statements: String) -> Result<(), DomainError> {
        self.write(move |conn| conn.batch_execute(&statements), |_: &(), _| {})
            .await
    }

    /// Runs `work` on a reader connection, on a blocking thread.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut SqliteConnection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, DomainError> {
        let conn = self
            .inner
            .readers
            .get()
            .await
            .map_err(DomainError::unavailable)?;
        tokio::task::spawn_blocking(move || {
            let mut conn = conn;
            work(&mut conn)
        })
        .await
        .map_err(DomainError::internal)?
        .map_err(query_failure)
    }

    /// Runs `work` in an immediate transaction on the writer, after every write queued
    /// before it. When it commits, the orders `changed` visits in its result (with the kind
    /// of change each went through) are
    /// published before the next write starts, so subscribers see commit order. A dropped
    /// caller does not cut the transaction short: it runs to its end on its own thread.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut SqliteConnection) -> Result<T, Error> + Send + 'static,
        changed: impl FnOnce(&T, &mut dyn FnMut(&Order, EventKind)) + Send + 'static,
    ) -> Result<T, DomainError> {
        let mut slot = self.inner.writer.clone().lock_owned().await;
        let path = self.inner.path.clone();
        let publisher = self.inner.publisher.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = match slot.take() {
                Some(conn) => conn,
                None => open(&path).map_err(DomainError::unavailable)?,
            };
            let outcome = conn.immediate_transaction(work);
            let keep = match &outcome {
                Ok(_) | Err(Error::SerializationError(_)) => true,
                // The connection may be left in a state only a fresh one is safe from.
                Err(_) => false,
            };
            if keep {
                *slot = Some(conn);
            }
            let value = outcome.map_err(transaction_failure)?;
            if let Some(publisher) = publisher {
                // Only what someone watches is copied: a lifecycle batch nobody follows
                // costs no clone.
                let mut watched = Vec::new();
                changed(&value, &mut |order: &Order, kind| {
                    if publisher.wants(order.id, order.customer_id) {
                        watched.push(OrderChange {
                            order: order.clone(),
                            kind,
                        });
                    }
                });
                if !watched.is_empty() {
                    publisher.publish(watched);
                }
            }
            drop(slot);
            Ok(value)
        })
        .await
        .map_err(DomainError::internal)?
    }
}

#[derive(diesel::QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = diesel::sql_types::Text)]
    journal_mode: String,
}

/// Claims the file, opens the writer, turns on WAL and migrates: everything opening does
/// that blocks.
fn prepare(
    settings: &SqliteSettings,
) -> Result<(FileLock, SqliteConnection, Vec<String>), OpenError> {
    let lock = FileLock::acquire(&settings.path)?;
    let mut writer = open(&settings.path)?;
    let failed = |source: BoxError| OpenError::Prepare {
        path: settings.path.display().to_string(),
        source,
    };
    // WAL lets readers run beside the writer; the mode is stored in the file. SQLite keeps
    // the old mode, without an error, where WAL cannot work (a file system without shared
    // memory), and readers would then block the writer and see its changes half made.
    let mode: Vec<JournalMode> = diesel::sql_query("PRAGMA journal_mode = WAL")
        .load(&mut writer)
        .map_err(|e| failed(e.into()))?;
    let mode = mode.first().map_or("", |m| m.journal_mode.as_str());
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(failed(
            format!("the file cannot be put in WAL mode (it stays in {mode:?} mode); put it on a local file system").into(),
        ));
    }
    let applied = if settings.migrate {
        migrate(&mut writer).map_err(failed)?
    } else {
        Vec::new()
    };
    Ok((lock, writer, applied))
}
