//! ProtobufDecoder: Heka's protobuf `Message`, bare or inside a Heka stream frame, read by a
//! hand-written wire reader straight into the pack's reused buffers (DESIGN.md section 6).
//!
//! A pack whose bytes start with `0x1E` holds a whole frame (from UdpInput or TcpInput): the
//! frame is checked ([`crate::framing::parse_frame`]: the header decodes, the message is
//! exactly `message_length` bytes and at most `max_message_size`), a signed frame's HMAC is
//! verified against the configured `signers`, and then the message is decoded. Any other
//! pack holds a bare protobuf `Message` (a protobuf message never starts with `0x1E`: that
//! would be field 3 with the invalid wire type 6).
//!
//! Signatures (as Heka): an unsigned message is accepted unless `require_signature` is set;
//! a signed one whose `<signer>_<version>` has no configured key fails with
//! [`DecodeError::UnknownSigner`], one whose HMAC does not match with
//! [`DecodeError::BadSignature`]. Both are decode errors (counted, the pack dropped) and are
//! also counted by this decoder as `unknown_signer` / `bad_signature`. With
//! `require_signature`, an unsigned message (or a bare one) fails with
//! [`DecodeError::UnknownSigner`] and is counted as `unsigned`.
//!
//! The message is read leniently where protobuf allows: fields in any order, unknown field
//! numbers skipped, a repeated scalar's last value wins, packed and unpacked repeated
//! numbers both accepted, values of a field that do not match its `value_type` ignored (as
//! Heka's accessors do), a `uuid` that is not 16 bytes treated as missing. A missing
//! `severity` is 7 and a missing `timestamp` becomes the receive time
//! ([`Decoded::TimestampDefaulted`]). Errors: bad protobuf (truncated values, invalid wire
//! types, a known field with the wrong wire type, an unknown `value_type`), invalid UTF-8 in
//! a string, and more than [`engine::MAX_FIELDS`] fields.
//!
//! Decoding allocates nothing once the pack's buffers have seen a message of the size, and
//! never sizes a buffer from a declared length larger than the bytes actually present.

mod message;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use engine::PluginConfig;
use engine::{BuildContext, BuildError, Counter, DecodeError, Decoded, Decoder, PipelinePack};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::framing::{parse_frame, Signers, RECORD_SEPARATOR};

pub use message::decode_message;

/// One signer's key (Heka's `[<input>.signer.<name>_<version>]` table).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignerConfig {
    /// The shared HMAC key.
    pub hmac_key: String,
}

/// Config of the `ProtobufDecoder` plugin.
///
/// ```json
/// {"type": "ProtobufDecoder",
///  "signers": {"ops_0": {"hmac_key": "4865ey9urgkidls xtb0[7lf9rzcivthkm"}},
///  "require_signature": false}
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtobufDecoderConfig {
    /// Keys that verify signed frames, by `<signer>_<key version>` (Heka's `signer`).
    #[serde(default, alias = "signer")]
    pub signers: BTreeMap<String, SignerConfig>,
    /// Refuse messages that are not signed by a configured signer (Heka accepts them).
    #[serde(default)]
    pub require_signature: bool,
}

impl PluginConfig for ProtobufDecoderConfig {
    type Plugin = Protobuf;

    fn build(&self, ctx: &BuildContext) -> Result<Protobuf, BuildError> {
        let mut signers = Signers::default();
        for (name, s) in &self.signers {
            signers
                .add(name, s.hmac_key.as_bytes())
                .map_err(|e| BuildError::Invalid(format!("signers: {e}")))?;
        }
        if self.require_signature && signers.is_empty() {
            return Err(BuildError::Invalid(
                "require_signature needs at least one signer".into(),
            ));
        }
        Ok(Protobuf {
            signers,
            require_signature: self.require_signature,
            max_message_size: ctx.max_message_size(),
            bad_signature: ctx.counter("bad_signature"),
            unknown_signer: ctx.counter("unknown_signer"),
            unsigned: ctx.counter("unsigned"),
        })
    }
}

/// The protobuf decoder (Heka's `ProtobufDecoder`); see the [module docs](self).
///
/// # Examples
///
/// ```
/// use engine::{BuildContext, Decoded, Decoder, Message, PipelinePack, PluginConfig};
/// use plugins::decoders::ProtobufDecoderConfig;
/// use plugins::encoders::protobuf::encode_frame;
///
/// let mut m = Message::default();
/// m.timestamp = 1_795_579_080_105_194_000;
/// m.payload.push_str("hello heka");
/// let mut frame = Vec::new();
/// encode_frame(&m, None, &mut frame);
///
/// let ctx = BuildContext::standalone("ProtobufDecoder");
/// let mut decoder = ProtobufDecoderConfig::default().build(&ctx)?;
/// let mut pack = PipelinePack::new(65_507);
/// pack.set_raw(&frame);
/// assert_eq!(decoder.decode(&mut pack), Ok(Decoded::Clean));
/// assert!(pack.message.same_as(&m));
/// # Ok::<(), engine::BuildError>(())
/// ```
#[derive(Debug)]
pub struct Protobuf {
    signers: Signers,
    require_signature: bool,
    max_message_size: usize,
    bad_signature: Counter,
    unknown_signer: Counter,
    unsigned: Counter,
}

impl Protobuf {
    /// Counts a signature failure (rare: one relaxed add on the error path only).
    fn refuse(&self, e: DecodeError) -> DecodeError {
        match e {
            DecodeError::BadSignature => self.bad_signature.add(1),
            DecodeError::UnknownSigner => self.unknown_signer.add(1),
            _ => {}
        }
        e
    }
}

impl Decoder for Protobuf {
    /// Decodes a frame or a bare message in `pack.msg_bytes` into `pack.message`.
    fn decode(&mut self, pack: &mut PipelinePack) -> Result<Decoded, DecodeError> {
        let PipelinePack {
            msg_bytes,
            message,
            recv_time,
            ..
        } = pack;
        let (bytes, base, signed) = if msg_bytes.first() == Some(&RECORD_SEPARATOR) {
            let frame = parse_frame(msg_bytes, self.max_message_size)?;
            let signed = self
                .signers
                .verify(&frame.header, frame.message)
                .map_err(|e| self.refuse(e))?;
            let base = msg_bytes.len() - frame.message.len();
            (frame.message, base, signed)
        } else {
            (&msg_bytes[..], 0, false)
        };
        if self.require_signature && !signed {
            self.unsigned.add(1);
            return Err(DecodeError::UnknownSigner);
        }
        decode_message(bytes, base, message, *recv_time)
    }
}
