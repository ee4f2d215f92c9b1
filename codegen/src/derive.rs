//! What `#[derive(kinesis_tables::Table)]` (the `kinesis-tables-macros`
//! crate) needs from the compiler: the input model, the table checks, the
//! emission of one table's `Record` implementation, and the names Rust
//! fields and structs get. Not a stable API.

use kinesis_tables_config::diag::Diags;
use proc_macro2::{Span, TokenStream};

pub use crate::emit::EmitOptions;
pub use crate::ident::table_name_of_struct;
pub use crate::input::{ColumnDefinition, ColumnInput, FieldType, TableInput};
pub use crate::ir::{Field, SqlType, TableIr};

/// Checks a derived table, as a spec's table is checked; every problem goes to `diags`.
pub fn check_table(t: &TableInput<Span>, diags: &mut Diags<Span>) -> Option<TableIr> {
    crate::check::table(t, diags)
}

/// The impls of one checked table (the struct is the user's).
pub fn emit_table(t: &TableIr, opts: &EmitOptions<'_>) -> TokenStream {
    crate::emit::table(t, opts)
}

/// The Rust type of a SQL type without ROWs (rustc checks field types against it).
pub fn plain_rust_type(ty: &SqlType, nullable: bool) -> TokenStream {
    crate::emit::plain_rust_type(ty, nullable)
}
