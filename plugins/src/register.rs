//! `register_all`: every built-in plugin, listed by hand (no link-time magic).

use engine::Registry;

use crate::decoders::{JsonDecoderConfig, MsgPackDecoderConfig, ProtobufDecoderConfig};
use crate::filters::{CountFilterConfig, HeartbeatFilterConfig};
use crate::inputs::{NatsInputConfig, StatsdUdpInputConfig, TcpInputConfig, UdpInputConfig};
use crate::outputs::{
    CounterOutputConfig, FileOutputConfig, LogOutputConfig, NatsOutputConfig, TcpOutputConfig,
    UdpOutputConfig,
};

/// Registers every built-in plugin type under its Heka name.
pub fn register_all(registry: &mut Registry) {
    registry.input::<UdpInputConfig>("UdpInput");
    registry.input::<TcpInputConfig>("TcpInput");
    registry.input::<StatsdUdpInputConfig>("StatsdUdpInput");
    registry.input::<NatsInputConfig>("NatsInput");
    registry.decoder::<JsonDecoderConfig>("JsonDecoder");
    registry.decoder::<MsgPackDecoderConfig>("MsgPackDecoder");
    registry.decoder::<ProtobufDecoderConfig>("ProtobufDecoder");
    registry.filter::<CountFilterConfig>("CountFilter");
    registry.filter::<HeartbeatFilterConfig>("HeartbeatFilter");
    registry.output::<FileOutputConfig>("FileOutput");
    registry.output::<CounterOutputConfig>("CounterOutput");
    registry.output::<LogOutputConfig>("LogOutput");
    registry.output::<UdpOutputConfig>("UdpOutput");
    registry.output::<TcpOutputConfig>("TcpOutput");
    registry.output::<NatsOutputConfig>("NatsOutput");
}
