//! What NatsInput and NatsOutput share: the client thread (a tokio current-thread runtime
//! on a thread of the plugin's own, so the ring's stages stay synchronous), connecting with
//! endless reconnects, the JetStream stream, subject tokens, and retry backoff.
//!
//! The ring side of each plugin talks to its client thread through an `engine::queue` (a
//! bounded, lock-free ring of preallocated buffers) and a few atomics; it never waits for
//! the client thread (DESIGN.md section 10, "Nothing blocks inside a stage").

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use async_nats::jetstream;
use engine::BuildError;

/// Longest wait between reconnect attempts and between publish retries.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The default server address.
pub(crate) fn default_url() -> String {
    "nats://127.0.0.1:4222".to_string()
}

/// The default JetStream stream name.
pub(crate) fn default_stream() -> String {
    "HEKA".to_string()
}

/// The default subjects of the stream when the plugin creates it.
pub(crate) fn default_stream_subjects() -> Vec<String> {
    vec!["heka.>".to_string()]
}

/// `true`, for serde defaults.
pub(crate) const fn yes() -> bool {
    true
}

/// Checks a stream name as JetStream does (no spaces, `.`, `*`, `>`, path separators).
pub(crate) fn check_stream_name(name: &str) -> Result<(), BuildError> {
    let bad = |c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\');
    if name.is_empty() || name.chars().any(bad) {
        return Err(BuildError::Invalid(format!(
            "stream {name:?}: a stream name is non-empty, without spaces, '.', '*', '>', '/'"
        )));
    }
    Ok(())
}

/// Checks that `url` is a comma-separated list of NATS server addresses.
pub(crate) fn check_url(url: &str) -> Result<(), BuildError> {
    for u in url.split(',') {
        u.trim()
            .parse::<async_nats::ServerAddr>()
            .map_err(|e| BuildError::Invalid(format!("url {u:?}: {e}")))?;
    }
    Ok(())
}

/// Appends `raw` as one subject token: characters NATS gives a meaning in subjects
/// (`.`, `*`, `>`, whitespace, control characters) become `_`, and an empty token is `_`.
pub(crate) fn push_subject_token(raw: &str, out: &mut String) {
    if raw.is_empty() {
        out.push('_');
        return;
    }
    for c in raw.chars() {
        if c.is_whitespace() || c.is_control() || matches!(c, '.' | '*' | '>') {
            out.push('_');
        } else {
            out.push(c);
        }
    }
}

/// Doubling backoff from 10 ms up to [`MAX_BACKOFF`].
#[derive(Debug)]
pub(crate) struct Backoff(Duration);

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff(Duration::from_millis(10))
    }

    /// The next delay.
    pub(crate) fn next(&mut self) -> Duration {
        let d = self.0;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
        d
    }

    /// Back to the shortest delay after a success.
    pub(crate) fn reset(&mut self) {
        self.0 = Duration::from_millis(10);
    }
}

/// Connects to `url` in the background (the client keeps reconnecting for ever, at most
/// [`MAX_BACKOFF`] apart), so a server that is down at start or restarts is waited for.
pub(crate) async fn connect(url: &str, name: &str) -> Result<async_nats::Client, String> {
    async_nats::ConnectOptions::new()
        .name(format!("hekad {name}"))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis(10u64.saturating_mul(1 << attempts.min(7))).min(MAX_BACKOFF)
        })
        .connect(url)
        .await
        .map_err(|e| format!("connect {url}: {e}"))
}

/// Gets the stream `name`, creating it with `subjects` when `create` and it is absent.
pub(crate) async fn stream(
    js: &jetstream::Context,
    name: &str,
    subjects: &[String],
    create: bool,
) -> Result<jetstream::stream::Stream, String> {
    let r = if create {
        js.get_or_create_stream(jetstream::stream::Config {
            name: name.to_string(),
            subjects: subjects.to_vec(),
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())
    } else {
        js.get_stream(name).await.map_err(|e| e.to_string())
    };
    r.map_err(|e| format!("stream {name}: {e}"))
}

/// A client thread: runs `body` on a current-thread tokio runtime until it returns.
#[derive(Debug)]
pub(crate) struct ClientThread {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl ClientThread {
    /// Starts thread `name` running the future `body(stop)`; `stop` is set by
    /// [`ClientThread::stop`] and on drop.
    pub(crate) fn spawn<F, Fut>(name: &str, body: F) -> Result<Self, BuildError>
    where
        F: FnOnce(Arc<AtomicBool>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BuildError::io("tokio runtime".to_string(), e))?;
        let handle = std::thread::Builder::new()
            .name(format!("{name}.nats"))
            .spawn(move || rt.block_on(body(flag)))
            .map_err(|e| BuildError::io("spawn the NATS client thread".to_string(), e))?;
        Ok(ClientThread {
            stop,
            handle: Some(handle),
        })
    }

    /// Asks the thread to finish (`Release`, read with `Acquire` by the thread).
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }
}

impl Drop for ClientThread {
    fn drop(&mut self) {
        self.stop();
        if let Some(h) = self.handle.take() {
            if h.join().is_err() {
                engine::log::warn(format_args!("NATS client thread panicked"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_tokens_are_sanitized() {
        let mut s = String::from("heka.");
        push_subject_token("a.b*c> d\te", &mut s);
        assert_eq!(s, "heka.a_b_c__d_e");
        s.clear();
        push_subject_token("", &mut s);
        assert_eq!(s, "_");
        s.clear();
        push_subject_token("nginx-access_log", &mut s);
        assert_eq!(s, "nginx-access_log");
    }

    #[test]
    fn stream_names_are_checked() {
        assert!(check_stream_name("HEKA").is_ok());
        assert!(check_stream_name("a.b").is_err());
        assert!(check_stream_name("").is_err());
        assert!(check_stream_name("a b").is_err());
    }

    #[test]
    fn backoff_doubles_to_its_cap() {
        let mut b = Backoff::new();
        assert_eq!(b.next(), Duration::from_millis(10));
        assert_eq!(b.next(), Duration::from_millis(20));
        for _ in 0..20 {
            b.next();
        }
        assert_eq!(b.next(), MAX_BACKOFF);
        b.reset();
        assert_eq!(b.next(), Duration::from_millis(10));
    }
}
