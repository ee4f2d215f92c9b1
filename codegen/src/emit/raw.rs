//! The raw codec of a record: its one physical column as the whole record.

use proc_macro2::TokenStream;
use quote::quote;

use kinesis_tables_config::model::RawOptions;

use super::codec::Codec;
use super::config::{charset, endianness};
use super::types::data_type;
use crate::ident::ident;
use crate::ir::ColumnIr;

/// The raw parts of a table's `Record` implementation; `None` without
/// exactly one physical column (the format check reports that).
pub(crate) fn codec(columns: &[ColumnIr], r: &RawOptions) -> Option<Codec> {
    let codec = quote!(::kinesis_tables::codec);
    let (cs, en) = (charset(r.charset), endianness(r.endianness));
    let c = columns.iter().find(|c| c.metadata.is_none())?;
    let f = ident(&c.ident);
    let n = &c.name;
    let dt = data_type(&c.ty);
    let inits = columns.iter().map(|col| {
        let fi = ident(&col.ident);
        if col.name == c.name {
            quote!(#fi: #codec::raw::RawField::read_raw(data, &#dt, &CX).map_err(|e| ::kinesis_tables::DecodeError::invalid(::std::format!("column `{}`: {}", #n, e)))?)
        } else {
            quote!(#fi: ::core::default::Default::default())
        }
    });
    Some(Codec {
        cx_item: quote!(const CX: #codec::raw::RawCx = #codec::raw::RawCx { charset: #cs, endianness: #en };),
        encode: quote!({
            let mut out = ::std::vec::Vec::new();
            #codec::raw::RawField::write_raw(&self.#f, &mut out, &#dt, &CX).map_err(|e| e.in_field(#n))?;
            ::core::result::Result::Ok(out)
        }),
        decode: quote!(::core::result::Result::Ok(Self { #(#inits,)* })),
        extra: TokenStream::new(),
    })
}
