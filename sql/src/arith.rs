//! Checked integer arithmetic with Flink's result types: the compiler
//! widens both operands to the result type (Flink's rules) and calls these;
//! overflow and division by zero fail the record (Flink wraps on overflow,
//! which would corrupt data silently: this project's one deliberate
//! difference, listed in the README).
//!
//! Floating-point arithmetic is IEEE (`+ - * /` in generated code, as in
//! Flink: `1.0 / 0` is `Infinity`). DECIMAL arithmetic is in [`crate::decimal`].

use crate::error::SqlError;

/// The integer types of SQL: TINYINT, SMALLINT, INT, BIGINT.
pub trait SqlInt: Copy + std::fmt::Display + Ord + Default + Into<i64> + TryFrom<i64> {
    /// The SQL name of the type, for messages.
    const SQL: &'static str;
    /// Checked `+`.
    fn checked_add(self, b: Self) -> Option<Self>;
    /// Checked `-`.
    fn checked_sub(self, b: Self) -> Option<Self>;
    /// Checked `*`.
    fn checked_mul(self, b: Self) -> Option<Self>;
    /// Checked `/` (truncating toward zero).
    fn checked_div(self, b: Self) -> Option<Self>;
    /// Checked `%` (the sign of the dividend).
    fn checked_rem(self, b: Self) -> Option<Self>;
    /// Checked negation.
    fn checked_neg(self) -> Option<Self>;
}

macro_rules! sql_int {
    ($($t:ty => $sql:literal),*) => {$(
        impl SqlInt for $t {
            const SQL: &'static str = $sql;
            #[inline] fn checked_add(self, b: Self) -> Option<Self> { <$t>::checked_add(self, b) }
            #[inline] fn checked_sub(self, b: Self) -> Option<Self> { <$t>::checked_sub(self, b) }
            #[inline] fn checked_mul(self, b: Self) -> Option<Self> { <$t>::checked_mul(self, b) }
            #[inline] fn checked_div(self, b: Self) -> Option<Self> { <$t>::checked_div(self, b) }
            #[inline] fn checked_rem(self, b: Self) -> Option<Self> { <$t>::checked_rem(self, b) }
            #[inline] fn checked_neg(self) -> Option<Self> { <$t>::checked_neg(self) }
        }
    )*};
}
sql_int!(i8 => "TINYINT", i16 => "SMALLINT", i32 => "INT", i64 => "BIGINT");

/// `a + b`; fails on overflow.
#[inline]
pub fn add<T: SqlInt>(a: T, b: T) -> Result<T, SqlError> {
    a.checked_add(b).ok_or_else(|| SqlError::overflow(&format!("{} +", T::SQL), format_args!("{a} + {b}")))
}

/// `a - b`; fails on overflow.
#[inline]
pub fn sub<T: SqlInt>(a: T, b: T) -> Result<T, SqlError> {
    a.checked_sub(b).ok_or_else(|| SqlError::overflow(&format!("{} -", T::SQL), format_args!("{a} - {b}")))
}

/// `a * b`; fails on overflow.
#[inline]
pub fn mul<T: SqlInt>(a: T, b: T) -> Result<T, SqlError> {
    a.checked_mul(b).ok_or_else(|| SqlError::overflow(&format!("{} *", T::SQL), format_args!("{a} * {b}")))
}

/// `a / b` on integers, truncating toward zero (Flink: `INT / INT` is an
/// INT); fails when `b` is zero and on `MIN / -1`.
#[inline]
pub fn div<T: SqlInt>(a: T, b: T) -> Result<T, SqlError> {
    if b == T::default() {
        return Err(SqlError::division_by_zero(&format!("{} /", T::SQL), a));
    }
    a.checked_div(b).ok_or_else(|| SqlError::overflow(&format!("{} /", T::SQL), format_args!("{a} / {b}")))
}

/// `MOD(a, b)` and `a % b`: the remainder with the sign of the dividend
/// (Flink: `MOD(-7, 3)` is -1); fails when `b` is zero. `MIN % -1` is 0.
#[inline]
pub fn rem<T: SqlInt>(a: T, b: T) -> Result<T, SqlError> {
    if b == T::default() {
        return Err(SqlError::division_by_zero(&format!("MOD({}, {})", T::SQL, T::SQL), a));
    }
    Ok(a.checked_rem(b).unwrap_or_default())
}

/// Unary `-a`; fails on the type's minimum.
#[inline]
pub fn neg<T: SqlInt>(a: T) -> Result<T, SqlError> {
    a.checked_neg().ok_or_else(|| SqlError::overflow(&format!("-{}", T::SQL), format_args!("-({a})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqlErrorKind;

    #[test]
    fn arithmetic_in_range() {
        assert_eq!(add(2i32, 3), Ok(5));
        assert_eq!(sub(2i64, 3), Ok(-1));
        assert_eq!(mul(-4i16, 3), Ok(-12));
        // Integer division truncates toward zero.
        assert_eq!(div(7i32, 2), Ok(3));
        assert_eq!(div(-7i32, 2), Ok(-3));
        assert_eq!(neg(5i8), Ok(-5));
    }

    #[test]
    fn overflow_fails_instead_of_wrapping() {
        let e = add(i32::MAX, 1).unwrap_err();
        assert_eq!(e.kind(), SqlErrorKind::Overflow);
        assert_eq!(e.message(), "INT + overflows on 2147483647 + 1");
        assert_eq!(sub(i64::MIN, 1).unwrap_err().kind(), SqlErrorKind::Overflow);
        assert_eq!(mul(100i8, 2).unwrap_err().kind(), SqlErrorKind::Overflow);
        assert_eq!(neg(i16::MIN).unwrap_err().kind(), SqlErrorKind::Overflow);
        assert_eq!(div(i32::MIN, -1).unwrap_err().kind(), SqlErrorKind::Overflow);
    }

    #[test]
    fn division_by_zero_fails() {
        let e = div(7i32, 0).unwrap_err();
        assert_eq!(e.kind(), SqlErrorKind::DivisionByZero);
        assert!(e.message().contains("7 / 0"), "{e}");
        assert_eq!(rem(7i64, 0).unwrap_err().kind(), SqlErrorKind::DivisionByZero);
    }

    #[test]
    fn remainder_has_the_sign_of_the_dividend() {
        // Flink: MOD(-7, 3) is -1; MOD(7, -3) is 1.
        assert_eq!(rem(-7i32, 3), Ok(-1));
        assert_eq!(rem(7i32, -3), Ok(1));
        assert_eq!(rem(i32::MIN, -1), Ok(0));
    }
}
