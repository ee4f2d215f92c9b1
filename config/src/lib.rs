//! The shared part of kinesis-tables: what the compiler checks a spec with
//! and what the runtime checks `${ENV}` values with at startup, so both
//! apply the very same rules.
//!
//! - [`catalog`]: every option with its kind, default, limits and connectors;
//! - [`value`]: the rules each value kind obeys (durations, ARNs, regions, …);
//! - [`resolve`]: per-option checks, cross-field rules and resolution into
//!   the typed [`model`] (the configuration the runtime reads);
//! - [`diag`]: collected diagnostics, generic over the span type;
//! - [`suggest`]: did-you-mean suggestions.
//!
//! The compiler (`kinesis-tables-codegen`) and the runtime (`kinesis-tables`)
//! both depend on this crate; it depends on neither.

pub mod catalog;
pub mod checkpoints;
pub mod diag;
pub mod model;
pub mod suggest;
pub mod value;

mod options;
mod opts;
mod resolve;
mod rules;
mod typed;

pub use opts::OptionInput;
pub use resolve::{Resolved, resolve, resolve_at_startup};
