//! The start banner: what hekad runs (version, config, thread plan, listen addresses).

use engine::log::{self, Level};
use engine::Supervisor;

/// The config's name in the banner: its path, or `embedded default`.
pub(crate) fn config_name(path: Option<&std::path::Path>) -> String {
    path.map_or("embedded default".to_string(), |p| p.display().to_string())
}

/// `starting version=<v> config=<file> pid=<pid>`, before the pipeline is built (so a config or bind error
/// follows a line saying what was being started).
pub(crate) fn starting(config: &str) {
    let version = env!("CARGO_PKG_VERSION");
    log::log(
        Level::Info,
        format_args!("starting"),
        &[
            ("version", &version),
            ("config", &config),
            ("pid", &std::process::id()),
        ],
    );
}

/// `running`, once the pipeline is up: thread count, every listen address (the
/// `listening <name> <protocol> <addr>` lines came before, one per socket; the status
/// endpoint's as `http/http/<addr>`) and the plan.
pub(crate) fn running(pipeline: &Supervisor, http: Option<std::net::SocketAddr>) {
    let mut listen: Vec<String> = pipeline
        .listeners()
        .iter()
        .map(|l| format!("{}/{}/{}", l.name, l.protocol, l.address))
        .collect();
    listen.extend(http.map(|a| format!("http/http/{a}")));
    let plan = pipeline.plan();
    log::log(
        Level::Info,
        format_args!(
            "running; SIGINT/SIGTERM stop, SIGHUP reloads the config, SIGUSR1 prints counts"
        ),
        &[
            ("threads", &plan.threads.len()),
            ("listen", &listen.join(",")),
            ("plan", plan),
        ],
    );
}
