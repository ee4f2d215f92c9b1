//! The coordinators of this process, for readiness probes, and the
//! identity of the stream a pipeline's leases belong to.

use std::sync::{Mutex, OnceLock};

use super::handle::{LeaseHandle, LeaseHealth, StreamIdentity};
use super::row::{AT_TIMESTAMP, LATEST, TRIM_HORIZON};
use crate::config::{StartPosition, TableConfig};

/// Every coordinator this process started, for readiness probes.
fn registry() -> &'static Mutex<Vec<(String, LeaseHandle)>> {
    static REGISTRY: OnceLock<Mutex<Vec<(String, LeaseHandle)>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Records a pipeline's coordinator for [`health`].
pub fn register(pipeline: &str, handle: LeaseHandle) {
    if let Ok(mut r) = registry().lock() {
        r.push((pipeline.to_owned(), handle));
    }
}

/// The lease health of every pipeline of this process that uses a lease
/// table, by pipeline name (for `/readyz`).
pub fn health() -> Vec<(String, LeaseHealth)> {
    registry().lock().map(|r| r.iter().map(|(n, h)| (n.clone(), h.health())).collect()).unwrap_or_default()
}

/// The checkpoint a new root lease starts at, from the table's start position.
pub fn initial_sentinel(start: &StartPosition) -> &'static str {
    match start {
        StartPosition::TrimHorizon => TRIM_HORIZON,
        StartPosition::Latest => LATEST,
        StartPosition::AtTimestamp { .. } => AT_TIMESTAMP,
    }
}

/// The identity of the stream table `cfg` reads, as its checkpoints name
/// it, with the start position of new root leases.
pub fn stream_identity(cfg: &TableConfig, pipeline: Option<&str>) -> StreamIdentity {
    StreamIdentity {
        stream: crate::stream::Target::new(&cfg.stream).id().to_owned(),
        initial: initial_sentinel(&cfg.source.start),
        pipeline: pipeline.map(str::to_owned),
    }
}
