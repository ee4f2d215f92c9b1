//! The typed intermediate representation the emitter works from: checked
//! tables and pipelines.

mod sql_type;

pub use kinesis_tables_config::Resolved;
pub use sql_type::{ColumnDef, Field, Metadata, RowField, SqlType};

use kinesis_tables_config::catalog;

#[derive(Debug, Clone)]
/// A checked table.
pub struct TableIr {
    /// The table name as written.
    pub name: String,
    /// The Rust type name.
    pub rust_name: String,
    /// Every column, metadata included, in order.
    pub columns: Vec<ColumnIr>,
    /// Indexes into `columns`, in `partitioned_by` order.
    pub partition_columns: Vec<usize>,
    /// The checked options and the typed configuration.
    pub resolved: Resolved,
}

#[derive(Debug, Clone)]
/// A checked column.
pub struct ColumnIr {
    /// The wire name.
    pub name: String,
    /// The Rust field name (possibly `r#type`).
    pub ident: String,
    /// The SQL type.
    pub ty: SqlType,
    /// Whether the column may be null (`Option` in Rust).
    pub nullable: bool,
    /// The Kinesis metadata the column is filled from, for a VIRTUAL metadata column.
    pub metadata: Option<MetaKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// The Kinesis metadata a VIRTUAL column can read.
pub enum MetaKey {
    /// The record's arrival time.
    Timestamp,
    /// The shard the record was read from.
    ShardId,
    /// The record's sequence number.
    SequenceNumber,
    /// The record's partition key (a sub-record's own, when de-aggregated).
    PartitionKey,
    /// A sub-record's index in its KPL-aggregated record; null for plain records.
    SubSequenceNumber,
}

impl MetaKey {
    /// The metadata a `METADATA FROM` key names (the keys are the catalogue's).
    pub fn parse(key: &str) -> Option<Self> {
        match key {
            catalog::META_TIMESTAMP => Some(MetaKey::Timestamp),
            catalog::META_SHARD_ID => Some(MetaKey::ShardId),
            catalog::META_SEQUENCE_NUMBER => Some(MetaKey::SequenceNumber),
            catalog::META_PARTITION_KEY => Some(MetaKey::PartitionKey),
            catalog::META_SUB_SEQUENCE_NUMBER => Some(MetaKey::SubSequenceNumber),
            _ => None,
        }
    }
    /// The column type to declare for this metadata.
    pub fn canonical(self) -> &'static str {
        match self {
            MetaKey::Timestamp => "TIMESTAMP_LTZ(3) NOT NULL",
            MetaKey::ShardId | MetaKey::SequenceNumber => "VARCHAR(128) NOT NULL",
            MetaKey::PartitionKey => "VARCHAR(256) NOT NULL",
            MetaKey::SubSequenceNumber => "BIGINT",
        }
    }
    /// Whether a column of this type can hold the metadata without loss.
    pub fn accepts(self, ty: &SqlType) -> Result<(), &'static str> {
        match (self, ty) {
            (MetaKey::Timestamp, SqlType::TimestampLtz(p) | SqlType::Timestamp(p)) => {
                if *p >= 3 {
                    Ok(())
                } else {
                    Err("arrival times have millisecond precision, which needs precision 3 or more")
                }
            }
            (MetaKey::Timestamp, _) => Err("it is a timestamp"),
            (MetaKey::SubSequenceNumber, SqlType::BigInt) => Ok(()),
            (MetaKey::SubSequenceNumber, _) => Err("it is an integer that can exceed INT"),
            (MetaKey::PartitionKey, SqlType::String) => Ok(()),
            (MetaKey::PartitionKey, SqlType::Varchar(n)) if *n >= 256 => Ok(()),
            (MetaKey::PartitionKey, _) => Err("partition keys can be 256 characters long"),
            (_, SqlType::String) => Ok(()),
            (_, SqlType::Varchar(n)) if *n >= 128 => Ok(()),
            (_, SqlType::Varchar(_)) => Err("values can be 128 characters long"),
            _ => Err("it is a string of up to 128 characters"),
        }
    }
}

/// A checked pipeline.
#[derive(Debug, Clone)]
pub struct PipelineIr {
    /// The pipeline name (its binary's name).
    pub name: String,
    /// The source table's name.
    pub from: String,
    /// The sink table's name.
    pub to: String,
    /// The source table's Rust type.
    pub from_rust: String,
    /// The sink table's Rust type.
    pub to_rust: String,
    /// How a sink record is made from a source record.
    pub mapping: Mapping,
    /// The checked `checkpoints:` block as written (key, value text), which
    /// the generated code resolves at startup (`${ENV}` values); `None`: the
    /// file store.
    pub checkpoints: Option<Vec<(String, String)>>,
}

#[derive(Debug, Clone)]
/// How a pipeline maps source records to sink records.
pub enum Mapping {
    /// A user function; rustc checks its signature.
    Transform(String),
    /// Sink fields from source fields of the same name.
    ByName(Vec<FieldMap>),
    /// A compiled SQL statement.
    Sql(SqlTransform),
}

#[derive(Debug, Clone)]
/// A pipeline's SQL compiled to a Rust function.
pub struct SqlTransform {
    /// The function's name (`transform_<pipeline>`).
    pub function: String,
    /// It returns a `Vec` (`CROSS JOIN UNNEST`) rather than an `Option`.
    pub unnest: bool,
    /// The function's code.
    pub code: proc_macro2::TokenStream,
}

#[derive(Debug, Clone)]
/// One sink field of a by-name mapping.
pub struct FieldMap {
    /// The sink field's Rust name.
    pub sink: String,
    /// Where its value comes from.
    pub conv: Conv,
}

#[derive(Debug, Clone)]
/// Where a sink field's value comes from.
pub enum Conv {
    /// From this source field: (field, wrap in Some, widen with Into).
    From {
        /// The source field's Rust name.
        field: String,
        /// Wrap in `Some` (a NOT NULL source into a nullable sink).
        some: bool,
        /// Widen with `Into`.
        into: bool,
        /// Widen inside an `Option` with `Option::map(Into::into)`.
        option_into: bool,
    },
    /// A VIRTUAL metadata column of the sink: filled only when read back.
    Metadata,
}
