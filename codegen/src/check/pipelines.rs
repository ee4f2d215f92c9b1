//! Pipelines: `from`/`to`/`transform` against the spec's tables, and the
//! column mapping by name.

use crate::diag::{Diag, Diags};
use crate::input::{PipelineInput, TableInput};
use crate::ir::{ColumnIr, Conv, FieldMap, Mapping, PipelineIr, SqlType, TableIr};
use crate::span::Span;

/// Checks a spec's pipelines against the tables that passed their checks.
pub(crate) fn check_all(
    inputs: &[PipelineInput],
    declared: &[TableInput<Span>],
    tables: &[TableIr],
    file: &str,
    diags: &mut Diags<Span>,
) -> Vec<PipelineIr> {
    let declared: Vec<(&str, Span)> = declared.iter().map(|t| (t.name.as_str(), t.name_span)).collect();
    inputs.iter().filter_map(|p| check(p, tables, &declared, file, diags)).collect()
}

/// Checks one pipeline against the spec's tables: `tables` are those that
/// passed their checks, `declared` every table the spec names (with where),
/// so that a pipeline of a table with errors says so rather than that there
/// is no such table.
fn check(p: &PipelineInput, tables: &[TableIr], declared: &[(&str, Span)], file: &str, diags: &mut Diags<Span>) -> Option<PipelineIr> {
    let mut ok = binary_name(p, diags);
    let cx = Tables { tables, declared };
    // A SQL pipeline's tables are the statement's.
    let sql = p.sql.as_ref().map(|_| crate::sql::parse(p, file, diags));
    let sides = match &sql {
        Some(Some(s)) => PipelineInput { from: Some(s.from.clone()), to: Some(s.to.clone()), ..p.clone() },
        Some(None) => return None,
        None => p.clone(),
    };
    let p = &sides;
    let from = cx.find(p, "from", &p.from, diags);
    let to = cx.find(p, "to", &p.to, diags);
    let checkpoints = match super::checkpoints::check(p, from, diags) {
        super::checkpoints::Checked::Absent => None,
        super::checkpoints::Checked::Block(raw) => Some(raw),
        super::checkpoints::Checked::Invalid => return None,
    };
    let (Some(from), Some(to)) = (from, to) else { return None };
    ok &= directions(p, from, to, diags);
    let mapping = match (&p.transform, &sql) {
        (_, Some(Some(s))) => crate::sql::compile(p, &s.parsed, from, to, diags)?,
        (Some((path, span)), _) => transform(path, *span, diags)?,
        (None, _) => {
            let (mapping, mapped) = by_name(p, from, to, diags);
            ok &= mapped;
            mapping
        }
    };
    ok.then(|| PipelineIr {
        name: p.name.clone(),
        from: from.name.clone(),
        to: to.name.clone(),
        from_rust: from.rust_name.clone(),
        to_rust: to.rust_name.clone(),
        mapping,
        checkpoints,
    })
}

/// The pipeline's binary is named after it.
fn binary_name(p: &PipelineInput, diags: &mut Diags<Span>) -> bool {
    if p.name.is_empty() || !p.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
        diags.push(
            Diag::error(p.name_span, format!("pipeline name `{}` is not a binary name", p.name))
                .label("not a binary name")
                .help("use lowercase letters, digits, `_` and `-`: the pipeline's binary is named after it"),
        );
        return false;
    }
    true
}

/// The spec's tables: those that passed their checks, and every declared one.
struct Tables<'a> {
    tables: &'a [TableIr],
    declared: &'a [(&'a str, Span)],
}

impl<'a> Tables<'a> {
    /// The table of `from` or `to`: missing, with errors, or unknown are errors.
    fn find(&self, p: &PipelineInput, side: &str, v: &Option<(String, Span)>, diags: &mut Diags<Span>) -> Option<&'a TableIr> {
        let Some((name, span)) = v else {
            diags.push(
                Diag::error(p.name_span, format!("pipeline `{}` has no `{side}` table", p.name))
                    .label(format!("no `{side}`"))
                    .help(format!("add `{side}: <table name>`")),
            );
            return None;
        };
        let t = self.tables.iter().find(|t| &t.name == name);
        if t.is_some() {
            return t;
        }
        if let Some((_, at)) = self.declared.iter().find(|(n, _)| n == name) {
            let side = if at.start < span.start { "above" } else { "below" };
            diags.push(
                Diag::error(*span, format!("table `{name}` has errors (see {side})"))
                    .label("table with errors")
                    .help("fix the table's errors; the pipeline is checked once it is valid"),
            );
            return None;
        }
        let declared = self.declared;
        let d = Diag::error(*span, format!("there is no table `{name}` in this spec")).label("unknown table");
        diags.push(match crate::suggest::closest(name, declared.iter().map(|(n, _)| *n)) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None if declared.is_empty() => d.help("the spec has no tables: define it under `tables:`"),
            None => d.help(format!("tables here: {}", declared.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", "))),
        });
        None
    }
}

/// The source can be read and the sink written.
fn directions(p: &PipelineInput, from: &TableIr, to: &TableIr, diags: &mut Diags<Span>) -> bool {
    let mut ok = true;
    let (fc, tc) = (from.resolved.config.connector, to.resolved.config.connector);
    if !fc.can_read()
        && let Some((_, span)) = &p.from
    {
        diags.push(
            Diag::error(*span, format!("table `{}` uses `connector: {}`, which can only be written", from.name, fc.name()))
                .label("not a source")
                .help("read from a `kinesis`, `kinesis-legacy` or `datagen` table"),
        );
        ok = false;
    }
    if !tc.can_write()
        && let Some((_, span)) = &p.to
    {
        diags.push(
            Diag::error(*span, format!("table `{}` uses `connector: datagen`, which can only be read", to.name))
                .label("not a sink")
                .help("write to a `kinesis`, `kinesis-legacy`, `print` or `blackhole` table"),
        );
        ok = false;
    }
    ok
}

/// A user function; rustc checks its signature.
fn transform(path: &str, span: Span, diags: &mut Diags<Span>) -> Option<Mapping> {
    if syn::parse_str::<syn::Path>(path).is_err() {
        diags.push(
            Diag::error(span, format!("`{path}` is not a Rust path"))
                .label("not a path")
                .help("name a function such as `crate::transforms::enrich`"),
        );
        return None;
    }
    Some(Mapping::Transform(path.to_string()))
}

/// Each sink column from the source column of the same name; `false` when one cannot be.
fn by_name(p: &PipelineInput, from: &TableIr, to: &TableIr, diags: &mut Diags<Span>) -> (Mapping, bool) {
    let to_span = p.to.as_ref().map(|t| t.1).unwrap_or(p.name_span);
    let mut ok = true;
    let mut fields = Vec::new();
    for c in &to.columns {
        match column(c, from, to, to_span, diags) {
            Some(f) => fields.push(f),
            None => ok = false,
        }
    }
    (Mapping::ByName(fields), ok)
}

fn column(c: &ColumnIr, from: &TableIr, to: &TableIr, to_span: Span, diags: &mut Diags<Span>) -> Option<FieldMap> {
    if c.metadata.is_some() {
        return Some(FieldMap { sink: c.ident.clone(), conv: Conv::Metadata });
    }
    let Some(src) = from.columns.iter().find(|s| s.name == c.name) else {
        diags.push(
            Diag::error(to_span, format!("column `{}` of `{}` has no column of that name in `{}`", c.name, to.name, from.name))
                .label("unmapped column")
                .help("add the column to the source table, or give the pipeline a `transform`"),
        );
        return None;
    };
    let Some(into) = converts(&src.ty, &c.ty) else {
        diags.push(
            Diag::error(
                to_span,
                format!("column `{}`: {} in `{}` does not convert without loss to {} in `{}`", c.name, src.ty, from.name, c.ty, to.name),
            )
            .label("lossy column")
            .help("widen the sink column, or give the pipeline a `transform`"),
        );
        return None;
    };
    if src.nullable && !c.nullable {
        diags.push(
            Diag::error(to_span, format!("column `{}` is NOT NULL in `{}` but may be null in `{}`", c.name, to.name, from.name))
                .label("null into NOT NULL")
                .help("make the sink column nullable, or give the pipeline a `transform`"),
        );
        return None;
    }
    let some = !src.nullable && c.nullable;
    let option_into = src.nullable && c.nullable && into;
    Some(FieldMap { sink: c.ident.clone(), conv: Conv::From { field: src.ident.clone(), some, into, option_into } })
}

/// Whether a value of `from` converts to `to` without loss; `Some(true)`
/// when it needs `Into` (a wider Rust type), `Some(false)` when it moves as is.
fn converts(from: &SqlType, to: &SqlType) -> Option<bool> {
    use SqlType::*;
    if from == to {
        return Some(false);
    }
    let rank = |t: &SqlType| match t {
        TinyInt => Some(1),
        SmallInt => Some(2),
        Int => Some(3),
        BigInt => Some(4),
        _ => None,
    };
    match (from, to) {
        (a, b) if rank(a).is_some() && rank(b).is_some() => (rank(a) < rank(b)).then_some(true),
        (Float, Double) => Some(true),
        (Varchar(_) | Char(_) | String, String) => Some(false),
        (Varchar(n), Varchar(m)) | (Char(n), Varchar(m)) => (n <= m).then_some(false),
        (Varbinary(_) | Binary(_) | Bytes, Bytes) => Some(false),
        (Varbinary(n) | Binary(n), Varbinary(m)) => (n <= m).then_some(false),
        (Decimal { precision: p, scale: s }, Decimal { precision: p2, scale: s2 }) => {
            (s2 >= s && (*p2 as i32 - *s2 as i32) >= (*p as i32 - *s as i32)).then_some(false)
        }
        (Timestamp(p), Timestamp(q)) | (TimestampLtz(p), TimestampLtz(q)) | (Time(p), Time(q)) => (p <= q).then_some(false),
        _ => None,
    }
}
