//! Temporal functions: EXTRACT, DATE_FORMAT (Java patterns translated once
//! into a [`DateFormat`]), TO_TIMESTAMP, TO_DATE, TIMESTAMPADD,
//! TIMESTAMPDIFF, FLOOR/CEIL(… TO unit), CURRENT_TIMESTAMP, and the
//! TIMESTAMP_LTZ conversions in the session time zone (Flink's
//! `table.local-time-zone`, default UTC: a [`LocalTimeZone`]).

/// A unit of EXTRACT, TIMESTAMPADD, TIMESTAMPDIFF and FLOOR/CEIL(… TO).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// MILLENNIUM (EXTRACT only).
    Millennium,
    /// CENTURY (EXTRACT only).
    Century,
    /// DECADE (EXTRACT only).
    Decade,
    /// YEAR.
    Year,
    /// QUARTER (1 to 4).
    Quarter,
    /// MONTH (1 to 12).
    Month,
    /// WEEK: EXTRACT gives the ISO week number; FLOOR/CEIL go to a Sunday
    /// (Flink, via Calcite); TIMESTAMPADD/DIFF count 7 days.
    Week,
    /// DAY (of the month for EXTRACT).
    Day,
    /// DOW: EXTRACT only, Sunday = 1 … Saturday = 7 (Flink).
    DayOfWeek,
    /// ISODOW: EXTRACT only, Monday = 1 … Sunday = 7.
    IsoDayOfWeek,
    /// DOY: EXTRACT only, 1 to 366.
    DayOfYear,
    /// HOUR.
    Hour,
    /// MINUTE.
    Minute,
    /// SECOND (EXTRACT: whole seconds of the minute).
    Second,
    /// MILLISECOND (EXTRACT: seconds of the minute × 1000 plus the
    /// milliseconds, as Flink and the SQL standard).
    Millisecond,
    /// MICROSECOND (EXTRACT: seconds × 10^6 plus the microseconds).
    Microsecond,
    /// NANOSECOND (EXTRACT: seconds × 10^9 plus the nanoseconds).
    Nanosecond,
    /// EPOCH: EXTRACT only, seconds since 1970-01-01 00:00:00.
    Epoch,
}

impl TimeUnit {
    /// The unit named `name` (case-insensitive; `DOW`, `ISODOW`, `DOY`,
    /// `EPOCH` and the SQL names), for the compiler.
    pub fn parse(name: &str) -> Option<TimeUnit> {
        use TimeUnit::*;
        let all = [
            ("MILLENNIUM", Millennium),
            ("CENTURY", Century),
            ("DECADE", Decade),
            ("YEAR", Year),
            ("QUARTER", Quarter),
            ("MONTH", Month),
            ("WEEK", Week),
            ("DAY", Day),
            ("DOW", DayOfWeek),
            ("ISODOW", IsoDayOfWeek),
            ("DOY", DayOfYear),
            ("HOUR", Hour),
            ("MINUTE", Minute),
            ("SECOND", Second),
            ("MILLISECOND", Millisecond),
            ("MICROSECOND", Microsecond),
            ("NANOSECOND", Nanosecond),
            ("EPOCH", Epoch),
        ];
        all.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, u)| *u)
    }

    /// The SQL name, for messages.
    pub fn name(self) -> &'static str {
        use TimeUnit::*;
        match self {
            Millennium => "MILLENNIUM",
            Century => "CENTURY",
            Decade => "DECADE",
            Year => "YEAR",
            Quarter => "QUARTER",
            Month => "MONTH",
            Week => "WEEK",
            Day => "DAY",
            DayOfWeek => "DOW",
            IsoDayOfWeek => "ISODOW",
            DayOfYear => "DOY",
            Hour => "HOUR",
            Minute => "MINUTE",
            Second => "SECOND",
            Millisecond => "MILLISECOND",
            Microsecond => "MICROSECOND",
            Nanosecond => "NANOSECOND",
            Epoch => "EPOCH",
        }
    }

    /// Whether the unit is a part of a date (EXTRACT on a DATE takes these).
    pub fn is_date_part(self) -> bool {
        !matches!(
            self,
            TimeUnit::Hour | TimeUnit::Minute | TimeUnit::Second | TimeUnit::Millisecond | TimeUnit::Microsecond | TimeUnit::Nanosecond
        )
    }
}

mod extract;
mod format;
mod shift;
mod zone;

pub use extract::{extract_date, extract_time, extract_timestamp};
pub use format::{DateFormat, to_date, to_date_with, to_timestamp, to_timestamp_with};
pub use shift::{
    ceil_date, ceil_timestamp, floor_date, floor_timestamp, timestampadd, timestampadd_date, timestampdiff, timestampdiff_date,
};
pub use zone::{
    LocalTimeZone, current_timestamp, epoch_millis_to_ltz, epoch_seconds_to_ltz, local_timestamp, ltz_to_date, ltz_to_str,
    ltz_to_timestamp, str_to_ltz, timestamp_to_ltz,
};

#[cfg(test)]
mod tests;
