//! SQL pipelines (tests/specs/sql.yaml): the generated `transform_<name>`
//! functions on prepared rows, one test per operator group over null,
//! boundary and error cases (expected values from Flink's documentation;
//! where this project deliberately differs — overflow fails the record —
//! the test says so), and the `sq_orders` pipeline binary on both emulators.

use std::str::FromStr;

use kinesis_tables::sql::{RecordError, SqlErrorKind};
use kinesis_tables::types::{DateTime, Decimal, NaiveDate, NaiveDateTime, Utc};
use kinesis_tables_tests::generated::pipelines::*;
use kinesis_tables_tests::generated::{SqIn, SqInAddress, SqO};

fn row() -> SqIn {
    SqIn {
        id: 1,
        s: None,
        s2: None,
        code: "XY".into(),
        i: None,
        j: None,
        t: None,
        b: None,
        d: None,
        dec: None,
        dec2: None,
        flag: None,
        flag2: None,
        day: None,
        at: None,
        ltz: None,
        tags: None,
        address: None,
        shard: String::new(),
    }
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn ts(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}

/// The one output row of a transform that keeps the record.
fn one(r: Result<Option<SqO>, RecordError>) -> SqO {
    r.expect("the record does not fail").expect("the record is kept")
}

fn fails(r: Result<Option<SqO>, RecordError>, expression: &str, kind: SqlErrorKind) {
    let e = r.expect_err("the record fails");
    assert_eq!(e.expression, expression, "{e}");
    assert_eq!(e.error.kind(), kind, "{e}");
}

#[test]
fn arithmetic_follows_flink_types_and_fails_on_overflow_and_division_by_zero() {
    let o = one(transform_sq_arith(SqIn {
        b: Some(40),
        i: Some(7),
        j: Some(2),
        d: Some(1.25),
        dec: Some(dec("12.34")),
        dec2: Some(dec("1.500")),
        ..row()
    }));
    assert_eq!(o.n, Some(47));
    // INT / INT is an INT, truncated toward zero (Flink).
    assert_eq!(o.i, Some(3));
    assert_eq!(o.x, Some(2.5));
    // DECIMAL(10, 2) * DECIMAL(5, 3) is DECIMAL(16, 5).
    assert_eq!(o.m, Some(dec("18.51000")));
    assert_eq!(o.ok, Some(true));
    let o = one(transform_sq_arith(SqIn { i: Some(-7), j: Some(2), ..row() }));
    assert_eq!(o.i, Some(-3));
    assert_eq!(o.ok, Some(false), "MOD(-7, 2) is -1 (the dividend's sign)");
    // Null in, null out.
    let o = one(transform_sq_arith(row()));
    assert_eq!((o.n, o.i, o.x, o.m, o.ok), (None, None, None, None, None));
    // Division by zero fails the record (Flink: an error too).
    fails(transform_sq_arith(SqIn { i: Some(1), j: Some(0), ..row() }), "i / j", SqlErrorKind::DivisionByZero);
    // Overflow fails the record (Flink wraps around: a deliberate difference).
    fails(transform_sq_arith(SqIn { b: Some(i64::MAX), i: Some(1), ..row() }), "b + CAST(i AS BIGINT)", SqlErrorKind::Overflow);
    fails(transform_sq_tiny(SqIn { t: Some(100), ..row() }), "t + t", SqlErrorKind::Overflow);
    assert_eq!(one(transform_sq_tiny(SqIn { t: Some(-60), ..row() })).i, Some(-120));
    fails(transform_sq_neg(SqIn { b: Some(i64::MIN), ..row() }), "-b", SqlErrorKind::Overflow);
    let o = one(transform_sq_neg(SqIn { b: Some(5), i: Some(-3), dec: Some(dec("1.50")), ..row() }));
    assert_eq!((o.n, o.i, o.m), (Some(-5), Some(3), Some(dec("-1.50"))));
}

#[test]
fn decimal_division_derives_flink_scale_and_doubles_contaminate() {
    // DECIMAL(10, 2) / DECIMAL(5, 3): scale max(6, 2 + 5 + 1) = 8.
    let o = one(transform_sq_decimal_div(SqIn { dec: Some(dec("10.00")), dec2: Some(dec("3.000")), d: Some(0.5), ..row() }));
    assert_eq!(o.m, Some(dec("3.33333333")));
    assert_eq!(o.x, Some(10.5), "DECIMAL + DOUBLE is a DOUBLE");
    fails(
        transform_sq_decimal_div(SqIn { dec: Some(dec("1.00")), dec2: Some(dec("0.000")), ..row() }),
        "dec / dec2",
        SqlErrorKind::DivisionByZero,
    );
}

#[test]
fn and_or_not_case_follow_three_valued_logic() {
    let cases = [
        (Some(true), Some(true), Some(true), Some(true)),
        (Some(true), None, None, Some(true)),
        (Some(false), None, Some(false), None),
        (None, None, None, None),
        (Some(false), Some(false), Some(false), Some(false)),
    ];
    for (a, b, and, or) in cases {
        let o = one(transform_sq_logic(SqIn { flag: a, flag2: b, ..row() }));
        assert_eq!((o.ok, o.ok2), (and, or), "{a:?} AND/OR {b:?}");
    }
    assert_eq!(one(transform_sq_logic(SqIn { flag: Some(true), ..row() })).s.as_deref(), Some("yes"));
    assert_eq!(one(transform_sq_logic(SqIn { flag: Some(false), ..row() })).s.as_deref(), Some("no"));
    assert_eq!(one(transform_sq_logic(row())).s, None, "no branch matches a null condition and there is no ELSE");
    let o = one(transform_sq_not(row()));
    assert_eq!((o.ok, o.ok2), (None, Some(true)), "NOT NULL is NULL; NULL IS NOT TRUE is TRUE");
}

#[test]
fn null_handling_functions() {
    let o = one(transform_sq_nulls(row()));
    assert_eq!(o.ok, Some(false), "NULL IS DISTINCT FROM NULL is FALSE");
    assert_eq!(o.ok2, Some(true));
    assert_eq!(o.s.as_deref(), Some("none"));
    let o = one(transform_sq_nulls(SqIn { s: Some("a".into()), b: Some(0), flag: None, i: Some(1), j: Some(2), ..row() }));
    assert_eq!(o.ok, Some(true), "'a' IS DISTINCT FROM NULL is TRUE");
    assert_eq!(o.n, None, "NULLIF(0, 0) is NULL");
    assert_eq!(o.i, Some(2), "IF(NULL, …) takes the else branch");
    assert_eq!(o.s.as_deref(), Some("a"));
    let o = one(transform_sq_nulls(SqIn { b: Some(5), flag: Some(true), i: Some(1), s2: Some("b".into()), ..row() }));
    assert_eq!((o.n, o.i, o.s.as_deref()), (Some(5), Some(1), Some("b")));
}

#[test]
fn in_and_between() {
    let o = one(transform_sq_in_between(SqIn { i: Some(2), ..row() }));
    assert_eq!((o.ok, o.ok2), (Some(true), Some(false)));
    let o = one(transform_sq_in_between(SqIn { i: Some(4), ..row() }));
    assert_eq!((o.ok, o.ok2), (Some(false), Some(true)));
    let o = one(transform_sq_in_between(row()));
    assert_eq!((o.ok, o.ok2), (None, None), "NULL IN (…) and NULL BETWEEN are NULL");
}

#[test]
fn string_operators_and_functions() {
    let o = one(transform_sq_strings(SqIn { s: Some("héllo".into()), s2: Some("xyx".into()), ..row() }));
    assert_eq!(o.s.as_deref(), Some("HÉLLO-xy"));
    assert_eq!(o.s2.as_deref(), Some("éll"), "SUBSTRING('héllo' FROM 2 FOR 3)");
    assert_eq!(o.i, Some(5), "CHAR_LENGTH counts characters");
    assert_eq!((o.ok, o.ok2), (Some(false), Some(true)));
    let o = one(transform_sq_strings(SqIn { s: Some("abc".into()), ..row() }));
    assert_eq!((o.ok, o.ok2), (Some(true), None));
    let o = one(transform_sq_strings(row()));
    assert_eq!((o.s, o.s2, o.i, o.ok), (None, None, None, None), "|| with NULL is NULL");
    let o = one(transform_sq_string_fns(SqIn { s: Some("xxbananaxx".into()), ..row() }));
    assert_eq!(o.s.as_deref(), Some("xxbananaxx/XY"), "CONCAT_WS skips NULL arguments");
    assert_eq!(o.s2.as_deref(), Some("banana"));
    assert_eq!(o.i, Some(13), "REPLACE('xxbananaxx', 'a', 'bb')");
    let o = one(transform_sq_regex(SqIn { s: Some("foo-123 bar-4".into()), ..row() }));
    assert_eq!(o.s.as_deref(), Some("123"));
    assert_eq!(o.s2.as_deref(), Some("foo-### bar-#"));
    assert_eq!(one(transform_sq_regex(SqIn { s: Some("none".into()), ..row() })).s, None, "no match is NULL");
}

#[test]
fn cast_fails_the_record_and_try_cast_gives_null() {
    let o = one(transform_sq_casts(SqIn { s: Some("42".into()), s2: Some("1.235".into()), dec: Some(dec("12.30")), ..row() }));
    assert_eq!(o.i, Some(42));
    assert_eq!(o.x, Some(1.235));
    assert_eq!(o.m, Some(dec("1.24")), "CAST to DECIMAL(10, 2) rounds half up");
    assert_eq!(o.s.as_deref(), Some("12.30"));
    fails(transform_sq_casts(SqIn { s: Some("abc".into()), ..row() }), "CAST(s AS INT)", SqlErrorKind::InvalidCast);
    fails(transform_sq_casts(SqIn { s2: Some("x".into()), ..row() }), "CAST(s2 AS DECIMAL(10, 2))", SqlErrorKind::InvalidCast);
    let o = one(transform_sq_try_cast(SqIn { s: Some("abc".into()), d: Some(2.9), ..row() }));
    assert_eq!(o.i, None, "TRY_CAST('abc' AS INT) is NULL");
    assert_eq!(o.n, Some(2), "CAST(2.9 AS BIGINT) truncates");
    fails(transform_sq_try_cast(SqIn { d: Some(1e20), ..row() }), "CAST(d AS BIGINT)", SqlErrorKind::InvalidCast);
}

#[test]
fn like_with_a_pattern_from_the_record() {
    let o = one(transform_sq_like_column(SqIn { s: Some("abc".into()), s2: Some("a_c".into()), ..row() }));
    assert_eq!((o.ok, o.ok2), (Some(true), Some(false)));
    let o = one(transform_sq_like_column(SqIn { s: Some("abc".into()), ..row() }));
    assert_eq!((o.ok, o.ok2), (None, None), "a NULL pattern gives NULL");
    fails(
        transform_sq_like_column(SqIn { s: Some("a".into()), s2: Some("a\\".into()), ..row() }),
        "s LIKE s2",
        SqlErrorKind::InvalidPattern,
    );
}

#[test]
fn numeric_functions() {
    let o = one(transform_sq_numeric(SqIn { b: Some(-7), d: Some(2.45), i: Some(-3), dec: Some(dec("12.35")), ..row() }));
    assert_eq!(o.n, Some(7));
    assert_eq!(o.x, Some(2.5), "ROUND(2.45, 1) rounds half up, as Flink");
    assert_eq!(o.i, Some(-1));
    assert_eq!(o.m, Some(dec("12.4")));
    assert_eq!(o.ok, Some(false));
    fails(transform_sq_numeric(SqIn { b: Some(i64::MIN), ..row() }), "ABS(b)", SqlErrorKind::Overflow);
}

#[test]
fn temporal_functions() {
    let at = ts("2024-03-05 13:45:30.123");
    let o = one(transform_sq_temporal(SqIn { at: Some(at), s2: Some("2024-01-02".into()), ..row() }));
    assert_eq!(o.n, Some(2024));
    assert_eq!(o.s.as_deref(), Some("2024-03-05 13:45"));
    assert_eq!(o.ts, Some(ts("2024-03-05 13:00:00.000")));
    assert_eq!(o.ts2, Some(ts("2024-03-06 13:45:30.123")));
    assert_eq!(o.day, NaiveDate::from_ymd_opt(2024, 1, 2));
    assert_eq!(o.i, Some(24));
    let o = one(transform_sq_temporal(row()));
    assert_eq!((o.n, o.s, o.ts, o.day), (None, None, None, None));
    // TIMESTAMP_LTZ read in `table.local-time-zone: +08:00`.
    let ltz: DateTime<Utc> = "2024-03-05T20:30:00Z".parse().unwrap();
    let o = one(transform_sq_zone(SqIn { ltz: Some(ltz), ..row() }));
    assert_eq!((o.n, o.s.as_deref()), (Some(4), Some("04:30")));
    assert_eq!(o.ts, Some(ts("2024-03-06 04:30:00.000")), "CAST(TIMESTAMP_LTZ AS TIMESTAMP) in the local time zone");
    assert_eq!(o.s2.as_deref(), Some("2024-03-06 04:30:00.000"));
}

#[test]
fn typed_literals_and_bytes() {
    let r = SqIn { day: NaiveDate::from_ymd_opt(2024, 1, 1), at: Some(ts("2024-03-05 12:00:00.000")), s: Some("é".into()), ..row() };
    let o = one(transform_sq_literals(r));
    assert_eq!((o.ok, o.ok2, o.s.as_deref()), (Some(true), Some(false), Some("é")));
    let o = one(transform_sq_literals(SqIn { day: NaiveDate::from_ymd_opt(2023, 12, 31), ..row() }));
    assert_eq!((o.ok, o.ok2, o.s), (Some(false), None, None));
}

#[test]
fn decimal_literals() {
    let o = one(transform_sq_dec_literals(SqIn { dec: Some(dec("12.34")), d: Some(2.0), ..row() }));
    // DECIMAL(10, 2) + DECIMAL(4, 3) is DECIMAL(12, 3); DOUBLE * DECIMAL is a DOUBLE.
    assert_eq!((o.ok, o.m, o.x), (Some(true), Some(dec("12.345")), Some(3.0)));
    let o = one(transform_sq_dec_literals(row()));
    assert_eq!((o.ok, o.m, o.x), (None, None, None));
}

#[test]
fn rows_arrays_and_json() {
    let r = SqIn {
        tags: Some(vec![Some("a".into()), None]),
        address: Some(SqInAddress { city: Some("Oslo".into()), zip: Some(150) }),
        ..row()
    };
    let o = one(transform_sq_nested(r));
    assert_eq!((o.s.as_deref(), o.s2.as_deref(), o.i, o.n), (Some("a"), Some("Oslo"), Some(2), Some(150)));
    let o = one(transform_sq_nested(SqIn { tags: Some(vec![]), ..row() }));
    assert_eq!((o.s, o.s2, o.i), (None, None, Some(0)), "an index past the end is NULL");
    let o = one(transform_sq_json(SqIn { s: Some(r#"{"a": {"b": "x"}}"#.into()), ..row() }));
    assert_eq!(o.s.as_deref(), Some("x"));
    assert_eq!(one(transform_sq_json(SqIn { s: Some("not json".into()), ..row() })).s, None);
}

#[test]
fn where_keeps_only_true() {
    assert!(transform_sq_where(SqIn { s: Some("a".into()), i: Some(1), ..row() }).unwrap().is_some());
    assert!(transform_sq_where(SqIn { s: Some("a".into()), i: Some(0), ..row() }).unwrap().is_none(), "FALSE OR NULL is NULL: dropped");
    assert!(transform_sq_where(SqIn { s: None, i: Some(1), ..row() }).unwrap().is_none());
}

#[test]
fn cross_join_unnest_gives_one_row_per_element() {
    let r = SqIn {
        id: 9,
        tags: Some(vec![Some("a".into()), None, Some("skip".into()), Some("b".into())]),
        address: Some(SqInAddress { city: Some("Oslo".into()), zip: None }),
        ..row()
    };
    let out = transform_sq_star(r).unwrap();
    let tags: Vec<_> = out.iter().map(|t| (t.id, t.tag.as_str(), t.city.as_deref())).collect();
    assert_eq!(tags, [(9, "a", Some("Oslo")), (9, "b", Some("Oslo"))]);
    assert!(transform_sq_star(row()).unwrap().is_empty(), "a NULL array gives no rows");
}

#[test]
fn the_orders_pipeline_transform() {
    use kinesis_tables_tests::generated::SqOrders;
    let o = transform_sq_orders(SqOrders { order_id: 1, customer: Some("bob".into()), amount: dec("1500.00"), qty: 4 }).unwrap().unwrap();
    assert_eq!((o.customer.as_str(), o.total_cents, o.per_item), ("BOB", 150_000, Some(dec("375.00000000"))));
    assert!(transform_sq_orders(SqOrders { order_id: 2, customer: Some("al".into()), amount: dec("999.99"), qty: 1 }).unwrap().is_none());
    assert!(transform_sq_orders(SqOrders { order_id: 3, customer: None, amount: dec("5000"), qty: 1 }).unwrap().is_none());
    let e = transform_sq_orders(SqOrders { order_id: 4, customer: Some("z".into()), amount: dec("1000"), qty: 0 }).unwrap_err();
    assert_eq!(e.expression, "amount / qty");
}

mod process {
    //! `sq_orders` as a binary (tests/src/bin/kt_sql_pipeline.rs) on an
    //! emulator: the big orders arrive transformed; a record whose
    //! expression fails stops the pipeline naming the expression, or is
    //! skipped and counted with `--on-data-loss continue`.

    use std::process::Stdio;
    use std::str::FromStr;
    use std::time::Duration;

    use kinesis_tables::sink::Sink;
    use kinesis_tables::source::Source;
    use kinesis_tables::types::Decimal;
    use kinesis_tables_tests::emulator::{Emulator, Kind};
    use kinesis_tables_tests::generated::{SqBig, SqOrders};
    use kinesis_tables_tests::rt;

    async fn run(emu: &Emulator, dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kt_sql_pipeline"));
        cmd.arg("--checkpoint-dir").arg(dir).args(["--stop-when-idle", "1500ms"]).args(extra);
        rt::aws_env(&mut cmd, &emu.endpoint());
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        tokio::time::timeout(Duration::from_secs(120), cmd.output()).await.expect("the pipeline ends by idleness").unwrap()
    }

    async fn write(emu: &Emulator, records: &[SqOrders]) {
        let cfg = rt::config_for::<SqOrders>(&emu.endpoint(), "sq-orders");
        let mut sink = Sink::<SqOrders>::with_client(rt::clients(&cfg).await.0, &cfg);
        for r in records {
            sink.send(r).await.unwrap();
        }
        sink.close().await.unwrap();
    }

    async fn read(emu: &Emulator, want: usize) -> Vec<SqBig> {
        let cfg = rt::config_for::<SqBig>(&emu.endpoint(), "sq-big");
        let (_, client) = rt::clients(&cfg).await;
        let mut source = Source::<SqBig>::builder().config(cfg).client(client).start().await.unwrap();
        let mut out = Vec::new();
        while out.len() < want {
            match tokio::time::timeout(Duration::from_secs(4), source.next()).await {
                Ok(Ok(batch)) => {
                    out.extend(batch.records);
                    source.ack(batch.ack);
                }
                _ => break,
            }
        }
        out
    }

    fn order(n: i64) -> SqOrders {
        let customer = if n % 7 == 0 { None } else { Some(format!("c{}", n % 5)) };
        SqOrders { order_id: n, customer, amount: Decimal::from(n * 40), qty: (n % 3 + 1) as i32 }
    }

    /// What the SQL gives, written by hand.
    fn expected(o: &SqOrders) -> Option<SqBig> {
        let customer = o.customer.as_ref()?;
        // Orders are whole amounts: n * 40.
        let whole = o.order_id * 40;
        if whole < 1000 {
            return None;
        }
        let cents = whole * 100;
        let q = i64::from(o.qty);
        let scaled = (whole * 100_000_000 * 2 + q) / (2 * q);
        let per_item = Decimal::from_str(&format!("{}.{:08}", scaled / 100_000_000, scaled % 100_000_000)).ok()?;
        Some(SqBig { order_id: o.order_id, customer: customer.to_uppercase(), total_cents: cents, per_item: Some(per_item) })
    }

    async fn sql_pipeline(kind: Kind) {
        let emu = Emulator::start(kind).await.unwrap();
        emu.create_stream("sq-orders", 2).await.unwrap();
        emu.create_stream("sq-big", 1).await.unwrap();
        let dir = std::env::temp_dir().join(format!("kt-sql-pipeline-{}-{}", kind.name(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let orders: Vec<SqOrders> = (1..=120).map(order).collect();
        write(&emu, &orders).await;
        let out = run(&emu, &dir, &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{kind}: {}: {stderr}", out.status);
        let mut want: Vec<SqBig> = orders.iter().filter_map(expected).collect();
        assert!(stderr.contains(&format!("120 in, {} out", want.len())), "{kind}: {stderr}");
        let mut got = read(&emu, want.len()).await;
        got.sort_by_key(|b| b.order_id);
        want.sort_by_key(|b| b.order_id);
        assert_eq!(got, want, "{kind}: the big orders, transformed");

        // A big order with qty 0: `amount / qty` divides by zero.
        write(&emu, &[SqOrders { order_id: 999, customer: Some("z".into()), amount: Decimal::from_str("5000").unwrap(), qty: 0 }]).await;
        let out = run(&emu, &dir, &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{kind}: the failing record stops the pipeline: {stderr}");
        assert!(stderr.contains("amount / qty") && stderr.contains("division by zero") && stderr.contains("shard"), "{kind}: {stderr}");
        let out = run(&emu, &dir, &["--on-data-loss", "continue"]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{kind}: {stderr}");
        assert!(stderr.contains("1 in, 0 out") && stderr.contains("1 skipped"), "{kind}: skipped and counted: {stderr}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    kinesis_tables_tests::on_each_emulator!(sq_orders_binary, sql_pipeline);
}
