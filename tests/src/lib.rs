//! Tables generated from `tests/specs/all_types.yaml` and the reference examples.
#![allow(clippy::all)]

pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/kinesis_tables.rs"));

    pub use crate::transforms;
}

// The transforms of `templates/specs/orders.yaml` name the tables as
// `super::…`, as in the crate `kinesis-tables build` generates.
use generated::{BigOrders, Orders};

/// The transforms of `templates/specs/orders.yaml`.
#[path = "../../templates/specs/orders.rs"]
pub mod transforms;

/// Local Kinesis emulators (kinesis-mock, ferrokinesis) started by the tests.
pub mod emulator;

/// A fault-injecting HTTP proxy for the Kinesis JSON protocol.
pub mod faultproxy;

/// The Python library aws-kinesis-agg, for KPL interoperability tests.
pub mod pyagg;

/// A proxy that enforces the per-shard write limits of Kinesis.
pub mod limitproxy;

/// The custom partitioner of `rt_raw`: the text before the first `:`.
pub struct KeyBeforeColon;

impl kinesis_tables::Partitioner<generated::RtRaw> for KeyBeforeColon {
    fn create() -> Self {
        KeyBeforeColon
    }
    fn partition_key(&self, record: &generated::RtRaw) -> String {
        record.line.split(':').next().unwrap_or_default().to_owned()
    }
}

/// Helpers shared by the runtime tests.
pub mod rt;
