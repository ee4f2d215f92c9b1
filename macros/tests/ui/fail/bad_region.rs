#[derive(kinesis_tables::Table)]
#[kinesis(with(
    "connector" = "kinesis",
    "stream.arn" = "arn:aws:kinesis:us-east-1:012345678901:stream/s",
    "aws.region" = "us-fake-1",
    "format" = "json"
))]
struct T {
    id: i64,
}

fn main() {}
