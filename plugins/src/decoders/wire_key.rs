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
    /// The key `name` names. Dispatches on the length first, so each candidate is one
    /// fixed-size compare (a match on the byte strings compared them one by one).
    #[inline]
    pub(crate) fn of(name: &[u8]) -> Key {
        let is = |word: &[u8]| name == word;
        match name.len() {
            3 if is(b"pid") => Key::Pid,
            4 if is(b"type") => Key::Type,
            4 if is(b"uuid") => Key::Uuid,
            6 if is(b"logger") => Key::Logger,
            6 if is(b"fields") => Key::Fields,
            7 if is(b"payload") => Key::Payload,
            8 if is(b"severity") => Key::Severity,
            8 if is(b"hostname") => Key::Hostname,
            9 if is(b"timestamp") => Key::Timestamp,
            10 if is(b"metlog_pid") => Key::Pid,
            11 if is(b"env_version") => Key::EnvVersion,
            15 if is(b"metlog_hostname") => Key::Hostname,
            _ => Key::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_and_synonym_and_near_miss() {
        let known = [
            ("type", Key::Type),
            ("timestamp", Key::Timestamp),
            ("logger", Key::Logger),
            ("severity", Key::Severity),
            ("payload", Key::Payload),
            ("env_version", Key::EnvVersion),
            ("metlog_pid", Key::Pid),
            ("pid", Key::Pid),
            ("metlog_hostname", Key::Hostname),
            ("hostname", Key::Hostname),
            ("uuid", Key::Uuid),
            ("fields", Key::Fields),
        ];
        for (name, key) in known {
            assert_eq!(Key::of(name.as_bytes()), key, "{name}");
            // Same length, one byte off; a prefix; an extension: all unknown.
            let mut bent = name.as_bytes().to_vec();
            bent[name.len() / 2] ^= 0x20;
            assert_eq!(Key::of(&bent), Key::Unknown, "{name}");
            assert_eq!(Key::of(&name.as_bytes()[1..]), Key::Unknown, "{name}");
            assert_eq!(
                Key::of(format!("{name}s").as_bytes()),
                Key::Unknown,
                "{name}"
            );
        }
        assert_eq!(Key::of(b""), Key::Unknown);
        assert_eq!(Key::of(b"Type"), Key::Unknown);
    }
}
