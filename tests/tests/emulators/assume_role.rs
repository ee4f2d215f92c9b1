//! ASSUME_ROLE end to end: a fake STS on loopback (given as
//! `aws.credentials.role.sts.endpoint`) hands out the keys that kinesis-mock
//! maps to the stream's account; the nested source provider's keys map to an
//! account without the stream. So the source starts only if the role's
//! credentials are the ones used, and the fake STS checks the request.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use kinesis_tables::config::{Credentials, Secret};
use kinesis_tables::connect::{self, HttpSettings};
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::RtCsv;
use kinesis_tables_tests::rt;

const ROLE_KEYS: &str = "000000000000";
const SOURCE_KEYS: &str = "222222222222";

/// Answers AssumeRole with fixed keys; records (authorization, body) of each call.
async fn fake_sts() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let log = log.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        log.lock().unwrap().push((auth, String::from_utf8_lossy(&body).into_owned()));
                        let xml = format!(
                            r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>{ROLE_KEYS}</AccessKeyId>
      <SecretAccessKey>role-secret</SecretAccessKey>
      <SessionToken>role-session-token</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROAEXAMPLE:kt-session</AssumedRoleId>
      <Arn>arn:aws:sts::{ROLE_KEYS}:assumed-role/reader/kt-session</Arn>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>fake-sts-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#
                        );
                        Ok::<_, Infallible>(
                            hyper::Response::builder().header("content-type", "text/xml").body(Full::new(Bytes::from(xml))).unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_uses_the_role_credentials_from_sts() {
    let emu = Emulator::start(Kind::KinesisMock).await.unwrap();
    emu.create_stream("role", 1).await.unwrap();
    let (sts, seen) = fake_sts().await;
    let mut cfg = rt::config_for::<RtCsv>(&emu.endpoint(), "role");
    let source_keys: &'static Credentials =
        Box::leak(Box::new(Credentials::Basic { access_key_id: Secret(SOURCE_KEYS.into()), secret_key: Secret("source-secret".into()) }));

    // The nested provider's own keys do not reach the stream…
    cfg.aws.credentials = source_keys.clone();
    let client = connect::kinesis_client(&cfg, HttpSettings::source(&cfg), None).await.unwrap();
    let err = Source::<RtCsv>::builder().config(cfg.clone()).client(client).start().await.unwrap_err().to_string();
    assert!(err.contains("ResourceNotFoundException"), "{err}");

    // …the role's do.
    cfg.aws.credentials = Credentials::AssumeRole {
        role_arn: "arn:aws:iam::000000000000:role/reader".into(),
        session_name: "kt-session".into(),
        external_id: Some("ext-42".into()),
        sts_endpoint: Some(sts.clone().into()),
        source: source_keys,
    };
    let client = connect::kinesis_client(&cfg, HttpSettings::source(&cfg), None).await.unwrap();
    let source = Source::<RtCsv>::builder().config(cfg).client(client).start().await;
    assert!(source.is_ok(), "{:?}", source.err());

    let calls = seen.lock().unwrap().clone();
    assert!(!calls.is_empty(), "STS was never called");
    let (auth, body) = &calls[0];
    for part in [
        "Action=AssumeRole",
        "RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Freader",
        "RoleSessionName=kt-session",
        "ExternalId=ext-42",
    ] {
        assert!(body.contains(part), "AssumeRole request lacks {part}: {body}");
    }
    assert!(auth.contains(&format!("Credential={SOURCE_KEYS}/")), "STS call not signed with the nested provider's keys: {auth}");
}
