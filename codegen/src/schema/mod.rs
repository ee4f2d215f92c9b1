//! Schemas out: the Avro schema Flink derives from a table (`avro`), a
//! JSON Schema of a table's json records (`json`), and the JSON Schema of
//! the spec language (`spec`), from the option catalogue. All are built
//! with `serde_json`.

pub mod avro;
pub mod json;
pub mod spec;
