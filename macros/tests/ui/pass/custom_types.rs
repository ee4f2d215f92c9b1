use kinesis_tables::aws::aws_credential_types::provider::{future, ProvideCredentials};

#[derive(Debug)]
struct MyCreds;
impl ProvideCredentials for MyCreds {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Ok(kinesis_tables::aws::aws_credential_types::Credentials::new("id", "key", None, None, "ui-test")))
    }
}
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
    assert!(<Event as kinesis_tables::Record>::custom_credentials().is_some());
}
