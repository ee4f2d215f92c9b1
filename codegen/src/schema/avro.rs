//! The Avro schema Flink's `AvroSchemaConverter.convertToSchema` derives
//! from a table's physical columns, and the types it refuses.
//!
//! Flink's quirks are kept: ARRAY elements and MAP values are converted
//! under the legacy timestamp mapping whatever `avro.timestamp_mapping.legacy`
//! says, and a ROW inside them is named after the enclosing field.

use serde_json::{Value, json};

use crate::ir::{ColumnIr, SqlType};

/// Flink's name of the top-level record.
pub const RECORD_NAME: &str = "org.apache.flink.avro.generated.record";

/// A type Flink's converter refuses: the field path, outermost first, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// Field names from the column inwards.
    pub path: Vec<String>,
    /// Why Avro (as Flink maps it) cannot hold the type.
    pub message: String,
    /// The refusal is of a name (not an Avro name), not of a type.
    pub is_name: bool,
}

impl Refusal {
    fn new(message: impl Into<String>) -> Self {
        Refusal { path: Vec::new(), message: message.into(), is_name: false }
    }
    fn within(mut self, name: &str) -> Self {
        self.path.insert(0, name.to_string());
        self
    }
}

/// The schema of a table's record: its physical columns in order.
pub fn table_schema(columns: &[ColumnIr], legacy: bool) -> Result<Value, Refusal> {
    let fields: Vec<(&str, &SqlType, bool)> =
        columns.iter().filter(|c| c.metadata.is_none()).map(|c| (c.name.as_str(), &c.ty, c.nullable)).collect();
    record(RECORD_NAME, &fields, legacy)
}

/// Every refusal of a table, one per column at most (for diagnostics).
pub fn refusals(columns: &[ColumnIr], legacy: bool) -> Vec<(String, Refusal)> {
    columns
        .iter()
        .filter(|c| c.metadata.is_none())
        .filter_map(|c| {
            let r = check_name(&c.name).and_then(|_| field_schema(&c.ty, c.nullable, &format!("{RECORD_NAME}_{}", c.name), legacy));
            r.err().map(|e| (c.name.clone(), e))
        })
        .collect()
}

fn record(name: &str, fields: &[(&str, &SqlType, bool)], legacy: bool) -> Result<Value, Refusal> {
    let mut out = Vec::with_capacity(fields.len());
    for &(field, ty, nullable) in fields {
        check_name(field).map_err(|e| e.within(field))?;
        let schema = field_schema(ty, nullable, &format!("{name}_{field}"), legacy).map_err(|e| e.within(field))?;
        out.push(if nullable { json!({"name": field, "type": schema, "default": null}) } else { json!({"name": field, "type": schema}) });
    }
    Ok(json!({"type": "record", "name": name, "fields": out}))
}

/// Avro names: `[A-Za-z_][A-Za-z0-9_]*` (Avro's `Schema.validateName`).
fn check_name(name: &str) -> Result<(), Refusal> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        let mut r = Refusal::new(format!("`{name}` is not an Avro name: letters, digits and `_`, not starting with a digit"));
        r.is_name = true;
        Err(r)
    }
}

fn field_schema(ty: &SqlType, nullable: bool, row_name: &str, legacy: bool) -> Result<Value, Refusal> {
    let s = type_schema(ty, row_name, legacy)?;
    Ok(if nullable { json!(["null", s]) } else { s })
}

fn logical(base: &str, logical: &str) -> Value {
    json!({"type": base, "logicalType": logical})
}

fn type_schema(ty: &SqlType, row_name: &str, legacy: bool) -> Result<Value, Refusal> {
    Ok(match ty {
        SqlType::Boolean => json!("boolean"),
        SqlType::TinyInt | SqlType::SmallInt | SqlType::Int => json!("int"),
        SqlType::BigInt => json!("long"),
        SqlType::Float => json!("float"),
        SqlType::Double => json!("double"),
        SqlType::String | SqlType::Varchar(_) | SqlType::Char(_) => json!("string"),
        SqlType::Bytes | SqlType::Varbinary(_) | SqlType::Binary(_) => json!("bytes"),
        SqlType::Decimal { precision, scale } => json!({"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale}),
        SqlType::Date => logical("int", "date"),
        SqlType::Time(p) if *p <= 3 => logical("int", "time-millis"),
        SqlType::Time(p) => return Err(Refusal::new(format!("Avro (as Flink maps it) holds TIME up to precision 3, not {p}"))),
        SqlType::Timestamp(p) => logical("long", timestamp(*p, legacy, "local-timestamp")?),
        SqlType::TimestampLtz(_) if legacy => {
            return Err(Refusal::new(
                "Flink cannot derive an Avro type for TIMESTAMP_LTZ under the legacy timestamp mapping (set `avro.timestamp_mapping.legacy: false`; ARRAY elements and MAP values always use the legacy mapping)",
            ));
        }
        SqlType::TimestampLtz(p) => logical("long", timestamp(*p, false, "timestamp")?),
        SqlType::Array(e) => json!({"type": "array", "items": field_schema(&e.ty, e.nullable, row_name, true)?}),
        SqlType::Map(k, v) => {
            if !k.is_string() {
                return Err(Refusal::new(format!("Avro maps have string keys; `{k}` is not a string type")));
            }
            json!({"type": "map", "values": field_schema(&v.ty, v.nullable, row_name, true)?})
        }
        SqlType::Row(fields) => {
            let fs: Vec<(&str, &SqlType, bool)> = fields.iter().map(|f| (f.name.as_str(), &f.ty, f.nullable)).collect();
            record(row_name, &fs, legacy)?
        }
    })
}

/// The logical type of a TIMESTAMP(p) (`local-timestamp`) or a
/// TIMESTAMP_LTZ(p) (`timestamp`) under the non-legacy mapping; under the
/// legacy one, TIMESTAMP(p ≤ 3) is `timestamp-millis`.
fn timestamp(p: u8, legacy: bool, family: &str) -> Result<&'static str, Refusal> {
    if legacy {
        return match p {
            0..=3 => Ok("timestamp-millis"),
            _ => Err(Refusal::new(format!(
                "Avro (as Flink maps it) holds TIMESTAMP up to precision 3 under the legacy timestamp mapping, not {p} (set `avro.timestamp_mapping.legacy: false` for up to 9; ARRAY elements and MAP values always use the legacy mapping)"
            ))),
        };
    }
    let local = family == "local-timestamp";
    match (p, local) {
        (0..=3, true) => Ok("local-timestamp-millis"),
        (4..=6, true) => Ok("local-timestamp-micros"),
        (7..=9, true) => Ok("local-timestamp-nanos"),
        (0..=3, false) => Ok("timestamp-millis"),
        (4..=6, false) => Ok("timestamp-micros"),
        (7..=9, false) => Ok("timestamp-nanos"),
        _ => Err(Refusal::new(format!("Avro holds timestamps up to precision 9, not {p}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(columns: &str, legacy: bool) -> Result<Value, Refusal> {
        let spec = format!(
            "tables:\n  t:\n    columns:\n{columns}    with:\n      connector: kinesis\n      stream.arn: arn:aws:kinesis:us-east-1:012345678901:stream/s\n      aws.region: us-east-1\n      format: json\n"
        );
        let checked = crate::api::check_source("t.yaml", &spec);
        assert_eq!(checked.error_count(), 0, "{}", checked.render(false));
        table_schema(&checked.tables[0].columns, legacy)
    }

    #[test]
    fn the_schema_is_the_one_flinks_converter_derives() {
        let s = schema_of(
            "      id: BIGINT NOT NULL\n      price: DECIMAL(10, 2)\n      day: DATE NOT NULL\n      at: TIME(3)\n      ts: TIMESTAMP(3)\n      tags: ARRAY<STRING NOT NULL>\n      m: MAP<STRING, INT>\n      r: ROW<a INT NOT NULL, inner ROW<b STRING>>\n      rs: ARRAY<ROW<c BOOLEAN>> NOT NULL\n      shard: STRING METADATA FROM 'shard-id' VIRTUAL\n",
            true,
        )
        .unwrap();
        let n = |t: Value| json!(["null", t]);
        let expected = json!({"type": "record", "name": "org.apache.flink.avro.generated.record", "fields": [
            {"name": "id", "type": "long"},
            {"name": "price", "type": n(json!({"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2})), "default": null},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {"name": "at", "type": n(json!({"type": "int", "logicalType": "time-millis"})), "default": null},
            {"name": "ts", "type": n(json!({"type": "long", "logicalType": "timestamp-millis"})), "default": null},
            {"name": "tags", "type": n(json!({"type": "array", "items": "string"})), "default": null},
            {"name": "m", "type": n(json!({"type": "map", "values": ["null", "int"]})), "default": null},
            {"name": "r", "type": n(json!({"type": "record", "name": "org.apache.flink.avro.generated.record_r", "fields": [
                {"name": "a", "type": "int"},
                {"name": "inner", "type": n(json!({"type": "record", "name": "org.apache.flink.avro.generated.record_r_inner", "fields": [
                    {"name": "b", "type": ["null", "string"], "default": null}
                ]})), "default": null}
            ]})), "default": null},
            {"name": "rs", "type": {"type": "array", "items": ["null", {"type": "record", "name": "org.apache.flink.avro.generated.record_rs", "fields": [
                {"name": "c", "type": ["null", "boolean"], "default": null}
            ]}]}}
        ]});
        assert_eq!(s, expected);
    }

    #[test]
    fn timestamps_follow_the_mapping_and_nested_collections_stay_legacy() {
        let cols = "      a: TIMESTAMP(3)\n      b: TIMESTAMP(6) NOT NULL\n      c: TIMESTAMP(9) NOT NULL\n      d: TIMESTAMP_LTZ(3) NOT NULL\n      e: TIMESTAMP_LTZ(6) NOT NULL\n      f: TIMESTAMP_LTZ(9) NOT NULL\n      g: ARRAY<TIMESTAMP(3) NOT NULL> NOT NULL\n";
        let s = schema_of(cols, false).unwrap();
        let logical: Vec<&str> = s["fields"].as_array().unwrap()[1..6].iter().map(|f| f["type"]["logicalType"].as_str().unwrap()).collect();
        assert_eq!(logical, ["local-timestamp-micros", "local-timestamp-nanos", "timestamp-millis", "timestamp-micros", "timestamp-nanos"]);
        assert_eq!(s["fields"][0]["type"][1]["logicalType"], "local-timestamp-millis");
        assert_eq!(s["fields"][6]["type"]["items"]["logicalType"], "timestamp-millis");
        // Legacy: TIMESTAMP(p > 3) and every TIMESTAMP_LTZ are refused.
        let r = schema_of(cols, true).unwrap_err();
        assert_eq!(r.path, ["b"]);
        assert!(r.message.contains("precision 3"), "{r:?}");
        let r = schema_of("      d: TIMESTAMP_LTZ(3)\n", true).unwrap_err();
        assert!(r.message.contains("TIMESTAMP_LTZ"), "{r:?}");
        let r = schema_of("      g: ARRAY<TIMESTAMP(6)>\n", false).unwrap_err();
        assert_eq!(r.path, ["g"]);
    }

    #[test]
    fn refusals_name_the_nested_field() {
        let r = schema_of("      ok: INT\n      r: ROW<a ROW<m MAP<INT, INT>>>\n", true).unwrap_err();
        assert_eq!(r.path, ["r", "a", "m"]);
        assert!(r.message.contains("string keys"));
        let r = schema_of("      r: ROW<`a-b` INT>\n", true).unwrap_err();
        assert!(r.is_name && r.path == ["r", "a-b"], "{r:?}");
        let r = schema_of("      t: TIME(6)\n", true).unwrap_err();
        assert!(r.message.contains("TIME"));
    }
}
