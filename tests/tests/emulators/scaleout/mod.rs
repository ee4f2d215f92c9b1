//! Scale-out: several processes of the built binary `kt_lease` share the 12
//! shards of `lease-in` through a KCL-compatible lease table in dynalite
//! (failover 3 s, renew 975 ms, take 1 s: tests/specs/lease.yaml), each behind
//! its own fault proxies, while a producer writes keyed, numbered records; a
//! checker reads `lease-out` and counts loss, duplicates and per-key order.
//!
//! The bounds of the protocol are asserted with [`SLACK`] on top (the table
//! is polled every 100 ms, and five processes share two cores); the measured
//! times and duplicate counts are printed (`--nocapture`).
//!
//! `cargo test -p kinesis-tables-tests --test emulators scaleout::`

mod bench;
mod cases;
mod cluster;
mod traffic;

use std::time::Duration;

/// What the bounds allow beyond the protocol's own timings.
pub const SLACK: Duration = Duration::from_secs(2);
