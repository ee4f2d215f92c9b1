//! The checks, grouped by what they check: `columns` (names, types,
//! metadata), `partitioning`, `format` (does the table fit its format),
//! `local` (datagen's per-column rules), `pipelines`. Options and cross-field
//! rules are the config crate's (`kinesis_tables_config::resolve`). Every
//! check reports into one collector, so a user sees every problem at once.

pub(crate) mod columns;
pub(crate) mod format;
pub(crate) mod local;
pub(crate) mod partitioning;
pub(crate) mod pipelines;

use crate::diag::Diags;
use crate::input::TableInput;
use crate::ir::TableIr;
use crate::span::SpanLike;

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
