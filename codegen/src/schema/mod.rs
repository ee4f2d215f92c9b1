//! Schemas out: the Avro schema Flink derives from a table (`avro`), and a
//! JSON Schema of a table's json records (`json`). Both are built from the
//! checked table IR with `serde_json`.

pub mod avro;
pub mod json;
