//! Flink's `datagen` connector: typed rows made up at a steady rate.
//!
//! Generated code implements [`Record::generate`] for a datagen table by
//! asking a [`Generator`] for each column; [`Datagen`] paces the rows and
//! ends after `number-of-rows` (or the shortest sequence). Every value fits
//! its column's SQL type, so the sink never refuses a generated row.

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

use crate::Record;
use crate::codec::DataType;
use crate::config::{DatagenConfig, FieldGen, GenKind, GenNum, LocalConfig};

/// Rows per batch handed to a pipeline.
const BATCH_ROWS: u64 = 500;
/// Strings and bytes are this long unless `length` says otherwise (Flink's default).
const DEFAULT_LENGTH: u32 = 100;
/// Arrays have this many elements unless `length` says otherwise.
const DEFAULT_ARRAY_LENGTH: u32 = 3;

/// Makes the values of one row; generated code calls [`Generator::column`].
pub struct Generator {
    fields: Vec<FieldGen>,
    rng: fastrand::Rng,
    row: u64,
    now: DateTime<Utc>,
}

impl Generator {
    pub fn new(config: &DatagenConfig) -> Self {
        Generator { fields: config.fields.to_vec(), rng: fastrand::Rng::new(), row: 0, now: Utc::now() }
    }

    /// A generator with a fixed seed, for repeatable rows.
    pub fn with_seed(config: &DatagenConfig, seed: u64) -> Self {
        Generator { rng: fastrand::Rng::with_seed(seed), ..Generator::new(config) }
    }

    /// The value of column `index` in the current row.
    pub fn column<T: Generate>(&mut self, index: usize, dt: &'static DataType) -> T {
        let spec = self.fields.get(index).cloned().unwrap_or_else(|| default_spec(""));
        T::generate(&spec, dt, self)
    }

    /// Moves on to the next row (sequences count rows).
    pub fn advance(&mut self) {
        self.row += 1;
        if self.row.is_multiple_of(BATCH_ROWS) {
            self.now = Utc::now();
        }
    }
}

fn default_spec(column: &str) -> FieldGen {
    FieldGen {
        column: column.to_string().into(),
        kind: GenKind::Random { min: None, max: None, length: None, var_len: false, max_past: Duration::ZERO },
        null_rate: 0.0,
    }
}

/// A value datagen can make for a column of SQL type `dt`.
pub trait Generate: Sized {
    fn generate(spec: &FieldGen, dt: &'static DataType, g: &mut Generator) -> Self;
}

fn sequence(spec: &FieldGen, g: &Generator) -> Option<i64> {
    match spec.kind {
        GenKind::Sequence { start, end } => Some(start.saturating_add(g.row.min(i64::MAX as u64) as i64).min(end)),
        GenKind::Random { .. } => None,
    }
}

fn bounds(spec: &FieldGen) -> (Option<GenNum>, Option<GenNum>) {
    match spec.kind {
        GenKind::Random { min, max, .. } => (min, max),
        GenKind::Sequence { .. } => (None, None),
    }
}

fn int_in(g: &mut Generator, spec: &FieldGen, lo: i64, hi: i64) -> i64 {
    if let Some(v) = sequence(spec, g) {
        return v.clamp(lo, hi);
    }
    let (min, max) = bounds(spec);
    let as_int = |n: GenNum| match n {
        GenNum::Int(i) => i,
        GenNum::Float(f) => f as i64,
    };
    let lo = min.map(as_int).unwrap_or(lo).max(lo);
    let hi = max.map(as_int).unwrap_or(hi).min(hi);
    if lo >= hi { lo } else { g.rng.i64(lo..=hi) }
}

macro_rules! ints {
    ($($t:ty),*) => {$(
        impl Generate for $t {
            fn generate(spec: &FieldGen, _: &'static DataType, g: &mut Generator) -> Self {
                int_in(g, spec, <$t>::MIN as i64, <$t>::MAX as i64) as $t
            }
        }
    )*};
}
ints!(i8, i16, i32, i64);

fn float_in(g: &mut Generator, spec: &FieldGen, default: (f64, f64)) -> f64 {
    if let Some(v) = sequence(spec, g) {
        return v as f64;
    }
    let (min, max) = bounds(spec);
    let lo = min.map(GenNum::as_f64).unwrap_or(default.0);
    let hi = max.map(GenNum::as_f64).unwrap_or(default.1);
    if lo >= hi { lo } else { lo + g.rng.f64() * (hi - lo) }
}

impl Generate for f64 {
    fn generate(spec: &FieldGen, _: &'static DataType, g: &mut Generator) -> Self {
        float_in(g, spec, (-1e9, 1e9))
    }
}

impl Generate for f32 {
    fn generate(spec: &FieldGen, _: &'static DataType, g: &mut Generator) -> Self {
        float_in(g, spec, (-1e6, 1e6)) as f32
    }
}

impl Generate for bool {
    fn generate(_: &FieldGen, _: &'static DataType, g: &mut Generator) -> Self {
        g.rng.bool()
    }
}

impl Generate for BigDecimal {
    fn generate(spec: &FieldGen, dt: &'static DataType, g: &mut Generator) -> Self {
        let (precision, scale) = match *dt {
            DataType::Decimal { precision, scale } => (precision, scale),
            _ => (10, 0),
        };
        if let Some(v) = sequence(spec, g) {
            return BigDecimal::from(v).with_scale(scale as i64);
        }
        // Whole digits limit the range; stay strictly inside it so rounding
        // to the scale can never add a digit.
        let int_digits = precision.saturating_sub(scale).min(15) as i32;
        let limit = 10f64.powi(int_digits) - 1.0;
        let v = float_in(g, spec, (-limit, limit)).clamp(-limit, limit);
        // Rounding to the scale goes through integer units of 10^-scale.
        let units = (v * 10f64.powi(scale.min(15) as i32)).trunc() as i64;
        BigDecimal::new(units.into(), scale.min(15) as i64).with_scale(scale as i64)
    }
}

fn length(spec: &FieldGen, dt: &DataType, g: &mut Generator) -> usize {
    let (cap, declared) = match *dt {
        DataType::Varchar(n) | DataType::Varbinary(n) => (Some(n), None),
        DataType::Char(n) | DataType::Binary(n) => (Some(n), Some(n)),
        _ => (None, None),
    };
    let (len, var_len) = match spec.kind {
        GenKind::Random { length, var_len, .. } => (length.or(declared), var_len),
        GenKind::Sequence { .. } => (None, false),
    };
    let len = len.unwrap_or(DEFAULT_LENGTH);
    let len = match cap {
        Some(c) => len.min(c),
        None => len,
    } as usize;
    if var_len && len > 0 { g.rng.usize(0..=len) } else { len }
}

impl Generate for String {
    fn generate(spec: &FieldGen, dt: &'static DataType, g: &mut Generator) -> Self {
        if let Some(v) = sequence(spec, g) {
            return v.to_string();
        }
        let n = length(spec, dt, g);
        (0..n).map(|_| g.rng.alphanumeric()).collect()
    }
}

impl Generate for Vec<u8> {
    fn generate(spec: &FieldGen, dt: &'static DataType, g: &mut Generator) -> Self {
        let n = length(spec, dt, g);
        let mut v = vec![0u8; n];
        g.rng.fill(&mut v);
        v
    }
}

fn past(spec: &FieldGen, g: &mut Generator) -> chrono::Duration {
    let ms = match spec.kind {
        GenKind::Random { max_past, .. } => max_past.as_millis().min(i64::MAX as u128) as i64,
        GenKind::Sequence { .. } => 0,
    };
    chrono::Duration::milliseconds(if ms > 0 { g.rng.i64(0..=ms) } else { 0 })
}

/// Drops sub-second digits the precision cannot hold.
fn truncate_nanos(nanos: u32, dt: &DataType) -> u32 {
    let p = match *dt {
        DataType::Time(p) | DataType::Timestamp(p) | DataType::TimestampLtz(p) => p.min(9),
        _ => 0,
    };
    let unit = 10u32.pow(9 - p as u32);
    nanos - nanos % unit
}

impl Generate for DateTime<Utc> {
    fn generate(spec: &FieldGen, dt: &'static DataType, g: &mut Generator) -> Self {
        let t = g.now - past(spec, g);
        t.with_nanosecond(truncate_nanos(t.nanosecond(), dt)).unwrap_or(t)
    }
}

impl Generate for NaiveDateTime {
    fn generate(spec: &FieldGen, dt: &'static DataType, g: &mut Generator) -> Self {
        DateTime::<Utc>::generate(spec, dt, g).naive_utc()
    }
}

impl Generate for NaiveDate {
    fn generate(spec: &FieldGen, _: &'static DataType, g: &mut Generator) -> Self {
        (g.now - past(spec, g)).date_naive()
    }
}

impl Generate for NaiveTime {
    fn generate(_: &FieldGen, dt: &'static DataType, g: &mut Generator) -> Self {
        let secs = g.rng.u32(0..86_400);
        let nanos = truncate_nanos(g.rng.u32(0..1_000_000_000), dt);
        NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos).unwrap_or(NaiveTime::MIN)
    }
}

impl<T: Generate> Generate for Option<T> {
    fn generate(spec: &FieldGen, dt: &'static DataType, g: &mut Generator) -> Self {
        if spec.null_rate > 0.0 && g.rng.f64() < spec.null_rate {
            return None;
        }
        Some(T::generate(spec, dt, g))
    }
}

impl<T: Generate> Generate for Vec<T> {
    fn generate(spec: &FieldGen, dt: &'static DataType, g: &mut Generator) -> Self {
        let n = match spec.kind {
            GenKind::Random { length, .. } => length.unwrap_or(DEFAULT_ARRAY_LENGTH),
            GenKind::Sequence { .. } => DEFAULT_ARRAY_LENGTH,
        };
        // Elements take the column's bounds; strings inside get the default length.
        let element = match &spec.kind {
            GenKind::Random { min, max, max_past, .. } => FieldGen {
                column: spec.column.clone(),
                kind: GenKind::Random { min: *min, max: *max, length: None, var_len: false, max_past: *max_past },
                null_rate: 0.0,
            },
            GenKind::Sequence { .. } => default_spec(&spec.column),
        };
        (0..n).map(|_| T::generate(&element, dt.element(), g)).collect()
    }
}

/// Why a datagen source could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatagenError(pub String);

impl std::fmt::Display for DatagenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DatagenError {}

/// A paced, possibly bounded, stream of generated rows.
pub struct Datagen<R: Record> {
    gen_: Generator,
    rows_per_second: u64,
    total: Option<u64>,
    produced: u64,
    started: Instant,
    _record: PhantomData<fn() -> R>,
}

impl<R: Record> Datagen<R> {
    /// Starts generating rows of table `R`, which must use `connector: datagen`.
    pub fn start() -> Result<Self, DatagenError> {
        let cfg = R::config().map_err(|e| DatagenError(e.to_string()))?;
        let Some(LocalConfig::Datagen(d)) = &cfg.local else {
            return Err(DatagenError(format!("table `{}` does not use `connector: datagen`", R::TABLE_NAME)));
        };
        Ok(Datagen {
            gen_: Generator::new(d),
            rows_per_second: d.rows_per_second.max(1),
            total: d.total_rows(),
            produced: 0,
            started: Instant::now(),
            _record: PhantomData,
        })
    }

    /// Rows made so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Whether every row of a bounded source was made.
    pub fn is_done(&self) -> bool {
        self.total.is_some_and(|t| self.produced >= t)
    }

    /// The next batch of rows, once the rate allows it; `None` when a
    /// bounded source is done.
    pub async fn next(&mut self) -> Result<Option<Vec<R>>, DatagenError> {
        let mut n = BATCH_ROWS.min(self.rows_per_second);
        if let Some(t) = self.total {
            n = n.min(t.saturating_sub(self.produced));
        }
        if n == 0 {
            return Ok(None);
        }
        // Pacing: row k is due at k / rate seconds after the start.
        let due = self.started + Duration::from_secs_f64((self.produced + n) as f64 / self.rows_per_second as f64);
        tokio::time::sleep_until(due.into()).await;
        let mut rows = Vec::with_capacity(n as usize);
        for _ in 0..n {
            match R::generate(&mut self.gen_) {
                Some(r) => rows.push(r),
                None => return Err(DatagenError(format!("table `{}` has no generator; is it a datagen table?", R::TABLE_NAME))),
            }
            self.gen_.advance();
        }
        self.produced += n;
        Ok(Some(rows))
    }
}
