//! The pipeline binary: `{{name}} [--checkpoint-dir DIR] [--stop-when-idle 5s] [--shutdown-timeout 25s] [--on-data-loss fail|continue] [--metrics-addr ADDR] [--progress]`.
//! Endpoint, region and credentials come from the spec and the AWS environment.

/// The tables and pipelines of specs/pipeline.yaml.
#[allow(dead_code)]
mod tables {
    include!(concat!(env!("OUT_DIR"), "/kinesis_tables.rs"));
    pub use crate::transforms;
}

/// Your transforms; the spec names them as `transforms::…`.
pub mod transforms;

use tables::{Events, EventsOut};

fn main() -> std::process::ExitCode {
    tables::pipelines::main_{{pipeline}}()
}
