//! libFuzzer target: framing (see `tests::Surface`); the corpus seeds are in `tests/corpus/framing/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tests::Surface;

#[global_allocator]
static ALLOC: engine::testing::CountingAllocator = engine::testing::CountingAllocator;

fuzz_target!(|data: &[u8]| {
    Surface::from_name("framing").expect("surface").feed(data);
});
