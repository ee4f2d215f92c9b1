//! The clock leases are timed with: a monotonic clock that keeps counting
//! while the process or the machine is suspended (`CLOCK_BOOTTIME` on
//! Linux), so that a process stopped with SIGSTOP, or a suspended VM, wakes
//! up knowing how long it slept — and that its leases may be gone.
//!
//! Behind a trait so that the pure core and its tests can drive time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A monotonic clock: the time since some fixed, unspecified origin.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Duration;
}

/// `CLOCK_BOOTTIME` on Linux (counts through suspension); elsewhere
/// `CLOCK_MONOTONIC` where it is available, else [`std::time::Instant`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BootClock;

impl Clock for BootClock {
    fn now(&self) -> Duration {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: `ts` is a valid, writable timespec; clock_gettime only writes into it.
            let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
            if rc == 0 {
                return Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32);
            }
        }
        fallback_now()
    }
}

/// The process-local monotonic clock, for platforms without CLOCK_BOOTTIME.
fn fallback_now() -> Duration {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(std::time::Instant::now).elapsed()
}

/// A clock the caller moves: for tests, and to simulate a suspended process.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn new() -> Self {
        Self::default()
    }
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_nanos().min(u128::from(u64::MAX)) as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

/// The boot clock plus an offset the caller adds: a real clock that a test
/// can jump forward, as if the process had been suspended.
#[derive(Debug, Clone, Default)]
pub struct SkewedClock(Arc<AtomicU64>);

impl SkewedClock {
    pub fn new() -> Self {
        Self::default()
    }
    /// From now on the clock reads `by` later than the boot clock, in addition to earlier jumps.
    pub fn jump(&self, by: Duration) {
        self.0.fetch_add(by.as_nanos().min(u128::from(u64::MAX)) as u64, Ordering::SeqCst);
    }
}

impl Clock for SkewedClock {
    fn now(&self) -> Duration {
        BootClock.now() + Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boot_clock_moves_forward_and_the_manual_clock_only_when_told() {
        let a = BootClock.now();
        std::thread::sleep(Duration::from_millis(2));
        assert!(BootClock.now() > a);
        let m = ManualClock::new();
        assert_eq!(m.now(), Duration::ZERO);
        m.advance(Duration::from_secs(3));
        assert_eq!(m.now(), Duration::from_secs(3));
        let s = SkewedClock::new();
        let before = s.now();
        s.jump(Duration::from_secs(60));
        assert!(s.now() >= before + Duration::from_secs(60));
    }
}
