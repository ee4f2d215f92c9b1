//! The checks, grouped by what they check: `columns` (names, types,
//! metadata), `partitioning`, `format` (does the table fit its format),
//! `local` (datagen's per-column rules), `pipelines`. Options and cross-field
//! rules are the config crate's (`kinesis_tables_config::resolve`). Every
//! check reports into one collector, so a user sees every problem at once.

pub(crate) mod checkpoints;
pub(crate) mod columns;
pub(crate) mod format;
pub(crate) mod local;
pub(crate) mod partitioning;
pub(crate) mod pipelines;

use crate::diag::{Diag, Diags};
use crate::ident;
use crate::input::TableInput;
use crate::ir::TableIr;
use crate::span::{Span, SpanLike};

/// Checks a spec's tables, each on its own: another table's errors must not
/// make this one fail (its pipelines would then report it as having errors).
pub(crate) fn tables(inputs: &[TableInput<Span>], diags: &mut Diags<Span>) -> Vec<TableIr> {
    let mut tables = Vec::new();
    for input in inputs {
        let mut own = Diags::default();
        if let Some(ir) = table(input, &mut own) {
            tables.push(ir);
        }
        diags.items.extend(own.items);
    }
    tables
}

/// No two tables become the same Rust type.
pub(crate) fn distinct_type_names(inputs: &[TableInput<Span>], diags: &mut Diags<Span>) {
    for (i, t) in inputs.iter().enumerate() {
        let name = ident::type_name(&t.name);
        if let Some(prev) = inputs[..i].iter().find(|p| ident::type_name(&p.name) == name) {
            diags.push(
                Diag::error(t.name_span, format!("tables `{}` and `{}` both become the Rust type `{name}`", prev.name, t.name))
                    .label("name clash")
                    .help("rename one of the tables"),
            );
        }
    }
}

/// Checks a table; every problem goes to `diags`. The IR when it has none.
pub(crate) fn table<S: SpanLike>(t: &TableInput<S>, diags: &mut Diags<S>) -> Option<TableIr> {
    let before = diags.error_count();
    let rust_name = columns::rust_name(t, diags);
    let columns = columns::check(t, diags);
    columns::some_physical(t, &columns, diags);
    let partition_columns = partitioning::check(t, &columns, diags);
    let partitioned_by = t.partitioned_by.as_ref().map(|p| p.0.clone());
    let mut resolved = kinesis_tables_config::resolve(&t.options, &t.options_span, partitioned_by, diags);
    local::check(t, &columns, resolved.as_mut(), diags);
    if let Some(r) = &resolved {
        format::check(t, &columns, &r.config.format, diags);
    }
    if diags.error_count() > before {
        return None;
    }
    Some(TableIr { name: t.name.clone(), rust_name, columns, partition_columns, resolved: resolved? })
}
