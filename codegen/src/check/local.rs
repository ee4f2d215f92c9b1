//! Table rules of the connectors that run without AWS (`datagen`, `print`,
//! `blackhole`) that need the columns: metadata columns, and datagen's
//! per-column `fields.<column>.*` options, which are checked against the
//! column's type here and turned into [`FieldGen`] settings.

use std::borrow::Cow;
use std::time::Duration;

use kinesis_tables_config::catalog::{self, keys};
use kinesis_tables_config::model::{ConnectorKind, FieldGen, GenKind, GenNum, LocalConfig};
use kinesis_tables_config::value::{self, Value};
use kinesis_tables_config::{OptionInput, Resolved};

use crate::diag::{Diag, Diags};
use crate::input::TableInput;
use crate::ir::{ColumnIr, SqlType};
use crate::span::SpanLike;

/// Checks a local-connector table and completes its datagen settings in
/// `resolved` (when the options resolved). Runs even when other options were
/// wrong, so that every error is reported at once.
pub(crate) fn check<S: SpanLike>(t: &TableInput<S>, columns: &[ColumnIr], resolved: Option<&mut Resolved>, diags: &mut Diags<S>) {
    let connector = t.options.iter().find(|o| o.key == keys::CONNECTOR).and_then(|o| o.value.text());
    let Some(connector) = connector.as_deref().and_then(ConnectorKind::from_name).filter(|c| c.is_local()) else { return };
    no_metadata(t, columns, connector, diags);
    if connector != ConnectorKind::Datagen {
        return;
    }
    fields_name_columns(t, columns, diags);
    let mut fields = Vec::new();
    for c in columns.iter().filter(|c| c.metadata.is_none()) {
        let opts: Vec<&OptionInput<S>> =
            t.options.iter().filter(|o| catalog::datagen_field_key(&o.key).is_some_and(|(_, col)| col == c.name)).collect();
        let cx = Column { c, span: span_of(t, c), opts: &opts };
        if let Some(f) = cx.field(diags) {
            fields.push(f);
        }
    }
    if let Some(Resolved { config, .. }) = resolved
        && let Some(LocalConfig::Datagen(d)) = &mut config.local
    {
        d.fields = Cow::Owned(fields);
    }
}

fn span_of<S: SpanLike>(t: &TableInput<S>, c: &ColumnIr) -> S {
    t.columns.iter().find(|i| i.name == c.name).map(|i| i.def_span.clone()).unwrap_or_else(|| t.name_span.clone())
}

/// Metadata columns are filled from Kinesis records, which local connectors have none of.
fn no_metadata<S: SpanLike>(t: &TableInput<S>, columns: &[ColumnIr], connector: ConnectorKind, diags: &mut Diags<S>) {
    for c in columns.iter().filter(|c| c.metadata.is_some()) {
        diags.push(
            Diag::error(span_of(t, c), format!("metadata column `{}` on `connector: {}`", c.name, connector.name()))
                .label("no Kinesis metadata here")
                .note("metadata columns are filled from the Kinesis records a table reads")
                .help("remove the column, or declare it as a plain column"),
        );
    }
}

/// Every `fields.<column>.*` option names a column of the table.
fn fields_name_columns<S: SpanLike>(t: &TableInput<S>, columns: &[ColumnIr], diags: &mut Diags<S>) {
    for o in &t.options {
        let Some((_, column)) = catalog::datagen_field_key(&o.key) else { continue };
        if !columns.iter().any(|c| c.name == column) && !t.columns.iter().any(|c| c.name == column) {
            let d = Diag::error(o.key_span.clone(), format!("`{}` names column `{column}`, which this table does not have", o.key))
                .label("unknown column");
            diags.push(match crate::suggest::closest(column, columns.iter().map(|c| c.name.as_str())) {
                Some(s) => d.help(format!("did you mean `fields.{s}.{}`?", o.key.rsplit('.').next().unwrap_or("kind"))),
                None => d,
            });
        }
    }
}

/// The option `fields.<column>.<property>` of one column, with its checked value.
struct Prop<'a, S> {
    input: &'a OptionInput<S>,
    value: Value,
}

/// One generated column and its `fields.<column>.*` options.
struct Column<'a, S> {
    c: &'a ColumnIr,
    span: S,
    opts: &'a [&'a OptionInput<S>],
}

impl<'a, S: SpanLike> Column<'a, S> {
    /// A property's checked value (per-option checks already reported bad values).
    fn get(&self, property: &str) -> Option<Prop<'a, S>> {
        let input = self.opts.iter().find(|o| o.key.rsplit('.').next() == Some(property))?;
        let def = catalog::find(&format!("{}#.{property}", keys::DG_FIELDS_PREFIX))?;
        let value = value::check(&def.kind, &input.value).ok()?;
        Some(Prop { input, value })
    }

    /// Where to point about a property: its key, else the column.
    fn key_span(&self, property: &str) -> S {
        self.get(property).map(|p| p.input.key_span.clone()).unwrap_or_else(|| self.span.clone())
    }

    fn field(&self, diags: &mut Diags<S>) -> Option<FieldGen> {
        let before = diags.error_count();
        self.generatable(diags)?;
        let sequence = matches!(self.get("kind").map(|p| p.value), Some(Value::Str(k)) if k == "sequence");
        self.props_of_one_kind(sequence, diags);
        let kind = if sequence { self.sequence(diags)? } else { self.random(diags) };
        let null_rate = self.null_rate(diags);
        if diags.error_count() > before {
            return None;
        }
        Some(FieldGen { column: Cow::Owned(self.c.name.clone()), kind, null_rate })
    }

    fn generatable(&self, diags: &mut Diags<S>) -> Option<()> {
        if generatable(&self.c.ty) {
            return Some(());
        }
        diags.push(
            Diag::error(self.span.clone(), format!("datagen cannot generate column `{}` of type `{}`", self.c.name, self.c.ty))
                .label("no generator for this type")
                .note("datagen generates booleans, numbers, decimals, strings, bytes, dates, times, timestamps and arrays of them")
                .help("generate the parts as columns and build the value in a transform"),
        );
        None
    }

    /// Random-only properties on a sequence column, and the other way round.
    fn props_of_one_kind(&self, sequence: bool, diags: &mut Diags<S>) {
        let (random_only, sequence_only) = (["min", "max", "length", "var-len", "max-past", "null-rate"], ["start", "end"]);
        let (props, kind, other) =
            if sequence { (&random_only[..], "sequence", "random") } else { (&sequence_only[..], "random", "sequence") };
        for p in props {
            if let Some(o) = self.opts.iter().find(|o| o.key.rsplit('.').next() == Some(*p)) {
                diags.push(
                    Diag::error(o.key_span.clone(), format!("`{}` has no effect on a `{kind}` column", o.key))
                        .label(format!("only for `kind: {other}`"))
                        .help(format!("remove it, or set `fields.{}.kind: {other}`", self.c.name)),
                );
            }
        }
    }

    /// `kind: sequence`: a start and an end, in order, that fit the column.
    fn sequence(&self, diags: &mut Diags<S>) -> Option<GenKind> {
        let c = self.c;
        let (Some(start), Some(end)) = (self.get("start"), self.get("end")) else {
            let at = self.opts.iter().find(|o| o.key.ends_with(".kind")).map(|o| o.value_span.clone()).unwrap_or_else(|| self.span.clone());
            diags.push(
                Diag::error(at, format!("sequence column `{}` needs `fields.{0}.start` and `fields.{0}.end`", c.name))
                    .label("unbounded sequence")
                    .help(format!("add `fields.{}.start: 1` and `fields.{0}.end: 1000000`, for example", c.name)),
            );
            return None;
        };
        let (Value::Int(s), Value::Int(e)) = (&start.value, &end.value) else { return None };
        let (s, e) = (*s, *e);
        if s > e {
            diags.push(
                Diag::error(end.input.value_span.clone(), format!("the sequence ends at {e}, before its start {s}"))
                    .label("end below start")
                    .help("make `end` at least `start`"),
            );
        }
        for p in [start, end] {
            let Value::Int(v) = p.value else { continue };
            if let Err(why) = fits_sequence(&c.ty, v) {
                diags.push(Diag::error(p.input.value_span.clone(), why).label("does not fit the column"));
            }
        }
        Some(GenKind::Sequence { start: s, end: e })
    }

    /// `kind: random` (the default): bounds, length and age that fit the column.
    fn random(&self, diags: &mut Diags<S>) -> GenKind {
        let (min, max) = (self.bound("min", diags), self.bound("max", diags));
        if let (Some(a), Some(b)) = (min, max)
            && a.as_f64() > b.as_f64()
        {
            let at = self.get("max").map(|p| p.input.value_span.clone()).unwrap_or_else(|| self.span.clone());
            diags.push(Diag::error(at, "`max` is below `min`").label("empty range").help("make `max` at least `min`"));
        }
        let length = self.length(diags);
        let var_len = self.var_len(diags);
        let max_past = self.max_past(diags);
        for (name, ok) in [("min", min.is_some()), ("max", max.is_some())] {
            if ok && !is_numeric(base(&self.c.ty)) {
                diags.push(
                    Diag::error(self.key_span(name), format!("`{name}` applies to numeric columns; `{}` is `{}`", self.c.name, self.c.ty))
                        .label("no effect here")
                        .help("remove it"),
                );
            }
        }
        GenKind::Random { min, max, length, var_len, max_past }
    }

    fn bound(&self, name: &str, diags: &mut Diags<S>) -> Option<GenNum> {
        let p = self.get(name)?;
        let Value::Str(text) = &p.value else { return None };
        match number_for(&self.c.ty, text) {
            Ok(n) => Some(n),
            Err(why) => {
                diags.push(Diag::error(p.input.value_span.clone(), why).label(format!("not a `{}` value", self.c.ty)));
                None
            }
        }
    }

    fn length(&self, diags: &mut Diags<S>) -> Option<u32> {
        let p = self.get("length")?;
        let Value::Int(n) = p.value else { return None };
        if let Err(why) = fits_length(&self.c.ty, n) {
            diags.push(Diag::error(p.input.value_span.clone(), why).label("wrong length for this column"));
        }
        Some(n as u32)
    }

    fn var_len(&self, diags: &mut Diags<S>) -> bool {
        let var_len = matches!(self.get("var-len").map(|p| p.value), Some(Value::Bool(true)));
        if var_len && !(self.c.ty.is_string() || self.c.ty.is_bytes()) {
            diags.push(
                Diag::error(
                    self.key_span("var-len"),
                    format!("`var-len` applies to string and bytes columns; `{}` is `{}`", self.c.name, self.c.ty),
                )
                .label("no effect here"),
            );
        }
        var_len
    }

    fn max_past(&self, diags: &mut Diags<S>) -> Duration {
        let Some(Prop { value: Value::Millis(ms), input }) = self.get("max-past") else { return Duration::ZERO };
        if !matches!(base(&self.c.ty), SqlType::Date | SqlType::Timestamp(_) | SqlType::TimestampLtz(_)) {
            diags.push(
                Diag::error(
                    input.key_span.clone(),
                    format!("`max-past` applies to date and timestamp columns; `{}` is `{}`", self.c.name, self.c.ty),
                )
                .label("no effect here"),
            );
        }
        Duration::from_millis(ms)
    }

    fn null_rate(&self, diags: &mut Diags<S>) -> f64 {
        let Some(Prop { value: Value::Double(r), input }) = self.get("null-rate") else { return 0.0 };
        if !self.c.nullable && r > 0.0 {
            diags.push(
                Diag::error(input.value_span.clone(), format!("column `{}` is NOT NULL, so it cannot be null", self.c.name))
                    .label("nulls in a NOT NULL column")
                    .help("remove `null-rate`, or make the column nullable"),
            );
        }
        r
    }
}

/// The type values are generated for: an array's innermost element type.
fn base(ty: &SqlType) -> &SqlType {
    match ty {
        SqlType::Array(e) => base(&e.ty),
        t => t,
    }
}

fn is_numeric(ty: &SqlType) -> bool {
    ty.is_integer() || matches!(ty, SqlType::Float | SqlType::Double | SqlType::Decimal { .. })
}

fn generatable(ty: &SqlType) -> bool {
    match ty {
        SqlType::Array(e) => generatable(&e.ty),
        SqlType::Map(..) | SqlType::Row(_) => false,
        _ => true,
    }
}

fn int_range(ty: &SqlType) -> Option<(i64, i64)> {
    Some(match ty {
        SqlType::TinyInt => (i8::MIN as i64, i8::MAX as i64),
        SqlType::SmallInt => (i16::MIN as i64, i16::MAX as i64),
        SqlType::Int => (i32::MIN as i64, i32::MAX as i64),
        SqlType::BigInt => (i64::MIN, i64::MAX),
        _ => return None,
    })
}

/// Digits a DECIMAL(p, s) allows before the point.
fn decimal_int_digits(p: u8, s: u8) -> u32 {
    (p - s) as u32
}

fn fits_sequence(ty: &SqlType, v: i64) -> Result<(), String> {
    let ty = base(ty);
    if let Some((lo, hi)) = int_range(ty) {
        return if (lo..=hi).contains(&v) { Ok(()) } else { Err(format!("{v} does not fit `{ty}` ({lo} to {hi})")) };
    }
    match ty {
        SqlType::Float | SqlType::Double => Ok(()),
        SqlType::Decimal { precision, scale } => {
            let digits = v.unsigned_abs().checked_ilog10().map_or(1, |d| d + 1);
            if digits > decimal_int_digits(*precision, *scale) {
                Err(format!("{v} has more digits than `{ty}` allows before the point"))
            } else {
                Ok(())
            }
        }
        SqlType::String => Ok(()),
        SqlType::Varchar(n) | SqlType::Char(n) => {
            let len = v.to_string().len();
            if len > *n as usize { Err(format!("`{v}` is {len} characters, more than `{ty}` holds")) } else { Ok(()) }
        }
        other => Err(format!("a sequence cannot fill a `{other}` column; sequences are numbers or their text")),
    }
}

fn number_for(ty: &SqlType, text: &str) -> Result<GenNum, String> {
    let ty = base(ty);
    if let Some((lo, hi)) = int_range(ty) {
        let v: i64 = text.parse().map_err(|_| format!("`{text}` is not an integer"))?;
        return if (lo..=hi).contains(&v) { Ok(GenNum::Int(v)) } else { Err(format!("{v} does not fit `{ty}` ({lo} to {hi})")) };
    }
    let f: f64 = text.parse().map_err(|_| format!("`{text}` is not a number"))?;
    match ty {
        SqlType::Float if f.abs() > f32::MAX as f64 => Err(format!("{text} does not fit `FLOAT`")),
        SqlType::Decimal { precision, scale } => {
            let limit = 10f64.powi(decimal_int_digits(*precision, *scale) as i32);
            if f.abs() >= limit { Err(format!("{text} has more digits than `{ty}` allows before the point")) } else { Ok(GenNum::Float(f)) }
        }
        _ => Ok(GenNum::Float(f)),
    }
}

fn fits_length(ty: &SqlType, n: i64) -> Result<(), String> {
    match ty {
        SqlType::Varchar(max) | SqlType::Varbinary(max) | SqlType::Char(max) | SqlType::Binary(max) if n > *max as i64 => {
            Err(format!("length {n} does not fit `{ty}`"))
        }
        SqlType::String | SqlType::Bytes | SqlType::Varchar(_) | SqlType::Varbinary(_) | SqlType::Char(_) | SqlType::Binary(_) => Ok(()),
        SqlType::Array(_) => Ok(()),
        other => Err(format!("`length` applies to string, bytes and array columns, not `{other}`")),
    }
}
