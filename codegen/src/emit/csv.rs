//! The csv codec of a record: a writer call per physical column, a parse
//! with one field per physical column, and the table's `CsvCx`.

use proc_macro2::TokenStream;
use quote::quote;

use kinesis_tables_config::model::CsvOptions;

use super::codec::Codec;
use super::config::opt_char;
use super::types::data_type;
use crate::ident::ident;
use crate::ir::ColumnIr;

/// The csv parts of a table's `Record` implementation.
pub(crate) fn codec(columns: &[ColumnIr], o: &CsvOptions) -> Codec {
    let codec = quote!(::kinesis_tables::codec);
    let physical: Vec<&ColumnIr> = columns.iter().filter(|c| c.metadata.is_none()).collect();
    let (fd, q, esc) = (o.field_delimiter, opt_char(o.quote_character), opt_char(o.escape_character));
    let ad: &str = &o.array_element_delimiter;
    let nl = match &o.null_literal {
        Some(n) => {
            let n: &str = n;
            quote!(::core::option::Option::Some(#n))
        }
        None => quote!(::core::option::Option::None),
    };
    let (sci, ac) = (o.decimal_scientific, o.allow_comments);
    let writes = physical.iter().map(|c| {
        let f = ident(&c.ident);
        let n = &c.name;
        let dt = data_type(&c.ty);
        quote!(w.field(#n, &self.#f, &#dt)?;)
    });
    let count = physical.len();
    let inits = columns.iter().map(|c| {
        let f = ident(&c.ident);
        match physical.iter().position(|p| p.name == c.name) {
            Some(i) => {
                let n = &c.name;
                let dt = data_type(&c.ty);
                quote!(#f: r.get(#i, #n, &#dt, &CX)?)
            }
            None => quote!(#f: ::core::default::Default::default()),
        }
    });
    Codec {
        cx_item: quote!(const CX: #codec::csv::CsvCx = #codec::csv::CsvCx { delimiter: #fd, quote: #q, escape: #esc, array_delimiter: #ad, null_literal: #nl, decimal_scientific: #sci, allow_comments: #ac };),
        encode: quote!({
            let mut w = #codec::csv::CsvWriter::new(&CX);
            #(#writes)*
            ::core::result::Result::Ok(w.finish())
        }),
        decode: quote!({
            let r = #codec::csv::CsvRecord::parse(data, &CX, #count)?;
            ::core::result::Result::Ok(Self { #(#inits,)* })
        }),
        extra: TokenStream::new(),
    }
}
