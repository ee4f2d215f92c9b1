//! Scale-out through a KCL-compatible lease table in DynamoDB.
//!
//! Every instance of a pipeline (a *worker*) takes leases on the stream's
//! shards in one DynamoDB table — the KCL 2.x table format, readable and
//! writable by the KCL — renews them, checkpoints in the lease rows, and
//! takes over the leases of a worker that stopped or died.
//!
//! - [`row`]: one lease row, and how its checkpoint maps to a source position;
//! - [`table`]: the only DynamoDB caller (conditional writes, paginated scans);
//! - [`core`]: the pure protocol (expiry, the taker, fencing, parents before
//!   children, lease creation and clean-up) with an explicit [`Clock`];
//! - `coordinator`: the one task per worker that owns every held lease's
//!   counter, so renewal and checkpoint of a lease never race;
//! - `handle`: [`LeaseHandle`], what the rest of the worker asks of it
//!   (checkpoints, the usable leases, [`LeaseHealth`] for readiness probes);
//! - `store`: the source's checkpoint store and shard assigner over it
//!   ([`SourceLeases::leases`] on a source builder);
//! - `registry`: the coordinators of this process ([`health`]).
//!
//! A pipeline with `checkpoints: {store: dynamodb}` gets all of this from
//! `pipeline::io::start_source`; the sink is fenced by the same leases.

pub mod clock;
mod coordinator;
pub mod core;
mod error;
mod handle;
mod registry;
pub mod row;
pub(crate) mod store;
pub mod table;

pub use clock::{BootClock, Clock, ManualClock, SkewedClock};
pub use coordinator::LeaseCoordinator;
pub use error::{LeaseError, LeaseErrorKind};
pub use handle::{LeaseHandle, LeaseHealth, StreamIdentity};
pub use registry::{health, initial_sentinel, register, stream_identity};
pub use store::{LeaseAssigner, LeaseCheckpoints, SourceLeases};
pub use table::LeaseTable;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;

use crate::checkpoint::LeaseTableConfig;
use crate::config::HttpProtocol;
use crate::connect::{HttpSettings, Timeouts};

/// A DynamoDB client for the lease table: the configured region and
/// endpoint, else the AWS environment's; credentials from the environment.
pub async fn dynamodb_client(cfg: &LeaseTableConfig) -> Result<aws_sdk_dynamodb::Client, LeaseError> {
    let timeouts = Timeouts { connect: std::time::Duration::from_secs(5), read: cfg.failover / 2, operation: cfg.failover / 2 };
    let settings = HttpSettings { protocol: HttpProtocol::Http1_1, max_concurrency: 64, timeouts };
    let http = crate::connect::http_client(false, settings).map_err(|e| LeaseError::new(LeaseErrorKind::Table, e.to_string()))?;
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).http_client(http).retry_config(RetryConfig::disabled()).timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(timeouts.connect)
                .read_timeout(timeouts.read)
                .operation_timeout(timeouts.operation)
                .build(),
        );
    if let Some(region) = &cfg.region {
        loader = loader.region(aws_config::Region::new(region.to_string()));
    }
    if let Some(endpoint) = &cfg.endpoint {
        loader = loader.endpoint_url(endpoint.to_string());
    }
    let base = loader.load().await;
    if base.region().is_none() {
        return Err(LeaseError::new(
            LeaseErrorKind::Table,
            "no AWS region for the lease table: set `checkpoints.region`, or AWS_REGION in the environment",
        ));
    }
    Ok(aws_sdk_dynamodb::Client::new(&base))
}

/// This worker's id when none is configured: host name, process id and a random suffix.
pub fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().chars().take(64).filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c)).collect::<String>())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!("{host}-{}-{:08x}", std::process::id(), fastrand::u32(..))
}
