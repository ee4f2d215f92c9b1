//! The errors of SQL functions ([`SqlError`]) and of a record whose
//! expression failed ([`RecordError`], which names the SQL text).

use std::fmt;

/// Values shown in messages are cut to this many characters (the message
/// says how long the value was): a message never carries a whole payload.
const SHOWN_CHARS: usize = 80;

/// What kind of failure a [`SqlError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SqlErrorKind {
    /// An integer or DECIMAL result does not fit its type (Flink wraps
    /// integers silently; this project fails the record).
    Overflow,
    /// Integer or DECIMAL division (or `MOD`) by zero.
    DivisionByZero,
    /// A `CAST` whose value has no representation in the target type.
    InvalidCast,
    /// A function argument outside the function's domain (a negative
    /// length, a group index past the pattern's groups, …).
    InvalidArgument,
    /// A pattern (LIKE, SIMILAR TO, a regular expression, a date format, a
    /// JSON path) that is malformed or uses what is not supported.
    InvalidPattern,
}

/// A failed SQL function or operator, with a message that names the
/// operation and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    kind: SqlErrorKind,
    message: String,
}

impl SqlError {
    /// An error of `kind` with `message`.
    pub fn new(kind: SqlErrorKind, message: impl Into<String>) -> SqlError {
        SqlError { kind, message: message.into() }
    }

    /// `what` (e.g. `INT + INT`, `ABS(INT)`) overflowed on the shown operands.
    pub fn overflow(what: &str, operands: impl fmt::Display) -> SqlError {
        SqlError::new(SqlErrorKind::Overflow, format!("{what} overflows on {operands}"))
    }

    /// `what` divided `dividend` by zero.
    pub fn division_by_zero(what: &str, dividend: impl fmt::Display) -> SqlError {
        SqlError::new(SqlErrorKind::DivisionByZero, format!("{what}: division by zero ({dividend} / 0)"))
    }

    /// `value` cannot be cast to `target` (`INT`, `DECIMAL(10, 2)`, …);
    /// `reason` says why.
    pub fn invalid_cast(value: impl fmt::Display, target: &str, reason: &str) -> SqlError {
        let value = shown(&value.to_string());
        SqlError::new(SqlErrorKind::InvalidCast, format!("cannot cast {value} to {target}: {reason}"))
    }

    /// `function` was given an argument outside its domain.
    pub fn invalid_argument(function: &str, message: impl fmt::Display) -> SqlError {
        SqlError::new(SqlErrorKind::InvalidArgument, format!("{function}: {message}"))
    }

    /// `pattern` (of the kind `what`: `LIKE pattern`, `regular expression`,
    /// …) is malformed or unsupported, for `reason`.
    pub fn invalid_pattern(what: &str, pattern: &str, reason: impl fmt::Display) -> SqlError {
        SqlError::new(SqlErrorKind::InvalidPattern, format!("invalid {what} {}: {reason}", shown(pattern)))
    }

    /// The kind of failure.
    pub fn kind(&self) -> SqlErrorKind {
        self.kind
    }

    /// The message, without the expression.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SqlError {}

/// A record's expression failed: the SQL text of the expression (as the
/// compiler embedded it) and the error, whose message shows the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The expression's SQL text, e.g. `CAST(amount AS INT)`.
    pub expression: &'static str,
    /// What failed.
    pub error: SqlError,
}

impl RecordError {
    /// `error` in `expression`.
    pub fn new(expression: &'static str, error: SqlError) -> RecordError {
        RecordError { expression, error }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in `{}`", self.error, self.expression)
    }
}

impl std::error::Error for RecordError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Attaches an expression's SQL text to a function's error, as generated
/// code does: `sql::cast::str_to_i32(&r.amount).at("CAST(amount AS INT)")?`.
pub trait At<T> {
    /// The result, its error wrapped in a [`RecordError`] naming `expression`.
    fn at(self, expression: &'static str) -> Result<T, RecordError>;
}

impl<T> At<T> for Result<T, SqlError> {
    #[inline]
    fn at(self, expression: &'static str) -> Result<T, RecordError> {
        self.map_err(|error| RecordError { expression, error })
    }
}

/// `value` quoted for a message, cut to [`SHOWN_CHARS`] characters.
pub(crate) fn shown(value: &str) -> String {
    let count = value.chars().count();
    if count <= SHOWN_CHARS {
        format!("'{value}'")
    } else {
        let head: String = value.chars().take(SHOWN_CHARS).collect();
        format!("'{head}…' ({count} characters)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_error_names_the_expression_and_the_value() {
        let e: Result<i32, SqlError> = Err(SqlError::invalid_cast("abc", "INT", "not an integer"));
        let r = e.at("CAST(amount AS INT)").unwrap_err();
        assert_eq!(r.to_string(), "cannot cast 'abc' to INT: not an integer in `CAST(amount AS INT)`");
        assert_eq!(r.expression, "CAST(amount AS INT)");
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(1000);
        let e = SqlError::invalid_cast(&long, "INT", "not an integer");
        assert!(e.message().len() < 200, "{}", e.message());
        assert!(e.message().contains("(1000 characters)"));
    }
}
