//! Column checks: names, Rust names, the type of each definition, metadata
//! columns, nested types; and the table's Rust name.

use crate::diag::{Diag, Diags};
use crate::ident;
use crate::input::{ColumnDefinition, ColumnInput, FieldType, TableInput};
use crate::ir::{ColumnDef, ColumnIr, MetaKey, Metadata, SqlType};
use crate::parse::sql_type::{self, TypeError};
use crate::span::SpanLike;
use kinesis_tables_config::catalog::METADATA_KEYS;

/// The table's Rust type name; a name without a letter is an error.
pub(crate) fn rust_name<S: SpanLike>(t: &TableInput<S>, diags: &mut Diags<S>) -> String {
    let rust_name = t.rust_name.clone().unwrap_or_else(|| ident::type_name(&t.name));
    if t.name.is_empty() || rust_name.is_empty() {
        diags.push(Diag::error(t.name_span.clone(), "a table name must contain a letter").label("no usable name"));
    }
    rust_name
}

/// Checks every column; the valid ones, in order.
pub(crate) fn check<S: SpanLike>(t: &TableInput<S>, diags: &mut Diags<S>) -> Vec<ColumnIr> {
    let mut columns: Vec<ColumnIr> = Vec::new();
    for c in &t.columns {
        if let Some(col) = column(c, &columns, diags) {
            columns.push(col);
        }
    }
    columns
}

fn column<S: SpanLike>(c: &ColumnInput<S>, before: &[ColumnIr], diags: &mut Diags<S>) -> Option<ColumnIr> {
    named(c, diags)?;
    not_declared_twice(c, before, diags)?;
    let def = definition(c, diags)?;
    let ident = c.ident.clone().unwrap_or_else(|| ident::field_name(&c.name));
    distinct_rust_name(c, &ident, before, diags)?;
    let metadata = def.metadata.as_ref().and_then(|m| metadata(c, &def, m, diags));
    nested(&def.ty, &c.name, &c.def_span.narrow(def.ty_range.0, def.ty_range.1), diags);
    Some(ColumnIr { name: c.name.clone(), ident, ty: def.ty, nullable: def.nullable, metadata })
}

fn named<S: SpanLike>(c: &ColumnInput<S>, diags: &mut Diags<S>) -> Option<()> {
    if c.name.is_empty() {
        diags.push(Diag::error(c.name_span.clone(), "a column name cannot be empty").label("empty name"));
        return None;
    }
    Some(())
}

fn not_declared_twice<S: SpanLike>(c: &ColumnInput<S>, before: &[ColumnIr], diags: &mut Diags<S>) -> Option<()> {
    if before.iter().any(|p| p.name == c.name) {
        diags.push(
            Diag::error(c.name_span.clone(), format!("column `{}` is declared twice", c.name))
                .label("duplicate column")
                .help("rename or remove one of them"),
        );
        return None;
    }
    Some(())
}

/// The column model: parsed from SQL text, or built by the derive.
fn definition<S: SpanLike>(c: &ColumnInput<S>, diags: &mut Diags<S>) -> Option<ColumnDef> {
    let parsed = match &c.definition {
        ColumnDefinition::Sql(text) => sql_type::parse_column(text),
        ColumnDefinition::Field { ty, nullable, metadata } => field_definition(ty, *nullable, metadata.as_deref()),
    };
    match parsed {
        Ok(d) => Some(d),
        Err(e) => {
            diags.push(
                Diag::error(c.def_span.narrow(e.start, e.len), format!("column `{}`: {}", c.name, e.message))
                    .label("here")
                    .help_opt(e.help),
            );
            None
        }
    }
}

/// A derived field's column: NOT NULL unless an `Option` (whose `sql` may
/// still say `NOT NULL`, as when the derive wrote `{sql} NOT NULL` as text);
/// its metadata is always VIRTUAL and the key is given; spans are the whole
/// attribute, so byte ranges are empty.
fn field_definition(ty: &FieldType, nullable: bool, metadata: Option<&str>) -> Result<ColumnDef, TypeError> {
    let (ty, nullable) = match ty {
        FieldType::Model(t) => (t.clone(), nullable),
        FieldType::Sql(text) => match (sql_type::parse_sql_type(text)?, nullable) {
            // A field that is not an `Option` is NOT NULL already.
            ((_, Some(_)), false) => {
                let message = "unexpected `NOT` after the column type".to_string();
                return Err(TypeError { start: text.len(), len: 1, message, help: None });
            }
            ((t, written), true) => (t, written.unwrap_or(true)),
            ((t, None), false) => (t, false),
        },
    };
    let metadata = metadata.map(|key| Metadata { key: Some(key.to_string()), range: (0, 0), is_virtual: true });
    Ok(ColumnDef { ty, nullable, metadata, ty_range: (0, 0) })
}

fn distinct_rust_name<S: SpanLike>(c: &ColumnInput<S>, ident: &str, before: &[ColumnIr], diags: &mut Diags<S>) -> Option<()> {
    if let Some(other) = before.iter().find(|o| o.ident == ident) {
        diags.push(
            Diag::error(c.name_span.clone(), format!("columns `{}` and `{}` both become the Rust field `{ident}`", other.name, c.name))
                .label("name clash")
                .help("rename one of the columns"),
        );
        return None;
    }
    Some(())
}

/// A metadata column: a known key, VIRTUAL, a type that holds it, nullable
/// when the metadata may be absent.
fn metadata<S: SpanLike>(c: &ColumnInput<S>, def: &ColumnDef, m: &Metadata, diags: &mut Diags<S>) -> Option<MetaKey> {
    let key = m.key.clone().unwrap_or_else(|| c.name.clone());
    let Some(k) = MetaKey::parse(&key) else {
        let keys = METADATA_KEYS.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
        let d = Diag::error(c.def_span.narrow(m.range.0, m.range.1), format!("`{key}` is not a Kinesis metadata key"))
            .label("unknown metadata key")
            .note(format!("available keys: {keys}"));
        diags.push(match crate::suggest::closest(&key, METADATA_KEYS.iter().copied()) {
            Some(s) => d.help(format!("did you mean '{s}'?")),
            None => d,
        });
        return None;
    };
    if !m.is_virtual {
        diags.push(
            Diag::error(c.def_span.clone(), format!("metadata column `{}` must be VIRTUAL", c.name))
                .label("writable metadata")
                .note("Kinesis record metadata is read-only: a sink cannot set it")
                .help("append `VIRTUAL`"),
        );
    }
    if let Err(why) = k.accepts(&def.ty) {
        diags.push(
            Diag::error(
                c.def_span.narrow(def.ty_range.0, def.ty_range.1),
                format!("metadata `{key}` cannot be read as `{}`: {why}", def.ty),
            )
            .label("wrong type for this metadata")
            .help(format!("declare it as `{}`", k.canonical())),
        );
    }
    if k == MetaKey::SubSequenceNumber && !def.nullable {
        diags.push(
            Diag::error(c.def_span.clone(), format!("metadata column `{}` must be nullable", c.name))
                .label("NOT NULL sub-sequence number")
                .note("a record that was not KPL-aggregated has no sub-sequence number: the column is null for it")
                .help("remove `NOT NULL`"),
        );
    }
    Some(k)
}

/// A table needs columns, and at least one that is not metadata.
pub(crate) fn some_physical<S: SpanLike>(t: &TableInput<S>, columns: &[ColumnIr], diags: &mut Diags<S>) {
    if t.columns.is_empty() {
        diags.push(
            Diag::error(t.name_span.clone(), format!("table `{}` has no columns", t.name))
                .label("no columns")
                .help("add `columns:` with at least one column"),
        );
    } else if columns.len() == t.columns.len() && columns.iter().all(|c| c.metadata.is_some()) {
        diags.push(
            Diag::error(t.name_span.clone(), format!("table `{}` has only metadata columns", t.name))
                .label("nothing to read or write")
                .help("add a physical column"),
        );
    }
}

/// Map keys and ROW field names, at any depth.
fn nested<S: Clone>(ty: &SqlType, column: &str, span: &S, diags: &mut Diags<S>) {
    match ty {
        SqlType::Array(e) => nested(&e.ty, column, span, diags),
        SqlType::Map(k, v) => {
            let ok = k.is_string() || k.is_integer() || matches!(**k, SqlType::Boolean | SqlType::Date);
            if !ok {
                diags.push(
                    Diag::error(span.clone(), format!("column `{column}`: map key type `{k}` is not supported"))
                        .label("unsupported map key")
                        .help("map keys may be strings, integers, booleans or dates"),
                );
            }
            nested(&v.ty, column, span, diags);
        }
        SqlType::Row(fields) => {
            let mut idents: Vec<String> = Vec::new();
            for f in fields {
                let id = ident::field_name(&f.name);
                if idents.contains(&id) {
                    diags.push(
                        Diag::error(span.clone(), format!("column `{column}`: ROW fields clash on the Rust name `{id}`"))
                            .label("name clash"),
                    );
                }
                idents.push(id);
                nested(&f.ty, column, span, diags);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(sql: &str, option: bool) -> Result<(SqlType, bool), String> {
        field_definition(&FieldType::Sql(sql.into()), option, None).map(|d| (d.ty, d.nullable)).map_err(|e| e.message)
    }

    /// The derive's `sql = "…"` means what `{sql}` (plus ` NOT NULL` for a
    /// field that is not an `Option`) meant as a column definition.
    #[test]
    fn derived_sql_types_keep_their_nullability() {
        for (sql, option, expect) in [
            ("INT", false, Ok((SqlType::Int, false))),
            ("INT", true, Ok((SqlType::Int, true))),
            ("INT NOT NULL", true, Ok((SqlType::Int, false))),
            ("INT NULL", true, Ok((SqlType::Int, true))),
            ("INT NOT NULL", false, Err("unexpected `NOT` after the column type".to_string())),
            ("INT NULL", false, Err("unexpected `NOT` after the column type".to_string())),
        ] {
            assert_eq!(field(sql, option), expect, "{sql} (Option: {option})");
        }
        let d = field_definition(&FieldType::Model(SqlType::BigInt), false, Some("timestamp")).unwrap();
        let m = d.metadata.unwrap();
        assert_eq!((d.ty, d.nullable, m.key.as_deref(), m.is_virtual), (SqlType::BigInt, false, Some("timestamp"), true));
    }
}
