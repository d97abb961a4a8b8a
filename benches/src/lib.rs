//! Shared fixtures for the criterion benches (`cargo bench` runs every bench here).
#![forbid(unsafe_code)]

/// Pins the current thread to `core` when this host has it (benches run producer and
/// consumer on separate cores, like the pipeline's default 2-core plan).
pub fn pin(core: usize) {
    if let Some(ids) = core_affinity::get_core_ids() {
        if let Some(id) = ids.into_iter().find(|c| c.id == core) {
            core_affinity::set_for_current(id);
        }
    }
}
