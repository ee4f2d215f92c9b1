//! A pipeline's checkpoint store (`checkpoints:` in a pipeline's spec): the
//! local file store (the default, one instance) or a KCL-compatible lease
//! table in DynamoDB shared by every instance of the pipeline.
//!
//! The compiler checks the `checkpoints:` block and generated code holds the
//! result; values given as `${ENV_VAR}` are resolved at startup.

use std::time::Duration;

use crate::model::Str;

/// Where a pipeline keeps its positions.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum CheckpointStoreConfig {
    /// One file per pipeline in `--checkpoint-dir`, locked by one process.
    #[default]
    File,
    /// A lease table in DynamoDB, in the KCL 2.x format.
    DynamoDb(LeaseTableConfig),
}

/// The lease table and the lease protocol's timings. Defaults are the KCL's.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseTableConfig {
    /// The DynamoDB table (the KCL's application name).
    pub table: Str,
    /// A lease whose counter has not moved for this long is expired
    /// (KCL `failoverTimeMillis`, default 10 s).
    pub failover: Duration,
    /// How often a worker renews its leases (default: failover / 3 − 25 ms,
    /// as the KCL derives it).
    pub renew_interval: Duration,
    /// How often a worker scans the table and takes leases (default:
    /// (failover + 25 ms) × 2, as the KCL derives it).
    pub take_interval: Duration,
    /// The most leases a worker steals from another per take (KCL
    /// `maxLeasesToStealAtOneTime`, default 1).
    pub max_leases_to_steal: u32,
    /// The most leases one worker holds (KCL `maxLeasesForWorker`; `None`: no limit).
    pub max_leases_per_worker: Option<u32>,
    /// Create the table (PAY_PER_REQUEST) when it does not exist (default true).
    pub create_table: bool,
    /// The longest time between checkpoint writes to the lease table
    /// (`None`: the pipeline's `--commit-interval`).
    pub commit_interval: Option<Duration>,
    /// The DynamoDB region (`None`: the AWS environment's).
    pub region: Option<Str>,
    /// The DynamoDB endpoint (`None`: the region's).
    pub endpoint: Option<Str>,
    /// This worker's id in `leaseOwner` (`None`: host name, process id and a
    /// random suffix, made at startup).
    pub worker_id: Option<Str>,
}

impl LeaseTableConfig {
    /// The KCL's default failover time.
    pub const DEFAULT_FAILOVER: Duration = Duration::from_secs(10);
    /// The KCL's `epsilonMillis`.
    pub const EPSILON: Duration = Duration::from_millis(25);

    /// A table with the KCL's default timings.
    pub fn with_defaults(table: impl Into<Str>) -> Self {
        Self::with_failover(table, Self::DEFAULT_FAILOVER)
    }

    /// A table with the renew and take intervals the KCL derives from `failover`.
    pub fn with_failover(table: impl Into<Str>, failover: Duration) -> Self {
        // In whole milliseconds, as the KCL computes them.
        let failover_ms = failover.as_millis() as u64;
        let epsilon_ms = Self::EPSILON.as_millis() as u64;
        LeaseTableConfig {
            table: table.into(),
            failover,
            renew_interval: Duration::from_millis((failover_ms / 3).saturating_sub(epsilon_ms)),
            take_interval: Duration::from_millis((failover_ms + epsilon_ms) * 2),
            max_leases_to_steal: 1,
            max_leases_per_worker: None,
            create_table: true,
            commit_interval: None,
            region: None,
            endpoint: None,
            worker_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_kcls() {
        let c = LeaseTableConfig::with_defaults("app");
        assert_eq!(c.renew_interval, Duration::from_millis(3_308));
        assert_eq!(c.take_interval, Duration::from_millis(20_050));
        assert_eq!(c.max_leases_to_steal, 1);
    }
}
