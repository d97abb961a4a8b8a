//! [`RateLimited`]: at most a burst of log lines per period from one place; the rest are
//! counted and reported as `suppressed N`.

use std::fmt::Arguments;
use std::time::{Duration, Instant};

use super::Level;

/// Allows at most `burst` events per `period` (default: 5 per 10 s) and counts the rest.
/// The count is logged (`<label>: suppressed N similar messages`, field `suppressed`) when
/// the next period starts with a new event, and when the limiter is dropped (a stage
/// ending), so no suppressed event goes unmentioned.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use engine::log::RateLimited;
///
/// let mut limit = RateLimited::named("input udp").with_burst(2, Duration::from_secs(60));
/// let logged = (0..10).filter(|_| limit.allow()).count();
/// assert_eq!((logged, limit.suppressed()), (2, 8));
/// ```
#[derive(Debug)]
pub struct RateLimited {
    label: String,
    period: Duration,
    burst: u32,
    window_start: Option<Instant>,
    in_window: u32,
    suppressed: u64,
}

impl Default for RateLimited {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimited {
    /// 5 events per 10 seconds, reported without a label.
    pub fn new() -> Self {
        Self::named("")
    }

    /// 5 events per 10 seconds; `label` (e.g. `"json: decode error"`) names the
    /// suppressed lines in the `suppressed N` report.
    pub fn named(label: impl Into<String>) -> Self {
        RateLimited {
            label: label.into(),
            period: Duration::from_secs(10),
            burst: 5,
            window_start: None,
            in_window: 0,
            suppressed: 0,
        }
    }

    /// `burst` events per `period`, unlabelled.
    pub fn with(burst: u32, period: Duration) -> Self {
        Self::new().with_burst(burst, period)
    }

    /// The same limiter allowing `burst` events per `period`.
    pub fn with_burst(mut self, burst: u32, period: Duration) -> Self {
        self.burst = burst;
        self.period = period;
        self
    }

    /// Events refused since the last `suppressed N` report.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }

    /// Whether this event may be logged now (counts it as suppressed if not).
    pub fn allow(&mut self) -> bool {
        let now = Instant::now();
        match self.window_start {
            Some(start) if now.duration_since(start) < self.period => {}
            _ => {
                self.report_suppressed();
                self.window_start = Some(now);
                self.in_window = 0;
            }
        }
        if self.in_window < self.burst {
            self.in_window += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }

    /// Logs `args` at `level` if [`RateLimited::allow`] lets it.
    pub fn log(&mut self, level: Level, args: Arguments<'_>) {
        if self.allow() {
            super::log(level, args, &[]);
        }
    }

    /// Logs a warning if [`RateLimited::allow`] lets it.
    pub fn warn(&mut self, args: Arguments<'_>) {
        self.log(Level::Warn, args);
    }

    /// Logs `suppressed N similar messages` if any were, and starts counting again.
    pub(super) fn report_suppressed(&mut self) {
        if self.suppressed == 0 {
            return;
        }
        let n = self.suppressed;
        self.suppressed = 0;
        let sep = if self.label.is_empty() { "" } else { ": " };
        super::log(
            Level::Warn,
            format_args!("{}{sep}suppressed {n} similar messages", self.label),
            &[("suppressed", &n)],
        );
    }
}

impl Drop for RateLimited {
    fn drop(&mut self) {
        self.report_suppressed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_suppresses() {
        let mut r = RateLimited::with(3, Duration::from_secs(3600));
        let allowed = (0..10).filter(|_| r.allow()).count();
        assert_eq!(allowed, 3);
        assert_eq!(r.suppressed(), 7);
    }

    #[test]
    fn a_new_period_reports_and_resets_the_count() {
        let mut r = RateLimited::named("t").with_burst(1, Duration::from_millis(20));
        assert!(r.allow());
        assert!(!r.allow());
        assert_eq!(r.suppressed(), 1);
        std::thread::sleep(Duration::from_millis(30));
        assert!(r.allow());
        assert_eq!(r.suppressed(), 0);
    }
}
