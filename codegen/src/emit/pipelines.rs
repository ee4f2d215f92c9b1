//! The `pipelines` module of a generated file: one `run_<name>` and one
//! `main_<name>` per pipeline.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ident::ident;
use crate::ir::{Conv, Mapping, PipelineIr};

/// The `pipelines` module: one `run_<name>` and one `main_<name>` per pipeline.
pub(crate) fn emit(pipelines: &[PipelineIr]) -> TokenStream {
    if pipelines.is_empty() {
        return TokenStream::new();
    }
    let items = pipelines.iter().map(|p| {
        let from = ident(&p.from_rust);
        let to = ident(&p.to_rust);
        let fn_name = format_ident!("{}", p.name.replace('-', "_"));
        let main_name = format_ident!("main_{}", p.name.replace('-', "_"));
        let name = &p.name;
        let doc = format!(" Pipeline `{}`: table `{}` → table `{}`.", p.name, p.from, p.to);
        let body = match &p.mapping {
            Mapping::Transform(path) => match syn::parse_str::<syn::Path>(path) {
                Ok(path) => quote!(#path),
                Err(_) => {
                    let msg = format!("kinesis-tables: `{path}` is not a Rust path");
                    quote!(::core::compile_error!(#msg))
                }
            },
            Mapping::Sql(s) => {
                let f = format_ident!("{}", s.function);
                quote!(#f)
            }
            Mapping::ByName(fields) => {
                let inits = fields.iter().map(|f| {
                    let sink = ident(&f.sink);
                    match &f.conv {
                        Conv::Metadata => quote!(#sink: ::core::default::Default::default()),
                        Conv::From { field, some, into, option_into } => {
                            let src = ident(field);
                            let v = if *option_into {
                                quote!(record.#src.map(::core::convert::Into::into))
                            } else if *into {
                                quote!(::core::convert::Into::into(record.#src))
                            } else {
                                quote!(record.#src)
                            };
                            if *some { quote!(#sink: ::core::option::Option::Some(#v)) } else { quote!(#sink: #v) }
                        }
                    }
                });
                quote!(::core::option::Option::Some(#to { #(#inits,)* }))
            }
        };
        let transform = match &p.mapping {
            Mapping::Transform(_) => quote!(::kinesis_tables::pipeline::transform::<#from, #to, _>(#body)),
            Mapping::ByName(_) => quote!(|record: #from| #body),
            Mapping::Sql(_) => quote!(::kinesis_tables::pipeline::fallible(#body)),
        };
        let sql_fn = match &p.mapping {
            Mapping::Sql(s) => s.code.clone(),
            _ => TokenStream::new(),
        };
        let store = checkpoint_store(p);
        quote! {
            #sql_fn
            #[doc = #doc]
            pub async fn #fn_name(
                options: &::kinesis_tables::pipeline::PipelineOptions,
            ) -> ::core::result::Result<::kinesis_tables::pipeline::PipelineReport, ::kinesis_tables::pipeline::PipelineError> {
                #store
                let transform = #transform;
                ::kinesis_tables::pipeline::run::<#from, #to, _>(#name, options, transform).await
            }
            #[doc = " The pipeline's command line (`--checkpoint-dir`, `--stop-when-idle`, `--shutdown-timeout`, `--on-data-loss`, `--metrics-addr`, `--progress`; `--help` lists them): call it from `main`."]
            pub fn #main_name() -> ::std::process::ExitCode {
                ::kinesis_tables::pipeline::main(#name, |options| ::std::boxed::Box::pin(async move { #fn_name(&options).await }))
            }
        }
    });
    quote! {
        /// The spec's pipelines.
        pub mod pipelines {
            #[allow(unused_imports)]
            use super::*;
            #(#items)*
        }
    }
}

/// With a `checkpoints:` block, the run's checkpoint store comes from it,
/// resolved at startup (`${ENV}` values are read then, by the compiler's rules).
fn checkpoint_store(p: &PipelineIr) -> TokenStream {
    let Some(raw) = &p.checkpoints else { return TokenStream::new() };
    let pairs = raw.iter().map(|(k, v)| quote!((#k, #v)));
    quote! {
        let mut options = ::core::clone::Clone::clone(options);
        options.checkpoint_store = ::kinesis_tables::pipeline::checkpoint_store(&[#(#pairs),*])?;
        let options = &options;
    }
}
