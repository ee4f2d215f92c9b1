//! Literal patterns at compile time, checked with the same constructors the
//! generated code calls (`kinesis_tables_sql`), so that a pattern Rust's
//! `regex` cannot run (backreferences, look-around) is a build error.

use kinesis_tables_sql::pattern::{DEFAULT_ESCAPE, Like, Similar, java_regex};

/// The reason a LIKE (`similar`: SIMILAR TO) pattern is refused, if it is.
pub(crate) fn check_like(pattern: &str, escape: Option<char>, similar: bool) -> Result<(), String> {
    let escape = escape.or(DEFAULT_ESCAPE);
    let r = if similar { Similar::new(pattern, escape).map(|_| ()) } else { Like::new(pattern, escape).map(|_| ()) };
    r.map_err(|e| e.to_string())
}

/// The reason a Java regular expression is refused, if it is.
pub(crate) fn check_regex(pattern: &str) -> Result<(), String> {
    java_regex(pattern).map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_only_features_are_refused() {
        assert!(check_regex("(a)\\1").unwrap_err().contains("backreference"));
        assert!(check_regex("a(?=b)").unwrap_err().contains("look-ahead"));
        assert!(check_regex("[a-z]+\\d").is_ok());
        assert!(check_like("a%b_", None, false).is_ok());
        assert!(check_like("a!", Some('!'), false).is_err());
    }
}
