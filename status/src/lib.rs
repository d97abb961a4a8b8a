//! hekad's HTTP status endpoint, off unless the config has an `http` section:
//!
//! - `/metrics`: Prometheus text format, every engine counter as
//!   `hekad_<name>_total{owner="<stage or plugin>"}`, and gauges for the ring, the stages'
//!   lag and the process's memory;
//! - `/status.json`: the same snapshot as JSON;
//! - `/health`: `200 ok` while running, `503 stopping` while draining;
//! - `/`: a self-contained dashboard (no external assets) plotting msg/s per input and
//!   output and ring occupancy, polling `/status.json` every second.
//!
//! The server runs on a thread of its own and reads through a [`Source`] (any
//! `Fn() -> Snapshot`), never owning the pipeline.
//!
//! ```
//! use std::io::{Read, Write};
//!
//! let config = engine::config::Config::parse("{}", "inline.json")?;
//! let pipeline = engine::run_with(&engine::Registry::new(), &config)?;
//! let gauges = pipeline.gauges();
//! let server = status::serve("127.0.0.1:0", move || gauges.snapshot())?;
//!
//! let mut conn = std::net::TcpStream::connect(server.address())?;
//! conn.write_all(b"GET /health HTTP/1.0\r\n\r\n")?;
//! let mut reply = String::new();
//! conn.read_to_string(&mut reply)?;
//! assert!(reply.starts_with("HTTP/1.0 200") && reply.ends_with("ok\n"), "{reply}");
//!
//! server.stop();
//! pipeline.stop();
//! pipeline.wait();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod json;
mod metrics;
mod server;

pub use json::{rank_name, render as render_json};
pub use metrics::render as render_metrics;
pub use server::{serve, Source, StatusError, StatusServer};
