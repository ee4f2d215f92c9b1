//! Run-time support for SQL transforms compiled by `kinesis-tables`: the
//! built-in functions, casts and checked arithmetic with Flink's semantics,
//! over the Rust types of generated records. Generated code reaches it as
//! `::kinesis_tables::sql`.
//!
//! Conventions, for the compiler and for readers of generated code:
//! - Arguments are non-NULL values: the compiler propagates NULL. The
//!   functions whose meaning involves NULL take or return `Option`
//!   (`CONCAT_WS` skips NULLs; `SUBSTRING` with a negative length,
//!   `SPLIT_INDEX` out of range, `REGEXP_EXTRACT` without a match,
//!   `JSON_VALUE`, `TO_DATE`/`TO_TIMESTAMP` on unparseable text give NULL).
//! - What can fail a record returns `Result<_, SqlError>`; generated code
//!   attaches the SQL text with [`At::at`], giving a [`RecordError`].
//!   `TRY_CAST` is the cast function with `.ok()`.
//! - Patterns, formats and paths that are literals are compiled once (the
//!   compiler validates them at build time with the same constructors:
//!   [`pattern::Like::new`], [`pattern::java_regex`],
//!   [`temporal::DateFormat::new`], [`json::JsonPath::new`]).
//! - Where this crate differs from Flink on purpose (integer overflow and
//!   out-of-range casts fail instead of wrapping or giving NULL; DECIMAL
//!   overflow fails instead of giving NULL), the function says so.
#![deny(missing_docs)]

pub mod arith;
pub mod cache;
pub mod cast;
pub mod decimal;
mod error;
pub mod json;
pub mod numeric;
pub mod pattern;
pub mod string;
pub mod temporal;
mod text;

pub use error::{At, RecordError, SqlError, SqlErrorKind};

/// The value types of generated records that this crate's functions take,
/// re-exported so generated code names one path.
pub mod types {
    pub use bigdecimal::BigDecimal;
    pub use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
    pub use regex::Regex;
}
