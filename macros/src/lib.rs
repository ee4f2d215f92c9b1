//! `#[derive(kinesis_tables::Table)]`: the same rules and messages as a spec,
//! with errors spanned on the offending literal.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{quote, quote_spanned};
use syn::parse::ParseStream;
use syn::{Data, DeriveInput, Fields, GenericArgument, Lit, LitStr, PathArguments, Token, Type, parse_macro_input};

use kinesis_tables_codegen::derive::{self as compiler, ColumnDefinition, ColumnInput, Field, FieldType, SqlType, TableInput, TableIr};
use kinesis_tables_config::OptionInput;
use kinesis_tables_config::diag::{Diag, Diags};
use kinesis_tables_config::value::RawValue;

/// Derives `kinesis_tables::Record` for a struct whose fields are the table's columns.
///
/// ```ignore
/// #[derive(kinesis_tables::Table)]
/// #[kinesis(with("connector" = "kinesis",
///                "stream.arn" = "arn:aws:kinesis:us-east-1:012345678901:stream/clicks",
///                "aws.region" = "us-east-1", "format" = "json"),
///           partitioned_by(user_id))]
/// struct Click {
///     user_id: i64,
///     #[kinesis(sql = "DECIMAL(10, 2)")]
///     price: Option<kinesis_tables::types::Decimal>,
///     #[kinesis(metadata = "shard-id")]
///     shard: String,
/// }
/// ```
#[proc_macro_derive(Table, attributes(kinesis))]
pub fn derive_table(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input).into()
}

fn expand(input: &DeriveInput) -> proc_macro2::TokenStream {
    let name = &input.ident;
    match build(input) {
        Ok(tokens) => tokens,
        Err(errors) => {
            // One error per problem, plus a stand-in impl so that code using
            // the type does not add a flood of "trait not implemented" errors.
            let errs = errors.iter().map(syn::Error::to_compile_error);
            quote! {
                #(#errs)*
                const _: () = {
                    impl ::kinesis_tables::Record for #name {
                        const TABLE_NAME: &'static str = "";
                        const FORMAT: &'static str = "";
                        fn config() -> ::core::result::Result<::kinesis_tables::__private::Cow<'static, ::kinesis_tables::TableConfig>, ::kinesis_tables::ConfigError> { ::core::panic!("invalid kinesis table") }
                        fn encode(&self) -> ::core::result::Result<::std::vec::Vec<u8>, ::kinesis_tables::EncodeError> { ::core::panic!("invalid kinesis table") }
                        fn decode(_: &[u8]) -> ::core::result::Result<Self, ::kinesis_tables::DecodeError> { ::core::panic!("invalid kinesis table") }
                        fn partition_key(&self) -> ::core::result::Result<::core::option::Option<::std::string::String>, ::kinesis_tables::EncodeError> { ::core::panic!("invalid kinesis table") }
                        fn set_metadata(&mut self, _: &::kinesis_tables::Metadata<'_>) {}
                    }
                };
            }
        }
    }
}

fn to_error(d: &Diag<Span>) -> syn::Error {
    let mut msg = d.message.clone();
    for n in &d.notes {
        msg.push_str(&format!("\n  = note: {n}"));
    }
    if let Some(h) = &d.help {
        msg.push_str(&format!("\n  = help: {h}"));
    }
    syn::Error::new(d.span, msg)
}

struct FieldInfo {
    ty: Type,
    explicit_sql: bool,
    /// The column's wire name.
    wire: String,
    nullable: bool,
}

fn build(input: &DeriveInput) -> Result<proc_macro2::TokenStream, Vec<syn::Error>> {
    let fields = named_fields(input)?;
    let mut errors = Vec::new();
    if !input.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(&input.generics, "a `Table` struct cannot be generic"));
    }
    let attrs = table_attrs(input, &mut errors);
    let (columns, infos) = columns(fields, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let t = TableInput {
        name: attrs.name.unwrap_or_else(|| compiler::table_name_of_struct(&input.ident.to_string())),
        name_span: input.ident.span(),
        rust_name: Some(input.ident.to_string()),
        columns,
        partitioned_by: attrs.partitioned_by,
        options: attrs.options.clone(),
        options_span: attrs.with_span,
    };
    let ir = check(&t, input)?;
    Ok(emit(&ir, &attrs.options, &infos))
}

fn named_fields(input: &DeriveInput) -> Result<&syn::punctuated::Punctuated<syn::Field, Token![,]>, Vec<syn::Error>> {
    let not_named = || vec![syn::Error::new_spanned(&input.ident, "`Table` can only be derived for structs with named fields")];
    let Data::Struct(data) = &input.data else { return Err(not_named()) };
    let Fields::Named(fields) = &data.fields else { return Err(not_named()) };
    Ok(&fields.named)
}

/// The struct's `#[kinesis(...)]` attributes.
struct TableAttrs {
    options: Vec<OptionInput<Span>>,
    partitioned_by: Option<(Span, Vec<(String, Span)>)>,
    name: Option<String>,
    with_span: Span,
}

fn table_attrs(input: &DeriveInput, errors: &mut Vec<syn::Error>) -> TableAttrs {
    let mut attrs = TableAttrs { options: Vec::new(), partitioned_by: None, name: None, with_span: input.ident.span() };
    let mut saw_with = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("kinesis")) {
        let r = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("with") {
                saw_with = true;
                attrs.with_span = meta.path.get_ident().map_or(attrs.with_span, |i| i.span());
                let content;
                syn::parenthesized!(content in meta.input);
                parse_options(&content, &mut attrs.options)
            } else if meta.path.is_ident("partitioned_by") {
                let content;
                syn::parenthesized!(content in meta.input);
                let span = meta.path.get_ident().map_or(Span::call_site(), |i| i.span());
                attrs.partitioned_by = Some((span, parse_partitioned_by(&content)?));
                Ok(())
            } else if meta.path.is_ident("name") {
                let l: LitStr = meta.value()?.parse()?;
                attrs.name = Some(l.value());
                Ok(())
            } else {
                Err(meta.error("unknown `kinesis` attribute; expected `with(...)`, `partitioned_by(...)` or `name = \"...\"`"))
            }
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    if !saw_with && errors.is_empty() {
        errors.push(syn::Error::new(
            input.ident.span(),
            "missing `#[kinesis(with(...))]`\n  = help: add `#[kinesis(with(\"connector\" = \"kinesis\", \"stream.arn\" = \"…\", \"aws.region\" = \"…\", \"format\" = \"json\"))]`",
        ));
    }
    attrs
}

fn parse_partitioned_by(content: ParseStream) -> syn::Result<Vec<(String, Span)>> {
    let mut names = Vec::new();
    while !content.is_empty() {
        if content.peek(LitStr) {
            let l: LitStr = content.parse()?;
            names.push((l.value(), l.span()));
        } else {
            let i: syn::Ident = content.parse()?;
            names.push((i.to_string().trim_start_matches("r#").to_string(), i.span()));
        }
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    Ok(names)
}

/// A field's `#[kinesis(...)]` attributes.
#[derive(Default)]
struct FieldAttrs {
    metadata: Option<LitStr>,
    rename: Option<LitStr>,
    sql: Option<LitStr>,
}

fn field_attrs(f: &syn::Field, errors: &mut Vec<syn::Error>) -> FieldAttrs {
    let mut attrs = FieldAttrs::default();
    for attr in f.attrs.iter().filter(|a| a.path().is_ident("kinesis")) {
        let r = attr.parse_nested_meta(|meta| {
            let slot = if meta.path.is_ident("metadata") {
                &mut attrs.metadata
            } else if meta.path.is_ident("rename") {
                &mut attrs.rename
            } else if meta.path.is_ident("sql") {
                &mut attrs.sql
            } else {
                return Err(meta.error("unknown field attribute; expected `metadata = \"…\"`, `rename = \"…\"` or `sql = \"…\"`"));
            };
            *slot = Some(meta.value()?.parse()?);
            Ok(())
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    attrs
}

/// The column model of each field, built from its Rust type and attributes.
fn columns(
    fields: &syn::punctuated::Punctuated<syn::Field, Token![,]>,
    errors: &mut Vec<syn::Error>,
) -> (Vec<ColumnInput<Span>>, Vec<FieldInfo>) {
    let (mut columns, mut infos) = (Vec::new(), Vec::new());
    for f in fields {
        let Some(ident) = f.ident.clone() else { continue };
        let attrs = field_attrs(f, errors);
        let wire = attrs.rename.as_ref().map_or_else(|| ident.to_string().trim_start_matches("r#").to_string(), LitStr::value);
        let (inner, nullable) = strip_option(&f.ty);
        let (ty, def_span) = match &attrs.sql {
            Some(l) => (FieldType::Sql(l.value()), l.span()),
            None => match sql_of(inner) {
                Ok(t) => (FieldType::Model(t), syn::spanned::Spanned::span(&f.ty)),
                Err(msg) => {
                    errors.push(syn::Error::new_spanned(&f.ty, msg));
                    continue;
                }
            },
        };
        let def_span = attrs.metadata.as_ref().map_or(def_span, LitStr::span);
        let definition = ColumnDefinition::Field { ty, nullable, metadata: attrs.metadata.as_ref().map(LitStr::value) };
        columns.push(ColumnInput { name: wire.clone(), name_span: ident.span(), definition, def_span, ident: Some(ident.to_string()) });
        infos.push(FieldInfo { ty: f.ty.clone(), explicit_sql: attrs.sql.is_some(), wire, nullable });
    }
    (columns, infos)
}

/// The compiler's checks, plus the derive's own: no ROW columns.
fn check(t: &TableInput<Span>, input: &DeriveInput) -> Result<TableIr, Vec<syn::Error>> {
    let mut diags: Diags<Span> = Diags::default();
    let ir = compiler::check_table(t, &mut diags);
    let mut errors: Vec<syn::Error> = diags.items.iter().filter(|d| d.is_error()).map(to_error).collect();
    for c in ir.iter().flat_map(|ir| &ir.columns) {
        if contains_row(&c.ty)
            && let Some(col) = t.columns.iter().find(|x| x.name == c.name)
        {
            errors.push(syn::Error::new(col.def_span, "ROW columns are not supported by the derive\n  = help: declare the table in a spec, where ROW types become generated structs"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    ir.ok_or_else(|| vec![syn::Error::new(input.ident.span(), "invalid table")])
}

/// The `Record` impls, and a rustc check that each `sql = "…"` field's type
/// is the one its SQL type maps to.
fn emit(ir: &TableIr, options: &[OptionInput<Span>], infos: &[FieldInfo]) -> proc_macro2::TokenStream {
    let span_of = |key: &str| options.iter().find(|o| o.key == key).map_or(Span::call_site(), |o| o.value_span);
    let opts = compiler::EmitOptions { define_struct: false, span_of_option: &span_of };
    let body = compiler::emit_table(ir, &opts);
    let checks = infos.iter().filter(|i| i.explicit_sql).map(|i| {
        let column = ir.columns.iter().find(|c| c.name == i.wire);
        let expect = column.map(|c| compiler::plain_rust_type(&c.ty, i.nullable)).unwrap_or_default();
        let ty = &i.ty;
        let span = syn::spanned::Spanned::span(ty);
        quote_spanned! {span=> const _: fn(&#ty) -> &#expect = |x| x; }
    });
    quote! {
        #body
        #(#checks)*
    }
}

fn contains_row(t: &SqlType) -> bool {
    match t {
        SqlType::Row(_) => true,
        SqlType::Array(e) => contains_row(&e.ty),
        SqlType::Map(k, v) => contains_row(k) || contains_row(&v.ty),
        _ => false,
    }
}

fn parse_options(content: ParseStream, out: &mut Vec<OptionInput<Span>>) -> syn::Result<()> {
    while !content.is_empty() {
        let key: LitStr = content.parse()?;
        content.parse::<Token![=]>()?;
        let lit: Lit = content.parse()?;
        let value = match &lit {
            Lit::Str(s) => RawValue::Str(s.value()),
            Lit::Int(i) => RawValue::Int(i.base10_parse::<i128>()?),
            Lit::Float(f) => RawValue::Float(f.base10_parse::<f64>()?),
            Lit::Bool(b) => RawValue::Bool(b.value),
            other => return Err(syn::Error::new_spanned(other, "an option value must be a string, integer, float or boolean literal")),
        };
        out.push(OptionInput { key: key.value(), key_span: key.span(), value, value_span: lit.span(), from_env: false });
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    Ok(())
}

fn strip_option(ty: &Type) -> (&Type, bool) {
    match generic_of(ty, "Option") {
        Some(inner) => (inner, true),
        None => (ty, false),
    }
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        _ => None,
    }
}

fn generic_of<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let seg = last_segment(ty)?;
    if seg.ident != name {
        return None;
    }
    match &seg.arguments {
        PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| if let GenericArgument::Type(t) = g { Some(t) } else { None }),
        _ => None,
    }
}

fn generic_pair(ty: &Type) -> Option<(&Type, &Type)> {
    let seg = last_segment(ty)?;
    let PathArguments::AngleBracketed(a) = &seg.arguments else { return None };
    let mut it = a.args.iter().filter_map(|g| if let GenericArgument::Type(t) = g { Some(t) } else { None });
    Some((it.next()?, it.next()?))
}

/// The SQL type a Rust field type maps to (without nullability): the
/// column model itself, not SQL text.
fn sql_of(ty: &Type) -> Result<SqlType, String> {
    let seg =
        last_segment(ty).ok_or_else(|| "unsupported field type\n  = help: add `#[kinesis(sql = \"…\")]` with the SQL type".to_string())?;
    Ok(match seg.ident.to_string().as_str() {
        "bool" => SqlType::Boolean,
        "i8" => SqlType::TinyInt,
        "i16" => SqlType::SmallInt,
        "i32" => SqlType::Int,
        "i64" => SqlType::BigInt,
        "f32" => SqlType::Float,
        "f64" => SqlType::Double,
        "String" => SqlType::String,
        "NaiveDate" => SqlType::Date,
        "NaiveTime" => SqlType::Time(9),
        "NaiveDateTime" => SqlType::Timestamp(9),
        "DateTime" => SqlType::TimestampLtz(9),
        "Vec" => {
            let inner = generic_of(ty, "Vec").ok_or("`Vec` without an element type")?;
            if last_segment(inner).is_some_and(|s| s.ident == "u8") {
                SqlType::Bytes
            } else {
                let (el, nullable) = strip_option(inner);
                SqlType::Array(Box::new(Field { ty: sql_of(el)?, nullable }))
            }
        }
        "BTreeMap" => {
            let (k, v) = generic_pair(ty).ok_or("`BTreeMap` needs key and value types")?;
            let (v, nullable) = strip_option(v);
            SqlType::Map(Box::new(sql_of(k)?), Box::new(Field { ty: sql_of(v)?, nullable }))
        }
        "Decimal" | "BigDecimal" => {
            return Err("a decimal needs its precision and scale\n  = help: add `#[kinesis(sql = \"DECIMAL(10, 2)\")]`".into());
        }
        other => {
            return Err(format!(
                "`{other}` has no SQL type\n  = help: use bool, i8-i64, f32, f64, String, Vec<u8>, Vec<T>, BTreeMap<K, V>, chrono types, or add `#[kinesis(sql = \"…\")]`"
            ));
        }
    })
}
