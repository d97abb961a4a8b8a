//! uuids for messages whose wire format had none (DESIGN.md section 10, "uuid at intake"):
//! random (version 4) uuids from wyrand, a fast non-cryptographic generator seeded once per
//! decode stage. No syscall, lock or allocation per message.
//!
//! A uuid here is an identity for de-duplication (NATS `Nats-Msg-Id`, receivers), not a
//! secret: 122 random bits from a 64-bit-state generator are unique across the messages of
//! one stage, and the per-stage seeds (from the OS via `RandomState`, the clock and a
//! process-wide counter) keep stages and hosts apart.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Seeds handed out so far in this process (mixed into each seed).
static SEEDS: AtomicU64 = AtomicU64::new(0);

/// A wyrand generator producing version 4 uuids.
#[derive(Debug)]
pub(crate) struct UuidSource {
    state: u64,
}

impl UuidSource {
    /// A generator with a fresh seed.
    pub(crate) fn new() -> Self {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(SEEDS.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        UuidSource { state: h.finish() }
    }

    /// A generator with a fixed seed (tests).
    #[cfg(test)]
    pub(crate) fn with_seed(seed: u64) -> Self {
        UuidSource { state: seed }
    }

    /// The next 64 random bits (wyrand).
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.state) * u128::from(self.state ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) ^ t) as u64
    }

    /// The next uuid: 122 random bits, version 4, RFC 4122 variant.
    #[inline]
    pub(crate) fn next_v4(&mut self) -> [u8; 16] {
        let mut u = [0u8; 16];
        u[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        u[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        u[6] = (u[6] & 0x0f) | 0x40;
        u[8] = (u[8] & 0x3f) | 0x80;
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_distinct() {
        let mut s = UuidSource::with_seed(1);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100_000 {
            let u = s.next_v4();
            assert_eq!(u[6] >> 4, 4, "version nibble");
            assert_eq!(u[8] >> 6, 0b10, "variant bits");
            assert_ne!(u, [0; 16]);
            assert!(seen.insert(u), "repeated uuid");
        }
    }

    #[test]
    fn fresh_sources_start_apart() {
        let (mut a, mut b) = (UuidSource::new(), UuidSource::new());
        assert_ne!(a.next_v4(), b.next_v4());
    }
}
