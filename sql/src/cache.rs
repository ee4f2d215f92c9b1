//! Patterns, formats and paths taken from a record rather than written as
//! literals (Flink allows `REGEXP_EXTRACT(s, pattern_column)`): compiled
//! per record, keeping the last one compiled so that records carrying the
//! same pattern compile it once. A pattern that does not compile fails the
//! record with an error naming it; it is kept too, so the same bad pattern
//! fails again without recompiling.

use crate::error::SqlError;

/// The last value compiled from a (pair of) text(s). Generated code keeps
/// one per call site in a `thread_local!`.
#[derive(Debug)]
pub struct LastCompiled<T> {
    last: Option<(String, String, Result<T, SqlError>)>,
}

impl<T> Default for LastCompiled<T> {
    fn default() -> Self {
        LastCompiled::new()
    }
}

impl<T> LastCompiled<T> {
    /// An empty cache.
    pub const fn new() -> LastCompiled<T> {
        LastCompiled { last: None }
    }

    /// `use_` on the value compiled from `key` (and `key2`, for a pattern
    /// with a replacement), compiling with `build` only when they differ
    /// from the last ones.
    pub fn with<R>(
        &mut self,
        key: &str,
        key2: &str,
        build: impl FnOnce(&str, &str) -> Result<T, SqlError>,
        use_: impl FnOnce(&T) -> Result<R, SqlError>,
    ) -> Result<R, SqlError> {
        let hit = matches!(&self.last, Some((k, k2, _)) if k == key && k2 == key2);
        if !hit {
            self.last = Some((key.to_string(), key2.to_string(), build(key, key2)));
        }
        match &self.last {
            Some((_, _, Ok(v))) => use_(v),
            Some((_, _, Err(e))) => Err(e.clone()),
            None => unreachable!("set just above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::{java_regex, regexp_extract};

    #[test]
    fn compiles_once_per_distinct_pattern_and_names_a_bad_one() {
        let mut c = LastCompiled::new();
        let builds = std::cell::Cell::new(0);
        let run = |c: &mut LastCompiled<_>, p: &str, s: &str| {
            c.with(
                p,
                "",
                |p, _| {
                    builds.set(builds.get() + 1);
                    java_regex(p)
                },
                |r| regexp_extract(s, r, 1),
            )
        };
        assert_eq!(run(&mut c, "([a-z]+)-\\d", "ab-1").unwrap().as_deref(), Some("ab"));
        assert_eq!(run(&mut c, "([a-z]+)-\\d", "cd-2").unwrap().as_deref(), Some("cd"));
        assert_eq!(run(&mut c, "(\\d+)", "x42").unwrap().as_deref(), Some("42"));
        let e = run(&mut c, "(a", "a").unwrap_err();
        assert!(e.to_string().contains("(a"), "{e}");
        assert!(run(&mut c, "(a", "a").is_err());
        assert_eq!(builds.get(), 3, "the same pattern twice in a row compiles once");
        // The second key (a replacement) counts too.
        let mut r = LastCompiled::new();
        let replace = |r: &mut LastCompiled<_>, x: &str| {
            use crate::pattern::{Replacement, regexp_replace};
            r.with(
                "\\d",
                x,
                |p, x| java_regex(p).and_then(|re| Replacement::new(x, &re).map(|x| (re, x))),
                |(re, x)| Ok(regexp_replace("a1", re, x)),
            )
        };
        assert_eq!(replace(&mut r, "#").unwrap(), "a#");
        assert_eq!(replace(&mut r, "*").unwrap(), "a*");
    }
}
