//! The plugin registry (Heka's `AvailablePlugins`, made explicit): config type names mapped
//! to typed configs, keyed by (kind, type name). No global state: a binary fills one with
//! `plugins::register_all` and its own plugins, then calls [`crate::run_with`].

use std::fmt::Debug;

use crate::config::{ConfigError, Kind, Section};
use crate::context::BuildContext;
use crate::counters::Counters;
use crate::error::BuildError;
use crate::plugin::{Decoder, Filter, Input, Output, PluginConfig};
use crate::stage::{
    DecodeLoop, DecodeRange, FilterLoop, FilterRange, OutputStage, OutputWiring, Stage,
};

/// A built output, waiting for its place in the pipeline.
pub(crate) type OutputMaker = Box<dyn FnOnce(OutputWiring, &Counters) -> Box<dyn Stage>>;

/// A plugin built from its config, in the shape its stage needs.
pub(crate) enum Built {
    Input(Box<dyn Input>),
    Decoder(Box<dyn FnOnce(u8) -> Box<dyn DecodeRange>>),
    Filter(Box<dyn FilterRange>),
    Output(OutputMaker),
}

/// A section parsed into its typed config, ready to build instances.
pub(crate) trait Parsed: Send + Sync + Debug {
    fn build(&self, ctx: &BuildContext) -> Result<Built, BuildError>;
}

#[derive(Debug)]
struct Typed<C, const K: u8>(C);

const INPUT: u8 = 0;
const DECODER: u8 = 1;
const FILTER: u8 = 2;
const OUTPUT: u8 = 3;

impl<C> Parsed for Typed<C, INPUT>
where
    C: PluginConfig,
    C::Plugin: Input,
{
    fn build(&self, ctx: &BuildContext) -> Result<Built, BuildError> {
        Ok(Built::Input(Box::new(self.0.build(ctx)?)))
    }
}

impl<C> Parsed for Typed<C, DECODER>
where
    C: PluginConfig,
    C::Plugin: Decoder,
{
    fn build(&self, ctx: &BuildContext) -> Result<Built, BuildError> {
        let decoder = self.0.build(ctx)?;
        Ok(Built::Decoder(Box::new(move |index| {
            Box::new(DecodeLoop { decoder, index })
        })))
    }
}

impl<C> Parsed for Typed<C, FILTER>
where
    C: PluginConfig,
    C::Plugin: Filter,
{
    fn build(&self, ctx: &BuildContext) -> Result<Built, BuildError> {
        Ok(Built::Filter(Box::new(FilterLoop::new(self.0.build(ctx)?))))
    }
}

impl<C> Parsed for Typed<C, OUTPUT>
where
    C: PluginConfig,
    C::Plugin: Output,
{
    fn build(&self, ctx: &BuildContext) -> Result<Built, BuildError> {
        let output = self.0.build(ctx)?;
        let (config, ctx) = (self.0.clone(), ctx.clone());
        let rebuild = Box::new(move || config.build(&ctx));
        Ok(Built::Output(Box::new(move |wiring, counters| {
            Box::new(OutputStage::new(output, rebuild, wiring, counters))
        })))
    }
}

type ParseFn = Box<dyn Fn(&Section) -> Result<Box<dyn Parsed>, ConfigError> + Send + Sync>;

struct Entry {
    kind: Kind,
    type_name: String,
    parse: ParseFn,
    defaults: fn() -> serde_json::Value,
    schema: fn() -> schemars::Schema,
}

/// Plugin types by (kind, type name).
#[derive(Default)]
pub struct Registry {
    entries: Vec<Entry>,
}

impl Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.types()).finish()
    }
}

fn defaults_of<C: PluginConfig>() -> serde_json::Value {
    serde_json::to_value(C::default()).unwrap_or(serde_json::Value::Null)
}

fn schema_of<C: PluginConfig>() -> schemars::Schema {
    schemars::schema_for!(C)
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    fn add<C: PluginConfig, const K: u8>(&mut self, kind: Kind, type_name: &str)
    where
        Typed<C, K>: Parsed,
    {
        assert!(
            !self
                .entries
                .iter()
                .any(|e| e.kind == kind && e.type_name == type_name),
            "plugin type {type_name:?} registered twice as {kind:?}"
        );
        self.entries.push(Entry {
            kind,
            type_name: type_name.to_string(),
            parse: Box::new(|section| Ok(Box::new(Typed::<C, K>(section.parse::<C>()?)))),
            defaults: defaults_of::<C>,
            schema: schema_of::<C>,
        });
    }

    /// Registers an input type.
    ///
    /// # Panics
    ///
    /// If an input type of that name is already registered.
    pub fn input<C>(&mut self, type_name: &str)
    where
        C: PluginConfig,
        C::Plugin: Input,
    {
        self.add::<C, INPUT>(Kind::Input, type_name);
    }

    /// Registers a decoder type.
    ///
    /// # Panics
    ///
    /// If a decoder type of that name is already registered.
    pub fn decoder<C>(&mut self, type_name: &str)
    where
        C: PluginConfig,
        C::Plugin: Decoder,
    {
        self.add::<C, DECODER>(Kind::Decoder, type_name);
    }

    /// Registers a filter type.
    ///
    /// # Panics
    ///
    /// If a filter type of that name is already registered.
    pub fn filter<C>(&mut self, type_name: &str)
    where
        C: PluginConfig,
        C::Plugin: Filter,
    {
        self.add::<C, FILTER>(Kind::Filter, type_name);
    }

    /// Registers an output type (a plain [`Output`] or a [`crate::runner`] over a writer).
    ///
    /// # Panics
    ///
    /// If an output type of that name is already registered.
    pub fn output<C>(&mut self, type_name: &str)
    where
        C: PluginConfig,
        C::Plugin: Output,
    {
        self.add::<C, OUTPUT>(Kind::Output, type_name);
    }

    /// Every registered (kind, type name), in registration order.
    pub fn types(&self) -> impl Iterator<Item = (Kind, &str)> {
        self.entries.iter().map(|e| (e.kind, e.type_name.as_str()))
    }

    /// The default config of a registered type, as JSON (for docs).
    pub fn defaults(&self, kind: Kind, type_name: &str) -> Option<serde_json::Value> {
        self.entries
            .iter()
            .find(|e| e.kind == kind && e.type_name == type_name)
            .map(|e| (e.defaults)())
    }

    /// The JSON schema of a registered type's config (keys, types, doc comments), for
    /// docs (`hekad doc`).
    pub fn schema(&self, kind: Kind, type_name: &str) -> Option<schemars::Schema> {
        self.entries
            .iter()
            .find(|e| e.kind == kind && e.type_name == type_name)
            .map(|e| (e.schema)())
    }

    /// Parses `section` into its registered type's config.
    pub(crate) fn parse(&self, section: &Section) -> Result<Box<dyn Parsed>, ConfigError> {
        let Some(e) = self
            .entries
            .iter()
            .find(|e| e.kind == section.kind && e.type_name == section.type_name)
        else {
            let known: Vec<&str> = self
                .entries
                .iter()
                .filter(|e| e.kind == section.kind)
                .map(|e| e.type_name.as_str())
                .collect();
            return Err(section.error(
                "type",
                format!(
                    "unknown {} type {:?} (known: {})",
                    section.kind.singular(),
                    section.type_name,
                    known.join(", ")
                ),
            ));
        };
        (e.parse)(section)
    }
}
