//! Rust from a checked statement: one `transform_<name>` function over the
//! generated structs. Columns are moved out of the record into locals (cloned
//! only when used more than once), operators strict in their arguments
//! become one `match` over the arguments' options, AND/OR/CASE/COALESCE
//! follow three-valued logic, and a failing expression returns a
//! `RecordError` naming its SQL text.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::expr::{Node, TExpr};
use crate::ident::ident;
use crate::ir::SqlType;

/// A source column bound to a local.
pub(crate) struct Binding {
    /// The local's name.
    pub(crate) local: String,
    /// The record's field.
    pub(crate) field: String,
    /// The value is `Copy`.
    pub(crate) copy: bool,
    /// The WHERE clause proves it is not null: a null skips the record before anything is computed.
    pub(crate) not_null: bool,
    /// The record field is an `Option`.
    pub(crate) nullable: bool,
}

/// One field of the sink record.
pub(crate) struct Output {
    pub(crate) field: String,
    /// `None`: a VIRTUAL metadata column of the sink (filled only when read back).
    pub(crate) value: Option<TExpr>,
    /// Wrap in `Some` (a non-null value into a nullable column).
    pub(crate) some: bool,
}

/// `CROSS JOIN UNNEST(array) AS t(x)`.
pub(crate) struct Unnest {
    pub(crate) array: TExpr,
    /// The element's local.
    pub(crate) local: String,
    /// The element is `Copy`.
    pub(crate) copy: bool,
    /// The WHERE clause proves the (nullable) element not null: a null element gives no row.
    pub(crate) not_null: bool,
    /// `t(a, b, …)` over an array of ROW: the element's fields as locals.
    pub(crate) fields: Vec<UnnestField>,
    /// The array's elements may be null.
    pub(crate) element_nullable: bool,
}

/// One field of an UNNEST element bound to its own local.
pub(crate) struct UnnestField {
    pub(crate) local: String,
    /// The row struct's Rust field.
    pub(crate) field: String,
    /// The field's value is an `Option` (the field or the element is nullable).
    pub(crate) nullable: bool,
    /// The field itself is NOT NULL (wrapped in `Some` when the element is nullable).
    pub(crate) field_not_null: bool,
    pub(crate) copy: bool,
    /// The WHERE clause proves it not null: a null gives no row.
    pub(crate) not_null: bool,
}

/// A checked statement, ready to emit.
pub(crate) struct Plan {
    pub(crate) fn_name: String,
    pub(crate) from_rust: String,
    pub(crate) to_rust: String,
    pub(crate) bindings: Vec<Binding>,
    /// `CROSS JOIN UNNEST`.
    pub(crate) unnest: Option<Unnest>,
    pub(crate) filter: Option<TExpr>,
    pub(crate) outputs: Vec<Output>,
    /// The statement, for the function's documentation.
    pub(crate) sql: String,
}

/// How each local is read in one statement: moved, or cloned when it is read again.
struct Reads {
    clone: BTreeMap<String, bool>,
}

/// Reads of each local: (moves, borrows).
type Uses = BTreeMap<String, (usize, usize)>;

fn uses<'e>(exprs: impl IntoIterator<Item = &'e TExpr>) -> Uses {
    let mut u = Uses::new();
    for e in exprs {
        e.columns(&mut |c: &str, borrowed: bool| {
            let entry = u.entry(c.to_string()).or_default();
            if borrowed { entry.1 += 1 } else { entry.0 += 1 }
        });
    }
    u
}

impl Plan {
    /// The reads of the WHERE clause (first) and of the sink row (second). A
    /// local is moved by its one move in a statement unless it is read again in
    /// that statement or a later one; borrows never clone; inside an UNNEST
    /// loop every move of a source column clones.
    fn reads(&self) -> (Reads, Reads, Reads) {
        let filter = uses(self.filter.iter());
        let row = uses(self.outputs.iter().filter_map(|o| o.value.as_ref()));
        let array = uses(self.unnest.iter().map(|u| &u.array));
        // The UNNEST array is read once, before the loop: moved unless the loop reads the column too.
        let mut a = BTreeMap::new();
        for b in &self.bindings {
            let used = |u: &Uses| u.get(&b.local).map_or(0, |(m, r)| m + r);
            a.insert(b.local.clone(), !b.copy && (used(&array) > 1 || used(&filter) + used(&row) > 0));
        }
        let mut locals: Vec<(&str, bool, bool)> = self.bindings.iter().map(|b| (b.local.as_str(), b.copy, self.unnest.is_some())).collect();
        if let Some(u) = &self.unnest {
            locals.push((u.local.as_str(), u.copy, false));
            locals.extend(u.fields.iter().map(|f| (f.local.as_str(), f.copy, false)));
        }
        let (mut w, mut r) = (BTreeMap::new(), BTreeMap::new());
        for (local, copy, looped) in locals {
            let (fm, fb) = filter.get(local).copied().unwrap_or_default();
            let (rm, rb) = row.get(local).copied().unwrap_or_default();
            w.insert(local.to_string(), !copy && (looped || fm + fb > 1 || rm + rb > 0));
            r.insert(local.to_string(), !copy && (looped || rm + rb > 1));
            let _ = fm;
        }
        (Reads { clone: w }, Reads { clone: r }, Reads { clone: a })
    }
}

/// Whether `t` is or holds a ROW.
pub(crate) fn has_row(t: &SqlType) -> bool {
    match t {
        SqlType::Row(_) => true,
        SqlType::Array(e) => has_row(&e.ty),
        SqlType::Map(k, v) => has_row(k) || has_row(&v.ty),
        _ => false,
    }
}

/// The element's fields bound to their locals (`t(a, b)` over an array of ROW); a null element gives null fields.
fn unnest_fields(element: &proc_macro2::Ident, u: &Unnest) -> TokenStream {
    let locals: Vec<_> = u.fields.iter().map(|f| format_ident!("{}", f.local)).collect();
    let names: Vec<_> = u.fields.iter().map(|f| ident(&f.field)).collect();
    let bind = if u.element_nullable {
        let some = u
            .fields
            .iter()
            .zip(&names)
            .map(|(f, n)| if f.field_not_null { quote!(::core::option::Option::Some(__row.#n)) } else { quote!(__row.#n) });
        let none = u.fields.iter().map(|_| quote!(::core::option::Option::None));
        quote! {
            let (#(#locals,)*) = match #element {
                ::core::option::Option::Some(__row) => (#(#some,)*),
                ::core::option::Option::None => (#(#none,)*),
            };
        }
    } else {
        quote!(let (#(#locals,)*) = (#(#element.#names,)*);)
    };
    let checks = u
        .fields
        .iter()
        .zip(&locals)
        .filter(|(f, _)| f.not_null && f.nullable)
        .map(|(_, l)| quote!(let ::core::option::Option::Some(#l) = #l else { continue };));
    quote!(#bind #(#checks)*)
}

/// The `transform_<name>` function.
pub(crate) fn transform(plan: &Plan) -> TokenStream {
    let (where_reads, reads, array_reads) = plan.reads();
    let (from, to) = (ident(&plan.from_rust), ident(&plan.to_rust));
    let name = format_ident!("{}", plan.fn_name);
    let err = quote!(::kinesis_tables::sql::RecordError);
    let skip = if plan.unnest.is_some() { quote!(::std::vec::Vec::new()) } else { quote!(::core::option::Option::None) };
    let binds = plan.bindings.iter().map(|b| {
        let (local, field) = (format_ident!("{}", b.local), ident(&b.field));
        if b.not_null && b.nullable {
            quote!(let ::core::option::Option::Some(#local) = record.#field else { return ::core::result::Result::Ok(#skip) };)
        } else {
            quote!(let #local = record.#field;)
        }
    });
    let filter = plan.filter.as_ref().map(|f| {
        let cond = truth(f, &where_reads);
        let cont =
            if plan.unnest.is_some() { quote!(continue) } else { quote!(return ::core::result::Result::Ok(::core::option::Option::None)) };
        quote!(if !(#cond) { #cont; })
    });
    let fields = plan.outputs.iter().map(|o| {
        let f = ident(&o.field);
        match &o.value {
            None => quote!(#f: ::core::default::Default::default()),
            Some(v) => {
                let v = expr(v, &reads);
                if o.some { quote!(#f: ::core::option::Option::Some(#v)) } else { quote!(#f: #v) }
            }
        }
    });
    let row = quote!(#to { #(#fields,)* });
    let doc = format!(
        " The pipeline's SQL on one record: `None` when the WHERE clause drops it.\n\n ```sql\n {}\n ```",
        plan.sql.trim().replace('\n', "\n ")
    );
    let body = match &plan.unnest {
        None => quote! {
            #filter
            ::core::result::Result::Ok(::core::option::Option::Some(#row))
        },
        Some(u) => {
            let array = expr(&u.array, &array_reads);
            let local = format_ident!("{}", u.local);
            let array = if u.array.nullable { quote!(#array.unwrap_or_default()) } else { array };
            let element = if u.not_null { quote!(let ::core::option::Option::Some(#local) = #local else { continue };) } else { quote!() };
            let element = if u.fields.is_empty() { element } else { unnest_fields(&local, u) };
            quote! {
                let mut out = ::std::vec::Vec::new();
                for #local in #array {
                    #element
                    #filter
                    out.push(#row);
                }
                ::core::result::Result::Ok(out)
            }
        }
    };
    let ret = if plan.unnest.is_some() { quote!(::std::vec::Vec<#to>) } else { quote!(::core::option::Option<#to>) };
    quote! {
        #[doc = #doc]
        #[allow(unused_variables, unused_parens, clippy::all)]
        pub fn #name(record: #from) -> ::core::result::Result<#ret, #err> {
            #(#binds)*
            #body
        }
    }
}

/// A boolean expression as a Rust `bool`: true only when the value is TRUE (WHERE, CASE WHEN).
fn truth(e: &TExpr, reads: &Reads) -> TokenStream {
    let v = expr(e, reads);
    if e.nullable { quote!((#v == ::core::option::Option::Some(true))) } else { v }
}

/// `v` as an `Option` when it is not null.
fn opt(e: &TExpr, reads: &Reads) -> TokenStream {
    let v = expr(e, reads);
    if e.nullable { v } else { quote!(::core::option::Option::Some(#v)) }
}

/// The Rust expression of a checked expression: `T`, or `Option<T>` when nullable.
fn expr(e: &TExpr, reads: &Reads) -> TokenStream {
    match &e.node {
        Node::Column(c) => {
            let local = format_ident!("{}", c);
            if reads.clone.get(c).copied().unwrap_or(false) { quote!(#local.clone()) } else { quote!(#local) }
        }
        Node::Lit(t) => t.clone(),
        Node::Int(v) => int_literal(*v, &e.ty, false),
        Node::Str(s) => quote!(::std::string::String::from(#s)),
        Node::Dec(s) => dec_literal(s, &e.ty, false),
        // A ROW's struct is named after the table it belongs to, which the SQL type does not know: the context infers it.
        Node::Null if has_row(&e.ty) => quote!(::core::option::Option::None),
        Node::Null => {
            let t = super::types::rust(&e.ty);
            quote!(::core::option::Option::<#t>::None)
        }
        Node::Strict { args, body, fallible, option, by_ref } => strict(args, body, fallible.as_deref(), *option, *by_ref, reads),
        Node::And(a, b) => logic3(true, a, b, reads),
        Node::Or(a, b) => logic3(false, a, b, reads),
        Node::IsNull(a, negated) => {
            if !a.nullable {
                let r = *negated;
                if a.is_plain() {
                    return quote!(#r);
                }
                let v = expr(a, reads);
                return quote!({ let _ = #v; #r });
            }
            let v = expr(a, reads);
            if *negated { quote!(#v.is_some()) } else { quote!(#v.is_none()) }
        }
        Node::IsBool(a, value, negated) => {
            let v = opt(a, reads);
            if *negated {
                quote!((#v != ::core::option::Option::Some(#value)))
            } else {
                quote!((#v == ::core::option::Option::Some(#value)))
            }
        }
        Node::Distinct(a, b, negated) => {
            let (a, b) = (opt(a, reads), opt(b, reads));
            if *negated { quote!((#a == #b)) } else { quote!((#a != #b)) }
        }
        Node::Case { whens, otherwise } => {
            let branch = |v: &TExpr| if e.nullable { opt(v, reads) } else { expr(v, reads) };
            let arms = whens.iter().map(|(c, v)| {
                let (c, v) = (truth(c, reads), branch(v));
                quote!(if #c { #v })
            });
            let last = match otherwise {
                Some(o) => branch(o),
                None => quote!(::core::option::Option::None),
            };
            quote!({ #(#arms else)* { #last } })
        }
        Node::Coalesce(args) => {
            let Some((last, init)) = args.split_last() else { return quote!(::core::option::Option::None) };
            let tail = if e.nullable { opt(last, reads) } else { expr(last, reads) };
            let wrap = |v: TokenStream| if e.nullable { quote!(::core::option::Option::Some(#v)) } else { v };
            let arms = init.iter().map(|a| {
                let v = expr(a, reads);
                if a.nullable {
                    let got = wrap(quote!(v));
                    quote!(if let ::core::option::Option::Some(v) = #v { #got })
                } else {
                    let got = wrap(v);
                    quote!(if true { #got })
                }
            });
            quote!({ #(#arms else)* { #tail } })
        }
    }
}

/// `match (a0, a1, …) { (Some(__a0), __a1, …) => Some(body), _ => None }`, or the body over plain bindings.
fn strict(args: &[TExpr], body: &TokenStream, fallible: Option<&str>, option: bool, by_ref: bool, reads: &Reads) -> TokenStream {
    let body = match fallible {
        Some(text) => quote!((#body).map_err(|e| ::kinesis_tables::sql::RecordError::new(#text, e))?),
        None => body.clone(),
    };
    let names: Vec<_> = (0..args.len()).map(|i| format_ident!("__a{}", i)).collect();
    let values: Vec<_> = args.iter().map(|a| if by_ref { borrowed(a, reads) } else { expr(a, reads) }).collect();
    let any_null = args.iter().any(|a| a.nullable);
    if !any_null {
        return quote!(match (#(#values,)*) { (#(#names,)*) => #body });
    }
    let pats = args.iter().zip(&names).map(|(a, n)| if a.nullable { quote!(::core::option::Option::Some(#n)) } else { quote!(#n) });
    let result = if option { body } else { quote!(::core::option::Option::Some(#body)) };
    quote!(match (#(#values,)*) { (#(#pats,)*) => #result, _ => ::core::option::Option::None })
}

/// A borrowed argument: a column or literal without a move or clone, else a reference to the value.
fn borrowed(e: &TExpr, reads: &Reads) -> TokenStream {
    match &e.node {
        Node::Column(c) => {
            let local = format_ident!("{}", c);
            quote!(&#local)
        }
        Node::Int(v) => int_literal(*v, &e.ty, true),
        Node::Str(s) => quote!(#s),
        Node::Dec(s) => dec_literal(s, &e.ty, true),
        _ => {
            let v = expr(e, reads);
            quote!(&#v)
        }
    }
}

/// An integer literal as a constant of `ty`; a DECIMAL one is built once into a static (`by_ref`: borrowed from it).
fn int_literal(v: i64, ty: &crate::ir::SqlType, by_ref: bool) -> TokenStream {
    use crate::ir::SqlType as T;
    use proc_macro2::Literal;
    let lit = match ty {
        T::TinyInt => Literal::i8_suffixed(v as i8),
        T::SmallInt => Literal::i16_suffixed(v as i16),
        T::Int => Literal::i32_suffixed(v as i32),
        T::Float => Literal::f32_suffixed(v as f32),
        T::Double => Literal::f64_suffixed(v as f64),
        T::Decimal { .. } => {
            let v = Literal::i64_suffixed(v);
            let d = quote!(::kinesis_tables::types::Decimal);
            let get = if by_ref { quote!(&*V) } else { quote!(::core::clone::Clone::clone(&*V)) };
            return quote!({ static V: ::std::sync::LazyLock<#d> = ::std::sync::LazyLock::new(|| #d::from(#v)); #get });
        }
        _ => Literal::i64_suffixed(v),
    };
    if by_ref { quote!(&#lit) } else { quote!(#lit) }
}

/// AND (`and`) or OR with three-valued logic: plain `&&`/`||` when neither side can be null.
fn logic3(and: bool, a: &TExpr, b: &TExpr, reads: &Reads) -> TokenStream {
    if !a.nullable && !b.nullable {
        let (a, b) = (expr(a, reads), expr(b, reads));
        return if and { quote!((#a && #b)) } else { quote!((#a || #b)) };
    }
    let (a, b) = (opt(a, reads), opt(b, reads));
    let (win, lose) = if and { (quote!(false), quote!(true)) } else { (quote!(true), quote!(false)) };
    let some = quote!(::core::option::Option::Some);
    quote!(match (#a, #b) {
        (#some(#win), _) | (_, #some(#win)) => #some(#win),
        (#some(#lose), #some(#lose)) => #some(#lose),
        _ => ::core::option::Option::None,
    })
}

/// A DECIMAL literal, parsed once into a static (`by_ref`: borrowed from it). The
/// compiler checked the text with the same parser, so the error branch is not taken.
fn dec_literal(text: &str, ty: &crate::ir::SqlType, by_ref: bool) -> TokenStream {
    let (p, s) = match ty {
        crate::ir::SqlType::Decimal { precision, scale } => (u32::from(*precision), i32::from(*scale)),
        _ => (38, 0),
    };
    let sql = quote!(::kinesis_tables::sql);
    let get = if by_ref { quote!(V.as_ref()) } else { quote!(V.as_ref().map(::core::clone::Clone::clone)) };
    quote!({
        static V: ::std::sync::LazyLock<::core::result::Result<::kinesis_tables::types::Decimal, #sql::SqlError>> =
            ::std::sync::LazyLock::new(|| #sql::decimal::from_str(#text, #p, #s));
        #get.map_err(|e| #sql::RecordError::new(#text, ::core::clone::Clone::clone(e)))?
    })
}
