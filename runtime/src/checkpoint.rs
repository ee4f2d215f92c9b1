//! Where a source resumes: the last acknowledged sequence number of each
//! shard, and which shards are finished.
//!
//! The store is a trait so that a DynamoDB lease table can stand in for the
//! default [`FileCheckpointStore`], which keeps one JSON file per source and
//! replaces it atomically (write to a temporary file, fsync, rename, fsync the
//! directory), so a crash leaves either the old or the new checkpoint.

pub use kinesis_tables_config::checkpoints::{CheckpointStoreConfig, LeaseTableConfig};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

/// A boxed future, so that stores can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The committed position of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The stream the checkpoint belongs to (its ARN or name); loading a
    /// checkpoint of another stream is an error, never a silent restart.
    pub stream: String,
    /// For `LATEST`: the time of the very first start, in epoch
    /// milliseconds. A restart reads shards without a checkpoint from here,
    /// so records written while the source was down are not skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_start_millis: Option<i64>,
    /// When the stream was created (DescribeStreamSummary), in epoch
    /// milliseconds. A stream deleted and recreated under the same name has
    /// the same ARN and restarts its shard ids, so the checkpoint's positions
    /// would silently skip the new stream's shards: a different creation
    /// time is refused at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_created_millis: Option<i64>,
    /// Per shard: where to resume.
    #[serde(default)]
    pub shards: BTreeMap<String, ShardPosition>,
}

/// Where a shard resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardPosition {
    /// Resume after this sequence number — or, with a sub-sequence number,
    /// inside that (KPL-aggregated) record, after that sub-record.
    After {
        sequence_number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sub_sequence_number: Option<u64>,
        /// The arrival time (epoch milliseconds) of the checkpointed record,
        /// or later: the last time the shard was seen read to its tip from
        /// this position. Every record of the shard that arrived before it
        /// has been read. A restart finding it older than the stream's
        /// retention period knows records after the position may have been
        /// trimmed unread.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arrival_millis: Option<i64>,
    },
    /// The shard is closed and every record of it was acknowledged: never read it again.
    Finished,
}

/// A checkpoint could not be read or written: what failed
/// ([`CheckpointError::kind`]), a message, and the underlying error as `source()`.
#[derive(Debug)]
pub struct CheckpointError {
    kind: CheckpointErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What kind of failure a [`CheckpointError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckpointErrorKind {
    /// Reading, writing, syncing or locking a file failed.
    Io,
    /// The stored checkpoint cannot be parsed.
    Unreadable,
    /// The checkpoint cannot be encoded.
    Encode,
    /// The store is unusable (a poisoned lock, a failed task).
    Unavailable,
    /// Anything else (stores outside this crate).
    Other,
}

impl CheckpointError {
    pub fn new(kind: CheckpointErrorKind, message: impl Into<String>) -> Self {
        CheckpointError { kind, message: message.into(), source: None }
    }
    /// A failure of kind [`CheckpointErrorKind::Other`].
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(CheckpointErrorKind::Other, message)
    }
    /// Keeps `source` as the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
    pub fn kind(&self) -> CheckpointErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Stores a source's checkpoint.
pub trait CheckpointStore: Send + Sync + 'static {
    /// The last saved checkpoint, or `None` on the first start.
    fn load(&self) -> BoxFuture<'_, Result<Option<Checkpoint>, CheckpointError>>;
    /// Replaces the checkpoint. Returns once it is durable.
    fn save(&self, checkpoint: Checkpoint) -> BoxFuture<'_, Result<(), CheckpointError>>;
}

/// One shard's change in a [`CheckpointCommit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardUpdate {
    /// The shard's new committed position (or its finished mark).
    Set(ShardPosition),
    /// The shard is dropped: pruned once its children were committed, or
    /// trimmed from the stream with its loss accepted.
    Remove,
}

/// What a source commits: the stream-wide fields, and per shard what
/// changed since its previous commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointCommit {
    /// See [`Checkpoint::stream`].
    pub stream: String,
    /// See [`Checkpoint::pinned_start_millis`].
    pub pinned_start_millis: Option<i64>,
    /// See [`Checkpoint::stream_created_millis`].
    pub stream_created_millis: Option<i64>,
    pub shards: BTreeMap<String, ShardUpdate>,
}

impl CheckpointCommit {
    /// The commit that turns `old` into `new`.
    pub fn between(old: &Checkpoint, new: &Checkpoint) -> Self {
        let mut shards: BTreeMap<String, ShardUpdate> = new
            .shards
            .iter()
            .filter(|(id, p)| old.shards.get(*id) != Some(*p))
            .map(|(id, p)| (id.clone(), ShardUpdate::Set(p.clone())))
            .collect();
        shards.extend(old.shards.keys().filter(|id| !new.shards.contains_key(*id)).map(|id| (id.clone(), ShardUpdate::Remove)));
        CheckpointCommit {
            stream: new.stream.clone(),
            pinned_start_millis: new.pinned_start_millis,
            stream_created_millis: new.stream_created_millis,
            shards,
        }
    }

    /// Applies the commit to `cp`.
    pub fn apply(&self, cp: &mut Checkpoint) {
        cp.stream.clone_from(&self.stream);
        cp.pinned_start_millis = self.pinned_start_millis;
        cp.stream_created_millis = self.stream_created_millis;
        for (id, update) in &self.shards {
            match update {
                ShardUpdate::Set(p) => {
                    cp.shards.insert(id.clone(), p.clone());
                }
                ShardUpdate::Remove => {
                    cp.shards.remove(id);
                }
            }
        }
    }
}

/// Where a source's checkpoint goes, shard by shard: what the source reads
/// and commits through. A store whose rows are per shard (a lease table)
/// implements it directly; [`WholeCheckpoint`] puts a [`CheckpointStore`]
/// (one document per source, such as [`FileCheckpointStore`]) behind it.
pub trait ShardCheckpointStore: Send + Sync + 'static {
    /// The stream-wide fields and every shard's committed position, or
    /// `None` on the first start.
    fn load(&self) -> BoxFuture<'_, Result<Option<Checkpoint>, CheckpointError>>;
    /// Commits the changed shards and the stream-wide fields. Returns once durable.
    fn commit(&self, commit: CheckpointCommit) -> BoxFuture<'_, Result<(), CheckpointError>>;
}

/// A [`CheckpointStore`] behind the per-shard interface: each commit is
/// applied to the checkpoint last loaded or saved, and the whole is saved.
pub struct WholeCheckpoint {
    store: Arc<dyn CheckpointStore>,
    current: Mutex<Checkpoint>,
}

impl WholeCheckpoint {
    pub fn new(store: Arc<dyn CheckpointStore>) -> Self {
        WholeCheckpoint { store, current: Mutex::new(Checkpoint::default()) }
    }
}

impl fmt::Debug for WholeCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WholeCheckpoint").finish_non_exhaustive()
    }
}

impl ShardCheckpointStore for WholeCheckpoint {
    fn load(&self) -> BoxFuture<'_, Result<Option<Checkpoint>, CheckpointError>> {
        Box::pin(async move {
            let loaded = self.store.load().await?;
            let mut current = self.current.lock().map_err(|_| poisoned())?;
            *current = loaded.clone().unwrap_or_default();
            Ok(loaded)
        })
    }
    fn commit(&self, commit: CheckpointCommit) -> BoxFuture<'_, Result<(), CheckpointError>> {
        Box::pin(async move {
            let mut next = self.current.lock().map_err(|_| poisoned())?.clone();
            commit.apply(&mut next);
            self.store.save(next.clone()).await?;
            *self.current.lock().map_err(|_| poisoned())? = next;
            Ok(())
        })
    }
}

fn poisoned() -> CheckpointError {
    CheckpointError::new(CheckpointErrorKind::Unavailable, "checkpoint lock poisoned")
}

/// Keeps the checkpoint in memory only: a restart starts over.
#[derive(Debug, Default)]
pub struct MemoryCheckpointStore(Mutex<Option<Checkpoint>>);

impl CheckpointStore for MemoryCheckpointStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<Checkpoint>, CheckpointError>> {
        let v = self.0.lock().map(|g| g.clone()).map_err(|_| poisoned());
        Box::pin(async move { v })
    }
    fn save(&self, checkpoint: Checkpoint) -> BoxFuture<'_, Result<(), CheckpointError>> {
        let r = self.0.lock().map(|mut g| *g = Some(checkpoint)).map_err(|_| poisoned());
        Box::pin(async move { r })
    }
}

/// One JSON file per source, replaced atomically.
///
/// [`FileCheckpointStore::open`] also locks the source's checkpoint against
/// other processes: an exclusive lock on `NAME.lock` beside `NAME.checkpoint.json`,
/// held for as long as the store (or a clone of it) lives. Several sources
/// may share a directory; two processes of one source may not.
#[derive(Debug, Clone)]
pub struct FileCheckpointStore {
    path: PathBuf,
    /// The open, locked `NAME.lock`; `None` for an unlocked [`FileCheckpointStore::new`].
    lock: Option<Arc<std::fs::File>>,
}

/// Why [`FileCheckpointStore::open`] failed.
#[derive(Debug)]
pub enum OpenError {
    /// Another process holds the lock: another instance of the same source
    /// (pipeline) runs on this checkpoint directory.
    Locked {
        lock_file: PathBuf,
        /// Who holds it, as written in the lock file (`host=… pid=… started=…`).
        holder: String,
    },
    /// The directory or the lock file could not be created, written or locked.
    Failed(CheckpointError),
}

impl OpenError {
    /// Whether another process holds the lock.
    pub fn is_locked(&self) -> bool {
        matches!(self, OpenError::Locked { .. })
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Locked { lock_file, holder } => write!(
                f,
                "checkpoint lock {} is held by another process ({holder}): another instance of this pipeline is running \
                 on this checkpoint directory; stop it first, or give this one another checkpoint directory",
                lock_file.display()
            ),
            OpenError::Failed(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for OpenError {}

/// The most of a lock file that is read to name its holder.
const MAX_HOLDER_BYTES: u64 = 512;

/// Temporary files written by this process, for unique names.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// This machine's host name, made safe for a file name: in containers every
/// process is PID 1, so a PID alone names no process. Read from
/// `/proc/sys/kernel/hostname` (the UTS namespace's, so a container's own),
/// else `HOSTNAME`/`COMPUTERNAME`, without a dependency for `gethostname`.
fn host_name() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::env::var("COMPUTERNAME").ok())
            .unwrap_or_default();
        let safe: String =
            raw.trim().chars().take(64).map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        if safe.is_empty() { "unknown-host".to_owned() } else { safe }
    })
}

impl FileCheckpointStore {
    /// The checkpoint of source `name` in directory `dir` (created on the
    /// first save), WITHOUT the lock that [`FileCheckpointStore::open`] takes:
    /// for tests and tools that know no other process uses it.
    pub fn new(dir: impl AsRef<Path>, name: &str) -> Self {
        let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        FileCheckpointStore { path: dir.as_ref().join(format!("{safe}.checkpoint.json")), lock: None }
    }

    /// The checkpoint of source `name` in directory `dir` (created if
    /// missing), locked for this process: takes an exclusive, non-blocking
    /// lock on `NAME.lock` beside the checkpoint and writes
    /// `host=… pid=… started=…` into it. If another process holds it, the
    /// error names the lock file and that holder. The lock is released when
    /// the store and its clones are dropped (or the process ends).
    ///
    /// Take it before anything else touches the stream: before the
    /// checkpoint is loaded and before an EFO consumer is registered.
    pub fn open(dir: impl AsRef<Path>, name: &str) -> Result<Self, OpenError> {
        use std::io::Write;
        let mut store = Self::new(dir.as_ref(), name);
        let lock_file = store.lock_path();
        let failed = |what: &str, e: std::io::Error| {
            OpenError::Failed(
                CheckpointError::new(CheckpointErrorKind::Io, format!("cannot {what} {}: {e}", lock_file.display())).with_source(e),
            )
        };
        std::fs::create_dir_all(dir.as_ref()).map_err(|e| {
            let message = format!("cannot create checkpoint directory {}: {e}", dir.as_ref().display());
            OpenError::Failed(CheckpointError::new(CheckpointErrorKind::Io, message).with_source(e))
        })?;
        // Not truncated on open: until the lock is ours, the file names its holder.
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_file)
            .map_err(|e| failed("open checkpoint lock", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = Self::holder(&mut file);
                return Err(OpenError::Locked { lock_file, holder });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(failed("lock checkpoint lock", e)),
        }
        let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        file.set_len(0)
            .and_then(|()| writeln!(file, "host={} pid={} started={started}", host_name(), std::process::id()))
            .and_then(|()| file.flush())
            .map_err(|e| failed("write checkpoint lock", e))?;
        store.lock = Some(Arc::new(file));
        store.remove_stale_temporaries();
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `NAME.lock`, beside the checkpoint.
    pub fn lock_path(&self) -> PathBuf {
        let name = self.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        self.path.with_file_name(format!("{}.lock", name.strip_suffix(".checkpoint.json").unwrap_or(name)))
    }

    /// Who holds a lock file, from its text: at most [`MAX_HOLDER_BYTES`],
    /// printable characters only (the file is another process's, so untrusted).
    fn holder(file: &mut std::fs::File) -> String {
        use std::io::Read;
        let mut bytes = Vec::new();
        let _ = file.take(MAX_HOLDER_BYTES).read_to_end(&mut bytes);
        let text: String = String::from_utf8_lossy(&bytes).trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        if text.is_empty() { "holder unknown: its lock file is still empty".to_owned() } else { text }
    }

    /// Temporary files a crashed process of this source left behind. Only
    /// called with the lock held, so none of them is being written.
    fn remove_stale_temporaries(&self) {
        let (Some(dir), Some(name)) = (self.path.parent(), self.path.file_name().and_then(|n| n.to_str())) else { return };
        let prefix = format!("{name}.tmp.");
        let old_prefix = format!("{}.tmp.", name.strip_suffix(".json").unwrap_or(name));
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(n) = file_name.to_str() else { continue };
            if n.starts_with(&prefix) || n.starts_with(&old_prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// A temporary file name unique per process and per attempt: host, PID
    /// (PID 1 in every container), a counter and a random suffix.
    fn temporary_path(path: &Path) -> PathBuf {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("checkpoint");
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        path.with_file_name(format!("{name}.tmp.{}.{}.{n}.{:08x}", host_name(), std::process::id(), fastrand::u32(..)))
    }

    fn load_sync(path: &Path) -> Result<Option<Checkpoint>, CheckpointError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                CheckpointError::new(CheckpointErrorKind::Unreadable, format!("checkpoint {} is unreadable: {e}", path.display()))
                    .with_source(e)
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => {
                Err(CheckpointError::new(CheckpointErrorKind::Io, format!("cannot read checkpoint {}: {e}", path.display())).with_source(e))
            }
        }
    }

    fn save_sync(path: &Path, cp: &Checkpoint) -> Result<(), CheckpointError> {
        Self::save_sync_with(path, cp, sync_dir)
    }

    /// [`Self::save_sync`] with the directory sync as a parameter, so that
    /// tests can make it fail.
    fn save_sync_with(path: &Path, cp: &Checkpoint, sync_dir: fn(&Path) -> std::io::Result<()>) -> Result<(), CheckpointError> {
        use std::io::Write;
        let err = |what: &str, e: std::io::Error| {
            CheckpointError::new(CheckpointErrorKind::Io, format!("cannot {what} checkpoint {}: {e}", path.display())).with_source(e)
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| err("create the directory of", e))?;
        let bytes = serde_json::to_vec_pretty(cp)
            .map_err(|e| CheckpointError::new(CheckpointErrorKind::Encode, format!("cannot encode checkpoint: {e}")).with_source(e))?;
        let tmp = Self::temporary_path(path);
        let written = (|| {
            let mut f = std::fs::File::create_new(&tmp).map_err(|e| err("create", e))?;
            f.write_all(&bytes).map_err(|e| err("write", e))?;
            f.sync_all().map_err(|e| err("sync", e))?;
            drop(f);
            std::fs::rename(&tmp, path).map_err(|e| err("replace", e))
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written?;
        // Without it the rename may not survive a crash: the checkpoint would
        // silently go back to the previous one. An error stops the source, as
        // a failed write or file sync does.
        sync_dir(dir).map_err(|e| {
            let message = format!(
                "checkpoint {} was replaced, but syncing its directory {} failed, so the new checkpoint may not survive a crash: {e}",
                path.display(),
                dir.display()
            );
            CheckpointError::new(CheckpointErrorKind::Io, message).with_source(e)
        })
    }
}

/// Syncs a directory, so that a rename in it is durable. A file system that
/// cannot sync directories at all (`EINVAL`, `ENOTSUP`) is warned about once,
/// not treated as a failure; any other error is one.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        match std::fs::File::open(dir)?.sync_all() {
            Err(e) if matches!(e.kind(), std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported) => {
                if !WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "the file system of {} cannot sync directories ({e}): a checkpoint written just before a crash may be lost",
                        dir.display()
                    );
                }
                Ok(())
            }
            r => r,
        }
    }
    #[cfg(not(unix))]
    {
        // Directories cannot be opened for syncing here; the rename is what it is.
        let _ = dir;
        Ok(())
    }
}

impl CheckpointStore for FileCheckpointStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<Checkpoint>, CheckpointError>> {
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || Self::load_sync(&path)).await.map_err(|e| {
                CheckpointError::new(CheckpointErrorKind::Unavailable, format!("checkpoint task failed: {e}")).with_source(e)
            })?
        })
    }
    fn save(&self, checkpoint: Checkpoint) -> BoxFuture<'_, Result<(), CheckpointError>> {
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || Self::save_sync(&path, &checkpoint)).await.map_err(|e| {
                CheckpointError::new(CheckpointErrorKind::Unavailable, format!("checkpoint task failed: {e}")).with_source(e)
            })?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_store_round_trips_and_replaces() {
        let dir = std::env::temp_dir().join(format!("kt-cp-{}-{}", std::process::id(), fastrand::u64(..)));
        let store = FileCheckpointStore::new(&dir, "clicks/source");
        assert_eq!(store.load().await.unwrap(), None);
        let mut cp =
            Checkpoint { stream: "s".into(), pinned_start_millis: Some(5), stream_created_millis: Some(9), shards: BTreeMap::new() };
        cp.shards.insert(
            "shardId-0".into(),
            ShardPosition::After { sequence_number: "42".into(), sub_sequence_number: Some(7), arrival_millis: Some(1_000) },
        );
        store.save(cp.clone()).await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(cp.clone()));
        cp.shards.insert("shardId-0".into(), ShardPosition::Finished);
        store.save(cp.clone()).await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(cp));
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::write(store.path(), b"{not json").unwrap();
        assert!(store.load().await.unwrap_err().message().contains("unreadable"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn commits_carry_only_changed_shards_and_rebuild_the_whole_checkpoint() {
        let pos = |s: &str| ShardPosition::After { sequence_number: s.into(), sub_sequence_number: None, arrival_millis: None };
        let mut old = Checkpoint { stream: "s".into(), ..Checkpoint::default() };
        old.shards.insert("a".into(), pos("1"));
        old.shards.insert("b".into(), ShardPosition::Finished);
        old.shards.insert("c".into(), pos("3"));
        let memory = Arc::new(MemoryCheckpointStore::default());
        memory.save(old.clone()).await.unwrap();
        let store = WholeCheckpoint::new(memory.clone());
        assert_eq!(store.load().await.unwrap(), Some(old.clone()));
        let mut new = old.clone();
        new.pinned_start_millis = Some(9);
        new.shards.insert("a".into(), pos("2"));
        new.shards.remove("b");
        new.shards.insert("d".into(), pos("4"));
        let commit = CheckpointCommit::between(&old, &new);
        let updates: Vec<(&str, &ShardUpdate)> = commit.shards.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(updates, [("a", &ShardUpdate::Set(pos("2"))), ("b", &ShardUpdate::Remove), ("d", &ShardUpdate::Set(pos("4")))]);
        store.commit(commit).await.unwrap();
        assert_eq!(memory.load().await.unwrap(), Some(new.clone()), "the unchanged shard c is kept");
        assert!(CheckpointCommit::between(&new, &new).shards.is_empty());
    }

    fn temp_dir(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("kt-cp-{tag}-{}-{}", std::process::id(), fastrand::u64(..)))
    }

    #[test]
    fn a_second_open_of_one_checkpoint_is_refused_naming_the_lock_file_and_its_holder() {
        let dir = temp_dir("lock");
        let first = FileCheckpointStore::open(&dir, "clicks").unwrap();
        let lock_file = dir.join("clicks.lock");
        assert_eq!(first.lock_path(), lock_file);
        let err = FileCheckpointStore::open(&dir, "clicks").unwrap_err();
        assert!(err.is_locked(), "{err}");
        let OpenError::Locked { lock_file: named, holder } = &err else { unreachable!() };
        assert_eq!(named, &lock_file);
        assert!(holder.contains(&format!("host={}", host_name())), "{holder}");
        assert!(holder.contains(&format!("pid={}", std::process::id())), "{holder}");
        assert!(holder.contains("started="), "{holder}");
        let message = err.to_string();
        assert!(message.contains(&lock_file.display().to_string()) && message.contains(holder.as_str()), "{message}");
        // The refused open left the holder's record alone.
        let text = std::fs::read_to_string(&lock_file).unwrap();
        assert!(text.contains(&format!("pid={}", std::process::id())), "{text}");
        drop(first);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn pipelines_sharing_a_directory_lock_only_their_own_checkpoint() {
        let dir = temp_dir("share");
        let a = FileCheckpointStore::open(&dir, "a").unwrap();
        let b = FileCheckpointStore::open(&dir, "b").unwrap();
        assert_ne!(a.lock_path(), b.lock_path());
        assert!(FileCheckpointStore::open(&dir, "a").unwrap_err().is_locked());
        assert!(FileCheckpointStore::open(&dir, "b").unwrap_err().is_locked());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_lock_is_released_when_the_store_and_its_clones_are_dropped() {
        let dir = temp_dir("release");
        let first = FileCheckpointStore::open(&dir, "p").unwrap();
        let clone = first.clone();
        drop(first);
        assert!(FileCheckpointStore::open(&dir, "p").unwrap_err().is_locked(), "a clone still holds the lock");
        drop(clone);
        let again = FileCheckpointStore::open(&dir, "p").unwrap();
        drop(again);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_empty_lock_file_of_a_holder_that_has_not_written_yet_is_named_as_such() {
        let dir = temp_dir("empty");
        std::fs::create_dir_all(&dir).unwrap();
        let lock_file = dir.join("p.lock");
        let f = std::fs::File::create(&lock_file).unwrap();
        f.lock().unwrap();
        let err = FileCheckpointStore::open(&dir, "p").unwrap_err();
        assert!(err.to_string().contains("holder unknown"), "{err}");
        drop(f);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_locked_store_saves_and_loads_and_removes_temporaries_left_by_a_crash() {
        let dir = temp_dir("stale");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("p.checkpoint.json.tmp.h.1.0.0000abcd"), b"{").unwrap();
        std::fs::write(dir.join("p.checkpoint.tmp.1"), b"{").unwrap();
        std::fs::write(dir.join("q.checkpoint.json.tmp.h.1.0.0000abcd"), b"{").unwrap();
        let store = FileCheckpointStore::open(&dir, "p").unwrap();
        let cp = Checkpoint { stream: "s".into(), ..Checkpoint::default() };
        store.save(cp.clone()).await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(cp));
        let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        // Another pipeline's temporary file is not this store's to remove.
        assert_eq!(names, ["p.checkpoint.json", "p.lock", "q.checkpoint.json.tmp.h.1.0.0000abcd"]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn temporary_names_differ_per_attempt_and_name_host_and_process() {
        let path = Path::new("/cp/p.checkpoint.json");
        let (a, b) = (FileCheckpointStore::temporary_path(path), FileCheckpointStore::temporary_path(path));
        assert_ne!(a, b);
        for t in [&a, &b] {
            let name = t.file_name().unwrap().to_str().unwrap();
            assert!(name.starts_with(&format!("p.checkpoint.json.tmp.{}.{}.", host_name(), std::process::id())), "{name}");
            assert_eq!(t.parent(), path.parent());
        }
    }

    #[test]
    fn a_failed_save_leaves_no_temporary_file() {
        let dir = temp_dir("fail");
        let store = FileCheckpointStore::new(&dir, "p");
        // A non-empty directory where the checkpoint goes: the rename fails.
        std::fs::create_dir_all(store.path().join("x")).unwrap();
        let err = FileCheckpointStore::save_sync(store.path(), &Checkpoint::default()).unwrap_err();
        assert!(err.message().contains("cannot replace") && err.kind() == CheckpointErrorKind::Io, "{err}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "only the directory in the way is left");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_failed_directory_sync_is_an_error() {
        let dir = temp_dir("dirsync");
        let store = FileCheckpointStore::new(&dir, "p");
        let cp = Checkpoint { stream: "s".into(), ..Checkpoint::default() };
        let err = FileCheckpointStore::save_sync_with(store.path(), &cp, |_| Err(std::io::Error::other("injected EIO"))).unwrap_err();
        assert!(err.message().contains("syncing its directory") && err.message().contains("injected EIO"), "{err}");
        assert!(err.message().contains(&dir.display().to_string()), "{err}");
        // The directory sync is the real one otherwise.
        FileCheckpointStore::save_sync(store.path(), &cp).unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}
