#[derive(kinesis_tables::Table)]
#[kinesis(with(
    "connector" = "kinesis",
    "stream.arn" = "arn:aws:kinesis:us-east-1:012345678901:stream/s",
    "aws.region" = "us-east-1",
    "format" = "json",
    "sink.fail-on-error" = "maybe",
    "source.shard.discovery.interval" = "10 parsecs"
))]
struct T {
    id: i64,
}

fn main() {}
