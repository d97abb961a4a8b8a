//! The HTTP server: one thread that answers `/metrics`, `/status.json`, `/health` and `/`
//! from whatever [`Source`] it was given. It never touches the pipeline's hot path: a
//! request takes one [`Snapshot`], which reads padded counters and sequences.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use engine::Snapshot;
use tiny_http::{Header, Method, Request, Response, Server};

/// The dashboard page: inline CSS, JS and SVG, no external assets.
const DASHBOARD: &str = include_str!("dashboard.html");

/// How often the server thread checks whether it was asked to stop.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Where the server reads its snapshots. A closure `Fn() -> Snapshot` is one, so the server
/// does not own the pipeline: a reload can swap what the closure reads.
pub trait Source: Send + 'static {
    /// The state right now.
    fn snapshot(&self) -> Snapshot;
}

impl<F: Fn() -> Snapshot + Send + 'static> Source for F {
    fn snapshot(&self) -> Snapshot {
        self()
    }
}

/// Why the status server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The address did not bind (in use, not local, not an address).
    #[error("http: cannot listen on {address:?}: {source}")]
    Bind {
        /// The configured address.
        address: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The HTTP server or its thread did not start.
    #[error("http: cannot start the server on {address}: {message}")]
    Start {
        /// The bound address.
        address: SocketAddr,
        /// The cause.
        message: String,
    },
}

/// A running status server; stops on [`StatusServer::stop`] or drop. The listening socket
/// closes a moment later, when tiny_http's own accept thread wakes and exits.
#[derive(Debug)]
pub struct StatusServer {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the status server on `address` (`host:port`; port 0 picks a free one) on a thread
/// of its own, and logs `listening http http <address>`.
///
/// # Errors
///
/// [`StatusError::Bind`] when the address does not resolve or bind, [`StatusError::Start`]
/// when the server thread cannot start.
pub fn serve(address: &str, source: impl Source) -> Result<StatusServer, StatusError> {
    let bind_error = |source| StatusError::Bind {
        address: address.to_string(),
        source,
    };
    let listener = TcpListener::bind(address).map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    let start_error = |message: String| StatusError::Start {
        address: local,
        message,
    };
    let server = Server::from_listener(listener, None).map_err(|e| start_error(e.to_string()))?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let thread = std::thread::Builder::new()
        .name("hekad-http".into())
        .spawn(move || run(&server, &source, &stopped))
        .map_err(|e| start_error(e.to_string()))?;
    engine::log::info(format_args!("listening http http {local}"));
    Ok(StatusServer {
        address: local,
        stop,
        thread: Some(thread),
    })
}

impl StatusServer {
    /// The address it listens on (the real port when the config said 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops the server thread, waiting for a request in progress; the socket closes when
    /// tiny_http's accept thread exits, a moment later.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // A panicking handler already lost its request; nothing more to report.
            t.join().unwrap_or(());
        }
    }
}

impl Drop for StatusServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(server: &Server, source: &dyn Source, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match server.recv_timeout(STOP_POLL) {
            Ok(Some(request)) => respond(request, source),
            Ok(None) => {}
            // A failed accept (e.g. out of file descriptors): try again a little later.
            Err(_) => std::thread::sleep(STOP_POLL),
        }
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header is valid")
}

fn respond(request: Request, source: &dyn Source) {
    let path = request.url().split(['?', '#']).next().unwrap_or("/");
    let (code, content_type, body) = match (request.method(), path) {
        (Method::Get | Method::Head, "/metrics") => (
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            crate::metrics::render(&source.snapshot()),
        ),
        (Method::Get | Method::Head, "/status.json") => (
            200,
            "application/json",
            crate::json::render(&source.snapshot()).to_string(),
        ),
        (Method::Get | Method::Head, "/health") => {
            if source.snapshot().stopping {
                (503, "text/plain; charset=utf-8", "stopping\n".to_string())
            } else {
                (200, "text/plain; charset=utf-8", "ok\n".to_string())
            }
        }
        (Method::Get | Method::Head, "/" | "/index.html") => {
            (200, "text/html; charset=utf-8", DASHBOARD.to_string())
        }
        (Method::Get | Method::Head, _) => (404, "text/plain; charset=utf-8", "not found\n".into()),
        _ => (
            405,
            "text/plain; charset=utf-8",
            "only GET and HEAD\n".into(),
        ),
    };
    let response = Response::from_string(body)
        .with_status_code(code)
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"));
    // The client may have gone away; nothing to do about it.
    request.respond(response).unwrap_or(());
}
