//! Timer statistics, computed as etsy statsd 0.9's `lib/process_metrics.js` computes them:
//! same operations in the same order on the same doubles, so every digit matches.

use super::number::{js_round, write_js_number};

/// The names statsd gives the statistics of one percentile threshold.
#[derive(Clone, Debug)]
pub(super) struct Threshold {
    pct: f64,
    count: Box<str>,
    mean: Box<str>,
    bound: Box<str>,
    sum: Box<str>,
    sum_squares: Box<str>,
}

impl Threshold {
    /// `pct` is in (0, 100] (upper percentiles) or [-100, 0) (statsd's "top" lower ones).
    pub(super) fn new(pct: f64) -> Threshold {
        // statsd: ('' + pct).replace('.', '_').replace('-', 'top'), first occurrences only.
        let mut clean = String::new();
        write_js_number(pct, &mut clean);
        let clean = clean.replacen('.', "_", 1).replacen('-', "top", 1);
        let name = |what: &str| format!("{what}_{clean}").into_boxed_str();
        Threshold {
            pct,
            count: name("count"),
            mean: name("mean"),
            bound: name(if pct > 0.0 { "upper" } else { "lower" }),
            sum: name("sum"),
            sum_squares: name("sum_squares"),
        }
    }

    /// The suffix that identifies this threshold (`90`, `99_9`, `top10`).
    pub(super) fn suffix(&self) -> &str {
        self.count.trim_start_matches("count_")
    }
}

/// Reused buffers for the cumulative sums, so a flush allocates only when a timer grows.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    cumulative: Vec<f64>,
    cumulative_squares: Vec<f64>,
}

/// Emits a timer's statistics in statsd's order: per threshold `count_`, `mean_`,
/// `upper_`/`lower_`, `sum_`, `sum_squares_`; then `std`, `upper`, `lower`, `count`,
/// `count_ps`, `sum`, `sum_squares`, `mean`, `median`. A timer without values emits only
/// `count_ps` and `count`, both 0.
///
/// `values` must be sorted ascending; `count` is the sample-rate-scaled count.
pub(super) fn emit_stats(
    values: &[f64],
    count: f64,
    interval_secs: f64,
    thresholds: &[Threshold],
    scratch: &mut Scratch,
    mut emit: impl FnMut(&str, f64),
) {
    let n = values.len();
    let (Some(&min), Some(&max)) = (values.first(), values.last()) else {
        // `current_timer_data["count"] = current_timer_data["count_ps"] = 0`: the inner
        // assignment creates its property first.
        emit("count_ps", 0.0);
        emit("count", 0.0);
        return;
    };
    let cum = &mut scratch.cumulative;
    let cum_sq = &mut scratch.cumulative_squares;
    cum.clear();
    cum_sq.clear();
    cum.push(min);
    cum_sq.push(min * min);
    for i in 1..n {
        cum.push(values[i] + cum[i - 1]);
        cum_sq.push((values[i] * values[i]) + cum_sq[i - 1]);
    }
    // Out-of-range reads are `undefined` in JavaScript, which turns sums into NaN.
    let at = |v: &[f64], i: isize| usize::try_from(i).ok().and_then(|i| v.get(i).copied());
    let at_or_nan = |v: &[f64], i: isize| at(v, i).unwrap_or(f64::NAN);

    let (mut sum, mut sum_squares, mut mean, mut bound) = (min, min * min, min, max);
    for t in thresholds {
        let mut in_threshold = n as f64;
        if n > 1 {
            in_threshold = js_round(t.pct.abs() / 100.0 * n as f64);
            if in_threshold == 0.0 {
                continue;
            }
            let k = in_threshold as isize;
            let last = n as isize - 1;
            if t.pct > 0.0 {
                bound = at_or_nan(values, k - 1);
                sum = at_or_nan(cum, k - 1);
                sum_squares = at_or_nan(cum_sq, k - 1);
            } else {
                bound = at_or_nan(values, n as isize - k);
                sum = at_or_nan(cum, last) - at_or_nan(cum, last - k);
                sum_squares = at_or_nan(cum_sq, last) - at_or_nan(cum_sq, last - k);
            }
            mean = sum / in_threshold;
        }
        emit(&t.count, in_threshold);
        emit(&t.mean, mean);
        emit(&t.bound, bound);
        emit(&t.sum, sum);
        emit(&t.sum_squares, sum_squares);
    }

    let sum = cum[n - 1];
    let sum_squares = cum_sq[n - 1];
    let mean = sum / n as f64;
    let mut sum_of_diffs = 0.0;
    for &v in values {
        sum_of_diffs += (v - mean) * (v - mean);
    }
    let mid = n / 2;
    let median = if n % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    };
    emit("std", (sum_of_diffs / n as f64).sqrt());
    emit("upper", max);
    emit("lower", min);
    emit("count", count);
    emit("count_ps", count / interval_secs);
    emit("sum", sum);
    emit("sum_squares", sum_squares);
    emit("mean", mean);
    emit("median", median);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_names() {
        assert_eq!(&*Threshold::new(90.0).bound, "upper_90");
        assert_eq!(&*Threshold::new(99.9).mean, "mean_99_9");
        assert_eq!(&*Threshold::new(-10.0).bound, "lower_top10");
        assert_eq!(&*Threshold::new(-0.5).sum_squares, "sum_squares_top0_5");
        assert_eq!(Threshold::new(99.9).suffix(), "99_9");
    }

    fn stats(values: &[f64], pcts: &[f64]) -> Vec<(String, f64)> {
        let thresholds: Vec<_> = pcts.iter().map(|&p| Threshold::new(p)).collect();
        let mut out = Vec::new();
        let mut scratch = Scratch::default();
        emit_stats(
            values,
            values.len() as f64,
            10.0,
            &thresholds,
            &mut scratch,
            |k, v| out.push((k.to_string(), v)),
        );
        out
    }

    #[test]
    fn one_value_fills_every_threshold() {
        let got = stats(&[7.0], &[90.0, -10.0]);
        let names: Vec<_> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "count_90",
                "mean_90",
                "upper_90",
                "sum_90",
                "sum_squares_90",
                "count_top10",
                "mean_top10",
                "lower_top10",
                "sum_top10",
                "sum_squares_top10",
                "std",
                "upper",
                "lower",
                "count",
                "count_ps",
                "sum",
                "sum_squares",
                "mean",
                "median"
            ]
        );
        assert_eq!(got[0].1, 1.0);
        assert_eq!(got[3].1, 7.0);
        assert_eq!(got[4].1, 49.0);
    }

    #[test]
    fn lower_percentile_of_everything_is_nan_like_statsd() {
        // -100% of 2 values reads cumulativeValues[-1], undefined in JavaScript.
        let got = stats(&[1.0, 2.0], &[-100.0]);
        assert_eq!(got[0], ("count_top100".to_string(), 2.0));
        assert!(got[1].1.is_nan() && got[3].1.is_nan() && got[4].1.is_nan());
        assert_eq!(got[2], ("lower_top100".to_string(), 1.0));
    }

    #[test]
    fn small_thresholds_are_skipped() {
        // round(0.1 * 4) = 0: statsd skips the threshold.
        let got = stats(&[1.0, 2.0, 3.0, 4.0], &[10.0]);
        assert_eq!(got[0].0, "std");
    }
}
