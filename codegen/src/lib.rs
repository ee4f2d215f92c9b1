//! The kinesis-tables compiler core.
//!
//! Turns table specs (YAML) into typed Rust records with every connector
//! option validated, for use from a build script:
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     kinesis_tables_codegen::compile(&["specs/clicks.yaml"])?;
//!     Ok(())
//! }
//! ```
//!
//! and then, in the crate, `include!(concat!(env!("OUT_DIR"), "/kinesis_tables.rs"));`.
//!
//! Without the `compiler` feature this crate is only the option catalogue,
//! the value rules and the typed configuration model; the runtime uses it to
//! check `${ENV}` values at startup with the same rules the compiler used.

pub mod catalog;
pub mod diag;
pub mod model;
pub mod options;
pub mod rules;
pub mod suggest;
pub mod types;
pub mod value;

#[cfg(feature = "compiler")]
pub mod emit;
#[cfg(feature = "compiler")]
pub mod ir;
#[cfg(feature = "compiler")]
pub mod local;
#[cfg(feature = "compiler")]
pub mod pipeline;
#[cfg(feature = "compiler")]
pub mod reference;
#[cfg(feature = "compiler")]
pub mod render;
#[cfg(feature = "compiler")]
pub mod spec;
#[cfg(feature = "compiler")]
pub mod table;
#[cfg(feature = "compiler")]
pub mod yaml;

#[cfg(feature = "compiler")]
mod api;

#[cfg(feature = "compiler")]
pub use api::{Builder, Checked, Error, check_source, compile, generate};
