//! A ROW value of one table into another table's ROW column. Each table's
//! ROW is its own Rust struct (named after the table and column), so the
//! value is rebuilt field by field; only the same ROW type (field names,
//! types and nullability) is copied, arrays of ROW included.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ident;
use crate::ir::SqlType;

/// Whether a value of `t` can be rebuilt as another table's (no MAP holds a ROW).
pub(crate) fn rebuildable(t: &SqlType) -> bool {
    match t {
        SqlType::Row(fields) => fields.iter().all(|f| rebuildable(&f.ty)),
        SqlType::Array(e) => rebuildable(&e.ty),
        SqlType::Map(k, v) => !super::emit::has_row(k) && !super::emit::has_row(&v.ty),
        _ => true,
    }
}

/// The non-null value `v` of `t` as the struct(s) named from `hint` (the sink's type name for the column).
pub(crate) fn rebuild(v: TokenStream, t: &SqlType, hint: &str, depth: usize) -> TokenStream {
    match t {
        SqlType::Row(fields) => {
            let id = ident::ident(hint);
            let fs = fields.iter().map(|f| {
                let fid = ident::ident(&ident::field_name(&f.name));
                let value = rebuild_opt(quote!(#v.#fid), &f.ty, f.nullable, &format!("{hint}{}", ident::type_name(&f.name)), depth);
                quote!(#fid: #value)
            });
            quote!(#id { #(#fs),* })
        }
        SqlType::Array(e) if super::emit::has_row(&e.ty) => {
            let r = format_ident!("__r{}", depth);
            let inner = rebuild_opt(quote!(#r), &e.ty, e.nullable, &format!("{hint}Item"), depth + 1);
            quote!(#v.into_iter().map(|#r| #inner).collect::<::std::vec::Vec<_>>())
        }
        _ => v,
    }
}

fn rebuild_opt(v: TokenStream, t: &SqlType, nullable: bool, hint: &str, depth: usize) -> TokenStream {
    if !super::emit::has_row(t) {
        return v;
    }
    if !nullable {
        return rebuild(v, t, hint, depth);
    }
    let r = format_ident!("__r{}", depth);
    let inner = rebuild(quote!(#r), t, hint, depth + 1);
    quote!(#v.map(|#r| #inner))
}
