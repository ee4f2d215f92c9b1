use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::*;
use crate::SqlErrorKind;

fn ts(s: &str) -> NaiveDateTime {
    crate::cast::str_to_timestamp(s).unwrap()
}

fn date(s: &str) -> NaiveDate {
    crate::cast::str_to_date(s).unwrap()
}

#[test]
fn extract_units() {
    // Flink: EXTRACT(DAY FROM DATE '2006-06-05') returns 5.
    assert_eq!(extract_date(TimeUnit::Day, date("2006-06-05")), Ok(5));
    let t = ts("2006-06-05 14:32:01.123456789");
    assert_eq!(extract_timestamp(TimeUnit::Year, &t), 2006);
    assert_eq!(extract_timestamp(TimeUnit::Quarter, &t), 2);
    assert_eq!(extract_timestamp(TimeUnit::Month, &t), 6);
    assert_eq!(extract_timestamp(TimeUnit::Hour, &t), 14);
    assert_eq!(extract_timestamp(TimeUnit::Minute, &t), 32);
    assert_eq!(extract_timestamp(TimeUnit::Second, &t), 1);
    assert_eq!(extract_timestamp(TimeUnit::Millisecond, &t), 1123);
    assert_eq!(extract_timestamp(TimeUnit::Microsecond, &t), 1_123_456);
    assert_eq!(extract_timestamp(TimeUnit::Nanosecond, &t), 1_123_456_789);
    // 2006-06-05 is a Monday: DOW 2 (Sunday = 1), ISODOW 1, ISO week 23.
    assert_eq!(extract_timestamp(TimeUnit::DayOfWeek, &t), 2);
    assert_eq!(extract_timestamp(TimeUnit::IsoDayOfWeek, &t), 1);
    assert_eq!(extract_timestamp(TimeUnit::Week, &t), 23);
    assert_eq!(extract_timestamp(TimeUnit::DayOfYear, &t), 156);
    assert_eq!(extract_timestamp(TimeUnit::Century, &ts("2000-01-01")), 20);
    assert_eq!(extract_timestamp(TimeUnit::Century, &ts("2001-01-01")), 21);
    assert_eq!(extract_timestamp(TimeUnit::Millennium, &ts("2001-01-01")), 3);
    assert_eq!(extract_timestamp(TimeUnit::Decade, &ts("2019-01-01")), 201);
    assert_eq!(extract_timestamp(TimeUnit::Epoch, &ts("1970-01-02")), 86_400);
    assert_eq!(extract_date(TimeUnit::Hour, date("2006-06-05")).unwrap_err().kind(), SqlErrorKind::InvalidArgument);
    assert_eq!(extract_time(TimeUnit::Minute, t.time()), Ok(32));
    assert!(extract_time(TimeUnit::Year, t.time()).is_err());
    assert_eq!(TimeUnit::parse("dow"), Some(TimeUnit::DayOfWeek));
    assert_eq!(TimeUnit::parse("fortnight"), None);
}

#[test]
fn date_format_patterns() {
    let t = ts("2024-01-02 03:04:05.123");
    let f = DateFormat::new("yyyy-MM-dd HH:mm:ss.SSS").unwrap();
    assert_eq!(f.format(&t), "2024-01-02 03:04:05.123");
    assert_eq!(DateFormat::new("yy/M/d h:mm a").unwrap().format(&t), "24/1/2 3:04 AM");
    assert_eq!(DateFormat::new("EEE, d MMM yyyy").unwrap().format(&t), "Tue, 2 Jan 2024");
    assert_eq!(DateFormat::new("yyyy-MM-dd'T'HH 'o''clock' 100%").unwrap().format(&t), "2024-01-02T03 o'clock 100%");
    assert_eq!(DateFormat::new("yyyyMMdd").unwrap().format_date(t.date()), "20240102");
    for bad in ["yyyy-MM-dd Z", "yyyy-MM-dd'T", "yyyy QQ", "SS"] {
        assert_eq!(DateFormat::new(bad).unwrap_err().kind(), SqlErrorKind::InvalidPattern, "{bad}");
    }
}

#[test]
fn to_timestamp_and_to_date() {
    // Flink: TO_TIMESTAMP('2024-01-02 03:04:05') with the default format.
    assert_eq!(to_timestamp("2024-01-02 03:04:05"), Some(ts("2024-01-02 03:04:05")));
    assert_eq!(to_timestamp("not a time"), None);
    let f = DateFormat::new("dd/MM/yyyy HH:mm").unwrap();
    assert_eq!(to_timestamp_with("02/01/2024 03:04", &f), Some(ts("2024-01-02 03:04:00")));
    assert_eq!(to_timestamp_with("32/01/2024 03:04", &f), None);
    let day = DateFormat::new("yyyyMMdd").unwrap();
    assert_eq!(to_timestamp_with("20240102", &day), Some(ts("2024-01-02 00:00:00")));
    assert_eq!(to_date_with("20240102", &day), Some(date("2024-01-02")));
    assert_eq!(to_date("2024-01-02"), Some(date("2024-01-02")));
    assert_eq!(to_date("2024-13-02"), None);
    let hm = DateFormat::new("HH:mm").unwrap();
    assert_eq!(to_timestamp_with("10:30", &hm), Some(ts("1970-01-01 10:30:00")));
    let twelve = DateFormat::new("yyyy-MM-dd hh:mm a").unwrap();
    assert_eq!(to_timestamp_with("2024-01-02 03:04 PM", &twelve), Some(ts("2024-01-02 15:04:00")));
}

#[test]
fn timestampadd_units() {
    // Flink: TIMESTAMPADD(WEEK, 1, DATE '2003-01-02') returns 2003-01-09.
    assert_eq!(timestampadd_date(TimeUnit::Week, 1, date("2003-01-02")), Ok(date("2003-01-09")));
    let t = ts("2024-01-31 10:00:00");
    assert_eq!(timestampadd(TimeUnit::Month, 1, &t), Ok(ts("2024-02-29 10:00:00")));
    assert_eq!(timestampadd(TimeUnit::Year, -1, &t), Ok(ts("2023-01-31 10:00:00")));
    assert_eq!(timestampadd(TimeUnit::Quarter, 1, &t), Ok(ts("2024-04-30 10:00:00")));
    assert_eq!(timestampadd(TimeUnit::Hour, 14, &t), Ok(ts("2024-02-01 00:00:00")));
    assert_eq!(timestampadd(TimeUnit::Second, -1, &t), Ok(ts("2024-01-31 09:59:59")));
    assert_eq!(timestampadd(TimeUnit::Year, i64::MAX, &t).unwrap_err().kind(), SqlErrorKind::Overflow);
    assert_eq!(timestampadd(TimeUnit::Day, 1_000_000_000, &t).unwrap_err().kind(), SqlErrorKind::Overflow);
    assert!(timestampadd(TimeUnit::DayOfWeek, 1, &t).is_err());
    assert!(timestampadd_date(TimeUnit::Hour, 1, date("2003-01-02")).is_err());
}

#[test]
fn timestampdiff_units() {
    let a = ts("2003-01-02 10:00:00");
    // Flink: TIMESTAMPDIFF(DAY, TIMESTAMP '2003-01-02 10:00:00', TIMESTAMP '2003-01-03 10:00:00') returns 1.
    assert_eq!(timestampdiff(TimeUnit::Day, &a, &ts("2003-01-03 10:00:00")), Ok(1));
    assert_eq!(timestampdiff(TimeUnit::Day, &a, &ts("2003-01-03 09:59:59")), Ok(0));
    assert_eq!(timestampdiff(TimeUnit::Day, &ts("2003-01-03 09:59:59"), &a), Ok(0));
    assert_eq!(timestampdiff(TimeUnit::Hour, &ts("2003-01-03 12:00:00"), &a), Ok(-26));
    assert_eq!(timestampdiff(TimeUnit::Month, &a, &ts("2003-03-02 10:00:00")), Ok(2));
    assert_eq!(timestampdiff(TimeUnit::Month, &a, &ts("2003-03-02 09:00:00")), Ok(1));
    assert_eq!(timestampdiff(TimeUnit::Month, &ts("2003-03-02 09:00:00"), &a), Ok(-1));
    assert_eq!(timestampdiff(TimeUnit::Year, &a, &ts("2005-01-02 10:00:00")), Ok(2));
    assert_eq!(timestampdiff(TimeUnit::Quarter, &a, &ts("2003-12-31 00:00:00")), Ok(3));
    let far = ts("2100-01-01 00:00:00");
    assert_eq!(timestampdiff(TimeUnit::Second, &a, &far).unwrap_err().kind(), SqlErrorKind::Overflow);
    assert_eq!(timestampdiff_date(TimeUnit::Week, date("2024-01-01"), date("2024-01-15")), Ok(2));
}

#[test]
fn floor_and_ceil_to_units() {
    let t = ts("2024-05-15 03:04:05.678");
    assert_eq!(floor_timestamp(&t, TimeUnit::Hour), Ok(ts("2024-05-15 03:00:00")));
    assert_eq!(ceil_timestamp(&t, TimeUnit::Hour), Ok(ts("2024-05-15 04:00:00")));
    assert_eq!(floor_timestamp(&t, TimeUnit::Second), Ok(ts("2024-05-15 03:04:05")));
    assert_eq!(floor_timestamp(&t, TimeUnit::Millisecond), Ok(t));
    assert_eq!(floor_timestamp(&t, TimeUnit::Month), Ok(ts("2024-05-01 00:00:00")));
    assert_eq!(floor_timestamp(&t, TimeUnit::Quarter), Ok(ts("2024-04-01 00:00:00")));
    assert_eq!(ceil_timestamp(&t, TimeUnit::Year), Ok(ts("2025-01-01 00:00:00")));
    // 2024-05-15 is a Wednesday: the week starts on Sunday the 12th.
    assert_eq!(floor_timestamp(&t, TimeUnit::Week), Ok(ts("2024-05-12 00:00:00")));
    assert_eq!(ceil_timestamp(&t, TimeUnit::Week), Ok(ts("2024-05-19 00:00:00")));
    let on = ts("2024-05-15 03:00:00");
    assert_eq!(ceil_timestamp(&on, TimeUnit::Hour), Ok(on));
    assert_eq!(floor_date(date("2024-05-15"), TimeUnit::Month), Ok(date("2024-05-01")));
    assert_eq!(ceil_date(date("2024-05-15"), TimeUnit::Month), Ok(date("2024-06-01")));
    assert!(floor_date(date("2024-05-15"), TimeUnit::Hour).is_err());
    assert!(ceil_timestamp(&NaiveDateTime::MAX, TimeUnit::Year).is_err());
}

#[test]
fn local_time_zone() {
    let utc = LocalTimeZone::parse("UTC").unwrap();
    assert_eq!(utc, LocalTimeZone::default());
    let plus8 = LocalTimeZone::parse("+08:00").unwrap();
    let epoch = chrono::DateTime::UNIX_EPOCH;
    assert_eq!(plus8.offset_seconds_at(&epoch), 8 * 3600);
    assert_eq!(LocalTimeZone::parse("GMT-05:30").unwrap().offset_seconds_at(&epoch), -(5 * 3600 + 1800));
    assert_eq!(LocalTimeZone::parse("UTC+8").unwrap(), plus8);
    assert_eq!(LocalTimeZone::parse("+0800").unwrap(), plus8);
    assert!(LocalTimeZone::parse("Asia/Shanghai").is_ok());
    let e = LocalTimeZone::parse("europe/paris").unwrap_err();
    assert!(e.message().contains("region id"), "{e}");
    assert!(LocalTimeZone::parse("+19:00").is_err());
    assert!(LocalTimeZone::parse("nowhere").is_err());
    let instant: DateTime<Utc> = epoch_seconds_to_ltz(0).unwrap();
    assert_eq!(ltz_to_timestamp(&instant, &plus8), ts("1970-01-01 08:00:00"));
    assert_eq!(ltz_to_str(&instant, &plus8, 3), "1970-01-01 08:00:00.000");
    assert_eq!(ltz_to_date(&instant, &LocalTimeZone::parse("-01:00").unwrap()), date("1969-12-31"));
    assert_eq!(timestamp_to_ltz(&ts("1970-01-01 08:00:00"), &plus8), Ok(instant));
    assert_eq!(str_to_ltz("1970-01-01 08:00:00", &plus8), Ok(instant));
    assert_eq!(epoch_millis_to_ltz(1500).unwrap().timestamp_subsec_millis(), 500);
    assert!(epoch_seconds_to_ltz(i64::MAX).is_err());
    let now = current_timestamp();
    assert_eq!(now.timestamp_subsec_nanos() % 1_000_000, 0);
}

fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc)
}

fn local(s: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

#[test]
fn region_zones_follow_daylight_saving() {
    // Flink's time-zone docs: America/Los_Angeles moves 02:00 → 03:00 on 2021-03-14 and 02:00 → 01:00 on 2021-11-07.
    let la = LocalTimeZone::parse("America/Los_Angeles").unwrap();
    assert_eq!(la.to_local(&utc("2021-03-14T09:59:59Z")), local("2021-03-14 01:59:59"));
    assert_eq!(la.to_local(&utc("2021-03-14T10:00:00Z")), local("2021-03-14 03:00:00"));
    assert_eq!(la.to_local(&utc("2021-11-07T08:30:00Z")), local("2021-11-07 01:30:00"));
    assert_eq!(la.to_local(&utc("2021-11-07T09:30:00Z")), local("2021-11-07 01:30:00"));
    assert_eq!(ltz_to_str(&utc("2021-01-01T00:00:00Z"), &la, 3), "2020-12-31 16:00:00.000");
    assert_eq!(ltz_to_date(&utc("2021-07-01T05:00:00Z"), &la), date("2021-06-30"));
    // Java's atZone: a time in the gap moves later by the gap (02:30 → 03:30 PDT); the overlap takes the earlier offset (PDT).
    assert_eq!(timestamp_to_ltz(&local("2021-03-14 02:30:00"), &la).unwrap(), utc("2021-03-14T10:30:00Z"));
    assert_eq!(timestamp_to_ltz(&local("2021-11-07 01:30:00"), &la).unwrap(), utc("2021-11-07T08:30:00Z"));
    assert_eq!(timestamp_to_ltz(&local("2021-11-07 03:00:00"), &la).unwrap(), utc("2021-11-07T11:00:00Z"));
    // Europe/Paris: CET (+01:00) in winter, CEST (+02:00) in summer.
    let paris = LocalTimeZone::parse("Europe/Paris").unwrap();
    assert_eq!(paris.to_local(&utc("2021-01-15T12:00:00Z")), local("2021-01-15 13:00:00"));
    assert_eq!(paris.to_local(&utc("2021-07-15T12:00:00Z")), local("2021-07-15 14:00:00"));
    assert_eq!(str_to_ltz("2021-03-28 02:30:00", &paris).unwrap(), utc("2021-03-28T01:30:00Z"));
    assert_eq!(str_to_ltz("2021-10-31 02:30:00", &paris).unwrap(), utc("2021-10-31T00:30:00Z"));
}
