//! How a connection ends: [`ConnectionError`].

use std::time::Duration;

use crate::WireError;

/// Why a [`Connection`](crate::Connection) failed. Every variant is final:
/// the connection answers every later call with the same error.
///
/// [`ConnectionError::kind`] sorts them into protocol violations (the peer
/// misbehaved; reconnecting to it is unlikely to help) and liveness failures
/// (the peer went quiet; reconnect). The `Display` text is meant for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// The handshake failed. The [`WireError`] is kept whole: it is what a
    /// driver maps to libzmq's `HANDSHAKE_FAILED_*` monitor events.
    #[error("handshake failed: {0}")]
    Handshake(WireError),
    /// The peer broke the protocol after the handshake: a frame over the
    /// size limit ([`WireError::FrameTooLarge`]), reserved flag bits, a
    /// malformed command, a second READY or a subscription inside a multipart
    /// message ([`WireError::UnexpectedCommand`]).
    #[error("protocol error: {0}")]
    Protocol(WireError),
    /// A CURVE MESSAGE was refused after the handshake: a frame that is not a MESSAGE
    /// ([`WireError::UnexpectedCommand`]), one too short to hold a box
    /// ([`WireError::MalformedCommand`]), a nonce that does not increase (a replayed or
    /// reordered MESSAGE, [`WireError::InvalidSequence`]) or a box that does not open
    /// ([`WireError::Cryptographic`]). Kept apart from [`ConnectionError::Protocol`] because
    /// libzmq reports these with a `HANDSHAKE_FAILED_PROTOCOL` event (and the same codes as
    /// in the handshake) even though the handshake is over.
    #[error("CURVE MESSAGE refused: {0}")]
    CurveMessage(WireError),
    /// The peer sent an ERROR command after the handshake.
    #[error("peer sent ERROR: {0}")]
    PeerError(String),
    /// The handshake did not complete within HANDSHAKE_IVL.
    #[error("handshake not completed within HANDSHAKE_IVL ({0:?})")]
    HandshakeTimeout(Duration),
    /// Nothing at all was received within HEARTBEAT_TIMEOUT of one of our
    /// PINGs.
    #[error("nothing received within HEARTBEAT_TIMEOUT ({0:?}) of a PING")]
    HeartbeatTimeout(Duration),
    /// Nothing at all was received within the TTL of the peer's last PING.
    #[error("nothing received within the TTL ({0:?}) of the peer's PING")]
    PeerTtlExpired(Duration),
}

/// The two ways a connection fails (see [`ConnectionError::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The peer broke the protocol, refused the handshake or is of an
    /// incompatible socket type.
    Protocol,
    /// The peer (or the path to it) went silent: a timeout.
    Liveness,
}

impl ConnectionError {
    /// Protocol violation or liveness failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ConnectionError::Handshake(_)
            | ConnectionError::Protocol(_)
            | ConnectionError::CurveMessage(_)
            | ConnectionError::PeerError(_) => ErrorKind::Protocol,
            ConnectionError::HandshakeTimeout(_)
            | ConnectionError::HeartbeatTimeout(_)
            | ConnectionError::PeerTtlExpired(_) => ErrorKind::Liveness,
        }
    }

    /// A protocol violation ([`ErrorKind::Protocol`]).
    pub fn is_protocol(&self) -> bool {
        self.kind() == ErrorKind::Protocol
    }

    /// A liveness failure ([`ErrorKind::Liveness`]).
    pub fn is_liveness(&self) -> bool {
        self.kind() == ErrorKind::Liveness
    }

    /// The connection never completed its handshake (a failure or HANDSHAKE_IVL):
    /// libzmq reports these with `HANDSHAKE_FAILED_*` monitor events.
    pub fn is_handshake_failure(&self) -> bool {
        matches!(self, ConnectionError::Handshake(_) | ConnectionError::HandshakeTimeout(_))
    }

    /// The wire-level detail, for [`ConnectionError::Handshake`],
    /// [`ConnectionError::Protocol`] and [`ConnectionError::CurveMessage`].
    pub fn wire_error(&self) -> Option<&WireError> {
        match self {
            ConnectionError::Handshake(e) | ConnectionError::Protocol(e) | ConnectionError::CurveMessage(e) => Some(e),
            _ => None,
        }
    }
}
