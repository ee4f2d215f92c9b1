use kinesis_tables::Record;

#[derive(kinesis_tables::Table, Debug, Clone, PartialEq)]
#[kinesis(with(
    "connector" = "kinesis",
    "stream.arn" = "arn:aws:kinesis:us-east-1:012345678901:stream/clicks",
    "aws.region" = "us-east-1",
    "format" = "avro"
))]
struct Click {
    user_id: i64,
    #[kinesis(rename = "page_url")]
    url: Option<String>,
    #[kinesis(sql = "DECIMAL(10, 2)")]
    price: Option<kinesis_tables::types::Decimal>,
    tags: Vec<Option<String>>,
    #[kinesis(metadata = "shard-id")]
    shard: String,
}

#[derive(kinesis_tables::Table, Debug, Clone, PartialEq)]
#[kinesis(with("connector" = "print", "format" = "avro", "avro.encoding" = "json"))]
struct Shown {
    id: i64,
    note: Option<String>,
}

fn main() {
    let c = Click { user_id: 7, url: Some("/a".into()), price: None, tags: vec![None], shard: String::new() };
    let bytes = c.encode().unwrap();
    // user_id 7; url: branch 1, "/a"; price: branch 0; tags: one block of 1, a null, end.
    assert_eq!(bytes, [14, 2, 4, b'/', b'a', 0, 2, 0, 0]);
    assert_eq!(Click::decode(&bytes).unwrap(), c);
    assert!(Click::AVRO_SCHEMA.contains("org.apache.flink.avro.generated.record"));
    let s = Shown { id: 1, note: Some("x".into()) };
    assert_eq!(s.encode().unwrap(), br#"{"id":1,"note":{"string":"x"}}"#);
    assert_eq!(Shown::decode(&s.encode().unwrap()).unwrap(), s);
}
