//! Rust and runtime types of SQL types: the field types of a record struct
//! (nested ROWs become named structs) and the `DataType` constants the
//! codecs are driven by.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ident;
use crate::ir::{ColumnIr, SqlType};

/// The `DataType` constant of a SQL type.
pub(crate) fn data_type(ty: &SqlType) -> TokenStream {
    let d = quote!(::kinesis_tables::DataType);
    match ty {
        SqlType::Boolean => quote!(#d::Boolean),
        SqlType::TinyInt => quote!(#d::TinyInt),
        SqlType::SmallInt => quote!(#d::SmallInt),
        SqlType::Int => quote!(#d::Int),
        SqlType::BigInt => quote!(#d::BigInt),
        SqlType::Float => quote!(#d::Float),
        SqlType::Double => quote!(#d::Double),
        SqlType::Decimal { precision, scale } => quote!(#d::Decimal { precision: #precision, scale: #scale }),
        SqlType::String => quote!(#d::String),
        SqlType::Varchar(n) => quote!(#d::Varchar(#n)),
        SqlType::Char(n) => quote!(#d::Char(#n)),
        SqlType::Bytes => quote!(#d::Bytes),
        SqlType::Varbinary(n) => quote!(#d::Varbinary(#n)),
        SqlType::Binary(n) => quote!(#d::Binary(#n)),
        SqlType::Date => quote!(#d::Date),
        SqlType::Time(p) => quote!(#d::Time(#p)),
        SqlType::Timestamp(p) => quote!(#d::Timestamp(#p)),
        SqlType::TimestampLtz(p) => quote!(#d::TimestampLtz(#p)),
        SqlType::Array(e) => {
            let e = data_type(&e.ty);
            quote!(#d::Array(&#e))
        }
        SqlType::Map(k, v) => {
            let (k, v) = (data_type(k), data_type(&v.ty));
            quote!(#d::Map(&#k, &#v))
        }
        SqlType::Row(_) => quote!(#d::Row),
    }
}

/// A nested ROW struct to emit.
pub(crate) struct RowStruct {
    pub(crate) name: String,
    pub(crate) fields: Vec<ColumnIr>,
}

/// The Rust type of a SQL type without ROWs (the derive path checks field types against it).
pub(crate) fn plain_rust_type(ty: &SqlType, nullable: bool) -> TokenStream {
    rust_type(ty, nullable, "Row", &mut Vec::new())
}

/// The Rust type of a SQL type; nested rows are named and queued.
pub(crate) fn rust_type(ty: &SqlType, nullable: bool, name_hint: &str, rows: &mut Vec<RowStruct>) -> TokenStream {
    let t = quote!(::kinesis_tables::types);
    let inner = match ty {
        SqlType::Boolean => quote!(bool),
        SqlType::TinyInt => quote!(i8),
        SqlType::SmallInt => quote!(i16),
        SqlType::Int => quote!(i32),
        SqlType::BigInt => quote!(i64),
        SqlType::Float => quote!(f32),
        SqlType::Double => quote!(f64),
        SqlType::Decimal { .. } => quote!(#t::Decimal),
        SqlType::String | SqlType::Varchar(_) | SqlType::Char(_) => quote!(::std::string::String),
        SqlType::Bytes | SqlType::Varbinary(_) | SqlType::Binary(_) => quote!(::std::vec::Vec<u8>),
        SqlType::Date => quote!(#t::NaiveDate),
        SqlType::Time(_) => quote!(#t::NaiveTime),
        SqlType::Timestamp(_) => quote!(#t::NaiveDateTime),
        SqlType::TimestampLtz(_) => quote!(#t::DateTime<#t::Utc>),
        SqlType::Array(e) => {
            let e = rust_type(&e.ty, e.nullable, &format!("{name_hint}Item"), rows);
            quote!(::std::vec::Vec<#e>)
        }
        SqlType::Map(k, v) => {
            let k = rust_type(k, false, &format!("{name_hint}Key"), rows);
            let v = rust_type(&v.ty, v.nullable, &format!("{name_hint}Value"), rows);
            quote!(::kinesis_tables::__private::BTreeMap<#k, #v>)
        }
        SqlType::Row(fields) => {
            let name = name_hint.to_string();
            let cols = fields
                .iter()
                .map(|f| ColumnIr {
                    name: f.name.clone(),
                    ident: ident::field_name(&f.name),
                    ty: f.ty.clone(),
                    nullable: f.nullable,
                    metadata: None,
                })
                .collect();
            rows.push(RowStruct { name: name.clone(), fields: cols });
            let id = ident::ident(&name);
            quote!(#id)
        }
    };
    if nullable { quote!(::core::option::Option<#inner>) } else { inner }
}
