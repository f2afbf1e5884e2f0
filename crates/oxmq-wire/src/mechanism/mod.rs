//! Security mechanism handshakes (the part of the ZMTP handshake that comes
//! after the greeting exchange).
//!
//! Each mechanism is a small state machine behind [`MechanismHandshake`]:
//! it is started once the peer's greeting has been accepted, then fed the
//! peer's handshake commands one at a time until it yields the peer's
//! metadata. Only NULL exists today; PLAIN and CURVE will be further
//! implementations (CURVE will additionally need to wrap traffic frames
//! after the handshake, which will be exposed through [`crate::PeerInfo`]
//! or a codec object when it is added).

use bytes::{Bytes, BytesMut};

use crate::{HandshakeConfig, Mechanism, Metadata, WireError};

pub(crate) mod null;

/// Progress of a mechanism handshake after one command.
#[derive(Debug)]
pub(crate) enum MechanismStatus {
    /// More commands are needed (NULL never needs more than one; PLAIN and
    /// CURVE will).
    #[allow(dead_code)]
    Handshaking,
    /// The mechanism handshake is complete (both sides sent their final
    /// command); this is the peer's metadata.
    Ready(Metadata),
}

/// One side of a security mechanism handshake.
pub(crate) trait MechanismHandshake: Send + std::fmt::Debug {
    /// Called once, when the peer's greeting has been accepted: append the
    /// commands we send first (NULL: our READY).
    fn start(&mut self, out: &mut BytesMut) -> Result<(), WireError>;

    /// Process one command frame body from the peer, appending any reply.
    fn on_command(&mut self, body: Bytes, out: &mut BytesMut) -> Result<MechanismStatus, WireError>;
}

/// Creates the mechanism state machine for `cfg`, or fails with
/// [`WireError::UnknownMechanism`] if it is not implemented.
pub(crate) fn for_config(cfg: &HandshakeConfig) -> Result<Box<dyn MechanismHandshake>, WireError> {
    match cfg.mechanism {
        Mechanism::Null => Ok(Box::new(null::NullMechanism::new(cfg)?)),
        Mechanism::Plain | Mechanism::Curve => Err(WireError::UnknownMechanism),
    }
}

/// The metadata every mechanism announces: `Socket-Type`, then `Identity`
/// for REQ/DEALER/ROUTER (empty when none is configured, as libzmq does),
/// then the user's properties (except any that would duplicate those two).
pub(crate) fn our_metadata(cfg: &HandshakeConfig) -> Result<Metadata, WireError> {
    use crate::metadata::names::{IDENTITY, SOCKET_TYPE};
    let mut md = Metadata::new();
    md.try_insert(SOCKET_TYPE, cfg.socket_type.as_str())?;
    if cfg.socket_type.sends_identity() {
        let id = cfg.identity.clone().unwrap_or_default();
        if id.len() > crate::metadata::MAX_IDENTITY_LEN {
            return Err(WireError::InvalidMetadata(format!(
                "our identity is {} bytes; ZMTP allows at most 255",
                id.len()
            )));
        }
        md.try_insert(IDENTITY, id)?;
    }
    for (name, value) in cfg.metadata.iter() {
        if !name.eq_ignore_ascii_case(SOCKET_TYPE) && !name.eq_ignore_ascii_case(IDENTITY) {
            md.try_insert(name, value.clone())?;
        }
    }
    Ok(md)
}
