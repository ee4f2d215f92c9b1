use kinesis_tables::Record;

#[derive(kinesis_tables::Table, Debug, Clone, PartialEq)]
#[kinesis(
    with(
        "connector" = "kinesis",
        "stream.arn" = "arn:aws:kinesis:us-east-1:012345678901:stream/clicks",
        "aws.region" = "us-east-1",
        "format" = "json",
        "sink.batch.max-size" = 250,
        "sink.fail-on-error" = true,
        "source.shard.discovery.interval" = "30 s"
    ),
    partitioned_by(user_id)
)]
struct Click {
    user_id: i64,
    #[kinesis(rename = "page-url")]
    url: Option<String>,
    #[kinesis(sql = "DECIMAL(10, 2)")]
    price: Option<kinesis_tables::types::Decimal>,
    tags: Vec<Option<String>>,
    #[kinesis(metadata = "shard-id")]
    shard: String,
    #[kinesis(metadata = "timestamp")]
    arrived: Option<kinesis_tables::types::DateTime<kinesis_tables::types::Utc>>,
}

fn main() {
    let c = Click { user_id: 7, url: Some("/a".into()), price: None, tags: vec![None], shard: String::new(), arrived: None };
    let bytes = c.encode().unwrap();
    assert_eq!(std::str::from_utf8(&bytes).unwrap(), r#"{"user_id":7,"page-url":"/a","price":null,"tags":[null]}"#);
    assert_eq!(Click::decode(&bytes).unwrap(), c);
    assert_eq!(c.partition_key().unwrap().as_deref(), Some("7"));
    assert_eq!(Click::CONFIG.sink.batch_max_size, 250);
}
