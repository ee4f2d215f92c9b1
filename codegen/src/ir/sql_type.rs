//! The SQL type model: what a column holds, built by the type grammar
//! (`parse::sql_type`) from a spec or `sql = "…"`, or by the derive directly
//! from a Rust field type.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
/// A Flink SQL type.
pub enum SqlType {
    /// `BOOLEAN`.
    Boolean,
    /// `TINYINT`.
    TinyInt,
    /// `SMALLINT`.
    SmallInt,
    /// `INT`.
    Int,
    /// `BIGINT`.
    BigInt,
    /// `FLOAT`.
    Float,
    /// `DOUBLE`.
    Double,
    /// `DECIMAL(precision, scale)`.
    Decimal {
        /// Digits in all.
        precision: u8,
        /// Digits after the point.
        scale: u8,
    },
    /// `STRING`.
    String,
    /// `VARCHAR(n)`.
    Varchar(u32),
    /// `CHAR(n)`.
    Char(u32),
    /// `BYTES`.
    Bytes,
    /// `VARBINARY(n)`.
    Varbinary(u32),
    /// `BINARY(n)`.
    Binary(u32),
    /// `DATE`.
    Date,
    /// `TIME(p)`.
    Time(u8),
    /// `TIMESTAMP(p)`.
    Timestamp(u8),
    /// `TIMESTAMP_LTZ(p)`.
    TimestampLtz(u8),
    /// `ARRAY<T>`.
    Array(Box<Field>),
    /// Map keys are never null.
    Map(Box<SqlType>, Box<Field>),
    /// `ROW<name T, …>`.
    Row(Vec<RowField>),
}

/// A type with its nullability (array elements, map values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The element or value type.
    pub ty: SqlType,
    /// Whether it may be null.
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// A field of a `ROW`.
pub struct RowField {
    /// The field name.
    pub name: String,
    /// The field's type.
    pub ty: SqlType,
    /// Whether it may be null.
    pub nullable: bool,
}

impl SqlType {
    /// `STRING`, `VARCHAR` or `CHAR`.
    pub fn is_string(&self) -> bool {
        matches!(self, SqlType::String | SqlType::Varchar(_) | SqlType::Char(_))
    }
    /// `BYTES`, `VARBINARY` or `BINARY`.
    pub fn is_bytes(&self) -> bool {
        matches!(self, SqlType::Bytes | SqlType::Varbinary(_) | SqlType::Binary(_))
    }
    /// `TINYINT` to `BIGINT`.
    pub fn is_integer(&self) -> bool {
        matches!(self, SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt)
    }
    /// `ARRAY`, `MAP` or `ROW`.
    pub fn is_nested(&self) -> bool {
        matches!(self, SqlType::Array(_) | SqlType::Map(..) | SqlType::Row(_))
    }
    /// The longest text this type renders to in a partition key, when bounded.
    pub fn max_key_chars(&self) -> Option<usize> {
        Some(match self {
            SqlType::Boolean => 5,
            SqlType::TinyInt => 4,
            SqlType::SmallInt => 6,
            SqlType::Int => 11,
            SqlType::BigInt => 20,
            SqlType::Decimal { precision, .. } => *precision as usize + 2,
            SqlType::Varchar(n) | SqlType::Char(n) => *n as usize,
            SqlType::Date => 10,
            SqlType::Time(p) => 9 + *p as usize,
            SqlType::Timestamp(p) => 20 + *p as usize,
            SqlType::TimestampLtz(p) => 21 + *p as usize,
            SqlType::Float | SqlType::Double => 24,
            _ => return None,
        })
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => write!(f, "BOOLEAN"),
            SqlType::TinyInt => write!(f, "TINYINT"),
            SqlType::SmallInt => write!(f, "SMALLINT"),
            SqlType::Int => write!(f, "INT"),
            SqlType::BigInt => write!(f, "BIGINT"),
            SqlType::Float => write!(f, "FLOAT"),
            SqlType::Double => write!(f, "DOUBLE"),
            SqlType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SqlType::String => write!(f, "STRING"),
            SqlType::Varchar(n) => write!(f, "VARCHAR({n})"),
            SqlType::Char(n) => write!(f, "CHAR({n})"),
            SqlType::Bytes => write!(f, "BYTES"),
            SqlType::Varbinary(n) => write!(f, "VARBINARY({n})"),
            SqlType::Binary(n) => write!(f, "BINARY({n})"),
            SqlType::Date => write!(f, "DATE"),
            SqlType::Time(p) => write!(f, "TIME({p})"),
            SqlType::Timestamp(p) => write!(f, "TIMESTAMP({p})"),
            SqlType::TimestampLtz(p) => write!(f, "TIMESTAMP_LTZ({p})"),
            SqlType::Array(e) => write!(f, "ARRAY<{}{}>", e.ty, if e.nullable { "" } else { " NOT NULL" }),
            SqlType::Map(k, v) => write!(f, "MAP<{k}, {}{}>", v.ty, if v.nullable { "" } else { " NOT NULL" }),
            SqlType::Row(fields) => {
                write!(f, "ROW<")?;
                for (i, x) in fields.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "`{}` {}{}", x.name, x.ty, if x.nullable { "" } else { " NOT NULL" })?;
                }
                write!(f, ">")
            }
        }
    }
}

/// A parsed column definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// The SQL type.
    pub ty: SqlType,
    /// Whether the column may be null.
    pub nullable: bool,
    /// `METADATA [FROM 'key'] [VIRTUAL]`, when written.
    pub metadata: Option<Metadata>,
    /// Byte range of the type in the definition text.
    pub ty_range: (usize, usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// A column's `METADATA` clause.
pub struct Metadata {
    /// `None` for `METADATA` without `FROM` (the column name is the key).
    pub key: Option<String>,
    /// Byte range of the key (or of `METADATA`) in the definition text.
    pub range: (usize, usize),
    /// Whether `VIRTUAL` was written.
    pub is_virtual: bool,
}
