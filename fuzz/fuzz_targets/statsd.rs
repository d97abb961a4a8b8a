//! libFuzzer target: statsd (see `tests::Surface`); the corpus seeds are in `tests/corpus/statsd/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tests::Surface;

#[global_allocator]
static ALLOC: engine::testing::CountingAllocator = engine::testing::CountingAllocator;

fuzz_target!(|data: &[u8]| {
    Surface::from_name("statsd").expect("surface").feed(data);
});
