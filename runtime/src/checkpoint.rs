//! Where a source resumes: the last acknowledged sequence number of each
//! shard, and which shards are finished.
//!
//! The store is a trait so that a DynamoDB lease table can stand in for the
//! default [`FileCheckpointStore`], which keeps one JSON file per source and
//! replaces it atomically (write to a temporary file, fsync, rename, fsync the
//! directory), so a crash leaves either the old or the new checkpoint.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;

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

/// A checkpoint could not be read or written.
#[derive(Debug)]
pub struct CheckpointError(pub String);

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CheckpointError {}

/// Stores a source's checkpoint.
pub trait CheckpointStore: Send + Sync + 'static {
    /// The last saved checkpoint, or `None` on the first start.
    fn load(&self) -> BoxFuture<'_, Result<Option<Checkpoint>, CheckpointError>>;
    /// Replaces the checkpoint. Returns once it is durable.
    fn save(&self, checkpoint: Checkpoint) -> BoxFuture<'_, Result<(), CheckpointError>>;
}

/// Keeps the checkpoint in memory only: a restart starts over.
#[derive(Debug, Default)]
pub struct MemoryCheckpointStore(Mutex<Option<Checkpoint>>);

impl CheckpointStore for MemoryCheckpointStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<Checkpoint>, CheckpointError>> {
        let v = self.0.lock().map(|g| g.clone()).map_err(|_| CheckpointError("checkpoint lock poisoned".into()));
        Box::pin(async move { v })
    }
    fn save(&self, checkpoint: Checkpoint) -> BoxFuture<'_, Result<(), CheckpointError>> {
        let r = self.0.lock().map(|mut g| *g = Some(checkpoint)).map_err(|_| CheckpointError("checkpoint lock poisoned".into()));
        Box::pin(async move { r })
    }
}

/// One JSON file per source, replaced atomically.
#[derive(Debug, Clone)]
pub struct FileCheckpointStore {
    path: PathBuf,
}

impl FileCheckpointStore {
    /// The checkpoint of source `name` in directory `dir` (created if missing).
    pub fn new(dir: impl AsRef<Path>, name: &str) -> Self {
        let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        FileCheckpointStore { path: dir.as_ref().join(format!("{safe}.checkpoint.json")) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load_sync(path: &Path) -> Result<Option<Checkpoint>, CheckpointError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| CheckpointError(format!("checkpoint {} is unreadable: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CheckpointError(format!("cannot read checkpoint {}: {e}", path.display()))),
        }
    }

    fn save_sync(path: &Path, cp: &Checkpoint) -> Result<(), CheckpointError> {
        use std::io::Write;
        let err = |what: &str, e: std::io::Error| CheckpointError(format!("cannot {what} checkpoint {}: {e}", path.display()));
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| err("create the directory of", e))?;
        let bytes = serde_json::to_vec_pretty(cp).map_err(|e| CheckpointError(format!("cannot encode checkpoint: {e}")))?;
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let mut f = std::fs::File::create(&tmp).map_err(|e| err("create", e))?;
        f.write_all(&bytes).map_err(|e| err("write", e))?;
        f.sync_all().map_err(|e| err("sync", e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| err("replace", e))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl CheckpointStore for FileCheckpointStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<Checkpoint>, CheckpointError>> {
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || Self::load_sync(&path))
                .await
                .map_err(|e| CheckpointError(format!("checkpoint task failed: {e}")))?
        })
    }
    fn save(&self, checkpoint: Checkpoint) -> BoxFuture<'_, Result<(), CheckpointError>> {
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || Self::save_sync(&path, &checkpoint))
                .await
                .map_err(|e| CheckpointError(format!("checkpoint task failed: {e}")))?
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
        assert!(store.load().await.unwrap_err().0.contains("unreadable"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
