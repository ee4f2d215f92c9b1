//! Parsing: the spec file with spans (`yaml`, the only module that knows the
//! YAML library), the spec's shape into the input model (`spec`), and the
//! Flink SQL type grammar (`sql_type`).

pub(crate) mod spec;
pub(crate) mod sql_type;
pub(crate) mod yaml;
