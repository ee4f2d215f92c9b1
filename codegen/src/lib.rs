//! The kinesis-tables compiler.
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
//! The option catalogue, the value and cross-field rules and the typed
//! configuration live in `kinesis-tables-config`, which the runtime uses too.

#![deny(missing_docs)]

// The shared part, under the names the compiler's modules use.
use kinesis_tables_config::{catalog, diag, suggest, value};

mod api;
mod check;
mod emit;
mod ident;
mod input;
pub mod ir;
mod parse;
pub mod reference;
mod render;
pub mod schema;
mod span;
mod sql;

#[doc(hidden)]
pub mod derive;

pub use api::{Builder, Checked, Error, check_source, compile, generate};
pub use span::Span;
