//! SQL as a Flink user writes it (tests/specs/sql_users.yaml): filters,
//! CASE, string cleanup, timestamps in region time zones with daylight
//! saving, JSON_VALUE over a payload, UNNEST of an array of rows, metadata
//! columns, nested ROW access, DECIMAL money, column lists and NOT NULL
//! sinks — each generated transform run on prepared rows, expected values
//! from Flink's documentation.

use std::str::FromStr;

use kinesis_tables::sql::{RecordError, SqlErrorKind};
use kinesis_tables::types::{DateTime, Decimal, NaiveDate, NaiveDateTime, Utc};
use kinesis_tables_tests::generated::pipelines::*;
use kinesis_tables_tests::generated::{SuLines, SuOrders, SuOrdersItemsItem, SuOrdersShipping, SuOrdersShippingAddress, SuOut};

fn order() -> SuOrders {
    SuOrders {
        order_id: 7,
        customer: None,
        email: None,
        amount: dec("100.00"),
        tax_rate: None,
        currency: None,
        status: None,
        qty: None,
        created_at: None,
        event_time: None,
        payload: None,
        items: None,
        shipping: None,
        arrival: None,
        pkey: None,
    }
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn ts(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn one(r: Result<Option<SuOut>, RecordError>) -> SuOut {
    r.expect("the record does not fail").expect("the record is kept")
}

fn dropped(r: Result<Option<SuOut>, RecordError>) {
    assert!(r.expect("the record does not fail").is_none(), "the WHERE clause drops the record");
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn filters_keep_what_flink_keeps() {
    let paid = SuOrders { status: s("PAID"), amount: dec("150.00"), ..order() };
    assert_eq!(one(transform_su_paid_only(paid.clone())).label, s("PAID"));
    dropped(transform_su_paid_only(SuOrders { amount: dec("100.00"), ..paid.clone() }));
    dropped(transform_su_paid_only(order()));
    assert_eq!(one(transform_su_in_list(SuOrders { currency: s("EUR"), ..order() })).label, s("EUR"));
    assert_eq!(one(transform_su_in_list(order())).label, None, "IS NULL keeps a null currency");
    dropped(transform_su_in_list(SuOrders { currency: s("GBP"), ..order() }));
    assert!(transform_su_like_filter(SuOrders { email: s("ann@example.com"), ..order() }).unwrap().is_some());
    dropped(transform_su_like_filter(SuOrders { email: s("test1@example.com"), ..order() }));
    dropped(transform_su_like_filter(SuOrders { email: s("ann@example.org"), ..order() }));
    dropped(transform_su_like_filter(order()));
    assert_eq!(one(transform_su_between(SuOrders { qty: Some(10), ..order() })).i, Some(10), "BETWEEN is inclusive");
    dropped(transform_su_between(SuOrders { qty: Some(11), ..order() }));
    dropped(transform_su_between(order()));
}

#[test]
fn case_if_and_distinct_from() {
    let tier = |a: &str| one(transform_su_case_tier(SuOrders { amount: dec(a), ..order() })).label;
    assert_eq!((tier("1000.00"), tier("999.99"), tier("5.00")), (s("gold"), s("silver"), s("bronze")));
    let simple = |st: Option<String>| one(transform_su_case_simple(SuOrders { status: st, ..order() })).label;
    assert_eq!((simple(s("P")), simple(s("C")), simple(None)), (s("PAID"), s("CANCELLED"), s("UNKNOWN")));
    assert_eq!(one(transform_su_if(SuOrders { qty: Some(6), ..order() })).label, s("bulk"));
    assert_eq!(one(transform_su_if(order())).label, s("single"), "IF with an unknown condition takes the else branch");
    assert_eq!(one(transform_su_distinct_from(order())).flag, Some(true), "NULL IS DISTINCT FROM 'PAID'");
    assert_eq!(one(transform_su_distinct_from(SuOrders { status: s("PAID"), ..order() })).flag, Some(false));
}

#[test]
fn string_cleanup() {
    let o = one(transform_su_clean_email(SuOrders { email: s("  Ann@Example.COM "), customer: s(" hello wORLD "), ..order() }));
    // INITCAP: first letter of each word upper, the rest lower (Flink's docs).
    assert_eq!((o.label, o.note), (s("ann@example.com"), s("Hello World")));
    let o = one(transform_su_mask(SuOrders { email: s("ann@example.com"), customer: s("Ann \t  Lee"), ..order() }));
    assert_eq!((o.label, o.note), (s("an***"), s("Ann Lee")));
    // SPLIT_INDEX is 0-based; LPAD pads on the left.
    let o = one(transform_su_split(SuOrders { email: s("ann@example.com"), ..order() }));
    assert_eq!((o.label, o.note), (s("example.com"), s("00000007")));
    assert_eq!(one(transform_su_split(order())).label, None);
    let o = one(transform_su_position(SuOrders { email: s("ann@example.com"), ..order() }));
    assert_eq!((o.i, o.label), (Some(4), s("example.com")));
    assert_eq!(one(transform_su_position(SuOrders { email: s("none"), ..order() })).i, Some(0));
    let o = one(transform_su_coalesce_default(SuOrders { customer: s("   "), ..order() }));
    assert_eq!((o.label, o.i), (s("anonymous"), Some(3)));
    let o = one(transform_su_hash(SuOrders { email: s("ann@example.com"), customer: s("Ann"), ..order() }));
    assert_eq!(o.label, s("257c57037d384ae37ea27a07e8a01665"));
    assert_eq!(o.note, s("930cf495fe1e901c28480056784989aa5237dce4c801b469f8be4e9e12f5842f"));
    let o = one(transform_su_try_cast(SuOrders { customer: s("abc"), qty: Some(4), ..order() }));
    assert_eq!((o.i, o.n), (None, Some(8)), "TRY_CAST gives null on a bad value");
    assert_eq!(one(transform_su_try_cast(SuOrders { customer: s("42"), ..order() })).i, Some(42));
}

#[test]
fn timestamps_extract_format_and_parse() {
    let at = SuOrders { created_at: Some(ts("2021-03-14 02:30:15.250")), ..order() };
    let o = one(transform_su_extract(at.clone()));
    assert_eq!((o.n, o.i, o.day), (Some(2021), Some(2), Some(day("2021-03-14"))));
    let o = one(transform_su_date_format(at.clone()));
    assert_eq!((o.label, o.ts), (s("2021-03-14"), Some(ts("2021-03-14 00:00:00.000"))));
    let o = one(transform_su_timestampadd(at));
    assert_eq!((o.ts, o.n), (Some(ts("2021-03-14 04:30:15.250")), Some(1440)));
    let o = one(transform_su_to_timestamp(SuOrders { customer: s("14/03/2021 02:30"), email: s("2021-03-14"), ..order() }));
    assert_eq!((o.ts, o.day), (Some(ts("2021-03-14 02:30:00.000")), Some(day("2021-03-14"))));
}

#[test]
fn region_time_zones_follow_daylight_saving() {
    // table.local-time-zone: America/Los_Angeles — PST (-08:00) until 2021-03-14 02:00, then PDT (-07:00).
    let la = |at: &str, local: Option<&str>| {
        one(transform_su_zone_la(SuOrders { event_time: Some(utc(at)), created_at: local.map(ts), ..order() }))
    };
    let o = la("2021-03-14T09:59:59Z", None);
    assert_eq!((o.label, o.i), (s("2021-03-14 01:59:59.000"), Some(1)));
    let o = la("2021-03-14T10:00:00Z", Some("2021-03-14 02:30:00"));
    assert_eq!((o.label, o.ts, o.i), (s("2021-03-14 03:00:00.000"), Some(ts("2021-03-14 03:00:00.000")), Some(3)));
    // 02:30 does not exist that day: read as 03:30 PDT (Java's atZone, as Flink).
    assert_eq!(o.ltz, Some(utc("2021-03-14T10:30:00Z")));
    // 01:30 on 2021-11-07 happens twice: the earlier (PDT) instant.
    assert_eq!(la("2021-11-07T09:30:00Z", Some("2021-11-07 01:30:00")).ltz, Some(utc("2021-11-07T08:30:00Z")));
    assert_eq!(la("2021-11-07T09:30:00Z", None).label, s("2021-11-07 01:30:00.000"), "PST again after the overlap");
    // Europe/Paris: CET (+01:00) in winter, CEST (+02:00) in summer.
    let paris = |at: &str| one(transform_su_zone_paris(SuOrders { event_time: Some(utc(at)), ..order() }));
    let o = paris("2021-01-15T23:30:00Z");
    assert_eq!((o.label, o.day), (s("2021-01-16 00:30"), Some(day("2021-01-16"))));
    assert_eq!(paris("2021-07-15T12:00:00Z").label, s("2021-07-15 14:00"));
}

#[test]
fn metadata_json_and_nested_rows() {
    let o = one(transform_su_arrival(SuOrders { arrival: Some(utc("2024-05-01T10:00:00Z")), pkey: s("k1"), ..order() }));
    assert_eq!((o.ltz, o.label), (Some(utc("2024-05-01T10:00:00Z")), s("k1")));
    let payload = s(r#"{"type":"click","device":{"os":"ios"},"tags":["x","y"],"count":"12"}"#);
    let o = one(transform_su_json(SuOrders { payload: payload.clone(), ..order() }));
    assert_eq!((o.label, o.note), (s("ios"), s("x")));
    dropped(transform_su_json(SuOrders { payload: s(r#"{"type":"view"}"#), ..order() }));
    dropped(transform_su_json(SuOrders { payload: s("not json"), ..order() }));
    assert_eq!(one(transform_su_json_cast(SuOrders { payload, ..order() })).n, Some(12));
    let shipping = SuOrdersShipping { address: Some(SuOrdersShippingAddress { city: s("Lyon"), country: s("FR") }), method: s("express") };
    let o = one(transform_su_nested(SuOrders { shipping: Some(shipping), ..order() }));
    assert_eq!((o.label, o.note), (s("Lyon"), s("EXPRESS")));
    assert_eq!(one(transform_su_nested(order())).label, None, "a field of a null ROW is null");
    let items = vec![Some(SuOrdersItemsItem { sku: s("a"), qty: Some(2), price: Some(dec("1.50")) })];
    let o = one(transform_su_array_index(SuOrders { items: Some(items), ..order() }));
    assert_eq!((o.label, o.i), (s("a"), Some(1)));
}

#[test]
fn json_value_returning_on_empty_and_on_error() {
    let run = |p: &str| transform_su_json_returning(SuOrders { payload: s(p), ..order() });
    let o = one(run(r#"{"count": 12, "price": "19.995", "vip": true, "device": {"os": "ios"}}"#));
    assert_eq!((o.n, o.money, o.flag, o.label), (Some(12), Some(dec("20.00")), Some(true), s("ios")));
    // Missing: DEFAULT 0 ON EMPTY, NULL ON EMPTY, strict path → DEFAULT FALSE ON ERROR, DEFAULT 'unknown' ON EMPTY.
    let o = one(run("{}"));
    assert_eq!((o.n, o.money, o.flag, o.label), (Some(0), None, Some(false), s("unknown")));
    // Not a BIGINT: DEFAULT -1 ON ERROR.
    assert_eq!(one(run(r#"{"count": "many"}"#)).n, Some(-1));
    // ERROR ON ERROR fails the record, naming the expression.
    let e = run(r#"{"price": "free"}"#).expect_err("ERROR ON ERROR");
    assert_eq!(e.expression, "JSON_VALUE(payload, '$.price' RETURNING DECIMAL(12, 2) NULL ON EMPTY ERROR ON ERROR)", "{e}");
    assert_eq!(e.error.kind(), SqlErrorKind::InvalidArgument, "{e}");
    // A null payload is null whatever the clauses (JSON_VALUE is strict in its input).
    let o = one(transform_su_json_returning(order()));
    assert_eq!((o.n, o.money, o.flag, o.label), (None, None, None, None));
}

#[test]
fn unnest_of_an_array_of_rows_gives_one_row_per_element() {
    let item = |sku: Option<&str>, qty: Option<i32>, price: &str| {
        Some(SuOrdersItemsItem { sku: sku.map(str::to_string), qty, price: Some(dec(price)) })
    };
    let items = vec![
        item(Some("a"), Some(2), "1.50"),
        item(None, Some(1), "9.00"),
        None,
        item(Some("b"), None, "1.00"),
        item(Some("c"), Some(3), "2.00"),
    ];
    let out = transform_su_unnest(SuOrders { items: Some(items), ..order() }).unwrap();
    let got: Vec<_> = out.iter().map(|l: &SuLines| (l.order_id, l.sku.as_str(), l.qty, l.line_total.clone())).collect();
    assert_eq!(got, vec![(7, "a", 2, Some(dec("3.00"))), (7, "c", 3, Some(dec("6.00")))]);
    assert!(transform_su_unnest(order()).unwrap().is_empty(), "a null array gives no row");
}

#[test]
fn money_arithmetic_rounds_half_up_and_column_lists_map_by_name() {
    let o = one(transform_su_money(SuOrders { amount: dec("19.99"), tax_rate: Some(dec("0.083")), ..order() }));
    // 19.99 × 1.083 = 21.64917, CAST to DECIMAL(12, 2) rounds half up.
    assert_eq!(o.money, Some(dec("21.65")));
    assert_eq!(one(transform_su_money(order())).money, None);
    let o = one(transform_su_money_round(SuOrders { amount: dec("100.00"), ..order() }));
    assert_eq!((o.money, o.n), (Some(dec("33.33")), Some(10000)));
    let o = one(transform_su_column_list(SuOrders { customer: s("Ann"), ..order() }));
    assert_eq!((o.order_id, o.label, o.flag, o.note), (7, s("Ann"), Some(true), None));
    let l = transform_su_not_null_sink(SuOrders { qty: Some(2), ..order() }).unwrap().expect("kept");
    assert_eq!((l.sku.as_str(), l.qty, l.line_total), ("?", 2, None));
    assert!(transform_su_not_null_sink(order()).unwrap().is_none(), "qty IS NOT NULL drops a null qty");
}

#[test]
fn null_into_row_and_array_of_row_columns() {
    let o = transform_su_null_row(order()).unwrap().expect("kept");
    assert_eq!(o.order_id, 7);
    assert!(o.shipping.is_none() && o.items.is_none());
}

#[test]
fn patterns_formats_and_paths_from_a_column_compile_per_record() {
    let row = |customer: &str, status: &str, currency: &str| SuOrders {
        customer: s(customer),
        status: s(status),
        currency: s(currency),
        ..order()
    };
    let o = one(transform_su_dynamic_patterns(row("ab-12", "([a-z]+)-(\\d+)", "yyyy")));
    assert_eq!((o.label, o.note), (s("ab"), s("yyyy")));
    // The same column patterns again (the cached ones), then others.
    assert_eq!(one(transform_su_dynamic_patterns(row("cd-3", "([a-z]+)-(\\d+)", "yyyy"))).label, s("cd"));
    let o = one(transform_su_dynamic_patterns(row("x9", "(\\d)", "#")));
    assert_eq!((o.label, o.note), (s("9"), s("x#")));
    // A bad pattern from the record fails the record, the error naming it.
    let e = transform_su_dynamic_patterns(row("a", "(a", "x")).expect_err("a bad pattern fails the record");
    assert_eq!(e.error.kind(), SqlErrorKind::InvalidPattern, "{e}");
    assert!(e.to_string().contains("(a"), "{e}");
    // JSON path from a column (the partition key here); a bad one fails the record naming it.
    let json =
        |path: &str| transform_su_dynamic_patterns(SuOrders { pkey: s(path), payload: s(r#"{"p": 1.005}"#), ..row("a", "(a)", "b") });
    assert_eq!(one(json("$.p")).money, Some(dec("1.01")));
    assert_eq!(one(json("$.q")).money, None);
    let e = json("p").expect_err("not a JSON path");
    assert!(e.to_string().contains("invalid JSON path 'p'"), "{e}");
    // Formats from columns: DATE_FORMAT and TO_DATE take `currency`, TO_TIMESTAMP takes `status`.
    let fmt = |currency: &str, status: &str, email: &str| SuOrders {
        created_at: Some(ts("2024-05-01 10:30:00")),
        currency: s(currency),
        status: s(status),
        email: s(email),
        ..order()
    };
    let o = one(transform_su_dynamic_format(fmt("dd/MM/yyyy", "dd/MM/yyyy", "01/05/2024")));
    assert_eq!((o.label, o.ts, o.day), (s("01/05/2024"), Some(ts("2024-05-01 00:00:00.000")), Some(day("2024-05-01"))));
    let o = one(transform_su_dynamic_format(fmt("HH:mm", "yyyy-MM-dd HH:mm", "2024-05-01 10:30")));
    assert_eq!((o.label, o.ts), (s("10:30"), Some(ts("2024-05-01 10:30:00.000"))));
    assert_eq!(one(transform_su_dynamic_format(order())).label, None, "a null format gives null");
    let e = transform_su_dynamic_format(fmt("yyyy-MM-dd z", "x", "x")).expect_err("a zone field in a TIMESTAMP format");
    assert!(e.to_string().contains("yyyy-MM-dd z"), "{e}");
}

#[test]
fn flink_spellings_ifnull_now_epoch_backticks() {
    let o = one(transform_su_ifnull(order()));
    assert_eq!((o.label, o.note), (s("n/a"), s("Order #7")));
    assert_eq!(one(transform_su_ifnull(SuOrders { status: s("PAID"), ..order() })).label, s("PAID"));
    // Flink's docs: TO_TIMESTAMP_LTZ(1234567890123, 3) is 2009-02-13 23:31:30.123 UTC.
    let o = one(transform_su_epoch(SuOrders { order_id: 1_234_567_890_123, customer: s("Ann"), ..order() }));
    assert_eq!((o.ltz, o.label), (Some(utc("2009-02-13T23:31:30.123Z")), s("nn")));
    // FROM_UNIXTIME in the session zone (Europe/Paris here): 44 s after the epoch is 01:00:44 CET (Flink's docs: '1970-01-01 00:00:44' in UTC).
    let o = one(transform_su_unixtime(SuOrders { order_id: 44, qty: Some(1_625_140_800), ..order() }));
    assert_eq!((o.label, o.note), (s("1970-01-01 01:00:44"), s("2021-07-01")));
    assert!(o.n.is_some_and(|n| n > 1_600_000_000), "UNIX_TIMESTAMP() is the processing time in seconds");
    let o = one(transform_su_now(order()));
    let (now, local, today) = (o.ltz.expect("NOW()"), o.ts.expect("LOCALTIMESTAMP"), o.day.expect("CURRENT_DATE"));
    // Asia/Kolkata is UTC+05:30 all year: LOCALTIMESTAMP is NOW() read there (read a moment later), CURRENT_DATE its day.
    let offset = (local - now.naive_utc()).num_minutes();
    assert!((330..=331).contains(&offset), "LOCALTIMESTAMP is {offset} minutes from UTC");
    assert!(local.date().signed_duration_since(today).num_days().abs() <= 1, "CURRENT_DATE {today} is the day of {local}");
    assert_eq!(one(transform_su_backticks(SuOrders { status: s("P"), qty: Some(2), ..order() })).label, s("P"));
    dropped(transform_su_backticks(SuOrders { qty: Some(1), ..order() }));
}

#[test]
fn rows_and_arrays_of_rows_copy_into_another_tables_columns() {
    let shipping = SuOrdersShipping { address: Some(SuOrdersShippingAddress { city: s("Lyon"), country: None }), method: s("post") };
    let items = vec![Some(SuOrdersItemsItem { sku: s("a"), qty: Some(2), price: Some(dec("1.50")) }), None];
    let o = transform_su_row_copy(SuOrders { shipping: Some(shipping), items: Some(items), ..order() }).unwrap().expect("kept");
    let ship = o.shipping.expect("shipping");
    let address = ship.address.expect("address");
    assert_eq!((address.city, address.country, ship.method), (s("Lyon"), None, s("post")));
    let items = o.items.expect("items");
    assert_eq!(items.len(), 2);
    let first = items[0].as_ref().expect("first item");
    assert_eq!((first.sku.as_deref(), first.qty, first.price.clone()), (Some("a"), Some(2), Some(dec("1.50"))));
    assert!(items[1].is_none(), "a null element stays null");
    let o = transform_su_row_copy(order()).unwrap().expect("kept");
    assert!(o.shipping.is_none() && o.items.is_none());
}
