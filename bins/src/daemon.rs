//! The daemon: hekad's command line, signals, reload, reports and banner, over whatever
//! [`Registry`] the binary passes to [`main_with`].
//!
//! `hekad` runs the embedded default config; `hekad --config FILE` runs a file;
//! `hekad validate FILE` checks one; `hekad plan FILE` prints the stage → thread → core plan;
//! `hekad doc` prints the config and plugin reference (docs/plugins.md) of the registry's
//! types. SIGINT/SIGTERM stop it gracefully (a second one forces exit), SIGUSR1 prints
//! counts, SIGHUP reloads the config file (on error the running pipeline stays as it is).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use engine::config::{Config, DEFAULT_CONFIG};
use engine::log::{self, Level};
use engine::{Gauges, Registry, Supervisor};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

mod banner;

#[derive(Debug, Parser)]
#[command(
    name = "hekad",
    version,
    about = "A high-throughput message router (Heka's plugin model on a disruptor ring)"
)]
struct Cli {
    /// Config file (JSON). Without it, the embedded default runs.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Override engine.pool_size (rounded up to a power of two).
    #[arg(long)]
    pool_size: Option<usize>,
    /// The daemon's own log: error, warn, info or debug.
    #[arg(long, global = true, default_value = "info")]
    log_level: Level,
    /// The daemon's own log on stderr: text, or json (one object per line).
    #[arg(long, global = true, default_value = "text")]
    log_format: log::Format,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a config without starting anything: exit 0 when fine, 1 with the error.
    Validate {
        /// The config file.
        file: PathBuf,
    },
    /// Print the stage → thread → core plan of a config (default: the embedded one).
    Plan {
        /// The config file.
        file: Option<PathBuf>,
    },
    /// Print the config and plugin reference (markdown, every key with its type, default
    /// and doc) generated from the config structs; docs/plugins.md is its output.
    Doc {
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Heka's single-dash long flags (`-config`, `-poolsize`, `-version`) become clap's.
fn heka_args() -> Vec<String> {
    std::env::args()
        .map(|a| match a.as_str() {
            "-config" => "--config".to_string(),
            "-poolsize" => "--pool-size".to_string(),
            "-version" => "--version".to_string(),
            _ => match a.split_once('=') {
                Some(("-config", v)) => format!("--config={v}"),
                Some(("-poolsize", v)) => format!("--pool-size={v}"),
                _ => a,
            },
        })
        .collect()
}

fn load(path: Option<&Path>) -> Result<Config, engine::config::ConfigError> {
    match path {
        Some(p) => Config::load(p),
        None => Config::parse(DEFAULT_CONFIG, Path::new("(embedded default)")),
    }
}

/// Runs hekad (command line, signals, reload, reports) with the plugin types of
/// `registry`: `hekad` itself passes [`plugins::register_all`]'s, a custom binary adds its
/// own. `hekad doc` documents exactly the registry's types.
pub fn main_with(registry: Registry) -> ExitCode {
    let cli = Cli::parse_from(heka_args());
    log::init(cli.log_level, cli.log_format);
    // Plugins' panics are contained and counted; their messages go through the log,
    // rate-limited, instead of a line each on stderr.
    log::install_panic_hook();
    let result = match &cli.command {
        Some(Command::Validate { file }) => validate(&registry, file),
        Some(Command::Plan { file }) => plan(&registry, file.as_deref().or(cli.config.as_deref())),
        Some(Command::Doc { output }) => doc(&registry, output.as_deref()),
        None => run(&cli, &registry),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            log::error(format_args!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn validate(registry: &Registry, file: &Path) -> Result<ExitCode> {
    let config = load(Some(file))?;
    let v = engine::validate(registry, &config)?;
    for w in &v.warnings {
        log::warn(format_args!("{w}"));
    }
    println!("{}: ok", file.display());
    Ok(ExitCode::SUCCESS)
}

fn plan(registry: &Registry, file: Option<&Path>) -> Result<ExitCode> {
    let config = load(file)?;
    let v = engine::validate(registry, &config)?;
    for w in &v.warnings {
        log::warn(format_args!("{w}"));
    }
    print!("{}", v.plan);
    Ok(ExitCode::SUCCESS)
}

fn doc(registry: &Registry, output: Option<&Path>) -> Result<ExitCode> {
    let md = engine::reference::markdown(registry);
    match output {
        Some(path) => {
            std::fs::write(path, md).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{md}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP: re-reads the config file; keeps the running pipeline when it is invalid or
/// cannot be built.
fn reload(cli: &Cli, registry: &Registry, pipeline: &mut Supervisor) {
    let source = banner::config_name(cli.config.as_deref());
    log::info(format_args!("SIGHUP: reloading {source}"));
    let config = match load(cli.config.as_deref()) {
        Ok(mut c) => {
            if let Some(n) = cli.pool_size {
                c.engine.pool_size = n;
            }
            c
        }
        Err(e) => {
            log::error(format_args!(
                "reload failed: {e}; the running pipeline is unchanged"
            ));
            return;
        }
    };
    match pipeline.reload(registry, config) {
        Ok(r) => {
            log::info(format_args!(
                "reloaded: {} section(s) unchanged, old pipeline drained in {:.1} ms{}",
                r.kept.len(),
                r.drain_time.as_secs_f64() * 1e3,
                if r.drained {
                    ""
                } else {
                    " (timed out: abandoned)"
                }
            ));
        }
        Err(e) => log::error(format_args!(
            "reload failed: {:#}; the running pipeline is unchanged",
            anyhow::Error::from(e)
        )),
    }
}

fn run(cli: &Cli, registry: &Registry) -> Result<ExitCode> {
    let mut config = load(cli.config.as_deref())?;
    if let Some(n) = cli.pool_size {
        config.engine.pool_size = n;
    }
    banner::starting(&banner::config_name(cli.config.as_deref()));
    let mut signals =
        Signals::new([SIGINT, SIGTERM, SIGUSR1, SIGHUP]).context("installing signal handlers")?;
    let http_address = config.http.as_ref().map(|h| h.address.clone());
    let mut pipeline = Supervisor::start(registry, config)?;
    // What the status server and SIGUSR1 read: the running pipeline's gauges (swapped by a
    // reload; the lock is taken per request, never on the hot path).
    let gauges = Arc::new(Mutex::new(pipeline.pipeline().gauges()));
    let current = |g: &Mutex<Arc<Gauges>>| g.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let http = http_address.map(|address| {
        let g = gauges.clone();
        status::serve(&address, move || current(&g).snapshot())
    });
    let http = match http.transpose() {
        Ok(h) => h,
        Err(e) => {
            pipeline.stop();
            pipeline.wait();
            return Err(e.into());
        }
    };
    let mut last_report: Option<engine::Snapshot> = None;
    banner::running(&pipeline, http.as_ref().map(status::StatusServer::address));
    let mut stopping: Option<Instant> = None;
    loop {
        for sig in signals.pending() {
            match sig {
                SIGUSR1 => {
                    let now = current(&gauges).snapshot();
                    log::info(format_args!("{}", now.report_since(last_report.as_ref())));
                    last_report = Some(now);
                }
                SIGHUP if stopping.is_none() => {
                    reload(cli, registry, &mut pipeline);
                    *gauges.lock().unwrap_or_else(|e| e.into_inner()) =
                        pipeline.pipeline().gauges();
                }
                SIGHUP => log::warn(format_args!("SIGHUP while stopping: ignored")),
                _ if stopping.is_some() => {
                    let now = current(&gauges).snapshot();
                    log::error(format_args!(
                        "second signal: forced exit; abandoned:\n{}{}",
                        now.abandoned(),
                        now.report
                    ));
                    return Ok(ExitCode::FAILURE);
                }
                _ => {
                    log::info(format_args!(
                        "stopping: inputs stop, the ring drains, outputs commit"
                    ));
                    pipeline.stop();
                    stopping = Some(Instant::now());
                }
            }
        }
        if pipeline.is_finished() {
            break;
        }
        let drain_timeout = Duration::from_millis(pipeline.config().engine.drain_timeout_ms);
        if stopping.is_some_and(|t| t.elapsed() > drain_timeout) {
            let now = current(&gauges).snapshot();
            log::error(format_args!(
                "drain timed out after {drain_timeout:?}; abandoned:\n{}{}",
                now.abandoned(),
                now.report
            ));
            return Ok(ExitCode::FAILURE);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(http);
    let report = pipeline.wait();
    log::info(format_args!("stopped; {report}"));
    Ok(if report.balances() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
