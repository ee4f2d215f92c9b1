#[derive(kinesis_tables::Table)]
#[kinesis(with(
    "connector" = "kinesis",
    "stream.arn" = "arn:aws:kinesis:us-east-1:012345678901:stream/clicks",
    "aws.region" = "us-east-1",
    "format" = "avro"
))]
struct Click {
    id: i64,
    #[kinesis(sql = "TIMESTAMP(6)")]
    at: kinesis_tables::types::NaiveDateTime,
}

fn main() {}
