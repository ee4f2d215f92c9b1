//! Patterns at compile time: LIKE and SIMILAR TO become regular
//! expressions, and every literal pattern is compiled here once so that one
//! Rust's `regex` cannot run (backreferences, look-around) is a build error.

/// The anchored regular expression of a LIKE (`similar`: SIMILAR TO) pattern.
pub(crate) fn like_to_regex(pattern: &str, escape: Option<char>, similar: bool) -> Result<String, String> {
    let mut out = String::from("(?s)^(?:");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            match chars.next() {
                Some(n) => out.push_str(&regex::escape(&n.to_string())),
                None => return Err("the pattern ends with the escape character".into()),
            }
            continue;
        }
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            // SIMILAR TO keeps the regular-expression operators of SQL.
            '|' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' if similar => out.push(c),
            _ => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push_str(")$");
    Ok(out)
}

/// Whether Rust's `regex` compiles `pattern`; the reason when it cannot,
/// naming Java features it does not have.
pub(crate) fn validate(pattern: &str) -> Result<(), String> {
    match regex::Regex::new(pattern) {
        Ok(_) => Ok(()),
        Err(e) => {
            let msg = e.to_string();
            let why = msg.lines().rev().find(|l| l.starts_with("error:")).map_or(msg.as_str(), |l| l.trim_start_matches("error: "));
            let hint = if why.contains("look-around") {
                " (look-around is a Java regex feature Rust's `regex` does not have)"
            } else if why.contains("backreference") {
                " (backreferences are a Java regex feature Rust's `regex` does not have)"
            } else {
                ""
            };
            Err(format!("{why}{hint}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_translate() {
        assert_eq!(like_to_regex("a%b_", None, false).unwrap(), "(?s)^(?:a.*b.)$");
        assert_eq!(like_to_regex("100!%", Some('!'), false).unwrap(), "(?s)^(?:100%)$");
        assert_eq!(like_to_regex("a.b", None, false).unwrap(), "(?s)^(?:a\\.b)$");
        assert_eq!(like_to_regex("(a|b)%", None, true).unwrap(), "(?s)^(?:(a|b).*)$");
        assert!(like_to_regex("a!", Some('!'), false).is_err());
    }

    #[test]
    fn java_only_features_are_refused() {
        assert!(validate("(a)\\1").unwrap_err().contains("backreference"));
        assert!(validate("a(?=b)").unwrap_err().contains("look-around"));
        assert!(validate("[a-z]+\\d").is_ok());
    }
}
