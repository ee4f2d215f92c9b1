//! Every test of the runtime, in one binary: the tests that start the local
//! Kinesis emulators, the fault and limit proxies or the Python KPL harness,
//! and the in-process tests that link the runtime (and so the AWS SDK) anyway.
//! One binary links the AWS stack once; the modules are named by behaviour.
//! Cases that run on both emulators are declared with
//! [`kinesis_tables_tests::on_each_emulator!`], which names them
//! `module::case::kinesis_mock` and `module::case::ferrokinesis`.
//!
//! Needs the emulators: `scripts/install-emulators.sh` (or KT_KINESIS_MOCK_DIR /
//! KT_FERROKINESIS_BIN); `bash scripts/test.sh` installs them and runs everything.
//! A module alone: `cargo test -p kinesis-tables-tests --test emulators efo::`.

/// ASSUME_ROLE end to end through a fake STS (was runtime_assume_role.rs).
mod assume_role;
/// Generated records through json, csv and raw, in process (was roundtrip.rs).
mod codec;
/// Bad input and bad conditions against real emulators (was runtime_edges.rs).
mod edges;
/// Enhanced fan-out: round trip, consumer lifecycle, cut and silent subscriptions
/// (were efo_roundtrip.rs, efo_lifecycle.rs, efo_faults.rs).
mod efo;
/// The round trip through the fault-injecting proxy (was runtime_faults.rs).
mod faults;
/// The test harness itself: the emulators and the fault proxy
/// (were emulators.rs, faultproxy.rs).
mod harness;
/// The generated JSON decoder on input in any shape, in process.
mod json;
/// KPL aggregation: the Python library, the sink, the source, sink into source
/// (were kpl_interop.rs, sink_aggregation.rs, source_deaggregation.rs,
/// aggregation_roundtrip.rs).
mod kpl;
/// Scale-out through a KCL-compatible lease table in DynamoDB (dynalite).
mod lease;
/// Typed records written and read back in per-key order, every format
/// (was runtime_roundtrip.rs).
mod order;
/// Pipelines: the pipeline process and in-process datagen pipelines
/// (were pipeline_process.rs, datagen.rs).
mod pipelines;
/// Start positions: LATEST, AT_TIMESTAMP, data loss (was runtime_positions.rs).
mod positions;
/// Splits and merges while the source reads (was runtime_resharding.rs).
mod resharding;
/// Kill -9 a source process and restart it (was runtime_restart.rs).
mod restart;
/// Scale-out: processes of a pipeline sharing a stream through a lease table
/// in dynalite (balance, kill -9, SIGTERM, SIGSTOP, resharding, DynamoDB outage).
mod scaleout;
/// SQL transforms at run time: failing records, in process.
mod sql_diff;
