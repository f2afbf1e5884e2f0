//! Configuration of one side of a ZMTP handshake.
//!
//! Kept apart from [`crate::Handshake`] so that the mechanisms (which build
//! their commands from it) and the handshake (which runs the mechanisms) both
//! take it from below.

use bytes::Bytes;

use crate::{Mechanism, Metadata, SocketType};

/// Configuration of one side of a handshake.
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    /// Our socket type, announced as `Socket-Type` and checked against the
    /// peer's.
    pub socket_type: SocketType,
    /// Our identity (routing id), at most 255 bytes. Announced as `Identity`
    /// only if `socket_type.sends_identity()` (REQ, DEALER, ROUTER), with an
    /// empty value when `None`, as libzmq does.
    pub identity: Option<Bytes>,
    /// Extra properties (by convention `X-...`) appended to our READY.
    /// Properties named `Socket-Type` or `Identity` are ignored.
    pub metadata: Metadata,
    /// Largest frame accepted (`None`: unlimited). During the handshake the
    /// limit is additionally capped at [`crate::HANDSHAKE_MAX_FRAME_SIZE`].
    pub max_frame_size: Option<u64>,
    /// Security mechanism. Only [`Mechanism::Null`] is implemented; the
    /// others fail with [`crate::WireError::UnknownMechanism`].
    pub mechanism: Mechanism,
}

impl HandshakeConfig {
    /// A NULL-mechanism configuration with no identity, no extra metadata
    /// and no frame size limit.
    pub fn new(socket_type: SocketType) -> HandshakeConfig {
        HandshakeConfig {
            socket_type,
            identity: None,
            metadata: Metadata::new(),
            max_frame_size: None,
            mechanism: Mechanism::Null,
        }
    }
}
