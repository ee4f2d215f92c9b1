//! The json codec of a record: `JsonField` for the struct (and each nested
//! ROW struct), and the table's `JsonCx`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use kinesis_tables_config::model::JsonOptions;

use super::codec::Codec;
use super::config::timestamp_standard;
use super::types::data_type;
use crate::ident::ident;
use crate::ir::ColumnIr;

/// The json parts of a table's `Record` implementation.
pub(crate) fn codec(name: &syn::Ident, columns: &[ColumnIr], j: &JsonOptions) -> Codec {
    let codec = quote!(::kinesis_tables::codec);
    let std = timestamp_standard(j.timestamp_standard);
    let (a, b, c) = (j.decimal_as_plain_number, j.ignore_null_fields, j.fail_on_missing_field);
    Codec {
        cx_item: quote!(const CX: #codec::json::JsonCx = #codec::json::JsonCx { timestamp_standard: #std, decimal_as_plain_number: #a, ignore_null_fields: #b, fail_on_missing_field: #c };),
        encode: quote!(#codec::json::encode_record(self, &CX)),
        decode: quote!(#codec::json::decode_record(data, &CX)),
        extra: json_impl(name, columns),
    }
}

pub(crate) fn json_impl(ty: &syn::Ident, fields: &[ColumnIr]) -> TokenStream {
    let j = quote!(::kinesis_tables::codec::json);
    let physical: Vec<&ColumnIr> = fields.iter().filter(|c| c.metadata.is_none()).collect();
    let writes = physical.iter().map(|c| {
        let f = ident(&c.ident);
        let mut prefix = Vec::new();
        push_json_key(&mut prefix, &c.name);
        let key = proc_macro2::Literal::byte_string(&prefix);
        let name = &c.name;
        let dt = data_type(&c.ty);
        quote! {
            if !(cx.ignore_null_fields && #j::JsonField::is_null(&self.#f)) {
                if !first { out.push(b','); }
                first = false;
                out.extend_from_slice(#key);
                #j::JsonField::write_json(&self.#f, out, &#dt, cx).map_err(|e| e.in_field(#name))?;
            }
        }
    });
    let read = read_body(ty, fields, &physical);
    quote! {
        impl #j::JsonField for #ty {
            fn write_json(&self, out: &mut ::std::vec::Vec<u8>, _: &'static ::kinesis_tables::DataType, cx: &#j::JsonCx) -> ::core::result::Result<(), ::kinesis_tables::EncodeError> {
                out.push(b'{');
                let mut first = true;
                #(#writes)*
                let _ = first;
                out.push(b'}');
                ::core::result::Result::Ok(())
            }
            fn read_json(r: &mut #j::JsonReader<'_>, _: &'static ::kinesis_tables::DataType, cx: &#j::JsonCx) -> ::core::result::Result<Self, ::kinesis_tables::codec::ReadError> {
                #read
            }
        }
    }
}

/// The body of `read_json`: one slot per physical column, field names
/// matched as bytes, duplicates and missing fields reported by name,
/// unknown fields skipped (as Flink does).
fn read_body(ty: &syn::Ident, fields: &[ColumnIr], physical: &[&ColumnIr]) -> TokenStream {
    let j = quote!(::kinesis_tables::codec::json);
    let slots: Vec<syn::Ident> = (0..physical.len()).map(|i| format_ident!("__f{}", i)).collect();
    let decls = slots.iter().map(|s| quote!(let mut #s = ::core::option::Option::None;));
    let arms = physical.iter().zip(&slots).map(|(c, s)| {
        let name = &c.name;
        let key = proc_macro2::Literal::byte_string(name.as_bytes());
        let dt = data_type(&c.ty);
        quote! {
            #key => {
                if #s.is_some() { return ::core::result::Result::Err(#j::duplicate(r, #name)); }
                #s = ::core::option::Option::Some(#j::read_field(r, #name, &#dt, cx)?);
            }
        }
    });
    let inits = fields.iter().map(|c| {
        let f = ident(&c.ident);
        match physical.iter().position(|p| p.name == c.name) {
            Some(i) => {
                let s = &slots[i];
                let name = &c.name;
                quote! {
                    #f: match #s {
                        ::core::option::Option::Some(v) => v,
                        ::core::option::Option::None => #j::absent(r, #name, cx)?,
                    }
                }
            }
            None => quote!(#f: ::core::default::Default::default()),
        }
    });
    quote! {
        r.begin_object()?;
        #(#decls)*
        let mut first = true;
        while let ::core::option::Option::Some(key) = r.next_field(&mut first)? {
            match &*key {
                #(#arms)*
                _ => #j::skip_field(r, &key)?,
            }
        }
        ::core::result::Result::Ok(#ty { #(#inits,)* })
    }
}

/// Appends `"name":` as JSON bytes.
fn push_json_key(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    for c in name.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.extend_from_slice(b"\":");
}
