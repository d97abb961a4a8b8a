//! hekad with fault-injection plugins (`SlowOutput`, `PanicOutput`, `PanicFilter`, see
//! `tests::faults`) next to the built-ins: the real daemon ([`bins::main_with`]) for the
//! process-level fault tests in `tests/tests/faults_process.rs`. Test-only: these plugins
//! are never in `hekad`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    let mut registry = engine::Registry::new();
    plugins::register_all(&mut registry);
    tests::faults::register(&mut registry);
    bins::main_with(registry)
}
