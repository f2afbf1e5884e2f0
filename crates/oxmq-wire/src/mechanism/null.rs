//! The NULL security mechanism: each side sends READY with its metadata;
//! an ERROR instead of READY refuses the connection.

use bytes::{Bytes, BytesMut};

use super::{Codec, FrameCodec, MechanismHandshake, MechanismStatus, OutFrame};
use crate::{Command, Frame, HandshakeConfig, Transmit, WireError};

/// NULL mechanism state.
#[derive(Debug)]
pub(crate) struct NullMechanism {
    /// Our READY, encoded as a complete frame up front (so configuration
    /// errors surface when the handshake is created).
    ready_frame: Bytes,
    ready_sent: bool,
}

impl NullMechanism {
    pub(crate) fn new(cfg: &HandshakeConfig) -> Result<Self, WireError> {
        let mut frame = BytesMut::new();
        Command::Ready(super::our_metadata(cfg)?).encode(&mut frame);
        Ok(NullMechanism { ready_frame: frame.freeze(), ready_sent: false })
    }
}

impl MechanismHandshake for NullMechanism {
    fn start(&mut self, out: &mut BytesMut) -> Result<(), WireError> {
        // libzmq sends READY straight after the greeting on both sides, not
        // waiting for the client/server ordering the RFC describes; both
        // orders interoperate.
        if !self.ready_sent {
            out.extend_from_slice(&self.ready_frame);
            self.ready_sent = true;
        }
        Ok(())
    }

    fn on_command(&mut self, body: Bytes, _out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        debug_assert!(self.ready_sent);
        match Command::parse(&body)? {
            Command::Ready(md) => Ok(MechanismStatus::Ready(md, Codec::Null(NullCodec))),
            Command::Error(reason) => Err(WireError::PeerError(reason)),
            other => Err(WireError::UnexpectedCommand(format!(
                "{} during the NULL handshake (expected READY or ERROR)",
                String::from_utf8_lossy(other.name())
            ))),
        }
    }
}

/// NULL traffic: every frame goes on the wire as it is, its body untouched
/// (copied into the write buffer when small, queued as its own chunk when
/// large), and comes off the wire as it is.
#[derive(Debug, Default)]
pub(crate) struct NullCodec;

impl FrameCodec for NullCodec {
    #[inline]
    fn encode_batch<I: Iterator<Item = OutFrame>>(&mut self, frames: I, tx: &mut Transmit) {
        for frame in frames {
            match frame {
                OutFrame::Message { body, more } => tx.push_frame(more, false, body),
                OutFrame::Command(cmd) => cmd.encode(tx.tail_mut()),
            }
        }
    }

    #[inline]
    fn decode(&mut self, wire: Frame) -> Result<Frame, WireError> {
        Ok(wire)
    }
}
