//! Building an `aws-sdk-kinesis` client from a table's validated options.
//!
//! Region, endpoint, credentials, TLS trust, HTTP version, request
//! concurrency and timeouts all come from the [`TableConfig`]. Whatever the
//! spec leaves out is resolved by `aws-config` the standard way
//! (`AWS_REGION`, `AWS_ENDPOINT_URL`, profiles, the default provider chain).
//!
//! The HTTP client is our own small adapter over hyper + rustls, because the
//! SDK's default client cannot be told to trust every certificate
//! (`aws.trust.all.certificates`), to stay on HTTP/1.1
//! (`sink.http-client.protocol.version`) or to cap concurrent requests
//! (`sink.http-client.max-concurrency`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_kinesis::config::Region;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Response as SdkResponse;
use aws_smithy_types::body::SdkBody;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;

use crate::config::{Credentials, HttpProtocol, TableConfig};

/// Timeouts of one SDK client. Every call is bounded: a connection attempt by
/// `connect`, waiting for a response by `read`, and the whole call by
/// `operation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    pub connect: Duration,
    pub read: Duration,
    pub operation: Duration,
}

impl Timeouts {
    /// For the source: GetRecords, ListShards and friends answer quickly.
    pub const SOURCE: Timeouts =
        Timeouts { connect: Duration::from_secs(10), read: Duration::from_secs(30), operation: Duration::from_secs(60) };

    /// For the sink: the read timeout is `sink.http-client.read-timeout`.
    pub fn sink(cfg: &TableConfig) -> Timeouts {
        let read = cfg.sink.http_read_timeout;
        Timeouts { connect: Duration::from_secs(10), read, operation: read + Duration::from_secs(10) }
    }
}

/// HTTP settings of one client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HttpSettings {
    pub protocol: HttpProtocol,
    pub max_concurrency: u32,
    pub timeouts: Timeouts,
}

impl HttpSettings {
    pub fn source(cfg: &TableConfig) -> HttpSettings {
        let max_concurrency = match cfg.source.reader {
            crate::config::ReaderType::Efo => cfg.source.efo.http_max_concurrency,
            crate::config::ReaderType::Polling => 10_000,
        };
        HttpSettings { protocol: HttpProtocol::Http2, max_concurrency, timeouts: Timeouts::SOURCE }
    }
    pub fn sink(cfg: &TableConfig) -> HttpSettings {
        HttpSettings { protocol: cfg.sink.http_protocol, max_concurrency: cfg.sink.http_max_concurrency, timeouts: Timeouts::sink(cfg) }
    }
}

/// Why a client could not be built.
#[derive(Debug)]
pub struct ConnectError(pub String);

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConnectError {}

/// Builds a Kinesis client for a table.
///
/// `custom` is the provider of a `CUSTOM` credentials type, which generated
/// code creates (see [`crate::Record::custom_credentials`]).
pub async fn kinesis_client(
    cfg: &TableConfig,
    http: HttpSettings,
    custom: Option<SharedCredentialsProvider>,
) -> Result<aws_sdk_kinesis::Client, ConnectError> {
    if cfg.aws.trust_all_certificates {
        tracing::warn!("aws.trust.all.certificates is set: TLS certificates are NOT verified. Never use this outside tests.");
    }
    let http_client = http_client(cfg.aws.trust_all_certificates, http)?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client.clone())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeout_config(http.timeouts));
    if let Some(region) = region_of(cfg) {
        loader = loader.region(Region::new(region));
    }
    if let Some(endpoint) = &cfg.aws.endpoint {
        loader = loader.endpoint_url(endpoint.to_string());
    }
    let base = loader.load().await;
    warn_about_plain_http(cfg, &base);
    let region = base.region().cloned();
    let credentials = credentials_provider(&cfg.aws.credentials, &base, region.clone(), custom).await?;
    let mut builder = aws_sdk_kinesis::config::Builder::from(&base);
    if let Some(provider) = credentials {
        builder = builder.credentials_provider(provider);
    }
    if region.is_none() {
        return Err(ConnectError(
            "no AWS region: set `aws.region` in the spec, or AWS_REGION / a profile region in the environment".into(),
        ));
    }
    Ok(aws_sdk_kinesis::Client::from_conf(builder.build()))
}

/// Warns (once per endpoint and process) when the Kinesis endpoint in use —
/// the spec's `aws.endpoint`, else `AWS_ENDPOINT_URL_KINESIS` or
/// `AWS_ENDPOINT_URL` (or a profile's `endpoint_url`) — or the spec's STS
/// endpoint is plain `http://` to anything but a loopback address.
fn warn_about_plain_http(cfg: &TableConfig, base: &aws_config::SdkConfig) {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let ignore_env = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let kinesis = match &cfg.aws.endpoint {
        Some(e) => Some((e.to_string(), "aws.endpoint")),
        None => match env("AWS_ENDPOINT_URL_KINESIS").filter(|_| !ignore_env) {
            Some(e) => Some((e, "AWS_ENDPOINT_URL_KINESIS")),
            None => base.endpoint_url().map(|e| (e.to_owned(), "AWS_ENDPOINT_URL")),
        },
    };
    let sts = match &cfg.aws.credentials {
        Credentials::AssumeRole { sts_endpoint: Some(e), .. } => Some((e.to_string(), "aws.credentials.role.sts.endpoint")),
        _ => None,
    };
    static WARNED: std::sync::Mutex<std::collections::BTreeSet<String>> = std::sync::Mutex::new(std::collections::BTreeSet::new());
    for (endpoint, origin) in kinesis.into_iter().chain(sts) {
        let Some(host) = plain_http_host(&endpoint) else { continue };
        if WARNED.lock().map(|mut w| w.insert(endpoint.clone())).unwrap_or(true) {
            tracing::warn!(
                "endpoint {endpoint} (from {origin}) is plain http:// to {host}, which is not a loopback address: requests and \
                 their data travel unencrypted and unauthenticated; use https://"
            );
        }
    }
}

/// The host of a plain-`http://` endpoint that is not a loopback address
/// (127.0.0.0/8, ::1, `localhost` and `*.localhost`); `None` for `https://`,
/// for loopback, and for text that is not a URL with a host.
pub(crate) fn plain_http_host(endpoint: &str) -> Option<String> {
    let uri: http::Uri = endpoint.trim().parse().ok()?;
    if !uri.scheme_str()?.eq_ignore_ascii_case("http") {
        return None;
    }
    let host = uri.host()?;
    let bare = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.');
    let loopback = match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_canonical().is_loopback(),
        Err(_) => {
            let lower = bare.to_ascii_lowercase();
            lower == "localhost" || lower.ends_with(".localhost")
        }
    };
    (!loopback).then(|| host.to_owned())
}

fn region_of(cfg: &TableConfig) -> Option<String> {
    if let Some(r) = &cfg.aws.region {
        return Some(r.to_string());
    }
    match &cfg.stream {
        crate::config::StreamRef::Arn { region, .. } => Some(region.to_string()),
        crate::config::StreamRef::Name(_) => None,
    }
}

fn timeout_config(t: Timeouts) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(t.connect)
        .read_timeout(t.read)
        .operation_attempt_timeout(t.operation)
        .operation_timeout(t.operation)
        .build()
}

/// The credentials provider for the configured provider type; `None` keeps
/// the default chain that `aws-config` already set up.
async fn credentials_provider(
    creds: &Credentials,
    base: &aws_config::SdkConfig,
    region: Option<Region>,
    custom: Option<SharedCredentialsProvider>,
) -> Result<Option<SharedCredentialsProvider>, ConnectError> {
    Ok(match creds {
        Credentials::Auto => None,
        other => Some(explicit_provider(other, base, region, custom).await?),
    })
}

fn explicit_provider<'a>(
    creds: &'a Credentials,
    base: &'a aws_config::SdkConfig,
    region: Option<Region>,
    custom: Option<SharedCredentialsProvider>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<SharedCredentialsProvider, ConnectError>> + Send + 'a>> {
    Box::pin(async move {
        let provider = match creds {
            Credentials::Auto => {
                base.credentials_provider().ok_or_else(|| ConnectError("the default AWS credentials chain is unavailable".into()))?
            }
            Credentials::Basic { access_key_id, secret_key } => SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
                &*access_key_id.0,
                &*secret_key.0,
                None,
                None,
                "kinesis-tables BASIC",
            )),
            Credentials::EnvVar => SharedCredentialsProvider::new(aws_config::environment::EnvironmentVariableCredentialsProvider::new()),
            Credentials::Profile { path, name } => {
                let mut b = aws_config::profile::ProfileFileCredentialsProvider::builder().configure(&provider_config(base, &region));
                if let Some(path) = path {
                    let files = aws_runtime::env_config::file::EnvConfigFiles::builder()
                        .with_file(aws_runtime::env_config::file::EnvConfigFileKind::Credentials, &**path)
                        .include_default_config_file(true)
                        .build();
                    b = b.profile_files(files);
                }
                if let Some(name) = name {
                    b = b.profile_name(&**name);
                }
                SharedCredentialsProvider::new(b.build())
            }
            Credentials::AssumeRole { role_arn, session_name, external_id, sts_endpoint, source } => {
                let inner = explicit_provider(source, base, region.clone(), custom).await?;
                // The Kinesis endpoint override must not leak into STS.
                let mut sts = base.to_builder();
                sts.set_endpoint_url(sts_endpoint.as_deref().map(str::to_owned));
                let sts = sts.build();
                let mut b = aws_config::sts::AssumeRoleProvider::builder(&**role_arn).session_name(&**session_name).configure(&sts);
                if let Some(id) = external_id {
                    b = b.external_id(&**id);
                }
                if let Some(r) = region {
                    b = b.region(r);
                }
                SharedCredentialsProvider::new(b.build_from_provider(inner).await)
            }
            Credentials::WebIdentityToken { role_arn, session_name, token_file } => {
                let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
                let role_arn = role_arn.as_deref().map(str::to_owned).or_else(|| env("AWS_ROLE_ARN"));
                let token_file = token_file.as_deref().map(str::to_owned).or_else(|| env("AWS_WEB_IDENTITY_TOKEN_FILE"));
                let session_name = session_name
                    .as_deref()
                    .map(str::to_owned)
                    .or_else(|| env("AWS_ROLE_SESSION_NAME"))
                    .unwrap_or_else(|| "kinesis-tables".to_owned());
                let (Some(role_arn), Some(token_file)) = (role_arn, token_file) else {
                    return Err(ConnectError(
                        "WEB_IDENTITY_TOKEN needs a role ARN (aws.credentials.role.arn or AWS_ROLE_ARN) and a token file \
                         (aws.credentials.webIdentityToken.file or AWS_WEB_IDENTITY_TOKEN_FILE)"
                            .into(),
                    ));
                };
                let conf = provider_config(base, &region);
                SharedCredentialsProvider::new(
                    aws_config::web_identity_token::WebIdentityTokenCredentialsProvider::builder()
                        .static_configuration(aws_config::web_identity_token::StaticConfiguration {
                            web_identity_token_file: token_file.into(),
                            role_arn,
                            session_name,
                        })
                        .configure(&conf)
                        .build(),
                )
            }
            Credentials::Custom { type_path } => {
                custom.ok_or_else(|| ConnectError(format!("CUSTOM credentials name `{type_path}`, but no provider was supplied for it")))?
            }
        };
        Ok(provider)
    })
}

/// What credentials providers that make calls of their own (STS, SSO) use:
/// our HTTP client, timeouts and region.
fn provider_config(base: &aws_config::SdkConfig, region: &Option<Region>) -> aws_config::provider_config::ProviderConfig {
    let conf = aws_config::provider_config::ProviderConfig::without_region().with_region(region.clone());
    match base.http_client() {
        Some(h) => conf.with_http_client(h),
        None => conf,
    }
}

/// Our HTTP client: hyper + rustls, with the table's TLS, HTTP-version and
/// concurrency settings.
pub fn http_client(trust_all: bool, settings: HttpSettings) -> Result<SharedHttpClient, ConnectError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError(format!("TLS setup failed: {e}")))?;
    // hyper-rustls sets ALPN from the enabled HTTP versions below.
    let tls = if trust_all {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(TrustAll(provider))).with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    let mut tcp = TcpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(settings.timeouts.connect));
    let https = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http();
    let https = match settings.protocol {
        HttpProtocol::Http1_1 => https.enable_http1().wrap_connector(tcp),
        HttpProtocol::Http2 => https.enable_http1().enable_http2().wrap_connector(tcp),
    };
    let client = HyperClient::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(60)).build(https);
    let permits = (settings.max_concurrency as usize).clamp(1, Semaphore::MAX_PERMITS);
    Ok(SharedHttpClient::new(Client(Arc::new(Inner { client, permits: Semaphore::new(permits), timeouts: settings.timeouts }))))
}

type Https = hyper_rustls::HttpsConnector<TcpConnector>;

struct Inner {
    client: HyperClient<Https, SdkBody>,
    permits: Semaphore,
    timeouts: Timeouts,
}

#[derive(Clone)]
struct Client(Arc<Inner>);

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("kinesis_tables::connect::Client").field("timeouts", &self.0.timeouts).finish_non_exhaustive()
    }
}

impl HttpClient for Client {
    fn http_connector(&self, settings: &HttpConnectorSettings, _components: &RuntimeComponents) -> SharedHttpConnector {
        let read = settings.read_timeout().unwrap_or(self.0.timeouts.read);
        SharedHttpConnector::new(Connector { inner: self.0.clone(), read })
    }
}

struct Connector {
    inner: Arc<Inner>,
    read: Duration,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("kinesis_tables::connect::Connector").field("read", &self.read).finish_non_exhaustive()
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let read = self.read;
        HttpConnectorFuture::new(async move {
            let request = request.try_into_http1x().map_err(|e| ConnectorError::other(Box::new(e), None))?;
            let _permit = inner.permits.acquire().await.map_err(|e| ConnectorError::other(Box::new(e), None))?;
            // The read timeout bounds the wait for the response head; the body
            // (an event stream for SubscribeToShard) is bounded by the caller.
            let response = match tokio::time::timeout(read, inner.client.request(request)).await {
                Err(_) => return Err(ConnectorError::timeout(format!("no response within {read:?}").into())),
                Ok(Err(e)) => {
                    let timeout = e.is_connect() && format!("{e:?}").contains("TimedOut");
                    return Err(if timeout { ConnectorError::timeout(Box::new(e)) } else { ConnectorError::io(Box::new(e)) });
                }
                Ok(Ok(r)) => r,
            };
            let response = response.map(SdkBody::from_body_1_x);
            SdkResponse::try_from(response).map_err(|e| ConnectorError::other(Box::new(e), None))
        })
    }
}

/// Accepts every certificate; only ever built when
/// `aws.trust.all.certificates` is explicitly true.
#[derive(Debug)]
struct TrustAll(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for TrustAll {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::plain_http_host;

    #[test]
    fn plain_http_is_flagged_unless_the_host_is_loopback() {
        for quiet in [
            "http://127.0.0.1:4567",
            "http://127.1.2.3",
            "http://[::1]:4567/",
            "http://[::ffff:127.0.0.1]:80",
            "http://localhost:4567",
            "HTTP://LocalHost.",
            "http://kinesis.localhost:4567",
            "https://kinesis.us-east-1.amazonaws.com",
            "https://10.0.0.5:443",
            "not a url",
        ] {
            assert_eq!(plain_http_host(quiet), None, "{quiet}");
        }
        for (loud, host) in [
            ("http://10.0.0.5:4567", "10.0.0.5"),
            ("http://192.168.1.20", "192.168.1.20"),
            ("http://[fd00::1]:4567", "[fd00::1]"),
            ("http://kinesis.internal.example:4567", "kinesis.internal.example"),
            ("Http://localhost.example.com", "localhost.example.com"),
            ("http://0.0.0.0:4567", "0.0.0.0"),
        ] {
            assert_eq!(plain_http_host(loud).as_deref(), Some(host), "{loud}");
        }
    }
}
