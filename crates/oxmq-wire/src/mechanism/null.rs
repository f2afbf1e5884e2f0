//! The NULL security mechanism: each side sends READY with its metadata;
//! an ERROR instead of READY refuses the connection. With ZAP configured, our
//! READY waits for the handler's answer (libzmq asks before sending it).

use bytes::{Bytes, BytesMut};

use super::{Codec, FrameCodec, MechanismHandshake, MechanismStatus};
use crate::zap::{ZapReply, ZapRequest};
use crate::{Command, Frame, HandshakeConfig, Transmit, WireError};

/// NULL mechanism state.
#[derive(Debug)]
pub(crate) struct NullMechanism {
    /// Our READY, encoded as a complete frame up front (so configuration
    /// errors surface when the handshake is created).
    ready_frame: Bytes,
    ready_sent: bool,
    /// The ZAP request to make before our READY, until it is made.
    zap: Option<ZapRequest>,
    zap_pending: bool,
}

impl NullMechanism {
    pub(crate) fn new(cfg: &HandshakeConfig) -> Result<Self, WireError> {
        let mut frame = BytesMut::new();
        Command::Ready(super::our_metadata(cfg)?).encode(&mut frame);
        let zap = super::zap_request(cfg, Vec::new());
        Ok(NullMechanism { ready_frame: frame.freeze(), ready_sent: false, zap, zap_pending: false })
    }

    fn send_ready(&mut self, out: &mut BytesMut) {
        if !self.ready_sent {
            out.extend_from_slice(&self.ready_frame);
            self.ready_sent = true;
        }
    }
}

impl MechanismHandshake for NullMechanism {
    fn start(&mut self, out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        // libzmq sends READY straight after the greeting on both sides, not
        // waiting for the client/server ordering the RFC describes; both
        // orders interoperate. With ZAP, READY waits for the answer.
        if let Some(request) = self.zap.take() {
            self.zap_pending = true;
            return Ok(MechanismStatus::AwaitingZap(request));
        }
        self.send_ready(out);
        Ok(MechanismStatus::Handshaking)
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

    fn on_zap_reply(&mut self, reply: &ZapReply, out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        if !std::mem::take(&mut self.zap_pending) {
            return Err(super::unexpected_zap_reply());
        }
        if reply.status_code != 200 {
            return Err(super::zap_refusal(reply, out));
        }
        self.send_ready(out);
        Ok(MechanismStatus::Handshaking)
    }
}

/// NULL traffic: every frame goes on the wire as it is, its body untouched
/// (copied into the write buffer when small, queued as its own chunk when
/// large), and comes off the wire as it is.
#[derive(Debug, Default)]
pub(crate) struct NullCodec;

impl FrameCodec for NullCodec {
    #[inline]
    fn encode_message(&mut self, body: Bytes, more: bool, tx: &mut Transmit) {
        tx.push_frame(more, false, body);
    }

    fn encode_command(&mut self, cmd: &Command, tx: &mut Transmit) {
        cmd.encode(tx.tail_mut());
    }

    #[inline]
    fn decode(&mut self, wire: Frame) -> Result<Frame, WireError> {
        Ok(wire)
    }
}
