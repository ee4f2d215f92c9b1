//! Table rules of the connectors that run without AWS (`datagen`, `print`,
//! `blackhole`) that need the columns: metadata columns, and datagen's
//! per-column `fields.<column>.*` options, which are checked against the
//! column's type here and turned into [`FieldGen`] settings.

use std::borrow::Cow;
use std::time::Duration;

use crate::catalog::keys;
use crate::diag::{Diag, Diags};
use crate::ir::ColumnIr;
use crate::model::{ConnectorKind, FieldGen, GenKind, GenNum, LocalConfig};
use crate::span::SpanLike;
use crate::table::TableInput;
use crate::types::SqlType;
use crate::value::{self, Value};
use kinesis_tables_config::{OptionInput, Resolved};

/// Checks a local-connector table and completes its datagen settings in
/// `resolved` (when the options resolved). Runs even when other options were
/// wrong, so that every error is reported at once.
pub fn check<S: SpanLike>(t: &TableInput<S>, columns: &[ColumnIr], resolved: Option<&mut Resolved>, diags: &mut Diags<S>) {
    let connector = match t.options.iter().find(|o| o.key == keys::CONNECTOR).and_then(|o| o.value.text()).as_deref() {
        Some("datagen") => ConnectorKind::Datagen,
        Some("print") => ConnectorKind::Print,
        Some("blackhole") => ConnectorKind::Blackhole,
        _ => return,
    };
    let span_of =
        |c: &ColumnIr| t.columns.iter().find(|i| i.name == c.name).map(|i| i.def_span.clone()).unwrap_or_else(|| t.name_span.clone());
    for c in columns.iter().filter(|c| c.metadata.is_some()) {
        diags.push(
            Diag::error(span_of(c), format!("metadata column `{}` on `connector: {}`", c.name, connector.name()))
                .label("no Kinesis metadata here")
                .note("metadata columns are filled from the Kinesis records a table reads")
                .help("remove the column, or declare it as a plain column"),
        );
    }
    if connector != ConnectorKind::Datagen {
        return;
    }
    // Options naming columns that do not exist.
    for o in &t.options {
        let Some((_, column)) = crate::catalog::datagen_field_key(&o.key) else { continue };
        if !columns.iter().any(|c| c.name == column) && !t.columns.iter().any(|c| c.name == column) {
            let d = Diag::error(o.key_span.clone(), format!("`{}` names column `{column}`, which this table does not have", o.key))
                .label("unknown column");
            diags.push(match crate::suggest::closest(column, columns.iter().map(|c| c.name.as_str())) {
                Some(s) => d.help(format!("did you mean `fields.{s}.{}`?", o.key.rsplit('.').next().unwrap_or("kind"))),
                None => d,
            });
        }
    }
    let mut fields = Vec::new();
    for c in columns.iter().filter(|c| c.metadata.is_none()) {
        let opts: Vec<&OptionInput<S>> =
            t.options.iter().filter(|o| crate::catalog::datagen_field_key(&o.key).is_some_and(|(_, col)| col == c.name)).collect();
        if let Some(f) = field(c, &span_of(c), &opts, diags) {
            fields.push(f);
        }
    }
    if let Some(Resolved { config, .. }) = resolved
        && let Some(LocalConfig::Datagen(d)) = &mut config.local
    {
        d.fields = Cow::Owned(fields);
    }
}

/// The option `fields.<column>.<property>` of one column, with its checked value.
struct Prop<'a, S> {
    input: &'a OptionInput<S>,
    value: Value,
}

fn field<S: SpanLike>(c: &ColumnIr, col_span: &S, opts: &[&OptionInput<S>], diags: &mut Diags<S>) -> Option<FieldGen> {
    let before = diags.error_count();
    if !generatable(&c.ty) {
        diags.push(
            Diag::error(col_span.clone(), format!("datagen cannot generate column `{}` of type `{}`", c.name, c.ty))
                .label("no generator for this type")
                .note("datagen generates booleans, numbers, decimals, strings, bytes, dates, times, timestamps and arrays of them")
                .help("generate the parts as columns and build the value in a transform"),
        );
        return None;
    }
    // Each property's checked value (per-option checks already reported bad values).
    let get = |property: &str| -> Option<Prop<'_, S>> {
        let input = opts.iter().find(|o| o.key.rsplit('.').next() == Some(property))?;
        let def = crate::catalog::find(&format!("{}#.{property}", keys::DG_FIELDS_PREFIX))?;
        let value = value::check(&def.kind, &input.value).ok()?;
        Some(Prop { input, value })
    };
    let sequence = matches!(get("kind").map(|p| p.value), Some(Value::Str(k)) if k == "sequence");
    let (random_only, sequence_only) = (["min", "max", "length", "var-len", "max-past", "null-rate"], ["start", "end"]);
    for (props, kind, other) in [(&random_only[..], "sequence", "random"), (&sequence_only[..], "random", "sequence")] {
        if (kind == "sequence") != sequence {
            continue;
        }
        for p in props {
            if let Some(o) = opts.iter().find(|o| o.key.rsplit('.').next() == Some(*p)) {
                diags.push(
                    Diag::error(o.key_span.clone(), format!("`{}` has no effect on a `{kind}` column", o.key))
                        .label(format!("only for `kind: {other}`"))
                        .help(format!("remove it, or set `fields.{}.kind: {other}`", c.name)),
                );
            }
        }
    }
    let kind = if sequence {
        let (start, end) = (get("start"), get("end"));
        let (Some(start), Some(end)) = (&start, &end) else {
            let at = opts.iter().find(|o| o.key.ends_with(".kind")).map(|o| o.value_span.clone()).unwrap_or_else(|| col_span.clone());
            diags.push(
                Diag::error(at, format!("sequence column `{}` needs `fields.{0}.start` and `fields.{0}.end`", c.name))
                    .label("unbounded sequence")
                    .help(format!("add `fields.{}.start: 1` and `fields.{0}.end: 1000000`, for example", c.name)),
            );
            return None;
        };
        let (Value::Int(s), Value::Int(e)) = (&start.value, &end.value) else { return None };
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
        GenKind::Sequence { start: *s, end: *e }
    } else {
        let mut bound = |name: &str| -> Option<GenNum> {
            let p = get(name)?;
            let Value::Str(text) = &p.value else { return None };
            match number_for(&c.ty, text) {
                Ok(n) => Some(n),
                Err(why) => {
                    diags.push(Diag::error(p.input.value_span.clone(), why).label(format!("not a `{}` value", c.ty)));
                    None
                }
            }
        };
        let (min, max) = (bound("min"), bound("max"));
        if let (Some(a), Some(b)) = (min, max)
            && a.as_f64() > b.as_f64()
        {
            let at = get("max").map(|p| p.input.value_span.clone()).unwrap_or_else(|| col_span.clone());
            diags.push(Diag::error(at, "`max` is below `min`").label("empty range").help("make `max` at least `min`"));
        }
        let length = get("length").and_then(|p| match p.value {
            Value::Int(n) => {
                if let Err(why) = fits_length(&c.ty, n) {
                    diags.push(Diag::error(p.input.value_span.clone(), why).label("wrong length for this column"));
                }
                Some(n as u32)
            }
            _ => None,
        });
        let var_len = matches!(get("var-len").map(|p| p.value), Some(Value::Bool(true)));
        if var_len && !(c.ty.is_string() || c.ty.is_bytes()) {
            let at = get("var-len").map(|p| p.input.key_span.clone()).unwrap_or_else(|| col_span.clone());
            diags.push(
                Diag::error(at, format!("`var-len` applies to string and bytes columns; `{}` is `{}`", c.name, c.ty))
                    .label("no effect here"),
            );
        }
        let max_past = match get("max-past") {
            Some(Prop { value: Value::Millis(ms), input }) => {
                if !matches!(base(&c.ty), SqlType::Date | SqlType::Timestamp(_) | SqlType::TimestampLtz(_)) {
                    diags.push(
                        Diag::error(
                            input.key_span.clone(),
                            format!("`max-past` applies to date and timestamp columns; `{}` is `{}`", c.name, c.ty),
                        )
                        .label("no effect here"),
                    );
                }
                Duration::from_millis(ms)
            }
            _ => Duration::ZERO,
        };
        for (name, ok) in [("min", min.is_some()), ("max", max.is_some())] {
            if ok && !is_numeric(base(&c.ty)) {
                let at = get(name).map(|p| p.input.key_span.clone()).unwrap_or_else(|| col_span.clone());
                diags.push(
                    Diag::error(at, format!("`{name}` applies to numeric columns; `{}` is `{}`", c.name, c.ty))
                        .label("no effect here")
                        .help("remove it"),
                );
            }
        }
        GenKind::Random { min, max, length, var_len, max_past }
    };
    let null_rate = match get("null-rate") {
        Some(Prop { value: Value::Double(r), input }) => {
            if !c.nullable && r > 0.0 {
                diags.push(
                    Diag::error(input.value_span.clone(), format!("column `{}` is NOT NULL, so it cannot be null", c.name))
                        .label("nulls in a NOT NULL column")
                        .help("remove `null-rate`, or make the column nullable"),
                );
            }
            r
        }
        _ => 0.0,
    };
    if diags.error_count() > before {
        return None;
    }
    Some(FieldGen { column: Cow::Owned(c.name.clone()), kind, null_rate })
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
