//! The generated JSON codec against the library a Rust user would otherwise
//! pick, on the same records in the same run: `#[derive(Serialize,
//! Deserialize)]` with `serde_json`, and the same derive with `sonic-rs`
//! (a SIMD JSON library). Two record shapes: `bench_row` (6 columns) and
//! `bench_wide` (40 columns with a nested ROW, arrays, decimals and
//! timestamps). Report: generated time / serde_json time, and MB/s.
//!
//! Time is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not
//! wall time, so that other work on a shared machine does not skew a ratio.
//!
//! The serde structs hold the same values: chrono's `NaiveDateTime` and
//! `NaiveDate` (with chrono's serde support, hence ISO-8601 timestamps in
//! `bench_wide`), and `f64` for the DECIMAL columns, serde_json's fastest
//! number path (an exact decimal would need `arbitrary_precision`, slower
//! still). The generated decoder also checks lengths, precision and scale.
//!
//! Also: a record whose DECIMAL column holds a 1 MB mantissa with a matching
//! negative exponent (a value near 1, the input that made `parse_decimal`
//! quadratic), decoded by the generated decoder (refused: more digits than
//! DECIMAL(12, 2) holds) against `serde_json` merely parsing the same bytes
//! into a `Value`, and the same at 100 KB: both ratios near 1 and a tenfold
//! step between the sizes mean linear time.

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkGroup, Criterion, Throughput, black_box, criterion_group, criterion_main};
use kinesis_tables::Record;
use kinesis_tables_tests::generated::{BenchCsv, BenchRow, BenchWide};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The calling thread's CPU time.
struct ThreadCpu;

fn thread_cpu_now() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid, writable timespec; the clock id is a constant
    // every Linux kernel since 2.6.12 supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

impl Measurement for ThreadCpu {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, i: Duration) -> Duration {
        thread_cpu_now() - i
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Formats nanoseconds of CPU time like criterion's wall-time formatter.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if ns < 1e3 {
            (1.0, "ns")
        } else if ns < 1e6 {
            (1e-3, "µs")
        } else if ns < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }
    fn scale_throughputs(&self, ns: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        match *t {
            Throughput::Bytes(b) | Throughput::BytesDecimal(b) => {
                // bytes per ns → MB/s
                let _ = ns;
                values.iter_mut().for_each(|v| *v = b as f64 / *v * 1e9 / 1e6);
                "MB/s"
            }
            Throughput::Elements(e) => {
                values.iter_mut().for_each(|v| *v = e as f64 / *v * 1e9);
                "elem/s"
            }
        }
    }
    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Hand {
    id: i64,
    user: Option<String>,
    score: Option<f64>,
    active: bool,
    count: Option<i32>,
    tags: Vec<String>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Screen {
    w: Option<i32>,
    h: Option<i32>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Device {
    vendor: Option<String>,
    model: Option<String>,
    os: Option<String>,
    version: Option<i32>,
    screen: Option<Screen>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Location {
    lat: f64,
    lon: f64,
    accuracy: Option<f32>,
}

/// `bench_wide` for serde: chrono timestamps and dates, DECIMALs as f64.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct HandWide {
    id: i64,
    account: String,
    user_name: Option<String>,
    email: Option<String>,
    country: Option<String>,
    city: Option<String>,
    street: Option<String>,
    agent: Option<String>,
    referrer: Option<String>,
    event_type: String,
    session_id: Option<String>,
    page: Option<String>,
    seq: Option<i64>,
    clicks: Option<i32>,
    scrolls: Option<i32>,
    views: i32,
    errors: Option<i16>,
    retries: Option<i8>,
    latency_ms: Option<f64>,
    cpu: Option<f64>,
    memory: Option<f64>,
    ratio: Option<f32>,
    price: Option<f64>,
    tax: Option<f64>,
    discount: Option<f64>,
    total: f64,
    paid: Option<bool>,
    mobile: bool,
    bot: Option<bool>,
    consent: Option<bool>,
    created_at: chrono::NaiveDateTime,
    updated_at: Option<chrono::NaiveDateTime>,
    seen_at: Option<chrono::NaiveDateTime>,
    birthday: Option<chrono::NaiveDate>,
    tags: Option<Vec<Option<String>>>,
    scores: Option<Vec<i32>>,
    flags: Option<Vec<Option<bool>>>,
    prices: Option<Vec<Option<f64>>>,
    device: Option<Device>,
    location: Option<Location>,
}

fn rows() -> (Vec<BenchRow>, Vec<Hand>) {
    let mut g = Vec::new();
    let mut h = Vec::new();
    for i in 0..1000i64 {
        let user = if i % 5 == 0 { None } else { Some(format!("user-{i} \"quoted\"")) };
        let tags: Vec<String> = (0..(i % 4)).map(|t| format!("tag{t}")).collect();
        g.push(BenchRow {
            id: i,
            user: user.clone(),
            score: Some(i as f64 * 1.25),
            active: i % 2 == 0,
            count: Some(i as i32),
            tags: tags.clone(),
        });
        h.push(Hand { id: i, user, score: Some(i as f64 * 1.25), active: i % 2 == 0, count: Some(i as i32), tags });
    }
    (g, h)
}

/// 1,000 `bench_wide` records as JSON text, about 1 KB each.
fn wide_records() -> Vec<Vec<u8>> {
    (0..1000i64)
        .map(|i| {
            let referrer = if i % 3 == 0 { "null".to_string() } else { format!("\"https://example.com/search?q=item+{i}\"") };
            let tags = (0..(i % 5)).map(|t| format!("\"tag-{t}\"")).collect::<Vec<_>>().join(",");
            format!(
                concat!(
                    r#"{{"id":{i},"account":"acct-{a}","user_name":"User Number {i}","email":"user{i}@example.com","country":"DE","#,
                    r#""city":"Berlin","street":"Main \"Street\" {i}","agent":"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0","#,
                    r#""referrer":{referrer},"event_type":"click","session_id":"5f1c9a2e-{i:08}","page":"/products/{i}/details","seq":{seq},"#,
                    r#""clicks":3,"scrolls":{s},"views":40,"errors":0,"retries":1,"latency_ms":{lat},"cpu":0.25,"memory":512.75,"ratio":0.5,"#,
                    r#""price":19.99,"tax":3.8,"discount":null,"total":{total}.456789,"paid":true,"mobile":false,"bot":null,"consent":true,"#,
                    r#""created_at":"2024-05-01T12:34:56.789","updated_at":"2024-05-02T01:02:03.100","seen_at":"2024-05-03T04:05:06.123456","#,
                    r#""birthday":"1990-01-02","tags":[{tags}],"scores":[1,2,3,{i}],"flags":[true,false,null],"prices":[1.5,2.25,null],"#,
                    r#""device":{{"vendor":"Acme","model":"X{m}","os":"Linux","version":5,"screen":{{"w":1920,"h":1080}}}},"#,
                    r#""location":{{"lat":52.52,"lon":13.405,"accuracy":5.0}}}}"#
                ),
                i = i,
                a = i % 100,
                referrer = referrer,
                seq = i * 7,
                total = i * 100 + 23,
                s = i % 50,
                lat = i as f64 / 8.0,
                tags = tags,
                m = i % 10,
            )
            .into_bytes()
        })
        .collect()
}

fn decode_all<T>(records: &[Vec<u8>], decode: impl Fn(&[u8]) -> T) {
    for e in records {
        black_box(decode(e));
    }
}

fn decoders<H: DeserializeOwned, G: Record>(group: &mut BenchmarkGroup<'_, ThreadCpu>, records: &[Vec<u8>]) {
    group.throughput(Throughput::Bytes(records.iter().map(|r| r.len() as u64).sum()));
    group.bench_function("decode/generated", |b| b.iter(|| decode_all(records, |e| G::decode(e).unwrap())));
    group.bench_function("decode/serde_json", |b| b.iter(|| decode_all(records, |e| serde_json::from_slice::<H>(e).unwrap())));
    group.bench_function("decode/sonic_rs", |b| b.iter(|| decode_all(records, |e| sonic_rs::from_slice::<H>(e).unwrap())));
}

fn encoders<H: Serialize, G: Record>(group: &mut BenchmarkGroup<'_, ThreadCpu>, g: &[G], h: &[H]) {
    let bytes: u64 = g.iter().map(|r| r.encode().unwrap().len() as u64).sum();
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("encode/generated", |b| {
        b.iter(|| {
            for r in g {
                black_box(r.encode().unwrap());
            }
        })
    });
    group.bench_function("encode/serde_json", |b| {
        b.iter(|| {
            for r in h {
                black_box(serde_json::to_vec(r).unwrap());
            }
        })
    });
    group.bench_function("encode/sonic_rs", |b| {
        b.iter(|| {
            for r in h {
                black_box(sonic_rs::to_vec(r).unwrap());
            }
        })
    });
}

fn bench(c: &mut Criterion<ThreadCpu>) {
    let (g, h) = rows();
    // Both sides produce the same bytes, so the comparison is like for like.
    for (a, b) in g.iter().zip(&h) {
        assert_eq!(a.encode().unwrap(), serde_json::to_vec(b).unwrap());
    }
    let encoded: Vec<Vec<u8>> = g.iter().map(|r| r.encode().unwrap()).collect();
    let mut group = c.benchmark_group("json_row");
    encoders(&mut group, &g, &h);
    decoders::<Hand, BenchRow>(&mut group, &encoded);
    group.finish();

    let wide = wide_records();
    let gw: Vec<BenchWide> = wide.iter().map(|e| BenchWide::decode(e).unwrap()).collect();
    let hw: Vec<HandWide> = wide.iter().map(|e| serde_json::from_slice(e).unwrap()).collect();
    for (a, b) in gw.iter().zip(&hw) {
        assert_eq!((a.id, &a.street, a.views, &a.scores), (b.id, &b.street, b.views, &b.scores));
        // What the generated encoder writes reads back to the same record.
        assert_eq!(&BenchWide::decode(&a.encode().unwrap()).unwrap(), a);
    }
    let mut group = c.benchmark_group("json_wide");
    encoders(&mut group, &gw, &hw);
    decoders::<HandWide, BenchWide>(&mut group, &wide);
    group.finish();
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct HandCsv {
    id: i64,
    user: Option<String>,
    score: Option<f64>,
    active: bool,
    count: Option<i32>,
    at: Option<String>,
}

/// csv: the generated codec against serde derive on the `csv` crate (one
/// record per line, no header, as Kinesis records are single lines).
fn csv_bench(c: &mut Criterion<ThreadCpu>) {
    let lines: Vec<Vec<u8>> = (0..1000i64)
        .map(|i| {
            let user = if i % 5 == 0 { String::new() } else { format!("\"user-{i}, \"\"quoted\"\"\"") };
            format!("{i},{user},{},{},{i},2024-05-01 12:34:56.{:03}", i as f64 * 1.25, i % 2 == 0, i % 1000).into_bytes()
        })
        .collect();
    let g: Vec<BenchCsv> = lines.iter().map(|l| BenchCsv::decode(l).unwrap()).collect();
    let read_hand = |l: &[u8]| -> HandCsv {
        // A small buffer: the default 8 KiB one per record would dominate.
        let mut r = csv::ReaderBuilder::new().has_headers(false).buffer_capacity(256).from_reader(l);
        r.deserialize().next().unwrap().unwrap()
    };
    let h: Vec<HandCsv> = lines.iter().map(|l| read_hand(l)).collect();
    for (a, b) in g.iter().zip(&h) {
        assert_eq!((a.id, a.score, a.count), (b.id, b.score, b.count));
    }
    let mut group = c.benchmark_group("csv_row");
    group.throughput(Throughput::Bytes(lines.iter().map(|l| l.len() as u64).sum()));
    group.bench_function("encode/generated", |b| {
        b.iter(|| {
            for r in &g {
                black_box(r.encode().unwrap());
            }
        })
    });
    group.bench_function("encode/csv_crate", |b| {
        b.iter(|| {
            for r in &h {
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .buffer_capacity(256)
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(Vec::with_capacity(64));
                w.serialize(r).unwrap();
                black_box(w.into_inner().unwrap());
            }
        })
    });
    group.bench_function("decode/generated", |b| b.iter(|| decode_all(&lines, |l| BenchCsv::decode(l).unwrap())));
    group.bench_function("decode/csv_crate", |b| b.iter(|| decode_all(&lines, read_hand)));
    group.finish();
}

/// `{"k":"a","n":1,"amount":<digits>e-<digits - 1>}` with `digits` digits.
fn long_decimal_record(digits: usize) -> Vec<u8> {
    let mantissa = "1234567890".repeat(digits / 10);
    format!(r#"{{"k":"a","n":1,"amount":{mantissa}e-{}}}"#, digits - 1).into_bytes()
}

fn long_decimals(c: &mut Criterion<ThreadCpu>) {
    use kinesis_tables_tests::generated::RtJson;
    let mut group = c.benchmark_group("long_decimal");
    group.sample_size(10);
    for (label, digits) in [("100KB", 100_000), ("1MB", 1_000_000)] {
        let record = long_decimal_record(digits);
        let err = RtJson::decode(&record).unwrap_err().to_string();
        assert!(err.len() < 400, "the error echoes at most a little of the value: {} bytes", err.len());
        group.bench_function(format!("{label}/generated_decode"), |b| b.iter(|| black_box(RtJson::decode(black_box(&record)).is_err())));
        group.bench_function(format!("{label}/serde_json_value"), |b| {
            b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(black_box(&record)).is_ok()))
        });
    }
    group.finish();
}

fn cpu_time() -> Criterion<ThreadCpu> {
    Criterion::default().with_measurement(ThreadCpu)
}

criterion_group! {
    name = benches;
    config = cpu_time();
    targets = bench, csv_bench, long_decimals
}
criterion_main!(benches);
