//! Building a pipeline from a config: parse every section, wire the ring, plan the threads.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Pipeline;
use crate::barrier::Barrier;
use crate::committed::Committed;
use crate::config::{Config, ConfigError, OnFull, Section, WaitKind};
use crate::context::{BuildContext, Globals};
use crate::counters::Counters;
use crate::error::StartError;
use crate::gauges::{Consumer, Gauges};
use crate::generator::Generator;
use crate::matcher::Matcher;
use crate::pack::PipelinePack;
use crate::plan::{available_cores, Plan, Rank, StageInfo};
use crate::registry::{Built, Parsed, Registry};
use crate::ring::RingBuffer;
use crate::sequence::Sequence;
use crate::sequencer;
use crate::sockets::Sockets;
use crate::stage::{
    Cursor, DecodeStage, DoneFlag, DropFeed, Injection, InputStage, OutputWiring, RouteChain,
    RouteStage, Routing, Stage,
};
use crate::worker::{Wake, Worker};

/// Sections with their typed configs.
type ParsedSections = Vec<(Section, Box<dyn Parsed>)>;

/// A config whose every section parsed into its plugin's typed config, with its plan.
#[derive(Debug)]
pub struct Validated {
    inputs: ParsedSections,
    decoders: ParsedSections,
    filters: ParsedSections,
    outputs: ParsedSections,
    filter_matchers: Vec<Option<Matcher>>,
    output_matchers: Vec<Option<Matcher>>,
    /// The thread plan.
    pub plan: Plan,
    /// Notes worth printing (rounded pool size, cores this host lacks...).
    pub warnings: Vec<String>,
}

fn parse_all(registry: &Registry, sections: &[Section]) -> Result<ParsedSections, ConfigError> {
    sections
        .iter()
        .map(|s| Ok((s.clone(), registry.parse(s)?)))
        .collect()
}

/// Compiles each section's `message_matcher`; an error names the expression's column.
fn matchers(
    config: &Config,
    sections: &ParsedSections,
) -> Result<Vec<Option<Matcher>>, ConfigError> {
    sections
        .iter()
        .map(|(s, _)| match &s.common.message_matcher {
            None => Ok(None),
            Some(expr) => Matcher::compile(expr).map(Some).map_err(|e| {
                let path = format!("{}.message_matcher", s.path());
                config.error_at_path(&path, format!("{e} in {expr:?}"))
            }),
        })
        .collect()
}

fn input_stage_names(s: &Section) -> Vec<String> {
    match s.common.sockets.unwrap_or(1) {
        0 | 1 => vec![s.name.clone()],
        n => (0..n).map(|i| format!("{}.{i}", s.name)).collect(),
    }
}

/// Checks `config` against `registry` without starting anything: every plugin section
/// parses into its typed config, the decoders have one default, and the plan is sound.
///
/// # Errors
///
/// The first [`ConfigError`], naming file, line, column and key path.
pub fn validate(registry: &Registry, config: &Config) -> Result<Validated, ConfigError> {
    let inputs = parse_all(registry, &config.inputs)?;
    let mut decoders = parse_all(registry, &config.decoders)?;
    let filters = parse_all(registry, &config.filters)?;
    let outputs = parse_all(registry, &config.outputs)?;
    // The default decoder is index 0 (a reset pack's `decoder`).
    match decoders.iter().position(|(s, _)| s.common.default) {
        Some(i) => decoders[..=i].rotate_right(1),
        None if decoders.len() > 1 => {
            return Err(config.error_at(
                decoders[0].0.position,
                "decoders",
                "several decoders and none has \"default\": true",
            ))
        }
        None => {}
    }
    let mut stages = Vec::new();
    for (s, _) in &inputs {
        for name in input_stage_names(s) {
            stages.push(StageInfo {
                name,
                rank: Rank::Input,
            });
        }
    }
    stages.push(StageInfo {
        name: "decode".into(),
        rank: Rank::Decode,
    });
    stages.push(StageInfo {
        name: "route".into(),
        rank: Rank::Route,
    });
    for (s, _) in &outputs {
        stages.push(StageInfo {
            name: s.name.clone(),
            rank: Rank::Output,
        });
    }
    let cores = available_cores();
    let mut warnings = config.warnings.clone();
    let plan = match &config.engine.threads {
        Some(threads) => {
            let t: Vec<(Vec<usize>, Vec<String>)> = threads
                .iter()
                .map(|t| (t.cores.clone(), t.stages.clone()))
                .collect();
            Plan::from_config(&stages, &t)
                .map_err(|m| config.error_at_engine("engine.threads", &m))?
        }
        None => Plan::default_for(&stages, &cores),
    };
    let missing = plan.missing_cores(&cores);
    if !missing.is_empty() {
        warnings.push(format!(
            "engine.threads names cores this host lacks: {missing:?} (have {cores:?})"
        ));
    }
    if config.engine.wait == WaitKind::Spin && plan.threads.len() > cores.len().max(1) {
        return Err(config.error_at_engine(
            "engine.wait",
            format!(
                "\"spin\" with {} threads needs as many CPUs, this process may use {}",
                plan.threads.len(),
                cores.len()
            ),
        ));
    }
    let filter_matchers = matchers(config, &filters)?;
    let output_matchers = matchers(config, &outputs)?;
    Ok(Validated {
        filter_matchers,
        output_matchers,
        inputs,
        decoders,
        filters,
        outputs,
        plan,
        warnings,
    })
}

/// Builds and starts the pipeline `config` describes, with the plugin types of `registry`
/// (a custom binary registers its own types next to `plugins::register_all`).
///
/// # Errors
///
/// A [`StartError`]: a config error, a plugin that could not be built (e.g. a port in
/// use), cores the host lacks, or a thread that could not be spawned.
pub fn run_with(registry: &Registry, config: &Config) -> Result<Pipeline, StartError> {
    start(registry, config, &Shared::default(), true)
}

/// What a pipeline shares with the supervisor, and so with its successor after a reload.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) counters: Arc<Counters>,
    pub(crate) sockets: Arc<Sockets>,
    pub(crate) globals: Arc<Globals>,
}

/// Builds and starts a pipeline on `shared`'s counters, sockets and globals. Unless `open`,
/// its inputs wait for [`Pipeline::open_inputs`] and its outputs for
/// [`Pipeline::open_outputs`].
pub(crate) fn start(
    registry: &Registry,
    config: &Config,
    shared: &Shared,
    open: bool,
) -> Result<Pipeline, StartError> {
    let v = validate(registry, config)?;
    let missing = v.plan.missing_cores(&available_cores());
    if !missing.is_empty() {
        return Err(StartError::Plan(format!(
            "engine.threads names cores this process may not use: {missing:?}"
        )));
    }
    for w in &v.warnings {
        crate::log::warn(format_args!("{w}"));
    }
    let e = &config.engine;
    let pool = e.effective_pool_size();
    let counters = shared.counters.clone();
    let globals = shared.globals.clone();
    let socket_keys = Arc::new(std::sync::Mutex::new(Vec::new()));
    // A reload's new pipeline waits: its inputs until the old ones stopped reading the
    // shared sockets, its outputs until the old outputs drained and closed their files.
    let (inputs_gate, outputs_gate) = (DoneFlag::default(), DoneFlag::default());
    if open {
        inputs_gate.set();
        outputs_gate.set();
    }
    let listeners = Arc::new(std::sync::Mutex::new(Vec::new()));
    let decoder_names: Arc<Vec<(String, String)>> = Arc::new(
        v.decoders
            .iter()
            .map(|(s, _)| (s.name.clone(), s.type_name.clone()))
            .collect(),
    );
    // Sequences and done flags, downstream first: producers gate on the outputs.
    let decode_seq = Arc::new(Sequence::default());
    let route_seq = Arc::new(Sequence::default());
    let committed_seqs: Vec<Arc<Sequence>> = v
        .outputs
        .iter()
        .map(|_| Arc::new(Sequence::default()))
        .collect();
    // What inputs that ack their source wait for: the outputs that may not drop (one that
    // may counts its own ring's sequences, and drops by design).
    let blocking_committed: Vec<Arc<Sequence>> = v
        .outputs
        .iter()
        .zip(&committed_seqs)
        .filter(|((s, _), _)| s.common.on_full == OnFull::Block)
        .map(|(_, q)| q.clone())
        .collect();
    let committed_all = Committed::new(if blocking_committed.is_empty() {
        // No such output: a message is done once routed.
        vec![route_seq.clone()]
    } else {
        blocking_committed
    });
    let ctx_for = |s: &Section, instance: usize| BuildContext {
        name: s.name.clone(),
        instance,
        instances: s.common.sockets.unwrap_or(1).max(1),
        config_dir: config.dir(),
        max_message_size: e.max_message_size,
        pool_size: pool,
        counters: counters.clone(),
        globals: globals.clone(),
        listeners: listeners.clone(),
        decoders: decoder_names.clone(),
        sockets: shared.sockets.clone(),
        socket_keys: socket_keys.clone(),
        on_full: s.common.on_full,
        committed: committed_all.clone(),
    };
    let build = |s: &Section, p: &dyn Parsed, i: usize| {
        p.build(&ctx_for(s, i)).map_err(|source| StartError::Build {
            name: s.name.clone(),
            source,
        })
    };

    let output_seqs: Vec<Arc<Sequence>> = v
        .outputs
        .iter()
        .map(|_| Arc::new(Sequence::default()))
        .collect();
    // Outputs that may drop do not gate the producers: route feeds them copies.
    let gating: Vec<Arc<Sequence>> = v
        .outputs
        .iter()
        .zip(&output_seqs)
        .filter(|((s, _), _)| s.common.on_full == OnFull::Block)
        .map(|(_, q)| q.clone())
        .collect();
    let gating = if gating.is_empty() {
        vec![route_seq.clone()]
    } else {
        gating
    };
    // The drop outputs' rings (and the feeds route fills them through).
    let mut feeds = Vec::new();
    let mut feed_rings = HashMap::new();
    for (bit, ((s, _), seq)) in v.outputs.iter().zip(&output_seqs).enumerate() {
        if s.common.on_full != OnFull::Drop {
            continue;
        }
        let (mut ps, published) = sequencer::producers(1, pool, vec![seq.clone()]);
        let mut packs = PipelinePack::slots(pool, 1)
            .map_err(StartError::Memory)?
            .into_iter();
        let ring = Arc::new(RingBuffer::new(pool, || {
            packs.next().expect("one pack per slot")
        }));
        feeds.push(DropFeed {
            bit,
            ring: ring.clone(),
            producer: ps.remove(0),
            routed: counters.get(&s.name, "routed"),
            dropped: counters.get(&s.name, "dropped"),
        });
        feed_rings.insert(s.name.clone(), (ring, published));
    }
    let input_names: Vec<String> = v
        .inputs
        .iter()
        .flat_map(|(s, _)| input_stage_names(s))
        .collect();
    // The message generator (route) is a producer too when there are filters.
    let has_generator = !v.filters.is_empty();
    let producer_count = input_names.len() + usize::from(has_generator);
    let (mut producers, published) = sequencer::producers(producer_count.max(1), pool, gating);
    let published_gauge = published.clone();
    let packs = PipelinePack::slots(pool, e.max_message_size).map_err(StartError::Memory)?;
    let mut packs = packs.into_iter();
    let ring = Arc::new(RingBuffer::new(pool, || {
        packs.next().expect("one pack per slot")
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let mut stages: HashMap<String, Box<dyn Stage>> = HashMap::new();

    let mut input_done = Vec::new();
    for (s, p) in &v.inputs {
        for (i, name) in input_stage_names(s).into_iter().enumerate() {
            let Built::Input(input) = build(s, p.as_ref(), i)? else {
                unreachable!()
            };
            let done = DoneFlag::default();
            input_done.push(done.clone());
            let producer = producers.remove(0);
            let stage = InputStage::new(
                name.clone(),
                input,
                producer,
                ring.clone(),
                e.batch.min(pool),
                stop.clone(),
                done,
                &counters,
            )
            .with_gate(inputs_gate.clone());
            stages.insert(name, Box::new(stage));
        }
    }
    let input_done_flags = input_done.clone();
    if input_done.is_empty() {
        // No input: the ring is empty for good.
        let done = DoneFlag::default();
        done.set();
        input_done.push(done);
    }
    let generator_done = DoneFlag::default();
    let mut decode_upstream = input_done.clone();
    if has_generator {
        decode_upstream.push(generator_done.clone());
    }

    let mut consumers = vec![
        consumer("decode", Rank::Decode, &decode_seq),
        consumer("route", Rank::Route, &route_seq),
    ];
    let mut decoders = Vec::new();
    for (i, (s, p)) in v.decoders.iter().enumerate() {
        let Built::Decoder(make) = build(s, p.as_ref(), 0)? else {
            unreachable!()
        };
        decoders.push(make(i as u8));
    }
    let decode_done = DoneFlag::default();
    let cursor = Cursor::new(
        ring.clone(),
        Barrier::Producers(published.clone()),
        decode_upstream,
        decode_seq.clone(),
        decode_done.clone(),
    );
    stages.insert(
        "decode".into(),
        Box::new(DecodeStage::new(
            "decode".into(),
            cursor,
            decoders,
            (0, 1),
            &counters,
        )),
    );

    let mut filters = Vec::new();
    for ((s, p), matcher) in v.filters.iter().zip(v.filter_matchers) {
        let Built::Filter(mut f) = build(s, p.as_ref(), 0)? else {
            unreachable!()
        };
        f.configure(
            matcher,
            s.common.ticker_interval_secs.map(Duration::from_secs),
            counters.get(&s.name, "panics"),
        );
        filters.push(f);
    }
    let injection = match producers.pop() {
        Some(producer) if has_generator => Some(Injection {
            generator: Generator::new((pool / 2).clamp(1, 4096)),
            producer,
            published,
            inputs_done: input_done,
            done: generator_done,
            injected: counters.get("route", "injected"),
            refused: counters.get("route", "inject_refused"),
        }),
        _ => None,
    };
    let output_bit = |name: &str| v.outputs.iter().position(|(s, _)| s.name == name);
    let filter_index = |name: &str| v.filters.iter().position(|(s, _)| s.name == name);
    let mut chains = Vec::new();
    let mut by_type = Vec::new();
    let mut default_chain = crate::stage::NO_CHAIN;
    for (ci, c) in config.chains.iter().enumerate() {
        let mut rc = RouteChain::default();
        for o in &c.outputs {
            rc.outputs |= 1u64 << output_bit(o).expect("config checks chain outputs");
        }
        rc.filters = c
            .filters
            .iter()
            .map(|f| filter_index(f).expect("config checks chain filters"))
            .collect();
        chains.push(rc);
        if c.name == "default" {
            default_chain = ci as u16;
        }
        for t in &c.message_types {
            by_type.push((t.clone(), ci as u16));
        }
    }
    let route_done = DoneFlag::default();
    let cursor = Cursor::new(
        ring.clone(),
        Barrier::Stages(vec![decode_seq]),
        vec![decode_done],
        route_seq.clone(),
        route_done.clone(),
    );
    let routing = Routing {
        chains,
        by_type,
        default_chain,
        feeds,
    };
    let route = RouteStage::new(
        cursor,
        routing,
        filters,
        injection,
        e.max_message_loops,
        e.budget,
        &counters,
    );
    stages.insert("route".into(), Box::new(route));

    let outputs = v.outputs.iter().zip(&output_seqs).zip(v.output_matchers);
    for (bit, (((s, p), seq), matcher)) in outputs.enumerate() {
        let committed = committed_seqs[bit].clone();
        let Built::Output(make) = build(s, p.as_ref(), 0)? else {
            unreachable!()
        };
        let (ring, barrier) = match feed_rings.remove(&s.name) {
            Some((ring, published)) => (ring, Barrier::Producers(published)),
            None => (ring.clone(), Barrier::Stages(vec![route_seq.clone()])),
        };
        let cursor = Cursor::new(
            ring,
            barrier,
            vec![route_done.clone()],
            seq.clone(),
            DoneFlag::default(),
        );
        let wiring = OutputWiring {
            name: s.name.clone(),
            cursor,
            bit,
            matcher,
            retries: s.common.retries.clone().unwrap_or_default(),
            gate: outputs_gate.clone(),
            committed,
            demand: committed_all.demand(),
        };
        stages.insert(s.name.clone(), make(wiring, &counters));
        // An `on_full: drop` output's sequence counts its own ring: no lag on this one.
        if s.common.on_full == OnFull::Block {
            consumers.push(consumer(&s.name, Rank::Output, seq));
        }
    }

    let wakes: Arc<Vec<Arc<Wake>>> = Arc::new(
        v.plan
            .threads
            .iter()
            .map(|_| Arc::new(Wake::default()))
            .collect(),
    );
    let mut threads = Vec::new();
    for (i, t) in v.plan.threads.iter().enumerate() {
        let worker = Worker {
            index: i,
            cores: t.cores.clone(),
            stages: t
                .stages
                .iter()
                .map(|s| stages.remove(&s.name).expect("plan names built stages"))
                .collect(),
            wait: e.wait,
            budget: e.budget,
            read_timeout: Duration::from_millis(e.read_timeout_ms),
            wakes: wakes.clone(),
            has_inputs: t.stages.iter().any(|s| s.rank == Rank::Input),
        };
        let handle = std::thread::Builder::new()
            .name(format!("hekad-{i}"))
            .spawn(move || worker.run())
            .map_err(StartError::Spawn)?;
        threads.push(handle);
    }
    debug_assert!(stages.is_empty());
    let listeners = listeners.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let keys = std::mem::take(&mut *socket_keys.lock().unwrap_or_else(|e| e.into_inner()));
    let started = Instant::now();
    let outputs: Vec<String> = v.outputs.iter().map(|(s, _)| s.name.clone()).collect();
    let gauges = Arc::new(Gauges {
        pool_size: pool,
        published: published_gauge,
        inputs: input_names.clone(),
        gating: v
            .outputs
            .iter()
            .filter(|(s, _)| s.common.on_full == OnFull::Block)
            .count()
            .max(1),
        consumers,
        outputs: outputs.clone(),
        counters: counters.clone(),
        stop: stop.clone(),
        replaced: AtomicBool::new(false),
        started,
    });
    Ok(Pipeline {
        stop,
        wakes,
        threads,
        counters,
        globals,
        plan: v.plan,
        started,
        inputs: input_names,
        outputs,
        listeners,
        inputs_gate,
        outputs_gate,
        input_done: input_done_flags,
        socket_keys: keys,
        gauges,
    })
}

fn consumer(name: &str, rank: Rank, sequence: &Arc<Sequence>) -> Consumer {
    Consumer {
        name: name.to_string(),
        rank,
        sequence: sequence.clone(),
    }
}
