//! One [`RateLimited`] per call site of [`super::warn`] and [`super::error`]. Warnings are
//! rare (never per message), so one lock and a short linear search per line is cheap.

use std::panic::Location;
use std::sync::{Mutex, MutexGuard};

use super::RateLimited;

/// Call sites that have logged, each with its limiter. A few dozen at most: one per
/// `warn`/`error` call in the code.
static SITES: Mutex<Vec<(&'static Location<'static>, RateLimited)>> = Mutex::new(Vec::new());

fn sites() -> MutexGuard<'static, Vec<(&'static Location<'static>, RateLimited)>> {
    // A panic while logging leaves the list usable.
    SITES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether a line from `site` may be written now; counts it as suppressed if not.
pub(super) fn allow(site: &'static Location<'static>) -> bool {
    let mut sites = sites();
    if let Some((_, limit)) = sites.iter_mut().find(|(s, _)| *s == site) {
        return limit.allow();
    }
    let mut limit = RateLimited::named(format!("{}:{}", site.file(), site.line()));
    let allowed = limit.allow();
    sites.push((site, limit));
    allowed
}

/// One limiter for every panic (see [`super::install_panic_hook`]).
static PANICS: Mutex<Option<RateLimited>> = Mutex::new(None);

fn panics() -> MutexGuard<'static, Option<RateLimited>> {
    PANICS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether a panic's message may be logged now; counts it as suppressed if not.
pub(super) fn allow_panic() -> bool {
    panics()
        .get_or_insert_with(|| RateLimited::named("panics"))
        .allow()
}

/// Reports the panics held back and not reported yet.
pub(super) fn flush_panics() {
    if let Some(limit) = panics().as_mut() {
        limit.report_suppressed();
    }
}

/// Reports what every site suppressed and has not reported yet.
pub(super) fn flush() {
    for (_, limit) in sites().iter_mut() {
        limit.report_suppressed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn here() -> &'static Location<'static> {
        Location::caller()
    }

    #[test]
    fn each_site_gets_its_own_burst() {
        let (a, b) = (here(), here());
        assert_ne!(a, b);
        let from_a = (0..20).filter(|_| allow(a)).count();
        let from_b = (0..3).filter(|_| allow(b)).count();
        assert_eq!((from_a, from_b), (5, 3));
        let suppressed = |site| {
            sites()
                .iter()
                .find(|(s, _)| *s == site)
                .map(|(_, l)| l.suppressed())
        };
        assert_eq!(suppressed(a), Some(15));
        flush();
        assert_eq!(suppressed(a), Some(0), "flush reports and resets the count");
        assert_eq!(suppressed(b), Some(0));
    }
}
