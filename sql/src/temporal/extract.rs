//! EXTRACT(unit FROM date/time/timestamp), as BIGINT.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::TimeUnit;
use crate::error::SqlError;

/// EXTRACT(unit FROM date). Flink: `EXTRACT(DAY FROM DATE '2006-06-05')`
/// is 5. A unit finer than a day fails (the compiler refuses it first).
pub fn extract_date(unit: TimeUnit, date: NaiveDate) -> Result<i64, SqlError> {
    if !unit.is_date_part() {
        return Err(SqlError::invalid_argument("EXTRACT", format_args!("a DATE has no {}", unit.name())));
    }
    Ok(extract_timestamp(unit, &date.and_time(NaiveTime::MIN)))
}

/// EXTRACT(unit FROM time): HOUR, MINUTE, SECOND, MILLISECOND,
/// MICROSECOND, NANOSECOND; a date unit fails.
pub fn extract_time(unit: TimeUnit, time: NaiveTime) -> Result<i64, SqlError> {
    if unit.is_date_part() {
        return Err(SqlError::invalid_argument("EXTRACT", format_args!("a TIME has no {}", unit.name())));
    }
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    Ok(extract_timestamp(unit, &epoch.and_time(time)))
}

/// EXTRACT(unit FROM timestamp). Flink:
/// `EXTRACT(HOUR FROM TIMESTAMP '2006-06-05 14:32:01')` is 14.
pub fn extract_timestamp(unit: TimeUnit, ts: &NaiveDateTime) -> i64 {
    use TimeUnit::*;
    let year = i64::from(ts.year());
    // A leap second's nanoseconds run past 10^9; count it in the second.
    let nanos = i64::from(ts.nanosecond() % 1_000_000_000);
    let second = i64::from(ts.second());
    match unit {
        Millennium => positive_period(year, 1000),
        Century => positive_period(year, 100),
        Decade => year.div_euclid(10),
        Year => year,
        Quarter => i64::from(ts.month0() / 3 + 1),
        Month => i64::from(ts.month()),
        Week => i64::from(ts.iso_week().week()),
        Day => i64::from(ts.day()),
        DayOfWeek => i64::from(ts.weekday().number_from_sunday()),
        IsoDayOfWeek => i64::from(ts.weekday().number_from_monday()),
        DayOfYear => i64::from(ts.ordinal()),
        Hour => i64::from(ts.hour()),
        Minute => i64::from(ts.minute()),
        Second => second,
        Millisecond => second * 1000 + nanos / 1_000_000,
        Microsecond => second * 1_000_000 + nanos / 1000,
        Nanosecond => second * 1_000_000_000 + nanos,
        Epoch => ts.and_utc().timestamp(),
    }
}

/// Centuries and millennia as the SQL standard counts them: year 2000 is
/// in the 20th century, 2001 in the 21st; before year 1, negative.
fn positive_period(year: i64, length: i64) -> i64 {
    if year > 0 { (year + length - 1) / length } else { (year - length) / length }
}
