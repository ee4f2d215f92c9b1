//! Backoff and the classification of AWS errors into retryable and fatal.

use std::time::Duration;

use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use crate::config::Backoff;

/// The delay before retry number `attempt` (0-based): `min(max, base * exp^attempt)`,
/// with full jitter on the upper half so that many shards do not retry in step.
pub fn delay(b: &Backoff, attempt: u32) -> Duration {
    let base = b.base.as_secs_f64() * b.exponent.max(1.0).powi(attempt.min(64) as i32);
    let capped = base.min(b.max.as_secs_f64()).max(0.0);
    let jittered = capped * (0.5 + fastrand::f64() * 0.5);
    Duration::from_secs_f64(jittered)
}

/// The sink's own retry schedule (the table options have no sink backoff).
pub const SINK_BACKOFF: Backoff = Backoff::new(u32::MAX, 100, 5_000, 2.0);

/// How an error should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Throttling: back off and retry.
    Throttled,
    /// A transient failure (5xx, timeout, broken connection, unreadable response): retry.
    Transient,
    /// The shard iterator expired: get a new one.
    ExpiredIterator,
    /// Retrying cannot help (missing stream, bad request, no permission).
    Fatal,
    /// The server wants the stream named differently; resend at once.
    Retarget,
}

/// Error codes Kinesis uses for throttling.
pub fn is_throttling_code(code: &str) -> bool {
    matches!(
        code,
        "ProvisionedThroughputExceededException"
            | "LimitExceededException"
            | "ThrottlingException"
            | "Throttling"
            | "KMSThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
    )
}

fn is_transient_code(code: &str) -> bool {
    matches!(code, "InternalFailure" | "InternalFailureException" | "ServiceUnavailable" | "InternalServerError")
}

/// Classifies an SDK error.
pub fn classify<E>(err: &SdkError<E, HttpResponse>) -> Class
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::DispatchFailure(_) if bad_certificate(err) || no_credentials(err) => Class::Fatal,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => Class::Transient,
        SdkError::ConstructionFailure(_) => Class::Fatal,
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("");
            if code == "ExpiredIteratorException" {
                Class::ExpiredIterator
            } else if is_throttling_code(code) {
                Class::Throttled
            } else if is_transient_code(code) || raw_status(err).is_some_and(|s| s >= 500) {
                Class::Transient
            } else {
                Class::Fatal
            }
        }
        _ => Class::Transient,
    }
}

/// Whether the connection failed because the server's certificate is not
/// trusted: retrying cannot fix that.
fn bad_certificate(err: &(dyn std::error::Error + 'static)) -> bool {
    // io::Errors wrap their cause without exposing it as `source()`: unwrap them too.
    fn check(e: &(dyn std::error::Error + 'static), depth: u32) -> bool {
        if depth > 16 {
            return false;
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return matches!(tls, rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented);
        }
        if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref())
            && check(inner, depth + 1)
        {
            return true;
        }
        e.source().is_some_and(|s| check(s, depth + 1))
    }
    check(err, 0)
}

/// Whether the request could not be signed because credentials could not be
/// loaded (none configured, a refused role, a bad token). A provider that
/// timed out may recover, so that one is not fatal.
fn no_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    use aws_credential_types::provider::error::CredentialsError;
    let mut next = Some(err);
    let mut depth = 0;
    while let Some(e) = next {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            return !matches!(c, CredentialsError::ProviderTimedOut(_));
        }
        depth += 1;
        if depth > 16 {
            return false;
        }
        next = e.source();
    }
    false
}

fn raw_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    match err {
        SdkError::ServiceError(_) => err.raw_response().map(|r| r.status().as_u16()),
        _ => None,
    }
}

/// A one-line description of an SDK error: its code and message, or the
/// underlying cause (the SDK's Display alone says only "service error").
pub fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_owned(),
                _ => format!("{e}"),
            }
        }
        other => {
            let mut s = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(e) = src {
                s.push_str(": ");
                s.push_str(&e.to_string());
                src = e.source();
            }
            s
        }
    }
}
