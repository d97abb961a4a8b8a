//! The daemon's own log, on stderr: never per message, warnings rate-limited.

use std::fmt::Arguments;
use std::io::Write as _;
use std::time::{Duration, Instant};

/// Writes one `warn:` line to stderr.
pub fn warn(args: Arguments<'_>) {
    // Nothing to report a failed write to stderr to.
    writeln!(std::io::stderr().lock(), "hekad: warning: {args}").unwrap_or(());
}

/// Writes one informational line to stderr.
pub fn info(args: Arguments<'_>) {
    writeln!(std::io::stderr().lock(), "hekad: {args}").unwrap_or(());
}

/// Allows at most `burst` events per `period` (default: 5 per 10 s); counts the rest.
#[derive(Debug)]
pub struct RateLimited {
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
    /// 5 events per 10 seconds.
    pub fn new() -> Self {
        Self::with(5, Duration::from_secs(10))
    }

    /// `burst` events per `period`.
    pub fn with(burst: u32, period: Duration) -> Self {
        RateLimited {
            period,
            burst,
            window_start: None,
            in_window: 0,
            suppressed: 0,
        }
    }

    /// Whether this event may be logged now.
    pub fn allow(&mut self) -> bool {
        let now = Instant::now();
        match self.window_start {
            Some(start) if now.duration_since(start) < self.period => {}
            _ => {
                if self.suppressed > 0 {
                    warn(format_args!(
                        "({} similar messages suppressed)",
                        self.suppressed
                    ));
                    self.suppressed = 0;
                }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_suppresses() {
        let mut r = RateLimited::with(3, Duration::from_secs(3600));
        let allowed = (0..10).filter(|_| r.allow()).count();
        assert_eq!(allowed, 3);
        assert_eq!(r.suppressed, 7);
    }
}
