//! The record struct of a table (spec path only; the derive's struct is the
//! user's) and the nested ROW structs its columns need.

use proc_macro2::TokenStream;
use quote::quote;

use super::json::json_impl;
use super::types::{RowStruct, rust_type};
use crate::ident;
use crate::ir::{ColumnIr, TableIr};
use kinesis_tables_config::model::ConnectorKind;

/// The table's struct, then each nested ROW struct with its `JsonField`.
pub(crate) fn structs(t: &TableIr, name: &syn::Ident) -> TokenStream {
    let cfg = &t.resolved.config;
    let doc = match cfg.connector {
        c if c.is_kinesis() => {
            format!(" Table `{}`: connector `{}`, stream `{}`, format `{}`.", t.name, c.name(), cfg.stream.name(), cfg.format.name())
        }
        ConnectorKind::Print => format!(" Table `{}`: connector `print`, format `{}`.", t.name, cfg.format.name()),
        c => format!(" Table `{}`: connector `{}`.", t.name, c.name()),
    };
    let mut rows = Vec::new();
    let mut items = struct_def(name, &t.columns, &doc, &t.rust_name, &mut rows);
    // Nested ROW structs (they can queue more rows).
    let mut i = 0;
    while i < rows.len() {
        let r = RowStruct { name: rows[i].name.clone(), fields: rows[i].fields.clone() };
        let rid = ident::ident(&r.name);
        let doc = format!(" A ROW value of table `{}`.", t.name);
        let mut more = Vec::new();
        items.extend(struct_def(&rid, &r.fields, &doc, &r.name, &mut more));
        items.extend(json_impl(&rid, &r.fields));
        rows.extend(more);
        i += 1;
    }
    items
}

pub(crate) fn struct_def(name: &syn::Ident, fields: &[ColumnIr], doc: &str, hint: &str, rows: &mut Vec<RowStruct>) -> TokenStream {
    let defs = fields.iter().map(|c| {
        let f = ident::ident(&c.ident);
        let ty = rust_type(&c.ty, c.nullable, &format!("{hint}{}", ident::type_name(&c.name)), rows);
        let doc = match c.metadata {
            Some(_) => format!(" `{}` {}{} (VIRTUAL metadata, filled when read)", c.name, c.ty, if c.nullable { "" } else { " NOT NULL" }),
            None => format!(" `{}` {}{}", c.name, c.ty, if c.nullable { "" } else { " NOT NULL" }),
        };
        quote!(#[doc = #doc] pub #f: #ty)
    });
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq)]
        pub struct #name { #(#defs,)* }
    }
}
