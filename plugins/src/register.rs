//! `register_all`: every built-in plugin, listed by hand (no link-time magic).

use engine::Registry;

use crate::decoders::{JsonDecoderConfig, MsgPackDecoderConfig, ProtobufDecoderConfig};
use crate::inputs::{TcpInputConfig, UdpInputConfig};
use crate::outputs::{CounterOutputConfig, FileOutputConfig};

/// Registers every built-in plugin type under its Heka name.
pub fn register_all(registry: &mut Registry) {
    registry.input::<UdpInputConfig>("UdpInput");
    registry.input::<TcpInputConfig>("TcpInput");
    registry.decoder::<JsonDecoderConfig>("JsonDecoder");
    registry.decoder::<MsgPackDecoderConfig>("MsgPackDecoder");
    registry.decoder::<ProtobufDecoderConfig>("ProtobufDecoder");
    registry.output::<FileOutputConfig>("FileOutput");
    registry.output::<CounterOutputConfig>("CounterOutput");
}
