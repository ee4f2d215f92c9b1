//! Table-level validation: columns, metadata, partitioning and format fit.
//! Produces the typed IR the emitter works from.

use heck::{ToSnakeCase, ToUpperCamelCase};

use crate::catalog::{METADATA_KEYS, limits};
use crate::diag::{Diag, Diags};
use crate::ir::{ColumnIr, MetaKey, TableIr};
use crate::span::SpanLike;
use crate::types::{self, SqlType};
use kinesis_tables_config::OptionInput;

/// A table as written, with spans of type `S`.
#[derive(Debug, Clone)]
pub struct TableInput<S> {
    pub name: String,
    pub name_span: S,
    /// The Rust type name; derived from `name` when `None`.
    pub rust_name: Option<String>,
    pub columns: Vec<ColumnInput<S>>,
    /// The span of the `partitioned_by` list and its entries.
    pub partitioned_by: Option<(S, Vec<(String, S)>)>,
    pub options: Vec<OptionInput<S>>,
    /// Where to point errors about missing options.
    pub options_span: S,
}

#[derive(Debug, Clone)]
pub struct ColumnInput<S> {
    /// The wire name.
    pub name: String,
    pub name_span: S,
    /// The Flink SQL definition, such as `BIGINT NOT NULL`.
    pub definition: String,
    pub def_span: S,
    /// The Rust field name, when the user chose it (the derive path).
    pub ident: Option<String>,
}

/// Validates a table; every problem goes to `diags`.
pub fn check<S: SpanLike>(t: &TableInput<S>, diags: &mut Diags<S>) -> Option<TableIr> {
    let before = diags.error_count();
    let rust_name = t.rust_name.clone().unwrap_or_else(|| type_name(&t.name));
    if t.name.is_empty() || rust_name.is_empty() {
        diags.push(Diag::error(t.name_span.clone(), "a table name must contain a letter").label("no usable name"));
    }
    let mut columns: Vec<ColumnIr> = Vec::new();
    let mut column_spans: Vec<&ColumnInput<S>> = Vec::new();
    for c in &t.columns {
        if c.name.is_empty() {
            diags.push(Diag::error(c.name_span.clone(), "a column name cannot be empty").label("empty name"));
            continue;
        }
        if column_spans.iter().any(|p| p.name == c.name) {
            diags.push(
                Diag::error(c.name_span.clone(), format!("column `{}` is declared twice", c.name))
                    .label("duplicate column")
                    .help("rename or remove one of them"),
            );
            continue;
        }
        let def = match types::parse_column(&c.definition) {
            Ok(d) => d,
            Err(e) => {
                diags.push(
                    Diag::error(c.def_span.narrow(e.start, e.len), format!("column `{}`: {}", c.name, e.message))
                        .label("here")
                        .help_opt(e.help),
                );
                continue;
            }
        };
        let ident = c.ident.clone().unwrap_or_else(|| field_name(&c.name));
        if let Some(other) = columns.iter().find(|o| o.ident == ident) {
            diags.push(
                Diag::error(c.name_span.clone(), format!("columns `{}` and `{}` both become the Rust field `{ident}`", other.name, c.name))
                    .label("name clash")
                    .help("rename one of the columns"),
            );
            continue;
        }
        let mut metadata = None;
        if let Some(m) = &def.metadata {
            let key = m.key.clone().unwrap_or_else(|| c.name.clone());
            let span = c.def_span.narrow(m.range.0, m.range.1);
            match MetaKey::parse(&key) {
                None => {
                    let d = Diag::error(span, format!("`{key}` is not a Kinesis metadata key"))
                        .label("unknown metadata key")
                        .note("available keys: `timestamp`, `shard-id`, `sequence-number`, `partition-key`, `sub-sequence-number`");
                    diags.push(match crate::suggest::closest(&key, METADATA_KEYS.iter().copied()) {
                        Some(s) => d.help(format!("did you mean '{s}'?")),
                        None => d,
                    });
                }
                Some(k) => {
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
                    metadata = Some(k);
                }
            }
        }
        check_nested(&def.ty, &c.name, &c.def_span.narrow(def.ty_range.0, def.ty_range.1), diags);
        column_spans.push(c);
        columns.push(ColumnIr { name: c.name.clone(), ident, ty: def.ty, nullable: def.nullable, metadata });
    }
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

    // Partitioning.
    let mut partition_columns = Vec::new();
    if let Some((list_span, names)) = &t.partitioned_by {
        if names.is_empty() {
            diags.push(
                Diag::error(list_span.clone(), "`partitioned_by` is empty")
                    .label("no columns")
                    .help("list at least one column, or remove `partitioned_by`"),
            );
        }
        let mut max_len: Option<usize> = Some(0);
        for (name, span) in names {
            let Some(idx) = columns.iter().position(|c| &c.name == name) else {
                if t.columns.iter().any(|c| &c.name == name) {
                    continue; // the column itself was reported
                }
                let d =
                    Diag::error(span.clone(), format!("partition column `{name}` is not a column of this table")).label("unknown column");
                diags.push(match crate::suggest::closest(name, columns.iter().map(|c| c.name.as_str())) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d,
                });
                max_len = None;
                continue;
            };
            let col = &columns[idx];
            if partition_columns.contains(&idx) {
                diags.push(Diag::error(span.clone(), format!("`{name}` is listed twice in `partitioned_by`")).label("duplicate"));
                continue;
            }
            if col.metadata.is_some() {
                diags.push(
                    Diag::error(span.clone(), format!("partition column `{name}` is a VIRTUAL metadata column"))
                        .label("not written by the sink")
                        .note("a partition key must come from data the sink writes")
                        .help("partition by a physical column"),
                );
                continue;
            }
            if col.ty.is_nested() || col.ty.is_bytes() {
                diags.push(
                    Diag::error(
                        span.clone(),
                        format!("partition column `{name}` has type `{}`, which cannot form a partition key", col.ty),
                    )
                    .label("not a scalar text-able type")
                    .help("partition by string, number, boolean, date or time columns"),
                );
                continue;
            }
            max_len = max_len.and_then(|m| col.ty.max_key_chars().map(|l| m + l));
            partition_columns.push(idx);
        }
        let delim = t
            .options
            .iter()
            .find(|o| o.key == crate::catalog::keys::SINK_DELIMITER)
            .and_then(|o| o.value.text())
            .unwrap_or_else(|| "|".into());
        if let Some(m) = max_len {
            let total = m + delim.chars().count() * partition_columns.len().saturating_sub(1);
            if total > limits::PARTITION_KEY_MAX_CHARS && !partition_columns.is_empty() {
                diags.push(
                    Diag::error(
                        list_span.clone(),
                        format!("partition keys of this table can be {total} characters long; Kinesis allows 256"),
                    )
                    .label("partition key may exceed 256 characters")
                    .note("an over-long key is an error for that record at run time; it is never truncated")
                    .help("narrow the column types (for example `VARCHAR(200)`) or partition by fewer columns"),
                );
            }
        }
    }

    let mut resolved = kinesis_tables_config::resolve(&t.options, &t.options_span, t.partitioned_by.as_ref().map(|p| p.0.clone()), diags);
    crate::local::check(t, &columns, resolved.as_mut(), diags);

    // Format fit.
    if let Some(r) = &resolved {
        let physical: Vec<&ColumnIr> = columns.iter().filter(|c| c.metadata.is_none()).collect();
        let format = r.config.format.name();
        let span_of =
            |c: &ColumnIr| t.columns.iter().find(|i| i.name == c.name).map(|i| i.def_span.clone()).unwrap_or_else(|| t.name_span.clone());
        match format {
            "raw" => {
                if physical.len() != 1 {
                    diags.push(
                        Diag::error(
                            t.name_span.clone(),
                            format!("format `raw` needs exactly one physical column; table `{}` has {}", t.name, physical.len()),
                        )
                        .label("wrong number of columns")
                        .help("use `json` or `csv` for several columns"),
                    );
                } else {
                    let c = physical[0];
                    let ok = matches!(
                        c.ty,
                        SqlType::Boolean
                            | SqlType::TinyInt
                            | SqlType::SmallInt
                            | SqlType::Int
                            | SqlType::BigInt
                            | SqlType::Float
                            | SqlType::Double
                    ) || c.ty.is_string()
                        || c.ty.is_bytes();
                    if !ok {
                        diags.push(
                            Diag::error(span_of(c), format!("format `raw` cannot hold `{}`", c.ty))
                                .label("not a raw type")
                                .help("raw holds one string, bytes, boolean or number column"),
                        );
                    }
                }
            }
            "csv" => {
                for c in &physical {
                    let bad = match &c.ty {
                        SqlType::Map(..) | SqlType::Row(_) => true,
                        SqlType::Array(e) => e.ty.is_nested(),
                        _ => false,
                    };
                    if bad {
                        diags.push(
                            Diag::error(span_of(c), format!("format `csv` cannot hold column `{}` of type `{}`", c.name, c.ty))
                                .label("not representable in one CSV field")
                                .help("csv holds scalars and arrays of scalars; use `json` for MAP and ROW"),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    if diags.error_count() > before {
        return None;
    }
    let resolved = resolved?;
    Some(TableIr { name: t.name.clone(), rust_name, columns, partition_columns, resolved })
}

fn check_nested<S: Clone>(ty: &SqlType, column: &str, span: &S, diags: &mut Diags<S>) {
    match ty {
        SqlType::Array(e) => check_nested(&e.ty, column, span, diags),
        SqlType::Map(k, v) => {
            let ok = k.is_string() || k.is_integer() || matches!(**k, SqlType::Boolean | SqlType::Date);
            if !ok {
                diags.push(
                    Diag::error(span.clone(), format!("column `{column}`: map key type `{k}` is not supported"))
                        .label("unsupported map key")
                        .help("map keys may be strings, integers, booleans or dates"),
                );
            }
            check_nested(&v.ty, column, span, diags);
        }
        SqlType::Row(fields) => {
            let mut idents: Vec<String> = Vec::new();
            for f in fields {
                let id = field_name(&f.name);
                if idents.contains(&id) {
                    diags.push(
                        Diag::error(span.clone(), format!("column `{column}`: ROW fields clash on the Rust name `{id}`"))
                            .label("name clash"),
                    );
                }
                idents.push(id);
                check_nested(&f.ty, column, span, diags);
            }
        }
        _ => {}
    }
}

/// The Rust type name of a table: `user_behavior` → `UserBehavior`.
pub fn type_name(name: &str) -> String {
    let cleaned: String = name.chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect();
    let mut n = cleaned.to_upper_camel_case();
    if n.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        n = format!("T{n}");
    }
    n
}

/// The Rust field name of a column: `user-id` → `user_id`, `type` → `r#type`.
pub fn field_name(name: &str) -> String {
    let cleaned: String = name.chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect();
    let mut n = cleaned.to_snake_case();
    if n.is_empty() {
        n = "_".into();
    }
    if n.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        n = format!("_{n}");
    }
    if !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        // Non-ASCII letters are valid in Rust identifiers, but keep fields ASCII.
        n = n.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    }
    match n.as_str() {
        "self" | "Self" | "super" | "crate" | "_" => format!("{n}_"),
        _ if is_keyword(&n) => format!("r#{n}"),
        _ => n,
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "break"
            | "const"
            | "continue"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "static"
            | "struct"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
            | "gen"
    )
}
