//! TIMESTAMPADD, TIMESTAMPDIFF and FLOOR/CEIL(… TO unit).

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};

use super::TimeUnit;
use crate::error::SqlError;

/// TIMESTAMPADD(unit, n, ts): months and longer units keep the day, cut to
/// the month's last day (`2024-01-31` + 1 MONTH is `2024-02-29`); shorter
/// ones add exact durations. Fails past chrono's range (year ±262142).
/// Flink: `TIMESTAMPADD(WEEK, 1, DATE '2003-01-02')` is `2003-01-09`.
pub fn timestampadd(unit: TimeUnit, n: i64, ts: &NaiveDateTime) -> Result<NaiveDateTime, SqlError> {
    let out_of_range = || SqlError::overflow("TIMESTAMPADD", format_args!("{} {} + {ts}", n, unit.name()));
    let months = |m: i64| -> Result<NaiveDateTime, SqlError> {
        let magnitude = u32::try_from(m.unsigned_abs()).map_err(|_| out_of_range())?;
        let shifted = if m >= 0 { ts.checked_add_months(Months::new(magnitude)) } else { ts.checked_sub_months(Months::new(magnitude)) };
        shifted.ok_or_else(out_of_range)
    };
    let exact = |per: i64, delta: fn(i64) -> Option<TimeDelta>| -> Result<NaiveDateTime, SqlError> {
        let d = n.checked_mul(per).and_then(delta).ok_or_else(out_of_range)?;
        ts.checked_add_signed(d).ok_or_else(out_of_range)
    };
    match unit {
        TimeUnit::Year => months(n.checked_mul(12).ok_or_else(out_of_range)?),
        TimeUnit::Quarter => months(n.checked_mul(3).ok_or_else(out_of_range)?),
        TimeUnit::Month => months(n),
        TimeUnit::Week => exact(7, TimeDelta::try_days),
        TimeUnit::Day => exact(1, TimeDelta::try_days),
        TimeUnit::Hour => exact(1, TimeDelta::try_hours),
        TimeUnit::Minute => exact(1, TimeDelta::try_minutes),
        TimeUnit::Second => exact(1, TimeDelta::try_seconds),
        TimeUnit::Millisecond => exact(1, TimeDelta::try_milliseconds),
        TimeUnit::Microsecond => exact(1, |v| Some(TimeDelta::microseconds(v))),
        TimeUnit::Nanosecond => exact(1, |v| Some(TimeDelta::nanoseconds(v))),
        other => Err(SqlError::invalid_argument("TIMESTAMPADD", format_args!("{} is not a unit to add", other.name()))),
    }
}

/// TIMESTAMPADD(unit, n, date) on a DATE, for units of a day or longer
/// (the compiler types a finer unit on a DATE as a TIMESTAMP).
pub fn timestampadd_date(unit: TimeUnit, n: i64, date: NaiveDate) -> Result<NaiveDate, SqlError> {
    if !matches!(unit, TimeUnit::Year | TimeUnit::Quarter | TimeUnit::Month | TimeUnit::Week | TimeUnit::Day) {
        return Err(SqlError::invalid_argument("TIMESTAMPADD", format_args!("a DATE cannot take a {} step", unit.name())));
    }
    Ok(timestampadd(unit, n, &date.and_time(NaiveTime::MIN))?.date())
}

/// TIMESTAMPDIFF(unit, a, b): whole `unit`s from `a` to `b`, truncated
/// toward zero, as INT; months count only when the day and time of `b`
/// reach those of `a` (Flink, via Calcite). Fails beyond INT. Flink:
/// `TIMESTAMPDIFF(DAY, TIMESTAMP '2003-01-02 10:00:00', TIMESTAMP '2003-01-03 10:00:00')` is 1.
pub fn timestampdiff(unit: TimeUnit, a: &NaiveDateTime, b: &NaiveDateTime) -> Result<i32, SqlError> {
    let diff: i128 = match unit {
        TimeUnit::Year => i128::from(months_between(a, b) / 12),
        TimeUnit::Quarter => i128::from(months_between(a, b) / 3),
        TimeUnit::Month => i128::from(months_between(a, b)),
        other => {
            let per = nanos_per(other)
                .ok_or_else(|| SqlError::invalid_argument("TIMESTAMPDIFF", format_args!("{} is not a unit to count", other.name())))?;
            let span = nanos(b) - nanos(a);
            span / per
        }
    };
    i32::try_from(diff).map_err(|_| SqlError::overflow("TIMESTAMPDIFF as INT", format_args!("{} from {a} to {b}", unit.name())))
}

/// TIMESTAMPDIFF on DATEs (midnights).
pub fn timestampdiff_date(unit: TimeUnit, a: NaiveDate, b: NaiveDate) -> Result<i32, SqlError> {
    timestampdiff(unit, &a.and_time(NaiveTime::MIN), &b.and_time(NaiveTime::MIN))
}

fn nanos(ts: &NaiveDateTime) -> i128 {
    let utc = ts.and_utc();
    i128::from(utc.timestamp()) * 1_000_000_000 + i128::from(utc.timestamp_subsec_nanos())
}

fn nanos_per(unit: TimeUnit) -> Option<i128> {
    Some(match unit {
        TimeUnit::Week => 7 * 86_400 * 1_000_000_000,
        TimeUnit::Day => 86_400 * 1_000_000_000,
        TimeUnit::Hour => 3_600 * 1_000_000_000,
        TimeUnit::Minute => 60 * 1_000_000_000,
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
        _ => return None,
    })
}

/// Whole months from `a` to `b`, toward zero.
fn months_between(a: &NaiveDateTime, b: &NaiveDateTime) -> i64 {
    let index = |t: &NaiveDateTime| i64::from(t.year()) * 12 + i64::from(t.month0());
    let rest = |t: &NaiveDateTime| (t.day(), t.time());
    let mut months = index(b) - index(a);
    if months > 0 && rest(b) < rest(a) {
        months -= 1;
    } else if months < 0 && rest(b) > rest(a) {
        months += 1;
    }
    months
}

/// FLOOR(ts TO unit): the start of the unit that holds `ts` (WEEK: the
/// Sunday before, as Flink via Calcite). Flink:
/// `FLOOR(TIMESTAMP '2024-01-02 03:04:05' TO HOUR)` is `2024-01-02 03:00:00`.
pub fn floor_timestamp(ts: &NaiveDateTime, unit: TimeUnit) -> Result<NaiveDateTime, SqlError> {
    let date = ts.date();
    let day_start = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    let time = |h, m, s, n| date.and_time(NaiveTime::from_hms_nano_opt(h, m, s, n).unwrap_or(NaiveTime::MIN));
    let month_start = |month0: u32| NaiveDate::from_ymd_opt(date.year(), month0 + 1, 1).map(day_start);
    let nanos = ts.nanosecond() % 1_000_000_000;
    let out = match unit {
        TimeUnit::Year => month_start(0),
        TimeUnit::Quarter => month_start(date.month0() / 3 * 3),
        TimeUnit::Month => month_start(date.month0()),
        TimeUnit::Week => date.checked_sub_signed(Duration::days(i64::from(date.weekday().num_days_from_sunday()))).map(day_start),
        TimeUnit::Day => Some(day_start(date)),
        TimeUnit::Hour => Some(time(ts.hour(), 0, 0, 0)),
        TimeUnit::Minute => Some(time(ts.hour(), ts.minute(), 0, 0)),
        TimeUnit::Second => Some(time(ts.hour(), ts.minute(), ts.second(), 0)),
        TimeUnit::Millisecond => Some(time(ts.hour(), ts.minute(), ts.second(), nanos / 1_000_000 * 1_000_000)),
        TimeUnit::Microsecond => Some(time(ts.hour(), ts.minute(), ts.second(), nanos / 1_000 * 1_000)),
        TimeUnit::Nanosecond => Some(*ts),
        other => return Err(SqlError::invalid_argument("FLOOR", format_args!("cannot round a TIMESTAMP to {}", other.name()))),
    };
    out.ok_or_else(|| SqlError::overflow("FLOOR", ts))
}

/// CEIL(ts TO unit): `ts` itself when on a boundary, else the start of the
/// next unit; fails past chrono's range.
pub fn ceil_timestamp(ts: &NaiveDateTime, unit: TimeUnit) -> Result<NaiveDateTime, SqlError> {
    let floor = floor_timestamp(ts, unit)?;
    if floor == *ts {
        return Ok(floor);
    }
    let step = if unit == TimeUnit::Week { (TimeUnit::Day, 7) } else { (unit, 1) };
    timestampadd(step.0, step.1, &floor).map_err(|_| SqlError::overflow("CEIL", ts))
}

/// FLOOR(date TO unit), for units of a day or longer.
pub fn floor_date(date: NaiveDate, unit: TimeUnit) -> Result<NaiveDate, SqlError> {
    date_unit(unit, "FLOOR")?;
    Ok(floor_timestamp(&date.and_time(NaiveTime::MIN), unit)?.date())
}

/// CEIL(date TO unit), for units of a day or longer.
pub fn ceil_date(date: NaiveDate, unit: TimeUnit) -> Result<NaiveDate, SqlError> {
    date_unit(unit, "CEIL")?;
    Ok(ceil_timestamp(&date.and_time(NaiveTime::MIN), unit)?.date())
}

fn date_unit(unit: TimeUnit, function: &str) -> Result<(), SqlError> {
    match unit {
        TimeUnit::Year | TimeUnit::Quarter | TimeUnit::Month | TimeUnit::Week | TimeUnit::Day => Ok(()),
        other => Err(SqlError::invalid_argument(function, format_args!("cannot round a DATE to {}", other.name()))),
    }
}
