//! The input model: a table or pipeline as written, in a spec (spans of type
//! [`crate::span::Span`]) or a derive (spans of type `proc_macro2::Span`).
//! Parsing produces it; the checks read it.

use kinesis_tables_config::OptionInput;

use crate::ir::SqlType;
use crate::span::Span;

/// A table as written, with spans of type `S`.
#[derive(Debug, Clone)]
pub struct TableInput<S> {
    /// The table name as written.
    pub name: String,
    /// Where the name was written.
    pub name_span: S,
    /// The Rust type name; derived from `name` when `None`.
    pub rust_name: Option<String>,
    /// The columns, in order.
    pub columns: Vec<ColumnInput<S>>,
    /// The span of the `partitioned_by` list and its entries.
    pub partitioned_by: Option<(S, Vec<(String, S)>)>,
    /// The `with:` options, in order.
    pub options: Vec<OptionInput<S>>,
    /// Where to point errors about missing options.
    pub options_span: S,
}

/// A column as written.
#[derive(Debug, Clone)]
pub struct ColumnInput<S> {
    /// The wire name.
    pub name: String,
    /// Where the name was written.
    pub name_span: S,
    /// What the column holds.
    pub definition: ColumnDefinition,
    /// Where the definition was written: errors in it point here (narrowed
    /// into the text when the span allows).
    pub def_span: S,
    /// The Rust field name, when the user chose it (the derive path).
    pub ident: Option<String>,
}

/// What a column holds.
#[derive(Debug, Clone)]
pub enum ColumnDefinition {
    /// A Flink SQL column definition, such as `BIGINT NOT NULL` or
    /// `TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL` (a spec).
    Sql(String),
    /// A column of a derived struct: its type from the Rust field type, or
    /// from `sql = "…"`; nullability from `Option`; metadata from
    /// `metadata = "…"` (always VIRTUAL).
    Field {
        /// The column's type.
        ty: FieldType,
        /// Whether the field is an `Option`.
        nullable: bool,
        /// The `metadata = "…"` key.
        metadata: Option<String>,
    },
}

/// The type of a derived column.
#[derive(Debug, Clone)]
pub enum FieldType {
    /// Mapped from the Rust type.
    Model(SqlType),
    /// Written as `sql = "…"`: a SQL type (with `NOT NULL` allowed on an
    /// `Option` field), parsed by the type grammar.
    Sql(String),
}

/// A pipeline as written.
#[derive(Debug, Clone)]
pub struct PipelineInput {
    pub name: String,
    pub name_span: Span,
    pub from: Option<(String, Span)>,
    pub to: Option<(String, Span)>,
    pub transform: Option<(String, Span)>,
    /// The `checkpoints:` block: where its key was written, and its entries.
    pub checkpoints: Option<(Span, Vec<OptionInput<Span>>)>,
    /// `sql:` — an `INSERT INTO … SELECT …` statement (compiled by `crate::sql`).
    pub sql: Option<(String, Span)>,
    /// `table.local-time-zone:` — the zone TIMESTAMP_LTZ values are read in by SQL functions.
    pub local_time_zone: Option<(String, Span)>,
}
