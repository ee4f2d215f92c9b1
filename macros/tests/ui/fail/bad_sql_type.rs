#[derive(kinesis_tables::Table)]
#[kinesis(with(
    "connector" = "kinesis",
    "stream.arn" = "arn:aws:kinesis:us-east-1:012345678901:stream/s",
    "aws.region" = "us-east-1",
    "format" = "json"
))]
struct T {
    #[kinesis(sql = "DECIMAL(40, 2)")]
    price: kinesis_tables::types::Decimal,
}

fn main() {}
