//! What a plugin's `build` may use: its name, limits, paths, counters and shared globals.

use std::any::Any;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::committed::Committed;
use crate::config::OnFull;
use crate::counters::{Counter, Counters};
use crate::error::BuildError;
use crate::plugin::Global;
use crate::sockets::{SocketKey, Sockets};

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

    /// A new set holding the globals of the sections `names` (kept by a reload).
    pub(crate) fn keep(&self, names: &[String]) -> Globals {
        let map = self.by_section.lock().unwrap_or_else(|e| e.into_inner());
        let kept = map
            .iter()
            .filter(|(n, _)| names.contains(n))
            .map(|(n, g)| (n.clone(), g.clone()))
            .collect();
        Globals {
            by_section: Mutex::new(kept),
        }
    }

    /// Whether `g` is one of these globals.
    pub(crate) fn contains(&self, g: &Arc<dyn Global>) -> bool {
        let map = self.by_section.lock().unwrap_or_else(|e| e.into_inner());
        map.values().any(|(_, x)| Arc::ptr_eq(x, g))
    }
}

/// Passed to [`crate::PluginConfig::build`] (Heka's `Init`/`InitOnce` context).
#[derive(Clone, Debug)]
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
    /// The supervisor's sockets (kept across reloads).
    pub(crate) sockets: Arc<Sockets>,
    /// The sockets this build took, so the supervisor can close the others.
    pub(crate) socket_keys: Arc<Mutex<Vec<SocketKey>>>,
    /// The section's `on_full` common key.
    pub(crate) on_full: OnFull,
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
            sockets: Arc::default(),
            socket_keys: Arc::default(),
            on_full: OnFull::default(),
            committed: Committed::none(),
        }
    }

    /// The same context with `on_full` set (tests and tools building outputs by hand).
    pub fn with_on_full(mut self, on_full: OnFull) -> Self {
        self.on_full = on_full;
        self
    }

    /// The section's `on_full` common key (outputs): what the output does when it cannot
    /// keep up. An output with a bounded buffer of its own (TcpOutput) applies it there.
    pub fn on_full(&self) -> OnFull {
        self.on_full
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

    /// The listening socket of this instance for `address` (as configured): the one a
    /// previous pipeline used, duplicated, so a reload keeps it (and its queue and port);
    /// else a new one made by `bind`. Returns it and whether it was kept from before.
    ///
    /// # Errors
    ///
    /// Whatever `bind` returns, or a failed `dup`.
    pub fn listen<S>(
        &self,
        protocol: &'static str,
        address: &str,
        bind: impl FnOnce() -> io::Result<S>,
    ) -> io::Result<(S, bool)>
    where
        S: From<OwnedFd> + Into<OwnedFd>,
    {
        let key = SocketKey::new(protocol, &self.socket_id(address), self.instance);
        let r = self.sockets.listen(key.clone(), bind)?;
        self.socket_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(key);
        Ok(r)
    }

    /// How the supervisor names the listening socket for `address` (as configured): the
    /// address itself, or with port 0 ("any free port", which two sections may both say
    /// and still want two sockets) the address and this section's name. Connections are
    /// handed over under this id.
    pub fn socket_id(&self, address: &str) -> String {
        if address.ends_with(":0") {
            format!("{address}#{}", self.name)
        } else {
            address.to_string()
        }
    }

    /// The supervisor's sockets, where a stopping TCP input hands its live connections
    /// to its successor ([`Sockets::hand_over`]).
    pub fn sockets(&self) -> Arc<Sockets> {
        self.sockets.clone()
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
