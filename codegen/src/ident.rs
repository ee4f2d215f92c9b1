//! Rust names for spec names, shared by the compiler and the derive: table
//! names become type names, column names field names, keywords raw
//! identifiers. One place, so that the spec and derive paths agree.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::Span;

/// The Rust type name of a table: `user_behavior` → `UserBehavior`.
pub fn type_name(name: &str) -> String {
    let cleaned: String = name.chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect();
    let mut n = cleaned.to_upper_camel_case();
    if n.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        n = format!("T{n}");
    }
    n
}

/// The Rust field name of a column: `user-id` → `user_id`, `type` → `r#type`.
pub fn field_name(name: &str) -> String {
    let cleaned: String = name.chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect();
    let mut n = cleaned.to_snake_case();
    if n.is_empty() {
        n = "_".into();
    }
    if n.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        n = format!("_{n}");
    }
    if !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        // Non-ASCII letters are valid in Rust identifiers, but keep fields ASCII.
        n = n.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    }
    match n.as_str() {
        "self" | "Self" | "super" | "crate" | "_" => format!("{n}_"),
        _ if is_keyword(&n) => format!("r#{n}"),
        _ => n,
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "break"
            | "const"
            | "continue"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "static"
            | "struct"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
            | "gen"
    )
}

/// A `syn` identifier for a name from [`field_name`] or [`type_name`]
/// (`r#type` becomes a raw identifier).
pub fn ident(name: &str) -> syn::Ident {
    match name.strip_prefix("r#") {
        Some(raw) => syn::Ident::new_raw(raw, Span::call_site()),
        None => syn::Ident::new(name, Span::call_site()),
    }
}

/// The default table name of a derived struct: `ClickEvent` → `click_event`
/// (an underscore before every upper-case letter but the first).
pub fn table_name_of_struct(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names() {
        for (name, rust) in [
            ("user_behavior", "UserBehavior"),
            ("user-behavior", "UserBehavior"),
            ("orders", "Orders"),
            ("2024_events", "T2024Events"),
            ("ÉtÉ", "ÉtÉ"),
            ("a.b c", "ABC"),
            ("", ""),
        ] {
            assert_eq!(type_name(name), rust, "{name}");
        }
    }

    #[test]
    fn field_names() {
        for (name, rust) in [
            ("user_id", "user_id"),
            ("user-id", "user_id"),
            ("userId", "user_id"),
            ("type", "r#type"),
            ("match", "r#match"),
            ("async", "r#async"),
            ("gen", "r#gen"),
            ("self", "self_"),
            ("Self", "self_"),
            ("super", "super_"),
            ("crate", "crate_"),
            ("_", "__"),
            ("", "__"),
            ("1st", "_1st"),
            ("naïve", "na_ve"),
            ("a b", "a_b"),
        ] {
            assert_eq!(field_name(name), rust, "{name}");
        }
    }

    #[test]
    fn keywords_are_raw_identifiers() {
        for kw in ["as", "fn", "type", "dyn", "try", "yield", "abstract"] {
            assert!(is_keyword(kw), "{kw}");
            assert_eq!(ident(&field_name(kw)).to_string(), format!("r#{kw}"));
        }
        for plain in ["user", "types", "kind", "union"] {
            assert!(!is_keyword(plain), "{plain}");
            assert_eq!(ident(&field_name(plain)).to_string(), plain);
        }
    }

    #[test]
    fn derived_table_names() {
        for (name, table) in [("Click", "click"), ("ClickEvent", "click_event"), ("HTTPLog", "h_t_t_p_log"), ("clicks", "clicks")] {
            assert_eq!(table_name_of_struct(name), table, "{name}");
        }
    }
}
