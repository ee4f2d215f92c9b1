//! The lease table (issue 12) against dynalite: what dynalite supports, the
//! table layer's conditional writes, workers sharing leases, fencing, and a
//! source resuming from rows in the KCL's format (with ferrokinesis).

mod kcl;
mod resharded;
mod sources;
mod table;
mod workers;

use std::sync::Arc;
use std::time::Duration;

use kinesis_tables::checkpoint::LeaseTableConfig;
use kinesis_tables::lease::core::ListedShard;
use kinesis_tables::lease::{Clock, LeaseCoordinator, LeaseHandle, LeaseTable, StreamIdentity};
use kinesis_tables_tests::dynalite::Dynalite;

/// Short timings: failover 1 s (renew every 308 ms, take every 2.05 s).
fn config(table: &str) -> LeaseTableConfig {
    LeaseTableConfig::with_failover(table.to_owned(), Duration::from_secs(1))
}

fn shards(n: usize) -> Vec<ListedShard> {
    let step = u128::MAX / n as u128;
    (0..n)
        .map(|i| {
            let hi = if i + 1 == n { u128::MAX } else { step * (i as u128 + 1) - 1 };
            ListedShard { id: format!("shardId-{i:012}"), parents: Vec::new(), range: Some((step * i as u128, hi)) }
        })
        .collect()
}

async fn worker(d: &Dynalite, table: &str, id: &str, clock: Arc<dyn Clock>) -> LeaseHandle {
    let t = LeaseTable::new(d.client(), table, id);
    let identity = StreamIdentity { stream: "s".into(), initial: "TRIM_HORIZON", pipeline: None };
    LeaseCoordinator::start(t, &config(table), identity, clock).await.expect("coordinator starts")
}

/// Polls `f` every 50 ms until it holds, for at most `secs` seconds.
async fn eventually(secs: u64, what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(tokio::time::Instant::now() < deadline, "not within {secs} s: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
