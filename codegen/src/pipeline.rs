//! Pipelines: checking `from`/`to`/`transform` against the spec's tables,
//! the column mapping by name, and emitting each pipeline's entry point.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::ident;

use crate::diag::{Diag, Diags};
use crate::ir::{Conv, FieldMap, Mapping, PipelineIr, TableIr};
use crate::span::Span;
use crate::spec::PipelineInput;
use crate::types::SqlType;

/// Whether a value of `from` converts to `to` without loss; `Some(true)`
/// when it needs `Into` (a wider Rust type), `Some(false)` when it moves as is.
fn converts(from: &SqlType, to: &SqlType) -> Option<bool> {
    use SqlType::*;
    if from == to {
        return Some(false);
    }
    let rank = |t: &SqlType| match t {
        TinyInt => Some(1),
        SmallInt => Some(2),
        Int => Some(3),
        BigInt => Some(4),
        _ => None,
    };
    match (from, to) {
        (a, b) if rank(a).is_some() && rank(b).is_some() => (rank(a) < rank(b)).then_some(true),
        (Float, Double) => Some(true),
        (Varchar(_) | Char(_) | String, String) => Some(false),
        (Varchar(n), Varchar(m)) | (Char(n), Varchar(m)) => (n <= m).then_some(false),
        (Varbinary(_) | Binary(_) | Bytes, Bytes) => Some(false),
        (Varbinary(n) | Binary(n), Varbinary(m)) => (n <= m).then_some(false),
        (Decimal { precision: p, scale: s }, Decimal { precision: p2, scale: s2 }) => {
            (s2 >= s && (*p2 as i32 - *s2 as i32) >= (*p as i32 - *s as i32)).then_some(false)
        }
        (Timestamp(p), Timestamp(q)) | (TimestampLtz(p), TimestampLtz(q)) | (Time(p), Time(q)) => (p <= q).then_some(false),
        _ => None,
    }
}

/// Checks one pipeline against the spec's tables: `tables` are those that
/// passed their checks, `declared` every table the spec names (with where),
/// so that a pipeline of a table with errors says so rather than that there
/// is no such table.
pub fn check(p: &PipelineInput, tables: &[TableIr], declared: &[(&str, Span)], diags: &mut Diags<Span>) -> Option<PipelineIr> {
    let mut ok = true;
    if p.name.is_empty() || !p.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
        diags.push(
            Diag::error(p.name_span, format!("pipeline name `{}` is not a binary name", p.name))
                .label("not a binary name")
                .help("use lowercase letters, digits, `_` and `-`: the pipeline's binary is named after it"),
        );
        ok = false;
    }
    let find = |side: &str, v: &Option<(String, Span)>, diags: &mut Diags<Span>| -> Option<&TableIr> {
        let Some((name, span)) = v else {
            diags.push(
                Diag::error(p.name_span, format!("pipeline `{}` has no `{side}` table", p.name))
                    .label(format!("no `{side}`"))
                    .help(format!("add `{side}: <table name>`")),
            );
            return None;
        };
        let t = tables.iter().find(|t| &t.name == name);
        if t.is_some() {
            return t;
        }
        if let Some((_, at)) = declared.iter().find(|(n, _)| n == name) {
            let side = if at.start < span.start { "above" } else { "below" };
            diags.push(
                Diag::error(*span, format!("table `{name}` has errors (see {side})"))
                    .label("table with errors")
                    .help("fix the table's errors; the pipeline is checked once it is valid"),
            );
            return None;
        }
        let d = Diag::error(*span, format!("there is no table `{name}` in this spec")).label("unknown table");
        diags.push(match crate::suggest::closest(name, declared.iter().map(|(n, _)| *n)) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None if declared.is_empty() => d.help("the spec has no tables: define it under `tables:`"),
            None => d.help(format!("tables here: {}", declared.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", "))),
        });
        None
    };
    let from = find("from", &p.from, diags);
    let to = find("to", &p.to, diags);
    let (Some(from), Some(to)) = (from, to) else { return None };
    let (fc, tc) = (from.resolved.config.connector, to.resolved.config.connector);
    if !fc.can_read()
        && let Some((_, span)) = &p.from
    {
        diags.push(
            Diag::error(*span, format!("table `{}` uses `connector: {}`, which can only be written", from.name, fc.name()))
                .label("not a source")
                .help("read from a `kinesis`, `kinesis-legacy` or `datagen` table"),
        );
        ok = false;
    }
    if !tc.can_write()
        && let Some((_, span)) = &p.to
    {
        diags.push(
            Diag::error(*span, format!("table `{}` uses `connector: datagen`, which can only be read", to.name))
                .label("not a sink")
                .help("write to a `kinesis`, `kinesis-legacy`, `print` or `blackhole` table"),
        );
        ok = false;
    }
    let mapping = match &p.transform {
        Some((path, span)) => {
            if syn::parse_str::<syn::Path>(path).is_err() {
                diags.push(
                    Diag::error(*span, format!("`{path}` is not a Rust path"))
                        .label("not a path")
                        .help("name a function such as `crate::transforms::enrich`"),
                );
                return None;
            }
            Mapping::Transform(path.to_string())
        }
        None => {
            let to_span = p.to.as_ref().map(|t| t.1).unwrap_or(p.name_span);
            let mut fields = Vec::new();
            for c in &to.columns {
                if c.metadata.is_some() {
                    fields.push(FieldMap { sink: c.ident.clone(), conv: Conv::Metadata });
                    continue;
                }
                let Some(src) = from.columns.iter().find(|s| s.name == c.name) else {
                    diags.push(
                        Diag::error(to_span, format!("column `{}` of `{}` has no column of that name in `{}`", c.name, to.name, from.name))
                            .label("unmapped column")
                            .help("add the column to the source table, or give the pipeline a `transform`"),
                    );
                    ok = false;
                    continue;
                };
                let Some(into) = converts(&src.ty, &c.ty) else {
                    diags.push(
                        Diag::error(
                            to_span,
                            format!(
                                "column `{}`: {} in `{}` does not convert without loss to {} in `{}`",
                                c.name, src.ty, from.name, c.ty, to.name
                            ),
                        )
                        .label("lossy column")
                        .help("widen the sink column, or give the pipeline a `transform`"),
                    );
                    ok = false;
                    continue;
                };
                if src.nullable && !c.nullable {
                    diags.push(
                        Diag::error(
                            to_span,
                            format!("column `{}` is NOT NULL in `{}` but may be null in `{}`", c.name, to.name, from.name),
                        )
                        .label("null into NOT NULL")
                        .help("make the sink column nullable, or give the pipeline a `transform`"),
                    );
                    ok = false;
                    continue;
                }
                let some = !src.nullable && c.nullable;
                let option_into = src.nullable && c.nullable && into;
                fields.push(FieldMap { sink: c.ident.clone(), conv: Conv::From { field: src.ident.clone(), some, into, option_into } });
            }
            Mapping::ByName(fields)
        }
    };
    ok.then(|| PipelineIr {
        name: p.name.clone(),
        from: from.name.clone(),
        to: to.name.clone(),
        from_rust: from.rust_name.clone(),
        to_rust: to.rust_name.clone(),
        mapping,
    })
}

/// The `pipelines` module: one `run_<name>` and one `main_<name>` per pipeline.
pub fn emit(pipelines: &[PipelineIr]) -> TokenStream {
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
            Mapping::Transform(path) => {
                let path: syn::Path = syn::parse_str(path).expect("checked");
                quote!(#path)
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
        };
        quote! {
            #[doc = #doc]
            pub async fn #fn_name(
                options: &::kinesis_tables::pipeline::PipelineOptions,
            ) -> ::core::result::Result<::kinesis_tables::pipeline::PipelineReport, ::kinesis_tables::pipeline::PipelineError> {
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
