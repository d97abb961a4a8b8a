//! Error types, one per boundary (STYLE.md rule 8). Hot-path errors are small and `Copy`.

use std::io;

/// Why a decoder refused a pack's bytes. Small and `Copy`: decoders return it per message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not well-formed in the decoder's format.
    #[error("malformed input at byte {offset}")]
    Malformed {
        /// Byte offset where parsing failed.
        offset: usize,
    },
    /// Well-formed, but the top level is not the expected kind (e.g. a JSON array).
    #[error("top level is not an object")]
    NotAnObject,
    /// The input ended early.
    #[error("truncated input: {needed} more bytes needed")]
    Truncated {
        /// Bytes missing (0 when unknown).
        needed: usize,
    },
    /// Nesting deeper than the decoder allows.
    #[error("nesting deeper than {limit}")]
    TooDeep {
        /// The depth limit.
        limit: usize,
    },
    /// More fields than a message may carry.
    #[error("more than {limit} fields")]
    TooManyFields {
        /// The field limit.
        limit: usize,
    },
    /// A string that should be UTF-8 is not.
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Byte offset of the string.
        offset: usize,
    },
    /// A value larger than allowed (bytes).
    #[error("value of {len} bytes exceeds the limit")]
    TooLarge {
        /// Declared length.
        len: usize,
    },
    /// HMAC signature did not verify.
    #[error("bad signature")]
    BadSignature,
    /// HMAC signer or key version not configured.
    #[error("unknown signer")]
    UnknownSigner,
    /// Anything else, described by a static string.
    #[error("{0}")]
    Other(&'static str),
}

/// What a successful decode noticed that the counters should know about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Decoded {
    /// Nothing to report.
    #[default]
    Clean,
    /// The timestamp was missing or unreadable; the receive time was used instead.
    TimestampDefaulted,
}

/// An output or writer failed to deliver. Carries the OS error kind, never an allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// An I/O error from the destination.
    #[error("i/o error: {0}")]
    Io(io::ErrorKind),
    /// An OS error from the destination, by errno (shown with the OS's text).
    #[error("{}", io::Error::from_raw_os_error(*.0))]
    Os(i32),
    /// The message cannot be expressed in the output's format.
    #[error("cannot format message: {0}")]
    Format(&'static str),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(code) => WriteError::Os(code),
            None => WriteError::Io(e.kind()),
        }
    }
}

/// A plugin could not be built from its (well-typed) config.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A value is out of range or inconsistent.
    #[error("{0}")]
    Invalid(String),
    /// An OS resource could not be set up (bind, open, ...). Displays `what`; the OS error
    /// is the `source` (`{:#}` in anyhow prints both).
    #[error("{what}")]
    Io {
        /// What was being done, e.g. `bind 127.0.0.1:5565`.
        what: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl BuildError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        BuildError::Io {
            what: what.into(),
            source,
        }
    }
}

/// A running stage failed in a way the engine must handle (not per message).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An I/O error that is not WouldBlock/Interrupted.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

/// The pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A plugin could not be built. Displays the plugin's name; the cause is the `source`.
    #[error("{name}")]
    Build {
        /// The plugin's config name.
        name: String,
        /// Why.
        #[source]
        source: BuildError,
    },
    /// The thread plan cannot run on this host.
    #[error("{0}")]
    Plan(String),
    /// The ring's buffers could not be mapped.
    #[error("mapping the ring's buffers: {0}")]
    Memory(#[source] io::Error),
    /// A worker thread could not be spawned.
    #[error("spawning a worker thread: {0}")]
    Spawn(#[source] io::Error),
}
