//! hekad: the message router daemon, with every built-in plugin type (see [`bins::main_with`]
//! for the daemon itself and `hekad --help` for its command line).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    let mut registry = engine::Registry::new();
    plugins::register_all(&mut registry);
    bins::main_with(registry)
}
