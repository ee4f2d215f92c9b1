//! `partitioned_by`: each entry a physical, scalar column listed once, and
//! keys that fit Kinesis's 256 characters.

use kinesis_tables_config::catalog::{self, keys, limits};

use crate::diag::{Diag, Diags};
use crate::input::TableInput;
use crate::ir::ColumnIr;
use crate::span::SpanLike;

/// The partition columns, as indexes into `columns`, in `partitioned_by` order.
pub(crate) fn check<S: SpanLike>(t: &TableInput<S>, columns: &[ColumnIr], diags: &mut Diags<S>) -> Vec<usize> {
    let mut partition_columns = Vec::new();
    let Some((list_span, names)) = &t.partitioned_by else { return partition_columns };
    if names.is_empty() {
        diags.push(
            Diag::error(list_span.clone(), "`partitioned_by` is empty")
                .label("no columns")
                .help("list at least one column, or remove `partitioned_by`"),
        );
    }
    // The longest key, while every column's is bounded and known.
    let mut max_len: Option<usize> = Some(0);
    for (name, span) in names {
        let Some(idx) = columns.iter().position(|c| &c.name == name) else {
            if !t.columns.iter().any(|c| &c.name == name) {
                unknown_column(name, span, columns, diags);
                max_len = None;
            } // else: the column itself was reported
            continue;
        };
        if partition_column(name, span, &columns[idx], partition_columns.contains(&idx), diags).is_some() {
            max_len = max_len.and_then(|m| columns[idx].ty.max_key_chars().map(|l| m + l));
            partition_columns.push(idx);
        }
    }
    if let Some(m) = max_len {
        key_length(t, list_span, m, partition_columns.len(), diags);
    }
    partition_columns
}

fn unknown_column<S: SpanLike>(name: &str, span: &S, columns: &[ColumnIr], diags: &mut Diags<S>) {
    let d = Diag::error(span.clone(), format!("partition column `{name}` is not a column of this table")).label("unknown column");
    diags.push(match crate::suggest::closest(name, columns.iter().map(|c| c.name.as_str())) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d,
    });
}

/// One entry: not listed twice, not metadata, a type that renders to a key.
fn partition_column<S: SpanLike>(name: &str, span: &S, col: &ColumnIr, listed: bool, diags: &mut Diags<S>) -> Option<()> {
    if listed {
        diags.push(Diag::error(span.clone(), format!("`{name}` is listed twice in `partitioned_by`")).label("duplicate"));
        return None;
    }
    if col.metadata.is_some() {
        diags.push(
            Diag::error(span.clone(), format!("partition column `{name}` is a VIRTUAL metadata column"))
                .label("not written by the sink")
                .note("a partition key must come from data the sink writes")
                .help("partition by a physical column"),
        );
        return None;
    }
    if col.ty.is_nested() || col.ty.is_bytes() {
        diags.push(
            Diag::error(span.clone(), format!("partition column `{name}` has type `{}`, which cannot form a partition key", col.ty))
                .label("not a scalar text-able type")
                .help("partition by string, number, boolean, date or time columns"),
        );
        return None;
    }
    Some(())
}

/// The longest key (columns plus delimiters) fits Kinesis's limit.
fn key_length<S: SpanLike>(t: &TableInput<S>, list_span: &S, columns_len: usize, count: usize, diags: &mut Diags<S>) {
    let delim = t
        .options
        .iter()
        .find(|o| o.key == keys::SINK_DELIMITER)
        .and_then(|o| o.value.text())
        .unwrap_or_else(|| catalog::DEFAULT_PARTITION_DELIMITER.into());
    let total = columns_len + delim.chars().count() * count.saturating_sub(1);
    if total > limits::PARTITION_KEY_MAX_CHARS && count > 0 {
        diags.push(
            Diag::error(list_span.clone(), format!("partition keys of this table can be {total} characters long; Kinesis allows 256"))
                .label("partition key may exceed 256 characters")
                .note("an over-long key is an error for that record at run time; it is never truncated")
                .help("narrow the column types (for example `VARCHAR(200)`) or partition by fewer columns"),
        );
    }
}
