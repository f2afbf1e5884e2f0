//! The NULL security mechanism: each side sends READY with its metadata;
//! an ERROR instead of READY refuses the connection.

use bytes::{Bytes, BytesMut};

use super::{MechanismHandshake, MechanismStatus};
use crate::{Command, HandshakeConfig, WireError};

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
            Command::Ready(md) => Ok(MechanismStatus::Ready(md)),
            Command::Error(reason) => Err(WireError::PeerError(reason)),
            other => Err(WireError::UnexpectedCommand(format!(
                "{} during the NULL handshake (expected READY or ERROR)",
                String::from_utf8_lossy(other.name())
            ))),
        }
    }
}
