#[derive(kinesis_tables::Table)]
#[kinesis(with(
    "connector" = "kinesis",
    "stream.arn" = "arn:aws:kinesis:us-east-1:012345678901:stream/s",
    "aws.region" = "us-east-1",
    "format" = "json",
    "aws.credentials.provider" = "BASIC",
    "aws.credentials.basic.accesskeyid" = "${AWS_ACCESS_KEY_ID}",
    "aws.credentials.basic.secretkey" = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
))]
struct T {
    id: i64,
}

fn main() {}
