//! What `#[derive(kinesis_tables::Table)]` (the `kinesis-tables-macros`
//! crate) needs from the compiler: the table input model, the table checks,
//! and the emission of one table's `Record` implementation. Not a stable API.

pub use crate::emit::{EmitOptions, plain_rust_type, table as emit_table};
pub use crate::table::{ColumnInput, TableInput};

use kinesis_tables_config::diag::Diags;
use proc_macro2::Span;

use crate::ir::TableIr;

/// Checks a derived table, as a spec's table is checked; every problem goes to `diags`.
pub fn check_table(t: &TableInput<Span>, diags: &mut Diags<Span>) -> Option<TableIr> {
    crate::table::check(t, diags)
}
pub use crate::types::{SqlType, parse_column};
