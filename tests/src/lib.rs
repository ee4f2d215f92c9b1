//! Tables generated from `tests/specs/all_types.yaml` and the reference examples.
#![allow(clippy::all)]

pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/kinesis_tables.rs"));
}
