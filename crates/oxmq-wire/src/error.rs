//! The single error type of the wire layer.

use crate::mechanism::name::Mechanism;
use crate::socket_type::SocketType;

/// Everything that can go wrong while decoding ZMTP bytes or running the
/// handshake.
///
/// Every variant is fatal for the connection it came from: the engine should
/// flush whatever the failing call appended to its output buffer (for example
/// an `ERROR` command) and then close the connection. The `Display` text is
/// meant to be read by a human who has to fix a deployment, so it says what
/// the peer did and, where it helps, what to do about it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The first bytes received are not a ZMTP 2.0+ signature
    /// (`0xFF`, 8 padding bytes, a byte with bit 0 set).
    #[error(
        "peer did not send a ZMTP greeting signature: either it is not a ZeroMQ peer, \
         or it is a ZMTP 1.0 peer (libzmq 2.x), which oxmq does not support"
    )]
    BadSignature,

    /// The peer announced a protocol older than ZMTP 3.0.
    ///
    /// `major` is the version byte (offset 10) as received: 0 means ZMTP 1.0,
    /// 1 or 2 mean ZMTP 2.0 (libzmq 3.x). `minor` is byte 11 if it had already
    /// arrived, else 0 (for these old versions it is not a minor version).
    #[error(
        "peer speaks {} (greeting version byte {major}); oxmq only speaks ZMTP 3.x \
         (libzmq 4.0 or newer): upgrade the peer",
        legacy_name(*.major)
    )]
    UnsupportedVersion {
        /// Greeting byte 10.
        major: u8,
        /// Greeting byte 11, or 0 if not yet received.
        minor: u8,
    },

    /// Both peers speak ZMTP 3.x but announced different security mechanisms.
    #[error(
        "security mechanism mismatch: we use {} but the peer uses {}; \
         configure both sides with the same mechanism",
        .ours.as_str(),
        .theirs.as_str()
    )]
    MechanismMismatch {
        /// Our mechanism.
        ours: Mechanism,
        /// The mechanism from the peer's greeting.
        theirs: Mechanism,
    },

    /// The peer's greeting names a mechanism we do not know (or the mechanism
    /// field is malformed).
    #[error("unknown ZMTP security mechanism (oxmq implements NULL, PLAIN and CURVE)")]
    UnknownMechanism,

    /// A frame's flags byte has one of the reserved bits (0xF8) set.
    #[error("frame flags byte {0:#04x} has reserved bits set: corrupt stream or not a ZMTP 3.x peer")]
    ReservedFlags(u8),

    /// A frame declares a body larger than allowed (by the configured maximum,
    /// by the handshake limit, or by [`crate::MAX_FRAME_SIZE`], 2^47, more than
    /// a process can address).
    #[error(
        "peer sent a frame of {size} bytes, larger than the allowed maximum of {max} bytes \
         (MAXMSGSIZE if set, never above 2^47 = 140737488355328, more than a process can address)"
    )]
    FrameTooLarge {
        /// The size declared by the frame header.
        size: u64,
        /// The limit it exceeded.
        max: u64,
    },

    /// A command frame (or the body of one) does not follow the grammar.
    #[error("malformed ZMTP command from peer: {0}")]
    MalformedCommand(&'static str),

    /// A well-formed command arrived at a point where it is not allowed
    /// (e.g. a PING in the middle of the NULL handshake).
    #[error("unexpected ZMTP command from peer: {0}")]
    UnexpectedCommand(String),

    /// A message (non-command) frame arrived before the handshake completed.
    #[error("peer sent a message frame before completing the ZMTP handshake")]
    MessageBeforeHandshake,

    /// The peer's socket type cannot talk to ours (ZMTP 3.1 compatibility
    /// table), or is one we do not know.
    #[error(
        "incompatible socket types: our {} socket cannot talk to a {theirs} peer",
        .ours.as_str()
    )]
    IncompatibleSocketType {
        /// Our socket type.
        ours: SocketType,
        /// The peer's `Socket-Type` property, as sent (lossily decoded).
        theirs: String,
    },

    /// The peer sent an `ERROR` command during the handshake.
    #[error("peer refused the handshake: {0}")]
    PeerError(String),

    /// Our own mechanism configuration cannot work (a PLAIN user name or
    /// password over 255 bytes, a CURVE client without the server's key).
    #[error("invalid security configuration: {0}")]
    BadConfig(&'static str),

    /// A CURVE box failed to open (bad MAC, wrong key, a cookie that is not
    /// ours), or the OS random source failed: libzmq's
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`.
    #[error("CURVE cryptographic failure: {0}")]
    Cryptographic(&'static str),

    /// The CURVE vouch does not vouch for the keys of this handshake (libzmq's
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE`).
    #[error("CURVE key exchange failure: {0}")]
    KeyExchange(&'static str),

    /// A CURVE MESSAGE nonce did not increase: a replayed or reordered
    /// message (libzmq's `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE`).
    #[error("CURVE MESSAGE nonce {nonce} does not follow the last one, {last}: replayed or reordered message")]
    InvalidSequence {
        /// The nonce received.
        nonce: u64,
        /// The last nonce accepted.
        last: u64,
    },

    /// The ZAP handler refused the peer (status 300, 400 or 500). libzmq
    /// reports it as `HANDSHAKE_FAILED_AUTH` with the status code.
    #[error("authentication refused by the ZAP handler: {status_code} {status_text}")]
    AuthFailed {
        /// The ZAP status code (300, 400 or 500).
        status_code: u16,
        /// The handler's status text.
        status_text: String,
    },

    /// A ZAP reply that libzmq would refuse (bad version, request id or
    /// status code, malformed metadata), or a reply when none was asked for.
    #[error("malformed ZAP reply: {0}")]
    ZapBadReply(&'static str),

    /// The metadata of a `READY` command (or our own configured metadata) is
    /// invalid: truncated, bad property name, missing `Socket-Type`, ...
    #[error("invalid ZMTP metadata: {0}")]
    InvalidMetadata(String),
}

fn legacy_name(major: u8) -> &'static str {
    match major {
        0 => "ZMTP 1.0",
        1 | 2 => "ZMTP 2.0 (libzmq 3.x)",
        _ => "an unknown ZMTP version",
    }
}
