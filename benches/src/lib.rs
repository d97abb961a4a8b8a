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

/// A metlog JSON message of about `size` bytes (padded in the payload), numbered `seq`.
pub fn json_message(seq: u64, size: usize) -> Vec<u8> {
    let head = format!(
        "{{\"type\":\"bench\",\"timestamp\":\"2026-11-25T03:58:00.105194Z\",\"logger\":\"bench\",\
         \"severity\":6,\"fields\":{{\"seq\":{seq}}},\"env_version\":\"0.8\",\"metlog_pid\":42,\
         \"metlog_hostname\":\"localhost\",\"payload\":\"seq={seq:010} "
    );
    let pad = size.saturating_sub(head.len() + 2);
    let mut m = head.into_bytes();
    m.extend(std::iter::repeat_n(b'x', pad));
    m.extend_from_slice(b"\"}");
    m
}

/// Config of the benches' `NullOutput` (registered by each bench under that name).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct NullOutputConfig {}

/// An output that does nothing with what it is given (reads the payload length, so the
/// pack is touched as a real output would).
#[derive(Debug)]
pub struct NullOutput;

impl engine::PluginConfig for NullOutputConfig {
    type Plugin = NullOutput;
    fn build(&self, _ctx: &engine::BuildContext) -> Result<NullOutput, engine::BuildError> {
        Ok(NullOutput)
    }
}

impl engine::Output for NullOutput {
    fn deliver(&mut self, pack: &engine::PipelinePack) -> Result<(), engine::WriteError> {
        std::hint::black_box(pack.message.payload.len());
        Ok(())
    }
}

/// Config of the benches' `MemoryInput`: repeats one pre-encoded JSON message of `size`
/// bytes, `count` times (0: forever).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct MemoryInputConfig {
    /// Size of the message to repeat.
    pub size: usize,
    /// How many to produce; 0 = no end.
    #[serde(default)]
    pub count: u64,
}

/// An input that fills every claimed pack with one pre-encoded message, with no socket.
#[derive(Debug)]
pub struct MemoryInput {
    message: Vec<u8>,
    left: Option<u64>,
}

impl engine::PluginConfig for MemoryInputConfig {
    type Plugin = MemoryInput;
    fn build(&self, _ctx: &engine::BuildContext) -> Result<MemoryInput, engine::BuildError> {
        Ok(MemoryInput {
            message: json_message(7, self.size),
            left: (self.count > 0).then_some(self.count),
        })
    }
}

impl engine::Input for MemoryInput {
    fn register(&mut self, _r: &mio::Registry, _t: mio::Token) -> std::io::Result<()> {
        Ok(())
    }
    fn fill(&mut self, batch: &mut engine::Batch<'_>) -> Result<engine::Fill, engine::RunError> {
        let n = self
            .left
            .map_or(batch.len(), |left| batch.len().min(left as usize));
        for i in 0..n {
            batch.get_mut(i).set_raw(&self.message);
        }
        batch.set_filled(n);
        if let Some(left) = &mut self.left {
            *left -= n as u64;
            if *left == 0 {
                return Ok(engine::Fill::Drained);
            }
        }
        Ok(engine::Fill::More)
    }
}
