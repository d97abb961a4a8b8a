//! hekad as a library: [`main_with`] is the whole daemon (flags, `validate`/`plan`/`doc`,
//! signals, reload, reports, banner) over the plugin types of the registry it is given, so
//! a custom binary gets all of hekad with its own plugins next to the built-ins (Heka's
//! `plugin_loader.go`, made explicit). `hekad` itself is this with
//! [`plugins::register_all`].
//!
//! # Examples
//!
//! A binary with one plugin type of its own (`ByteCountConfig` as in
//! `bins/examples/custom_plugin.rs`):
//!
//! ```no_run
//! # use engine::{BuildContext, BuildError, Output, PipelinePack, PluginConfig, WriteError};
//! # #[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
//! # struct ByteCountConfig {}
//! # struct ByteCount;
//! # impl Output for ByteCount {
//! #     fn deliver(&mut self, _: &PipelinePack) -> Result<(), WriteError> { Ok(()) }
//! # }
//! # impl PluginConfig for ByteCountConfig {
//! #     type Plugin = ByteCount;
//! #     fn build(&self, _: &BuildContext) -> Result<ByteCount, BuildError> { Ok(ByteCount) }
//! # }
//! fn main() -> std::process::ExitCode {
//!     let mut registry = engine::Registry::new();
//!     plugins::register_all(&mut registry);
//!     registry.output::<ByteCountConfig>("ByteCountOutput");
//!     bins::main_with(registry)
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod daemon;

pub use daemon::main_with;
