mod avro;
mod datagen;
mod process;
/// SQL pipelines: the compiled transforms per operator, and a SQL pipeline binary on both emulators.
mod sql;
/// SQL as a Flink user writes it (tests/specs/sql_users.yaml).
mod sql_users;
