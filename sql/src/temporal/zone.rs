//! TIMESTAMP_LTZ in the session time zone (Flink's
//! `table.local-time-zone`, default UTC) and the processing time.
//!
//! A TIMESTAMP_LTZ is an instant (`DateTime<Utc>`); shown, cast to a
//! TIMESTAMP or a DATE, it is read in the session zone. The zone is UTC, a
//! fixed offset (`+08:00`, `UTC+8`, `GMT-05:30`) or a region id of the IANA
//! database (`America/Los_Angeles`, `Europe/Paris`, through `chrono-tz`)
//! with its daylight-saving rules. A wall-clock time read in a region
//! follows Java's `LocalDateTime.atZone` as Flink does: in a gap (spring
//! forward) it moves later by the gap's length; in an overlap (fall back)
//! it takes the earlier instant.

use chrono::{DateTime, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::SqlError;
use crate::text;

/// The session time zone of TIMESTAMP_LTZ functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTimeZone {
    /// UTC or a fixed offset.
    Fixed(FixedOffset),
    /// A region id with its daylight-saving rules.
    Region(Tz),
}

impl Default for LocalTimeZone {
    fn default() -> LocalTimeZone {
        LocalTimeZone::UTC
    }
}

impl LocalTimeZone {
    /// UTC, Flink's default.
    pub const UTC: LocalTimeZone = LocalTimeZone::Fixed(match FixedOffset::east_opt(0) {
        Some(o) => o,
        None => unreachable!(),
    });

    /// The zone named by `table.local-time-zone`: `UTC`, `Z`, `GMT`, an
    /// offset `±HH[:MM]`/`±HHMM`, bare or after `UTC`/`GMT`, or a region id
    /// (`Europe/Paris`, case as in the IANA database, as Java's `ZoneId`).
    pub fn parse(name: &str) -> Result<LocalTimeZone, SqlError> {
        let fail = |why: &str| SqlError::invalid_argument("table.local-time-zone", format_args!("{name:?} {why}"));
        let t = name.trim();
        if t.contains('/') {
            return t
                .parse::<Tz>()
                .map(LocalTimeZone::Region)
                .map_err(|_| fail("is not a region id of the time-zone database (America/Los_Angeles, Europe/Paris; case matters)"));
        }
        let rest = ["UTC", "GMT", "Z"].iter().find_map(|p| t.strip_prefix(p)).unwrap_or(t);
        if rest.is_empty() {
            return Ok(LocalTimeZone::UTC);
        }
        let (sign, digits) = match rest.as_bytes()[0] {
            b'+' => (1, &rest[1..]),
            b'-' => (-1, &rest[1..]),
            _ => return Err(fail("is not a time zone (UTC, +08:00, GMT-05:30, Europe/Paris)")),
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
        Ok(LocalTimeZone::Fixed(offset))
    }

    /// The wall-clock time of `instant` in this zone.
    pub fn to_local(&self, instant: &DateTime<Utc>) -> NaiveDateTime {
        match self {
            LocalTimeZone::Fixed(o) => instant.with_timezone(o).naive_local(),
            LocalTimeZone::Region(z) => instant.with_timezone(z).naive_local(),
        }
    }

    /// The instant of the wall-clock time `local` in this zone (Java's
    /// `atZone`: a time in a gap moves later by the gap, one in an overlap
    /// takes the earlier offset).
    pub fn to_utc(&self, local: &NaiveDateTime) -> Result<DateTime<Utc>, SqlError> {
        let out = || SqlError::invalid_cast(local, "TIMESTAMP_LTZ", "out of range");
        let z = match self {
            LocalTimeZone::Fixed(o) => return o.from_local_datetime(local).single().map(|t| t.with_timezone(&Utc)).ok_or_else(out),
            LocalTimeZone::Region(z) => z,
        };
        match z.from_local_datetime(local) {
            LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => Ok(a.with_timezone(&Utc).min(b.with_timezone(&Utc))),
            LocalResult::None => {
                // In a gap: read with the offset in force before it (a day earlier).
                let before = local.checked_sub_signed(Duration::days(1)).ok_or_else(out)?;
                let offset = z.offset_from_utc_datetime(&before).fix();
                let utc = local.checked_sub_signed(Duration::seconds(i64::from(offset.local_minus_utc()))).ok_or_else(out)?;
                Ok(Utc.from_utc_datetime(&utc))
            }
        }
    }

    /// The offset from UTC in seconds at `instant`.
    pub fn offset_seconds_at(&self, instant: &DateTime<Utc>) -> i32 {
        match self {
            LocalTimeZone::Fixed(o) => o.local_minus_utc(),
            LocalTimeZone::Region(z) => z.offset_from_utc_datetime(&instant.naive_utc()).fix().local_minus_utc(),
        }
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
