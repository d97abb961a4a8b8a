//! The top-level keys of the metlog wire (JSON and msgpack carry the same map).

/// A top-level key the decoders know; `metlog_pid`/`pid` and
/// `metlog_hostname`/`hostname` are synonyms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    Type,
    Timestamp,
    Logger,
    Severity,
    Payload,
    EnvVersion,
    Pid,
    Hostname,
    Uuid,
    Fields,
    Unknown,
}

impl Key {
    /// The key `name` names.
    #[inline]
    pub(crate) fn of(name: &[u8]) -> Key {
        match name {
            b"type" => Key::Type,
            b"timestamp" => Key::Timestamp,
            b"logger" => Key::Logger,
            b"severity" => Key::Severity,
            b"payload" => Key::Payload,
            b"env_version" => Key::EnvVersion,
            b"metlog_pid" | b"pid" => Key::Pid,
            b"metlog_hostname" | b"hostname" => Key::Hostname,
            b"uuid" => Key::Uuid,
            b"fields" => Key::Fields,
            _ => Key::Unknown,
        }
    }
}
