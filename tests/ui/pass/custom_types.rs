struct MyCreds;
impl kinesis_tables::CustomCredentials for MyCreds {
    fn create() -> Self {
        MyCreds
    }
}

#[derive(kinesis_tables::Table)]
#[kinesis(with(
    "connector" = "kinesis-legacy",
    "stream" = "events",
    "aws.region" = "eu-west-1",
    "format" = "raw",
    "aws.credentials.provider" = "CUSTOM",
    "aws.credentials.custom.class" = "MyCreds"
))]
struct Event {
    payload: Vec<u8>,
}

fn main() {
    let _ = Event { payload: vec![] };
}
