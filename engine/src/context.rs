//! What a plugin's `build` may use: its name, limits, paths, counters and shared globals.

use std::any::Any;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::committed::Committed;
use crate::counters::{Counter, Counters};
use crate::error::BuildError;
use crate::plugin::Global;

/// A section's global, as itself (for `downcast`) and as a [`Global`] (for events).
type SharedGlobal = (Arc<dyn Any + Send + Sync>, Arc<dyn Global>);

/// Globals of a pipeline by section name, shared by every instance of that section.
#[derive(Default)]
pub(crate) struct Globals {
    by_section: Mutex<HashMap<String, SharedGlobal>>,
}

impl std::fmt::Debug for Globals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Globals")
    }
}

impl Globals {
    pub(crate) fn all(&self) -> Vec<Arc<dyn Global>> {
        let map = self.by_section.lock().unwrap_or_else(|e| e.into_inner());
        map.values().map(|(_, g)| g.clone()).collect()
    }
}

/// Passed to [`crate::PluginConfig::build`] (Heka's `Init`/`InitOnce` context).
#[derive(Debug)]
pub struct BuildContext {
    pub(crate) name: String,
    pub(crate) instance: usize,
    pub(crate) instances: usize,
    pub(crate) config_dir: PathBuf,
    pub(crate) max_message_size: usize,
    pub(crate) pool_size: usize,
    pub(crate) counters: Arc<Counters>,
    pub(crate) globals: Arc<Globals>,
    pub(crate) listeners: Arc<Mutex<Vec<Listener>>>,
    /// (name, type) of each decoder, in decoder-index order (the default first).
    pub(crate) decoders: Arc<Vec<(String, String)>>,
    pub(crate) committed: Committed,
}

/// An address an input listens on, as announced at build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// The input's name.
    pub name: String,
    /// `udp` or `tcp`.
    pub protocol: &'static str,
    /// The bound address (the real port when configured with port 0).
    pub address: SocketAddr,
}

impl BuildContext {
    /// A context for building a plugin outside a pipeline (tests, tools).
    pub fn standalone(name: &str) -> Self {
        BuildContext {
            name: name.to_string(),
            instance: 0,
            instances: 1,
            config_dir: PathBuf::from("."),
            max_message_size: crate::pack::MAX_MESSAGE_SIZE,
            pool_size: 1024,
            counters: Arc::default(),
            globals: Arc::default(),
            listeners: Arc::default(),
            decoders: Arc::default(),
            committed: Committed::none(),
        }
    }

    /// The plugin's config name (`name`, defaulting to `type`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which instance this is, 0-based (inputs with `sockets: N` have N).
    pub fn instance(&self) -> usize {
        self.instance
    }

    /// How many instances of this section are built (`sockets: N` on inputs, else 1).
    pub fn instances(&self) -> usize {
        self.instances
    }

    /// The largest message a pack holds, in bytes.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Number of slots in the ring.
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// `path` resolved against the config file's directory when relative.
    pub fn resolve_path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.config_dir.join(path)
        }
    }

    /// Announces that this input listens on `address`: logs
    /// `listening <name> <protocol> <address>` (tests and users read the real port from it)
    /// and records it for [`crate::Pipeline::listeners`].
    pub fn listening(&self, protocol: &'static str, address: SocketAddr) {
        crate::log::info(format_args!("listening {} {protocol} {address}", self.name));
        let mut l = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        l.push(Listener {
            name: self.name.clone(),
            protocol,
            address,
        });
    }

    /// The index to put in `pack.decoder` for the decoder named, or else typed,
    /// `name_or_type` (e.g. `"ProtobufDecoder"`); `None` when the config has none.
    pub fn decoder_index(&self, name_or_type: &str) -> Option<u8> {
        let by = |f: fn(&(String, String)) -> &String| {
            self.decoders.iter().position(|d| f(d) == name_or_type)
        };
        by(|d| &d.0).or_else(|| by(|d| &d.1)).map(|i| i as u8)
    }

    /// How far every output has committed, by ring sequence (see [`Committed`]): an input
    /// that acknowledges its source compares it with the sequences of the packs it filled
    /// ([`crate::Batch::sequence`]).
    pub fn committed(&self) -> Committed {
        self.committed.clone()
    }

    /// This plugin's counter `name`, shown in reports as `<plugin name>.<name>`.
    pub fn counter(&self, name: &'static str) -> Counter {
        self.counters.get(&self.name, name)
    }

    /// The section's global, made by `init` on first use and shared by every instance
    /// of this section (Heka's `InitOnce`). The engine delivers [`crate::Event`]s to it.
    ///
    /// # Errors
    ///
    /// Whatever `init` returns.
    pub fn global<G: Global, F>(&self, init: F) -> Result<Arc<G>, BuildError>
    where
        F: FnOnce() -> Result<G, BuildError>,
    {
        let mut map = self
            .globals
            .by_section
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((any, _)) = map.get(&self.name) {
            return any.clone().downcast::<G>().map_err(|_| {
                BuildError::Invalid(format!("{}: global of another type", self.name))
            });
        }
        let g = Arc::new(init()?);
        map.insert(self.name.clone(), (g.clone(), g.clone()));
        Ok(g)
    }
}
