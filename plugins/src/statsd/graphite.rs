//! Graphite plaintext as statsd's graphite backend writes it: keys with tags kept at the end,
//! values printed as JavaScript prints numbers.

use std::fmt::Write as _;

use super::number::write_js_number;

/// statsd graphite's `format(namespace, key, suffix)`: the namespace, the key's name, the
/// suffix, then the key's tags (everything from its first `;`).
pub(super) fn graphite_key(out: &mut String, namespace: &str, key: &str, suffix: Option<&str>) {
    let (name, tags) = key.split_at(key.find(';').unwrap_or(key.len()));
    out.clear();
    out.push_str(namespace);
    out.push('.');
    out.push_str(name);
    if let Some(s) = suffix {
        out.push('.');
        out.push_str(s);
    }
    out.push_str(tags);
}

/// Appends one Graphite plaintext line, `<key> <value> <unix secs>\n`, with the value printed
/// as JavaScript prints numbers (`10`, `0.1`, `1e+21`, `NaN`).
///
/// ```
/// let mut out = String::new();
/// plugins::statsd::graphite_line(&mut out, "stats.gorets", 0.1, 1_700_000_000);
/// assert_eq!(out, "stats.gorets 0.1 1700000000\n");
/// ```
pub fn graphite_line(out: &mut String, key: &str, value: f64, unix_secs: i64) {
    out.push_str(key);
    out.push(' ');
    write_js_number(value, out);
    // Writing to a String cannot fail.
    writeln!(out, " {unix_secs}").unwrap_or(());
}
