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

/// How [`run`] retries: the backoff, the most retries (the backoff's
/// `max_retries` unless changed), an optional deadline, and which classes of
/// error are worth retrying.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy<'a> {
    pub(crate) backoff: &'a Backoff,
    pub(crate) max_retries: u32,
    /// No retry starts after it, and no wait runs past it.
    pub(crate) deadline: Option<tokio::time::Instant>,
    /// Whether an error of this class is retried (the others stop at once).
    pub(crate) retries: fn(Class) -> bool,
    /// The largest retry number the delay grows with (see [`delay`]).
    pub(crate) max_exponent: u32,
}

impl<'a> Policy<'a> {
    /// Retries throttling and transient errors, up to `backoff.max_retries`, without deadline.
    pub(crate) fn new(backoff: &'a Backoff) -> Self {
        Policy { backoff, max_retries: backoff.max_retries, deadline: None, retries: Class::is_retryable, max_exponent: 64 }
    }
    pub(crate) fn deadline(self, deadline: tokio::time::Instant) -> Self {
        Policy { deadline: Some(deadline), ..self }
    }
    pub(crate) fn retrying(self, retries: fn(Class) -> bool) -> Self {
        Policy { retries, ..self }
    }
    pub(crate) fn max_exponent(self, max_exponent: u32) -> Self {
        Policy { max_exponent, ..self }
    }
    /// No limit on the number of retries: the deadline or the class ends them.
    pub(crate) fn unlimited(self) -> Self {
        Policy { max_retries: u32::MAX, ..self }
    }

    /// The wait before retry number `attempt` (from 0) after an error of
    /// `class`, or why to stop.
    pub(crate) fn decide(&self, class: Class, attempt: u32) -> Result<Duration, Stop> {
        if !(self.retries)(class) {
            return Err(Stop::Fatal);
        }
        if attempt >= self.max_retries {
            return Err(Stop::Exhausted);
        }
        let wait = delay(self.backoff, attempt.min(self.max_exponent));
        match self.deadline {
            Some(d) => {
                let left = d.saturating_duration_since(tokio::time::Instant::now());
                if left.is_zero() { Err(Stop::Deadline) } else { Ok(wait.min(left)) }
            }
            None => Ok(wait),
        }
    }
}

impl Class {
    /// Throttling and transient errors.
    pub(crate) fn is_retryable(self) -> bool {
        matches!(self, Class::Throttled | Class::Transient)
    }
    /// Anything but a fatal error.
    pub(crate) fn is_not_fatal(self) -> bool {
        self != Class::Fatal
    }
}

/// The outcome of one attempt of an operation run by [`run`].
#[derive(Debug)]
pub(crate) enum Attempt<T, E> {
    Done(T),
    /// Failed with an error of this class: retried if the policy allows.
    Failed(Class, E),
    /// Send again at once, not counted as a retry: the server wants the
    /// stream named differently ([`crate::stream::Target::refused_arn`]).
    /// After [`MAX_RESENDS`] in a row it counts as a [`Class::Retarget`] failure.
    Resend(E),
}

/// Why [`run`] gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The error's class is not retried.
    Fatal,
    /// The most retries failed too.
    Exhausted,
    /// The deadline passed.
    Deadline,
}

/// [`run`] gave up: the last error, why, and how many attempts were made.
#[derive(Debug)]
pub(crate) struct GaveUp<E> {
    pub(crate) error: E,
    pub(crate) stop: Stop,
    pub(crate) attempts: u32,
}

/// The most [`Attempt::Resend`]s in a row: a server that refuses both ways
/// of naming the stream must not be asked for ever.
pub(crate) const MAX_RESENDS: u32 = 8;

/// Runs `op` (given the retry number, from 0) until it is done, retrying
/// failures as `policy` says, with its backoff in between.
pub(crate) async fn run<T, E, F, Fut>(policy: &Policy<'_>, op: F) -> Result<T, GaveUp<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Attempt<T, E>>,
{
    run_with(|class, _: &E, attempt| policy.decide(class, attempt), op).await
}

/// [`run`] with the decision as a function: given a failure's class, its
/// error and the retry number, how long to wait before retrying, or why to stop.
pub(crate) async fn run_with<T, E, D, F, Fut>(decide: D, mut op: F) -> Result<T, GaveUp<E>>
where
    D: FnMut(Class, &E, u32) -> Result<Duration, Stop>,
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Attempt<T, E>>,
{
    let mut retrier = Retrier::with(decide);
    loop {
        match op(retrier.attempt()).await {
            Attempt::Done(t) => return Ok(t),
            Attempt::Resend(error) => retrier.resend(error)?,
            Attempt::Failed(class, error) => retrier.failed(class, error).await?,
        }
    }
}

/// The driver behind [`run`], for loops that keep state of their own
/// between attempts: tell it each failure, and it waits before the retry
/// or gives up.
pub(crate) struct Retrier<D> {
    decide: D,
    attempt: u32,
    resends: u32,
}

/// A [`Retrier`] deciding as `policy` does.
pub(crate) fn retrier<'a, E>(policy: Policy<'a>) -> Retrier<impl FnMut(Class, &E, u32) -> Result<Duration, Stop> + 'a> {
    Retrier::with(move |class, _: &E, attempt| policy.decide(class, attempt))
}

impl<D> Retrier<D> {
    /// A driver deciding with `decide` (see [`run_with`]).
    pub(crate) fn with(decide: D) -> Self {
        Retrier { decide, attempt: 0, resends: 0 }
    }

    /// The retry number of the next attempt (0: the first attempt).
    pub(crate) fn attempt(&self) -> u32 {
        self.attempt
    }

    /// A success ends a run of failures: the next failure is retry 0 again.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
        self.resends = 0;
    }

    /// The attempt must be sent again at once (see [`Attempt::Resend`]);
    /// too many in a row give up.
    pub(crate) fn resend<E>(&mut self, error: E) -> Result<(), GaveUp<E>>
    where
        D: FnMut(Class, &E, u32) -> Result<Duration, Stop>,
    {
        if self.resends < MAX_RESENDS {
            self.resends += 1;
            return Ok(());
        }
        Err(GaveUp { error, stop: Stop::Fatal, attempts: self.attempt.saturating_add(1) })
    }

    /// The attempt failed with an error of `class`: waits before the retry,
    /// or gives up.
    pub(crate) async fn failed<E>(&mut self, class: Class, error: E) -> Result<(), GaveUp<E>>
    where
        D: FnMut(Class, &E, u32) -> Result<Duration, Stop>,
    {
        self.resends = 0;
        match (self.decide)(class, &error, self.attempt) {
            Ok(wait) => {
                tokio::time::sleep(wait).await;
                self.attempt = self.attempt.saturating_add(1);
                Ok(())
            }
            Err(stop) => Err(GaveUp { error, stop, attempts: self.attempt.saturating_add(1) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;

    /// A backoff of a millisecond, so the tests take no time to speak of.
    const FAST: Backoff = Backoff::new(3, 1, 1, 1.0);

    async fn failing(policy: &Policy<'_>, class: Class, calls: &AtomicU32) -> Result<(), GaveUp<&'static str>> {
        run(policy, |_| {
            calls.fetch_add(1, Ordering::Relaxed);
            async move { Attempt::<(), _>::Failed(class, "no") }
        })
        .await
    }

    #[tokio::test]
    async fn retries_up_to_the_most_retries_then_gives_up_with_the_last_error() {
        let calls = AtomicU32::new(0);
        let e = failing(&Policy::new(&FAST), Class::Throttled, &calls).await.unwrap_err();
        assert_eq!((e.stop, e.attempts, e.error), (Stop::Exhausted, 4, "no"));
        assert_eq!(calls.load(Ordering::Relaxed), 4, "one attempt and three retries");
    }

    #[tokio::test]
    async fn a_fatal_error_stops_at_once() {
        let calls = AtomicU32::new(0);
        let e = failing(&Policy::new(&FAST), Class::Fatal, &calls).await.unwrap_err();
        assert_eq!((e.stop, e.attempts), (Stop::Fatal, 1));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        let e = failing(&Policy::new(&FAST), Class::ExpiredIterator, &calls).await.unwrap_err();
        assert_eq!(e.stop, Stop::Fatal, "the default policy retries throttling and transient errors only");
        let not_fatal = Policy::new(&FAST).retrying(Class::is_not_fatal);
        assert_eq!(failing(&not_fatal, Class::ExpiredIterator, &calls).await.unwrap_err().stop, Stop::Exhausted);
    }

    #[tokio::test]
    async fn success_after_failures_returns_the_value_and_sees_the_retry_numbers() {
        let seen = std::sync::Mutex::new(Vec::new());
        let v = run(&Policy::new(&FAST), |attempt| {
            seen.lock().unwrap().push(attempt);
            async move { if attempt < 2 { Attempt::Failed(Class::Transient, ()) } else { Attempt::Done(attempt * 10) } }
        })
        .await
        .unwrap();
        assert_eq!(v, 20);
        assert_eq!(*seen.lock().unwrap(), [0, 1, 2]);
    }

    #[tokio::test]
    async fn the_deadline_ends_unlimited_retries() {
        let calls = AtomicU32::new(0);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(30);
        let policy = Policy::new(&FAST).unlimited().deadline(deadline);
        let e = failing(&policy, Class::Transient, &calls).await.unwrap_err();
        assert_eq!(e.stop, Stop::Deadline);
        assert!(tokio::time::Instant::now() >= deadline);
        assert!(calls.load(Ordering::Relaxed) > 3, "more than max_retries attempts: unlimited");
        let past = Policy::new(&FAST).deadline(tokio::time::Instant::now());
        assert_eq!(failing(&past, Class::Transient, &calls).await.unwrap_err().attempts, 1, "a past deadline: no retry");
    }

    #[tokio::test]
    async fn resends_are_not_counted_until_they_repeat_too_often() {
        let calls = AtomicU32::new(0);
        let v = run(&Policy::new(&Backoff::new(0, 1, 1, 1.0)), |_| {
            let n = calls.fetch_add(1, Ordering::Relaxed);
            async move { if n < 2 { Attempt::Resend(()) } else { Attempt::Done(n) } }
        })
        .await
        .unwrap();
        assert_eq!(v, 2, "no retries allowed, yet two resends went through");
        let e = run(&Policy::new(&FAST), |_| async { Attempt::<(), _>::Resend("refused") }).await.unwrap_err();
        assert_eq!((e.stop, e.error), (Stop::Fatal, "refused"));
    }

    #[test]
    fn the_delay_grows_up_to_the_cap_with_jitter_on_the_upper_half() {
        let b = Backoff::new(5, 100, 1_000, 2.0);
        for attempt in 0..10 {
            let full = (100.0 * 2f64.powi(attempt as i32)).min(1_000.0);
            let d = delay(&b, attempt).as_secs_f64() * 1000.0;
            assert!(d >= full / 2.0 - 1e-6 && d <= full + 1e-6, "attempt {attempt}: {d} ms of {full}");
        }
        let capped = Policy::new(&b).max_exponent(1);
        let d = capped.decide(Class::Transient, 4).unwrap();
        assert!(d <= Duration::from_millis(200), "{d:?}");
    }
}
