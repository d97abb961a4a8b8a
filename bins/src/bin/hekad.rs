//! hekad: the message router daemon.
//!
//! `hekad` runs the embedded default config; `hekad --config FILE` runs a file;
//! `hekad validate FILE` checks one; `hekad plan FILE` prints the stage → thread → core plan.
//! SIGINT/SIGTERM stop it gracefully (a second one forces exit), SIGUSR1 prints counts.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use engine::config::{Config, DEFAULT_CONFIG};
use engine::Registry;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

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

fn registry() -> Registry {
    let mut r = Registry::new();
    plugins::register_all(&mut r);
    r
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(heka_args());
    let result = match &cli.command {
        Some(Command::Validate { file }) => validate(file),
        Some(Command::Plan { file }) => plan(file.as_deref().or(cli.config.as_deref())),
        None => run(&cli),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hekad: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn validate(file: &Path) -> Result<ExitCode> {
    let config = load(Some(file))?;
    let v = engine::validate(&registry(), &config)?;
    for w in &v.warnings {
        eprintln!("hekad: warning: {w}");
    }
    println!("{}: ok", file.display());
    Ok(ExitCode::SUCCESS)
}

fn plan(file: Option<&Path>) -> Result<ExitCode> {
    let config = load(file)?;
    let v = engine::validate(&registry(), &config)?;
    for w in &v.warnings {
        eprintln!("hekad: warning: {w}");
    }
    print!("{}", v.plan);
    Ok(ExitCode::SUCCESS)
}

fn run(cli: &Cli) -> Result<ExitCode> {
    let mut config = load(cli.config.as_deref())?;
    if let Some(n) = cli.pool_size {
        config.engine.pool_size = n;
    }
    let source = cli
        .config
        .as_ref()
        .map_or("the embedded default config".to_string(), |p| {
            p.display().to_string()
        });
    eprintln!("hekad {} starting with {source}", env!("CARGO_PKG_VERSION"));
    let mut signals =
        Signals::new([SIGINT, SIGTERM, SIGUSR1, SIGHUP]).context("installing signal handlers")?;
    let pipeline = engine::run_with(&registry(), &config)?;
    let gauges = pipeline.gauges();
    let http = config.http.as_ref().map(|h| {
        let g = gauges.clone();
        status::serve(&h.address, move || g.snapshot())
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
    eprint!("{}", pipeline.plan());
    eprintln!("hekad: running; SIGINT/SIGTERM stop, SIGUSR1 prints counts");
    let drain_timeout = Duration::from_millis(config.engine.drain_timeout_ms);
    let mut stopping: Option<Instant> = None;
    loop {
        for sig in signals.pending() {
            match sig {
                SIGUSR1 => {
                    let now = gauges.snapshot();
                    eprint!("hekad: {}", now.report_since(last_report.as_ref()));
                    last_report = Some(now);
                }
                // Caught so that a `kill -HUP` meant as a reload does not end the process.
                SIGHUP => eprintln!(
                    "hekad: warning: SIGHUP: config reload is not supported yet; still running"
                ),
                _ if stopping.is_some() => {
                    eprint!("hekad: second signal: forced exit; {}", pipeline.report());
                    return Ok(ExitCode::FAILURE);
                }
                _ => {
                    eprintln!("hekad: stopping: inputs stop, the ring drains, outputs commit");
                    pipeline.stop();
                    stopping = Some(Instant::now());
                }
            }
        }
        if pipeline.is_finished() {
            break;
        }
        if stopping.is_some_and(|t| t.elapsed() > drain_timeout) {
            eprint!(
                "hekad: drain timed out after {drain_timeout:?}: abandoned; {}",
                pipeline.report()
            );
            return Ok(ExitCode::FAILURE);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(http);
    let report = pipeline.wait();
    eprint!("hekad: stopped; {report}");
    Ok(if report.balances() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
