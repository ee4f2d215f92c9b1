//! Rust emission, split by what it emits: `record` (the struct and nested
//! ROW structs), `types` (Rust and `DataType` of SQL types), the `json`,
//! `csv`, `raw` and `avro` codecs, `config` (the configuration constant), `hooks`
//! (partition key, metadata, user types, datagen) and `pipelines`.
//! Pure: tables in, tokens out.

mod avro;
mod codec;
mod config;
mod csv;
mod hooks;
mod json;
mod pipelines;
mod raw;
mod record;
pub(crate) mod types;

use proc_macro2::{Span, TokenStream};
use quote::quote;

use kinesis_tables_config::model::FormatConfig;

use crate::ident::ident;
use crate::ir::{PipelineIr, TableIr};
use codec::Codec;
pub(crate) use types::plain_rust_type;

/// How to emit a table.
pub struct EmitOptions<'a> {
    /// Emit the struct itself (spec path) or only the impls (derive path).
    pub define_struct: bool,
    /// The span to give user-named types (custom credentials, partitioners),
    /// by option key, so rustc's errors point at the option.
    pub span_of_option: &'a dyn Fn(&str) -> Span,
}

/// Emits one table: its struct (spec path), constants, codec and `Record` impl.
pub(crate) fn table(t: &TableIr, opts: &EmitOptions<'_>) -> TokenStream {
    let name = ident(&t.rust_name);
    let mut items = TokenStream::new();
    if opts.define_struct {
        items.extend(record::structs(t, &name));
    }
    let Some(codec) = codec(t, &name, opts.define_struct) else {
        return quote!(::core::compile_error!("kinesis-tables: format `raw` needs exactly one physical column"););
    };
    items.extend(constants(t, &name));
    items.extend(record_impl(t, &name, codec, opts));
    items
}

fn codec(t: &TableIr, name: &syn::Ident, define_struct: bool) -> Option<Codec> {
    match &t.resolved.config.format {
        FormatConfig::Json(j) => Some(json::codec(name, &t.columns, j)),
        FormatConfig::Csv(o) => Some(csv::codec(&t.columns, o)),
        FormatConfig::Raw(r) => raw::codec(&t.columns, r),
        FormatConfig::Avro(a) => Some(avro::codec(name, &t.rust_name, &t.columns, a, define_struct)),
    }
}

/// `CONFIG` and `RAW_OPTIONS`.
fn constants(t: &TableIr, name: &syn::Ident) -> TokenStream {
    let table_name = &t.name;
    let config = config::config_tokens(&t.resolved.config);
    let raw = t.resolved.raw.iter().map(|(k, v)| quote!((#k, #v)));
    let cfg_doc = format!(" The validated configuration of table `{table_name}`.");
    let raw_doc = " The options as written (`${ENV}` references unresolved; secrets are never literal).";
    quote! {
        impl #name {
            #[doc = #cfg_doc]
            pub const CONFIG: ::kinesis_tables::TableConfig = #config;
            #[doc = #raw_doc]
            pub const RAW_OPTIONS: &'static [(&'static str, &'static str)] = &[#(#raw),*];
        }
    }
}

/// `impl Record`, with the codec's context and items beside it.
fn record_impl(t: &TableIr, name: &syn::Ident, codec: Codec, opts: &EmitOptions<'_>) -> TokenStream {
    let table_name = &t.name;
    let format = t.resolved.config.format.name();
    let has_env = !t.resolved.env_refs.is_empty();
    let partitioned = !t.partition_columns.is_empty();
    let Codec { cx_item, encode, decode, extra } = codec;
    let encode_text = avro::encode_text(&t.resolved.config.format).map(|body| {
        quote! {
            fn encode_text(&self) -> ::core::result::Result<::std::vec::Vec<u8>, ::kinesis_tables::EncodeError> {
                #body
            }
        }
    });
    let partition_key = hooks::partition_key(t);
    let meta = hooks::set_metadata(t);
    let hooks = hooks::hooks(t, name, opts.span_of_option);
    quote! {
        const _: () = {
            #cx_item
            static CONFIG: ::kinesis_tables::TableConfig = #name::CONFIG;
            #extra
            impl ::kinesis_tables::Record for #name {
                const TABLE_NAME: &'static str = #table_name;
                const FORMAT: &'static str = #format;
                fn config() -> ::core::result::Result<::kinesis_tables::__private::Cow<'static, ::kinesis_tables::TableConfig>, ::kinesis_tables::ConfigError> {
                    ::kinesis_tables::resolve_config(#table_name, &CONFIG, #name::RAW_OPTIONS, #has_env, #partitioned)
                }
                fn encode(&self) -> ::core::result::Result<::std::vec::Vec<u8>, ::kinesis_tables::EncodeError> {
                    #encode
                }
                fn decode(data: &[u8]) -> ::core::result::Result<Self, ::kinesis_tables::DecodeError> {
                    #decode
                }
                #encode_text
                fn partition_key(&self) -> ::core::result::Result<::core::option::Option<::std::string::String>, ::kinesis_tables::EncodeError> {
                    #partition_key
                }
                #[allow(unused_variables)]
                fn set_metadata(&mut self, meta: &::kinesis_tables::Metadata<'_>) {
                    #meta
                }
                #hooks
            }
        };
    }
}

/// Emits a whole generated file.
pub(crate) fn file(tables: &[TableIr], pipelines: &[PipelineIr], source: &str) -> String {
    let opts = EmitOptions { define_struct: true, span_of_option: &|_| Span::call_site() };
    let mut body: TokenStream = tables.iter().map(|t| table(t, &opts)).collect();
    body.extend(pipelines::emit(pipelines));
    let file: syn::File = match syn::parse2(body.clone()) {
        Ok(f) => f,
        Err(e) => return format!("compile_error!({:?});\n", format!("kinesis-tables emitted unparsable code: {e}")),
    };
    format!(
        "// @generated by kinesis-tables-codegen {} from {source}. Do not edit.\n// Regenerated whenever the spec changes.\n\n{}",
        env!("CARGO_PKG_VERSION"),
        prettyplease::unparse(&file)
    )
}
