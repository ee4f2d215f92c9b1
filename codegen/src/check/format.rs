//! Format fit: the table's physical columns can be held by its format.

use kinesis_tables_config::model::FormatConfig;

use crate::diag::{Diag, Diags};
use crate::input::TableInput;
use crate::ir::{ColumnIr, SqlType};
use crate::span::SpanLike;

/// Checks the physical columns against the format.
pub(crate) fn check<S: SpanLike>(t: &TableInput<S>, columns: &[ColumnIr], format: &FormatConfig, diags: &mut Diags<S>) {
    let physical: Vec<&ColumnIr> = columns.iter().filter(|c| c.metadata.is_none()).collect();
    match format {
        FormatConfig::Raw(_) => raw(t, &physical, diags),
        FormatConfig::Csv(_) => csv(t, &physical, diags),
        FormatConfig::Json(_) => {}
        FormatConfig::Avro(a) => avro(t, columns, a.legacy_timestamp_mapping, diags),
    }
}

/// Where a column was declared (the table's name when it cannot be found).
fn span_of<S: SpanLike>(t: &TableInput<S>, c: &ColumnIr) -> S {
    t.columns.iter().find(|i| i.name == c.name).map(|i| i.def_span.clone()).unwrap_or_else(|| t.name_span.clone())
}

/// `raw`: exactly one column, of a string, bytes, boolean or number type.
fn raw<S: SpanLike>(t: &TableInput<S>, physical: &[&ColumnIr], diags: &mut Diags<S>) {
    let [c] = physical else {
        diags.push(
            Diag::error(
                t.name_span.clone(),
                format!("format `raw` needs exactly one physical column; table `{}` has {}", t.name, physical.len()),
            )
            .label("wrong number of columns")
            .help("use `json` or `csv` for several columns"),
        );
        return;
    };
    let ok = matches!(
        c.ty,
        SqlType::Boolean | SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt | SqlType::Float | SqlType::Double
    ) || c.ty.is_string()
        || c.ty.is_bytes();
    if !ok {
        diags.push(
            Diag::error(span_of(t, c), format!("format `raw` cannot hold `{}`", c.ty))
                .label("not a raw type")
                .help("raw holds one string, bytes, boolean or number column"),
        );
    }
}

/// `csv`: scalars and arrays of scalars.
fn csv<S: SpanLike>(t: &TableInput<S>, physical: &[&ColumnIr], diags: &mut Diags<S>) {
    for c in physical {
        let bad = match &c.ty {
            SqlType::Map(..) | SqlType::Row(_) => true,
            SqlType::Array(e) => e.ty.is_nested(),
            _ => false,
        };
        if bad {
            diags.push(
                Diag::error(span_of(t, c), format!("format `csv` cannot hold column `{}` of type `{}`", c.name, c.ty))
                    .label("not representable in one CSV field")
                    .help("csv holds scalars and arrays of scalars; use `json` for MAP and ROW"),
            );
        }
    }
}

/// `avro`: every type Flink's `AvroSchemaConverter` can derive a schema for.
fn avro<S: SpanLike>(t: &TableInput<S>, columns: &[ColumnIr], legacy: bool, diags: &mut Diags<S>) {
    for (name, r) in crate::schema::avro::refusals(columns, legacy) {
        let Some(c) = columns.iter().find(|c| c.name == name) else { continue };
        let inner = if r.path.is_empty() { String::new() } else { format!(" (at `{}`)", r.path.join(".")) };
        diags.push(
            Diag::error(span_of(t, c), format!("format `avro` cannot hold column `{}` of type `{}`{inner}", c.name, c.ty))
                .label(if r.is_name { "not an Avro name" } else { "no Avro type for this" })
                .note(r.message)
                .help(if r.is_name {
                    "rename it (Avro names are `[A-Za-z_][A-Za-z0-9_]*`), or use `json`"
                } else {
                    "change the column's type, or use `json`"
                }),
        );
    }
}
