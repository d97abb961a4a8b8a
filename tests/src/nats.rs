//! A real `nats-server` with JetStream for end-to-end tests: started on random loopback
//! ports with its store in a directory of the test's, restartable on the same ports and
//! store, pausable (SIGSTOP/SIGCONT), and killed on drop (SIGKILL ends a paused one too).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A running `nats-server -js`; killed on drop.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    store: PathBuf,
    port: u16,
    http_port: u16,
}

/// `nats-server` from PATH, else Debian's `/usr/sbin/nats-server` (not in a user's PATH).
fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("nats-server"))
            .find(|f| f.is_file())
    });
    on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"))
}

/// Starts nats-server with `port`/`http_port` (-1: random) and waits at most 20 s for
/// "Server is ready"; returns the child and the ports it listens on.
fn spawn(store: &Path, port: i32, http_port: i32) -> (Child, u16, u16) {
    let mut child = Command::new(binary())
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .args(["-m", &http_port.to_string(), "-js", "-sd"])
        .arg(store)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nats-server (apt-get install nats-server)");
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            // The receiver goes away once the server is ready; keep draining the pipe.
            tx.send(line).unwrap_or(());
        }
    });
    let port_after = |line: &str, needle: &str| -> Option<u16> {
        let rest = &line[line.find(needle)? + needle.len()..];
        rest.trim().rsplit(':').next()?.parse().ok()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut client, mut http) = (None, None);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) else {
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            continue;
        };
        http = http.or_else(|| port_after(&line, "Starting http monitor on "));
        client = client.or_else(|| port_after(&line, "Listening for client connections on "));
        let ready = line.contains("Server is ready");
        seen.push(line);
        if ready {
            if let (Some(c), Some(h)) = (client, http) {
                return (child, c, h);
            }
        }
    }
    child.kill().unwrap_or(());
    child.wait().map(drop).unwrap_or(());
    panic!("nats-server did not become ready: {seen:#?}");
}

impl NatsServer {
    /// Starts a server on random loopback ports with JetStream stored under `store`.
    pub fn start(store: &Path) -> NatsServer {
        let (child, port, http_port) = spawn(store, -1, -1);
        NatsServer {
            child: Some(child),
            store: store.to_path_buf(),
            port,
            http_port,
        }
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL (no graceful shutdown) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap_or(());
            c.wait().map(drop).unwrap_or(());
        }
    }

    /// Starts the server again on the same ports and store (after [`NatsServer::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        let (child, port, http_port) = spawn(&self.store, self.port.into(), self.http_port.into());
        assert_eq!((port, http_port), (self.port, self.http_port));
        self.child = Some(child);
    }

    /// Freezes the server with SIGSTOP: its sockets stay open and the kernel queues what
    /// clients send, but it reads, stores and answers nothing until [`NatsServer::resume`].
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Lets a paused server run again (SIGCONT): it reads what was queued meanwhile.
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, sig: &str) {
        let child = self.child.as_ref().expect("the server runs");
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -{sig} nats-server failed");
    }

    /// The monitoring endpoint's `/jsz` report (JSON), or `None` when unreachable.
    pub fn jsz(&self) -> Option<serde_json::Value> {
        let mut s = TcpStream::connect(("127.0.0.1", self.http_port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(b"GET /jsz?streams=true&consumers=true HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        let json = &body[body.find("\r\n\r\n")? + 4..];
        serde_json::from_str(json).ok()
    }

    /// How many messages JetStream stores, over every stream.
    pub fn stored_messages(&self) -> Option<u64> {
        self.jsz()?["messages"].as_u64()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
