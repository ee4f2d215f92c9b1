//! Run-time support for SQL transforms compiled by `kinesis-tables`: the
//! built-in functions, casts and checked arithmetic with Flink's semantics,
//! over the Rust types of generated records. Generated code reaches it as
//! `::kinesis_tables::sql`.
#![deny(missing_docs)]
