//! TIMESTAMP_LTZ in the session time zone (Flink's
//! `table.local-time-zone`, default UTC) and the processing time.
//!
//! A TIMESTAMP_LTZ is an instant (`DateTime<Utc>`); shown, cast to a
//! TIMESTAMP or a DATE, it is read in the session zone. The zone is UTC or
//! a fixed offset (`+08:00`, `UTC+8`, `GMT-05:30`); named zones with
//! daylight saving (`Europe/Berlin`) are refused with a clear message.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};

use crate::error::SqlError;
use crate::text;

/// The session time zone of TIMESTAMP_LTZ functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTimeZone {
    offset: FixedOffset,
}

impl Default for LocalTimeZone {
    fn default() -> LocalTimeZone {
        LocalTimeZone::UTC
    }
}

impl LocalTimeZone {
    /// UTC, Flink's default.
    pub const UTC: LocalTimeZone = LocalTimeZone {
        offset: match FixedOffset::east_opt(0) {
            Some(o) => o,
            None => unreachable!(),
        },
    };

    /// The zone named by `table.local-time-zone`: `UTC`, `Z`, `GMT`, or an
    /// offset `±HH[:MM]`/`±HHMM`, bare or after `UTC`/`GMT`.
    pub fn parse(name: &str) -> Result<LocalTimeZone, SqlError> {
        let fail = |why: &str| SqlError::invalid_argument("table.local-time-zone", format_args!("{name:?} {why}"));
        let t = name.trim();
        let rest = ["UTC", "GMT", "Z"].iter().find_map(|p| t.strip_prefix(p)).unwrap_or(t);
        if rest.is_empty() {
            return Ok(LocalTimeZone::UTC);
        }
        let (sign, digits) = match rest.as_bytes()[0] {
            b'+' => (1, &rest[1..]),
            b'-' => (-1, &rest[1..]),
            _ if rest.contains('/') => {
                return Err(fail(
                    "is a named zone: only UTC and fixed offsets (+08:00) are supported, so no daylight-saving rules apply silently",
                ));
            }
            _ => return Err(fail("is not a time zone (UTC, +08:00, GMT-05:30)")),
        };
        let (h, m) = match digits.split_once(':') {
            Some((h, m)) => (h, m),
            None if digits.len() == 4 => digits.split_at(2),
            None => (digits, "0"),
        };
        let number =
            |s: &str| if !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()) { s.parse::<i32>().ok() } else { None };
        let (Some(h), Some(m)) = (number(h), number(m)) else { return Err(fail("is not a time zone offset (±HH:MM)")) };
        if h > 18 || m > 59 {
            return Err(fail("is beyond ±18:00"));
        }
        let offset = FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(|| fail("is beyond ±18:00"))?;
        Ok(LocalTimeZone { offset })
    }

    /// The wall-clock time of `instant` in this zone.
    pub fn to_local(&self, instant: &DateTime<Utc>) -> NaiveDateTime {
        instant.with_timezone(&self.offset).naive_local()
    }

    /// The instant of the wall-clock time `local` in this zone.
    pub fn to_utc(&self, local: &NaiveDateTime) -> Result<DateTime<Utc>, SqlError> {
        self.offset
            .from_local_datetime(local)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| SqlError::invalid_cast(local, "TIMESTAMP_LTZ", "out of range"))
    }

    /// The offset from UTC in seconds.
    pub fn offset_seconds(&self) -> i32 {
        self.offset.fix().local_minus_utc()
    }
}

/// CURRENT_TIMESTAMP (and NOW()): the processing time as TIMESTAMP_LTZ(3),
/// read when the record is transformed.
pub fn current_timestamp() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// LOCALTIMESTAMP: the processing time as a TIMESTAMP(3) in the zone.
pub fn local_timestamp(zone: &LocalTimeZone) -> NaiveDateTime {
    zone.to_local(&current_timestamp())
}

/// CAST(TIMESTAMP_LTZ AS TIMESTAMP): the wall-clock time in the zone.
pub fn ltz_to_timestamp(instant: &DateTime<Utc>, zone: &LocalTimeZone) -> NaiveDateTime {
    zone.to_local(instant)
}

/// CAST(TIMESTAMP AS TIMESTAMP_LTZ): the wall-clock time read in the zone.
pub fn timestamp_to_ltz(local: &NaiveDateTime, zone: &LocalTimeZone) -> Result<DateTime<Utc>, SqlError> {
    zone.to_utc(local)
}

/// CAST(TIMESTAMP_LTZ AS DATE): the day in the zone.
pub fn ltz_to_date(instant: &DateTime<Utc>, zone: &LocalTimeZone) -> NaiveDate {
    zone.to_local(instant).date()
}

/// CAST(TIMESTAMP_LTZ(precision) AS STRING): the wall-clock time in the
/// zone, in TIMESTAMP's text form.
pub fn ltz_to_str(instant: &DateTime<Utc>, zone: &LocalTimeZone, precision: u32) -> String {
    crate::cast::timestamp_to_str(&zone.to_local(instant), precision)
}

/// CAST(STRING AS TIMESTAMP_LTZ): the text as a TIMESTAMP, read in the zone.
pub fn str_to_ltz(s: &str, zone: &LocalTimeZone) -> Result<DateTime<Utc>, SqlError> {
    let local = text::parse_timestamp(s.trim()).map_err(|why| SqlError::invalid_cast(s, "TIMESTAMP_LTZ", why))?;
    zone.to_utc(&local)
}

/// TO_TIMESTAMP_LTZ(seconds, 0): seconds since the epoch; fails past
/// chrono's range.
pub fn epoch_seconds_to_ltz(seconds: i64) -> Result<DateTime<Utc>, SqlError> {
    DateTime::from_timestamp(seconds, 0).ok_or_else(|| SqlError::invalid_cast(seconds, "TIMESTAMP_LTZ", "out of range"))
}

/// TO_TIMESTAMP_LTZ(millis, 3): milliseconds since the epoch.
pub fn epoch_millis_to_ltz(millis: i64) -> Result<DateTime<Utc>, SqlError> {
    DateTime::from_timestamp_millis(millis).ok_or_else(|| SqlError::invalid_cast(millis, "TIMESTAMP_LTZ", "out of range"))
}
