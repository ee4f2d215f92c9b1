//! The spec language: turns a YAML tree into table inputs, reporting every
//! structural problem (unknown keys, wrong shapes) with its location.

use kinesis_tables_config::OptionInput;

use crate::diag::{Diag, Diags};
use crate::input::{ColumnDefinition, ColumnInput, PipelineInput, TableInput};
use crate::parse::yaml::{Located, Tree};
use crate::span::Span;

const TOP_KEYS: &[&str] = &["tables", "pipelines"];
const TABLE_KEYS: &[&str] = &["columns", "partitioned_by", "with"];

fn kind(t: &Tree) -> &'static str {
    match t {
        Tree::Scalar(_) => "a value",
        Tree::Seq(_) => "a list",
        Tree::Map(_) => "a mapping",
    }
}

fn unknown(key: &Located<String>, allowed: &[&str], what: &str, diags: &mut Diags<Span>) {
    let d = Diag::error(key.span, format!("unknown {what} key `{}`", key.value)).label("unknown key");
    diags.push(match crate::suggest::closest(&key.value, allowed.iter().copied()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!("expected one of: {}", allowed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "))),
    });
}

/// Reads the tables of a spec document.
pub fn tables(doc: &Located<Tree>, diags: &mut Diags<Span>) -> Vec<TableInput<Span>> {
    let mut out = Vec::new();
    let Tree::Map(top) = &doc.value else {
        diags.push(
            Diag::error(doc.span, format!("a spec must be a mapping with `tables:`, found {}", kind(&doc.value)))
                .label("not a mapping")
                .help("start the file with `tables:`"),
        );
        return out;
    };
    let mut saw_tables = false;
    for (k, v) in top {
        match k.value.as_str() {
            "tables" => {
                saw_tables = true;
                match &v.value {
                    Tree::Map(entries) => {
                        for (name, body) in entries {
                            if let Some(t) = table(name, body, diags) {
                                out.push(t);
                            }
                        }
                    }
                    Tree::Scalar(crate::value::RawValue::Null) => {}
                    other => diags.push(
                        Diag::error(v.span, format!("`tables` must be a mapping of table names to tables, found {}", kind(other)))
                            .label("not a mapping"),
                    ),
                }
            }
            "pipelines" => {}
            _ => unknown(k, TOP_KEYS, "top-level", diags),
        }
    }
    if !saw_tables {
        diags.push(
            Diag::error(Span { start: 0, len: 1, content: 0 }, "the spec has no `tables:` section")
                .label("no tables")
                .help("add `tables:` with at least one table"),
        );
    }
    out
}

fn table(name: &Located<String>, body: &Located<Tree>, diags: &mut Diags<Span>) -> Option<TableInput<Span>> {
    let Tree::Map(entries) = &body.value else {
        diags.push(
            Diag::error(
                body.span,
                format!("table `{}` must be a mapping with `columns` and `with`, found {}", name.value, kind(&body.value)),
            )
            .label("not a mapping"),
        );
        return None;
    };
    let mut t = TableInput {
        name: name.value.clone(),
        name_span: name.span,
        rust_name: None,
        columns: Vec::new(),
        partitioned_by: None,
        options: Vec::new(),
        options_span: name.span,
    };
    let mut saw_with = false;
    for (k, v) in entries {
        match k.value.as_str() {
            "columns" => columns(&mut t, v, diags),
            "partitioned_by" => partitioned_by(&mut t, k, v, diags),
            "with" => {
                saw_with = true;
                t.options_span = k.span;
                options(&mut t, v, diags);
            }
            _ => unknown(k, TABLE_KEYS, "table", diags),
        }
    }
    if !saw_with {
        diags.push(
            Diag::error(name.span, format!("table `{}` has no `with:` options", name.value))
                .label("no connector options")
                .help("add `with:` with at least `connector`, the stream, `aws.region` and `format`"),
        );
        return None;
    }
    Some(t)
}

fn columns(t: &mut TableInput<Span>, v: &Located<Tree>, diags: &mut Diags<Span>) {
    let Tree::Map(cols) = &v.value else {
        diags.push(
            Diag::error(v.span, format!("`columns` must be a mapping of column names to types, found {}", kind(&v.value)))
                .label("not a mapping"),
        );
        return;
    };
    for (cname, cdef) in cols {
        match &cdef.value {
            Tree::Scalar(crate::value::RawValue::Str(def)) => t.columns.push(ColumnInput {
                name: cname.value.clone(),
                name_span: cname.span,
                definition: ColumnDefinition::Sql(def.clone()),
                def_span: cdef.span,
                ident: None,
            }),
            other => diags.push(
                Diag::error(cdef.span, format!("column `{}` must be a type such as `BIGINT`, found {}", cname.value, kind(other)))
                    .label("not a column definition")
                    .help("write the Flink SQL type as text, for example `user_id: BIGINT NOT NULL`"),
            ),
        }
    }
}

fn partitioned_by(t: &mut TableInput<Span>, k: &Located<String>, v: &Located<Tree>, diags: &mut Diags<Span>) {
    match &v.value {
        Tree::Seq(items) => {
            let mut names = Vec::new();
            for i in items {
                match &i.value {
                    Tree::Scalar(s) if s.text().is_some() => names.push((s.text().unwrap_or_default(), i.span)),
                    other => diags.push(
                        Diag::error(i.span, format!("a partition column must be a column name, found {}", kind(other))).label("not a name"),
                    ),
                }
            }
            t.partitioned_by = Some((k.span, names));
        }
        Tree::Scalar(crate::value::RawValue::Str(s)) => t.partitioned_by = Some((k.span, vec![(s.clone(), v.span)])),
        other => diags.push(
            Diag::error(v.span, format!("`partitioned_by` must be a list of column names, found {}", kind(other)))
                .label("not a list")
                .help("write `partitioned_by: [user_id]`"),
        ),
    }
}

fn options(t: &mut TableInput<Span>, v: &Located<Tree>, diags: &mut Diags<Span>) {
    let Tree::Map(opts) = &v.value else {
        diags.push(Diag::error(v.span, format!("`with` must be a mapping of options, found {}", kind(&v.value))).label("not a mapping"));
        return;
    };
    for (ok, ov) in opts {
        match &ov.value {
            Tree::Scalar(raw) => t.options.push(OptionInput {
                key: ok.value.clone(),
                key_span: ok.span,
                value: raw.clone(),
                value_span: ov.span,
                from_env: false,
            }),
            other => diags.push(
                Diag::error(ov.span, format!("option `{}` must be a single value, found {}", ok.value, kind(other)))
                    .label("not a scalar")
                    .help("option values are strings, numbers or booleans"),
            ),
        }
    }
}

const PIPELINE_KEYS: &[&str] = &["from", "to", "transform", "sql", "table.local-time-zone", "checkpoints"];

/// Reads the `pipelines:` section of a spec document.
pub fn pipelines(doc: &Located<Tree>, diags: &mut Diags<Span>) -> Vec<PipelineInput> {
    let mut out = Vec::new();
    let Tree::Map(top) = &doc.value else { return out };
    for (k, v) in top {
        if k.value != "pipelines" {
            continue;
        }
        let entries = match &v.value {
            Tree::Map(entries) => entries,
            Tree::Scalar(crate::value::RawValue::Null) => continue,
            other => {
                diags.push(
                    Diag::error(v.span, format!("`pipelines` must be a mapping of pipeline names to pipelines, found {}", kind(other)))
                        .label("not a mapping"),
                );
                continue;
            }
        };
        for (name, body) in entries {
            let Tree::Map(fields) = &body.value else {
                diags.push(
                    Diag::error(
                        body.span,
                        format!("pipeline `{}` must be a mapping with `from` and `to`, found {}", name.value, kind(&body.value)),
                    )
                    .label("not a mapping"),
                );
                continue;
            };
            let mut p = PipelineInput {
                name: name.value.clone(),
                name_span: name.span,
                from: None,
                to: None,
                transform: None,
                sql: None,
                local_time_zone: None,
                checkpoints: None,
            };
            for (fk, fv) in fields {
                if fk.value == "checkpoints" {
                    p.checkpoints = Some((fk.span, checkpoints(fv, diags)));
                    continue;
                }
                let text = match &fv.value {
                    Tree::Scalar(s) => s.text(),
                    _ => None,
                };
                let slot = match fk.value.as_str() {
                    "from" => &mut p.from,
                    "to" => &mut p.to,
                    "transform" => &mut p.transform,
                    "sql" => &mut p.sql,
                    "table.local-time-zone" => &mut p.local_time_zone,
                    _ => {
                        unknown(fk, PIPELINE_KEYS, "pipeline", diags);
                        continue;
                    }
                };
                match text {
                    Some(t) => *slot = Some((t, fv.span)),
                    None => diags.push(
                        Diag::error(fv.span, format!("`{}` must be a name, found {}", fk.value, kind(&fv.value))).label("not a name"),
                    ),
                }
            }
            out.push(p);
        }
    }
    out
}

/// A pipeline's `checkpoints:` block: a mapping of single values (checked by
/// `check::checkpoints`).
fn checkpoints(v: &Located<Tree>, diags: &mut Diags<Span>) -> Vec<OptionInput<Span>> {
    let Tree::Map(entries) = &v.value else {
        diags.push(
            Diag::error(v.span, format!("`checkpoints` must be a mapping, found {}", kind(&v.value)))
                .label("not a mapping")
                .help("write `checkpoints: {store: dynamodb, table: <lease table>}`"),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, val) in entries {
        match &val.value {
            Tree::Scalar(raw) => {
                out.push(OptionInput { key: k.value.clone(), key_span: k.span, value: raw.clone(), value_span: val.span, from_env: false })
            }
            other => diags.push(
                Diag::error(val.span, format!("checkpoints `{}` must be a single value, found {}", k.value, kind(other)))
                    .label("not a scalar"),
            ),
        }
    }
    out
}
