//! A JSON Schema (draft 2020-12) of a table's records in the `json` format,
//! as the generated codec writes them and reads them: one object with a
//! property per physical column (unknown properties are allowed, as the
//! reader skips them), `null` allowed for nullable columns, bytes as
//! base64, DECIMAL as a number (or a numeric string), non-finite floats
//! as `"NaN"`/`"Infinity"`, dates and times as text.

use serde_json::{Map, Value, json};

use crate::ir::{ColumnIr, SqlType};

/// The JSON Schema of a table's json records.
pub fn table_schema(table: &str, columns: &[ColumnIr]) -> Value {
    let fields: Vec<(&str, &SqlType, bool)> =
        columns.iter().filter(|c| c.metadata.is_none()).map(|c| (c.name.as_str(), &c.ty, c.nullable)).collect();
    let mut schema = object(&fields);
    if let Value::Object(m) = &mut schema {
        m.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
        m.insert("title".into(), json!(format!("A json record of table `{table}`")));
    }
    schema
}

fn object(fields: &[(&str, &SqlType, bool)]) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for &(name, ty, nullable) in fields {
        props.insert(name.to_string(), nullable_schema(ty, nullable));
        if !nullable {
            required.push(json!(name));
        }
    }
    json!({"type": "object", "properties": props, "required": required})
}

fn nullable_schema(ty: &SqlType, nullable: bool) -> Value {
    let s = type_schema(ty);
    if nullable { json!({"anyOf": [{"type": "null"}, s]}) } else { s }
}

fn int_range(min: i64, max: i64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max})
}

fn type_schema(ty: &SqlType) -> Value {
    let mut s = match ty {
        SqlType::Boolean => json!({"type": "boolean"}),
        SqlType::TinyInt => int_range(i8::MIN.into(), i8::MAX.into()),
        SqlType::SmallInt => int_range(i16::MIN.into(), i16::MAX.into()),
        SqlType::Int => int_range(i32::MIN.into(), i32::MAX.into()),
        SqlType::BigInt => int_range(i64::MIN, i64::MAX),
        // Non-finite values are written as the strings Flink writes.
        SqlType::Float | SqlType::Double => json!({"anyOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]}),
        SqlType::Decimal { .. } => json!({"type": ["number", "string"]}),
        SqlType::String => json!({"type": "string"}),
        SqlType::Varchar(n) => json!({"type": "string", "maxLength": n}),
        SqlType::Char(n) => json!({"type": "string", "maxLength": n}),
        SqlType::Bytes | SqlType::Varbinary(_) | SqlType::Binary(_) => json!({"type": "string", "contentEncoding": "base64"}),
        SqlType::Date => json!({"type": "string", "format": "date"}),
        SqlType::Time(_) => json!({"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?$"}),
        SqlType::Timestamp(_) => {
            json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?$"})
        }
        SqlType::TimestampLtz(_) => {
            json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z?$"})
        }
        SqlType::Array(e) => json!({"type": "array", "items": nullable_schema(&e.ty, e.nullable)}),
        SqlType::Map(_, v) => json!({"type": "object", "additionalProperties": nullable_schema(&v.ty, v.nullable)}),
        SqlType::Row(fields) => {
            let fs: Vec<(&str, &SqlType, bool)> = fields.iter().map(|f| (f.name.as_str(), &f.ty, f.nullable)).collect();
            object(&fs)
        }
    };
    if let Value::Object(m) = &mut s {
        m.insert("description".into(), json!(ty.to_string()));
    }
    s
}
