//! The avro codec of a record: `AvroField` (binary) and `AvroJson` (Avro's
//! JSON encoding) for the struct and each nested ROW struct, fields in
//! column order, and `Record::encode`/`decode` calling `codec::avro`.
//! `print` shows avro rows in the JSON encoding (`encode_text`).

use proc_macro2::TokenStream;
use quote::quote;

use kinesis_tables_config::model::{AvroEncoding, AvroOptions, FormatConfig};

use super::codec::Codec;
use super::types::data_type;
use crate::ident;
use crate::ir::{ColumnIr, SqlType};
use crate::schema::avro::RECORD_NAME;

/// A record struct to implement: its Rust name, Avro full name and fields.
struct AvroRecord {
    rust: String,
    avro: String,
    fields: Vec<ColumnIr>,
}

/// The avro parts of a table's `Record` implementation. Nested ROW structs
/// get their impls only when the struct is emitted too (`with_rows`: the
/// spec path; a derive's nested structs are the user's).
pub(crate) fn codec(name: &syn::Ident, rust_name: &str, columns: &[ColumnIr], o: &AvroOptions, with_rows: bool) -> Codec {
    let c = quote!(::kinesis_tables::codec::avro);
    let mut extra = record_impls(name, RECORD_NAME, columns);
    // The check stage refused every table without a schema.
    if let Ok(schema) = crate::schema::avro::table_schema(columns, o.legacy_timestamp_mapping) {
        let text = schema.to_string();
        extra.extend(quote! {
            impl #name {
                /// The Avro schema of this table's records, as Flink's `avro` format derives it.
                pub const AVRO_SCHEMA: &'static str = #text;
            }
        });
    }
    if with_rows {
        let mut rows = Vec::new();
        for col in columns.iter().filter(|c| c.metadata.is_none()) {
            nested(&col.ty, &format!("{rust_name}{}", ident::type_name(&col.name)), &format!("{RECORD_NAME}_{}", col.name), &mut rows);
        }
        for r in &rows {
            extra.extend(record_impls(&ident::ident(&r.rust), &r.avro, &r.fields));
        }
    }
    let (encode, decode) = match o.encoding {
        AvroEncoding::Binary => (quote!(#c::encode_record(self)), quote!(#c::decode_record(data))),
        AvroEncoding::Json => (quote!(#c::json::encode_record(self)), quote!(#c::json::decode_record(data))),
    };
    Codec { cx_item: TokenStream::new(), encode, decode, extra }
}

/// The body of `Record::encode_text` when it is not `encode`: avro rows
/// print in Avro's JSON encoding.
pub(crate) fn encode_text(format: &FormatConfig) -> Option<TokenStream> {
    matches!(format, FormatConfig::Avro(_)).then(|| quote!(::kinesis_tables::codec::avro::json::encode_record(self)))
}

/// The nested ROW structs of a type, named as `types::rust_type` names them
/// and as Flink's converter names their records (ARRAY elements and MAP
/// values keep the enclosing field's record name).
fn nested(ty: &SqlType, rust_hint: &str, avro_name: &str, out: &mut Vec<AvroRecord>) {
    match ty {
        SqlType::Array(e) => nested(&e.ty, &format!("{rust_hint}Item"), avro_name, out),
        SqlType::Map(_, v) => nested(&v.ty, &format!("{rust_hint}Value"), avro_name, out),
        SqlType::Row(fields) => {
            let cols: Vec<ColumnIr> = fields
                .iter()
                .map(|f| ColumnIr {
                    name: f.name.clone(),
                    ident: ident::field_name(&f.name),
                    ty: f.ty.clone(),
                    nullable: f.nullable,
                    metadata: None,
                })
                .collect();
            for c in &cols {
                nested(&c.ty, &format!("{rust_hint}{}", ident::type_name(&c.name)), &format!("{avro_name}_{}", c.name), out);
            }
            out.push(AvroRecord { rust: rust_hint.to_string(), avro: avro_name.to_string(), fields: cols });
        }
        _ => {}
    }
}

/// `AvroField` and `AvroJson` for one record struct.
fn record_impls(ty: &syn::Ident, avro_name: &str, fields: &[ColumnIr]) -> TokenStream {
    let c = quote!(::kinesis_tables::codec::avro);
    let r = quote!(::core::result::Result);
    let dt_t = quote!(::kinesis_tables::DataType);
    let physical: Vec<&ColumnIr> = fields.iter().filter(|f| f.metadata.is_none()).collect();
    let writes = physical.iter().map(|f| {
        let (id, name, dt) = (ident::ident(&f.ident), &f.name, data_type(&f.ty));
        quote!(#c::AvroField::write_avro(&self.#id, out, &#dt).map_err(|e| e.in_field(#name))?;)
    });
    let json_writes = physical.iter().enumerate().map(|(i, f)| {
        let (id, name, dt, first) = (ident::ident(&f.ident), &f.name, data_type(&f.ty), i == 0);
        quote! {
            #c::json::write_key(out, #name, #first);
            #c::json::AvroJson::write_avro_json(&self.#id, out, &#dt).map_err(|e| e.in_field(#name))?;
        }
    });
    let inits = |json: bool| {
        fields
            .iter()
            .map(|f| {
                let (id, name, dt) = (ident::ident(&f.ident), &f.name, data_type(&f.ty));
                match (f.metadata.is_some(), json) {
                    (true, _) => quote!(#id: ::core::default::Default::default()),
                    (false, false) => quote!(#id: r.field(#name, &#dt)?),
                    (false, true) => quote!(#id: #c::json::field(m, #name, &#dt)?),
                }
            })
            .collect::<Vec<_>>()
    };
    let (bin_inits, json_inits) = (inits(false), inits(true));
    quote! {
        impl #c::AvroField for #ty {
            fn write_avro(&self, out: &mut ::std::vec::Vec<u8>, _: &'static #dt_t) -> #r<(), ::kinesis_tables::EncodeError> {
                #(#writes)*
                #r::Ok(())
            }
            fn read_avro(r: &mut #c::AvroReader<'_>, _: &'static #dt_t) -> #r<Self, ::kinesis_tables::codec::ReadError> {
                #r::Ok(Self { #(#bin_inits,)* })
            }
        }
        impl #c::json::AvroJson for #ty {
            fn branch(_: &'static #dt_t) -> &'static str {
                #avro_name
            }
            fn write_avro_json(&self, out: &mut ::std::vec::Vec<u8>, _: &'static #dt_t) -> #r<(), ::kinesis_tables::EncodeError> {
                out.push(b'{');
                #(#json_writes)*
                out.push(b'}');
                #r::Ok(())
            }
            fn read_avro_json(v: &#c::json::Value, _: &'static #dt_t) -> #r<Self, ::kinesis_tables::codec::ReadError> {
                let m = #c::json::object(v)?;
                #r::Ok(Self { #(#json_inits,)* })
            }
        }
    }
}
