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

/// dynalite, the DynamoDB emulator the lease-table tests start.
pub mod dynalite;

/// One test case on each emulator: `on_each_emulator!(name, case)` declares a
/// module `name` holding the tests `name::kinesis_mock` and
/// `name::ferrokinesis`, each calling `case(Kind::…).await` on a tokio
/// runtime with two worker threads. `case` is any expression callable with a
/// [`Kind`](emulator::Kind) that returns a future, resolved in the calling
/// module (a function of the same name as the module is fine: they live in
/// different namespaces). Doc comments and attributes before `name` apply to
/// the module.
///
/// ```ignore
/// on_each_emulator!(resharding, resharding);
/// on_each_emulator!(json, roundtrip::<RtJson>);
/// ```
///
/// A new [`Kind`](emulator::Kind) gets its test here, once, for every case.
#[macro_export]
macro_rules! on_each_emulator {
    ($(#[$meta:meta])* $name:ident, $case:expr) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn kinesis_mock() {
                ($case)($crate::emulator::Kind::KinesisMock).await;
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ferrokinesis() {
                ($case)($crate::emulator::Kind::Ferrokinesis).await;
            }
        }
    };
}

/// A fault-injecting HTTP proxy for the Kinesis JSON protocol.
pub mod faultproxy;

/// The Python library aws-kinesis-agg, for KPL interoperability tests.
pub mod pyagg;

/// Python's fastavro, for the avro interop tests.
pub mod pyavro;

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
