//! The table-specific parts of a `Record` implementation beside the codec:
//! the partition key, the metadata setter, and the hooks for user-named
//! types (custom credentials, partitioner) and datagen.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};

use kinesis_tables_config::catalog;
use kinesis_tables_config::model::{ConnectorKind, Credentials, Partitioner};

use super::types::data_type;
use crate::ident::ident;
use crate::ir::{MetaKey, SqlType, TableIr};

/// The body of `Record::partition_key`: the `partitioned_by` columns joined by the delimiter.
pub(crate) fn partition_key(t: &TableIr) -> TokenStream {
    if t.partition_columns.is_empty() {
        return quote!(::core::result::Result::Ok(::core::option::Option::None));
    }
    let codec = quote!(::kinesis_tables::codec);
    let delim = match &t.resolved.config.sink.partitioner {
        Partitioner::Fields { delimiter } => delimiter.to_string(),
        _ => catalog::DEFAULT_PARTITION_DELIMITER.to_string(),
    };
    let parts = t.partition_columns.iter().enumerate().map(|(i, &idx)| {
        let c = &t.columns[idx];
        let f = ident(&c.ident);
        let n = &c.name;
        let dt = data_type(&c.ty);
        let sep = if i > 0 { quote!(k.push_str(#delim);) } else { TokenStream::new() };
        quote! {
            #sep
            #codec::key::KeyPart::write_key_part(&self.#f, &mut k, &#dt).map_err(|e| e.in_field(#n))?;
        }
    });
    quote! {
        let mut k = ::std::string::String::new();
        #(#parts)*
        #codec::key::check_partition_key(k).map(::core::option::Option::Some)
    }
}

/// The statements of `Record::set_metadata`: one per metadata column.
pub(crate) fn set_metadata(t: &TableIr) -> TokenStream {
    t.columns
        .iter()
        .filter_map(|c| {
            let f = ident(&c.ident);
            let v = match (c.metadata?, &c.ty) {
                (MetaKey::Timestamp, SqlType::Timestamp(_)) => quote!(meta.timestamp.naive_utc()),
                (MetaKey::Timestamp, _) => quote!(meta.timestamp),
                (MetaKey::ShardId, _) => quote!(::std::string::ToString::to_string(meta.shard_id)),
                (MetaKey::SequenceNumber, _) => quote!(::std::string::ToString::to_string(meta.sequence_number)),
                (MetaKey::PartitionKey, _) => quote!(::std::string::ToString::to_string(meta.partition_key)),
                // Always nullable: a plain record has none.
                (MetaKey::SubSequenceNumber, _) => {
                    return Some(quote!(self.#f = meta.sub_sequence_number.map(|n| ::core::primitive::i64::try_from(n).unwrap_or(::core::primitive::i64::MAX));));
                }
            };
            Some(if c.nullable { quote!(self.#f = ::core::option::Option::Some(#v);) } else { quote!(self.#f = #v;) })
        })
        .collect()
}

/// The optional `Record` methods: rustc checks user-named types where the
/// option names them (`span_of_option`), and datagen builds rows.
pub(crate) fn hooks(t: &TableIr, name: &syn::Ident, span_of_option: &dyn Fn(&str) -> Span) -> TokenStream {
    let cfg = &t.resolved.config;
    let mut hooks = custom_credentials(&cfg.aws.credentials, span_of_option);
    if cfg.connector == ConnectorKind::Datagen {
        hooks.extend(generate(t));
    }
    if let Partitioner::Custom { type_path } = &cfg.sink.partitioner {
        hooks.extend(custom_partitioner(type_path, name, span_of_option("sink.partitioner")));
    }
    hooks
}

/// `custom_credentials` for a CUSTOM provider, at any nesting depth of ASSUME_ROLE.
fn custom_credentials(creds: &Credentials, span_of_option: &dyn Fn(&str) -> Span) -> TokenStream {
    let mut hooks = TokenStream::new();
    let mut cred = Some(creds);
    let mut depth = 0;
    while let Some(c) = cred {
        cred = None;
        match c {
            Credentials::Custom { type_path } => {
                let key = format!("aws.credentials.{}custom.class", "role.provider.".repeat(depth));
                let span = span_of_option(&key);
                if let Ok(path) = syn::parse_str::<syn::Path>(type_path) {
                    let path = respan(quote!(#path), span);
                    // The bound sits on a local fn spanned at the option's value, so
                    // rustc's "required by a bound" points at the spec, not at us.
                    hooks.extend(quote_spanned! {span=>
                        fn custom_credentials() -> ::core::option::Option<::kinesis_tables::__private::SharedCredentialsProvider> {
                            fn custom_credentials<T: ::kinesis_tables::CustomCredentials>() -> ::kinesis_tables::__private::SharedCredentialsProvider {
                                ::kinesis_tables::__private::custom_credentials::<T>()
                            }
                            ::core::option::Option::Some(custom_credentials::<#path>())
                        }
                    });
                }
            }
            Credentials::AssumeRole { source, .. } => {
                cred = Some(*source);
                depth += 1;
            }
            _ => {}
        }
    }
    hooks
}

/// `generate`: one value per column from the datagen generator.
fn generate(t: &TableIr) -> TokenStream {
    let inits = t.columns.iter().enumerate().map(|(i, c)| {
        let f = ident(&c.ident);
        let dt = data_type(&c.ty);
        quote!(#f: g.column(#i, &#dt))
    });
    quote! {
        fn generate(g: &mut ::kinesis_tables::datagen::Generator) -> ::core::option::Option<Self> {
            ::core::option::Option::Some(Self { #(#inits,)* })
        }
    }
}

/// `custom_partitioner` for a partitioner type.
fn custom_partitioner(type_path: &str, name: &syn::Ident, span: Span) -> TokenStream {
    let Ok(path) = syn::parse_str::<syn::Path>(type_path) else { return TokenStream::new() };
    let path = respan(quote!(#path), span);
    quote_spanned! {span=>
        fn custom_partitioner() -> ::core::option::Option<::std::boxed::Box<dyn ::kinesis_tables::Partitioner<Self>>> {
            fn partitioner<P: ::kinesis_tables::Partitioner<#name>>() -> ::std::boxed::Box<dyn ::kinesis_tables::Partitioner<#name>> {
                ::std::boxed::Box::new(P::create())
            }
            ::core::option::Option::Some(partitioner::<#path>())
        }
    }
}

fn respan(ts: TokenStream, span: Span) -> TokenStream {
    ts.into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut ng = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                ng.set_span(span);
                tt = proc_macro2::TokenTree::Group(ng);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}
