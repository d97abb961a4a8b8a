//! A table of buckets that remembers insertion order and enumerates like a JavaScript object
//! (array-index keys first, in numeric order, then the rest as inserted), so the flush lists
//! buckets in the order statsd's `for (key in counters)` does.

use std::collections::HashMap;
use std::sync::Arc;

use super::key::array_index;

/// One bucket.
#[derive(Debug)]
pub(super) struct Entry<V> {
    pub(super) name: Arc<str>,
    pub(super) value: V,
    /// Set for the buckets statsd itself creates (`statsd.*`): not counted against the limit.
    pub(super) internal: bool,
    array_index: Option<u32>,
}

/// Buckets by name, looked up by `&str` without allocating. The hasher is std's randomly
/// keyed SipHash: bucket names come from the network, so a hostile sender must not be able to
/// pick colliding names.
#[derive(Debug)]
pub(super) struct Table<V> {
    index: HashMap<Arc<str>, usize>,
    entries: Vec<Entry<V>>,
    array_keys: usize,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table {
            index: HashMap::new(),
            entries: Vec::new(),
            array_keys: 0,
        }
    }
}

impl<V> Table<V> {
    pub(super) fn position(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// Appends a bucket (the caller checked that `key` is absent) and returns its position.
    pub(super) fn insert(&mut self, key: &str, value: V, internal: bool) -> usize {
        let name: Arc<str> = Arc::from(key);
        let array_index = array_index(key);
        self.array_keys += usize::from(array_index.is_some());
        let i = self.entries.len();
        self.index.insert(Arc::clone(&name), i);
        self.entries.push(Entry {
            name,
            value,
            internal,
            array_index,
        });
        i
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn entries(&self) -> &[Entry<V>] {
        &self.entries
    }

    pub(super) fn entries_mut(&mut self) -> &mut [Entry<V>] {
        &mut self.entries
    }

    /// Keeps the buckets `keep` accepts (in order) and returns how many were dropped.
    pub(super) fn retain(&mut self, keep: impl FnMut(&Entry<V>) -> bool) -> usize {
        let before = self.entries.len();
        self.entries.retain(keep);
        if self.entries.len() != before {
            self.index.clear();
            self.array_keys = 0;
            for (i, e) in self.entries.iter().enumerate() {
                self.index.insert(Arc::clone(&e.name), i);
                self.array_keys += usize::from(e.array_index.is_some());
            }
        }
        before - self.entries.len()
    }

    /// Fills `order` with the positions of the buckets in JavaScript enumeration order.
    pub(super) fn js_order(&self, order: &mut Vec<usize>) {
        order.clear();
        if self.array_keys > 0 {
            order.extend(
                self.entries
                    .iter()
                    .enumerate()
                    .filter_map(|(i, e)| e.array_index.map(|_| i)),
            );
            order.sort_by_key(|&i| self.entries[i].array_index);
        }
        order.extend(
            self.entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| e.array_index.is_none().then_some(i)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumerates_like_a_javascript_object() {
        let mut t = Table::default();
        for k in ["b", "10", "a", "2", "01", "0"] {
            t.insert(k, (), false);
        }
        let mut order = Vec::new();
        t.js_order(&mut order);
        let names: Vec<_> = order.iter().map(|&i| &*t.entries()[i].name).collect();
        assert_eq!(names, ["0", "2", "10", "b", "a", "01"]);
        assert_eq!(t.position("a"), Some(2));
        assert_eq!(t.retain(|e| &*e.name != "b"), 1);
        assert_eq!(t.position("a"), Some(1));
        t.js_order(&mut order);
        assert_eq!(order.len(), 5);
    }
}
