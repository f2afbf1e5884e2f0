//! Sans-IO implementation of ZMTP 3.x, the ZeroMQ wire protocol
//! (RFC 23 for ZMTP 3.0, RFC 37 for ZMTP 3.1).
//!
//! Bytes in, events and bytes out: this crate has no sockets, threads,
//! async runtime or clocks (instants are always passed in). It provides
//! - [`Connection`], a whole ZMTP connection as a state machine: handshake,
//!   then messages in and out, commands, heartbeats and their timeouts, the
//!   peer's PING TTL, MAXMSGSIZE, HANDSHAKE_IVL. An engine only moves bytes
//!   between a socket and it, and calls its timers: see [`connection`] for
//!   the driving loop,
//! - [`Transmit`], encoded bytes waiting to be written, large bodies
//!   chained without a copy for vectored writes,
//! - the building blocks it is made of, usable on their own:
//!   - the 64-byte [`Greeting`] and [`Mechanism`] names,
//!   - framing: [`encode_frame_header`] and the incremental [`Decoder`],
//!   - [`Command`]s (READY, ERROR, PING, PONG, SUBSCRIBE, CANCEL, unknown),
//!   - connection [`Metadata`],
//!   - the [`Handshake`] state machine (greeting exchange, then the NULL,
//!     PLAIN or CURVE mechanism, configured by [`MechanismConfig`]),
//!   - the wire half of ZAP: [`ZapRequest`] out, [`ZapReply`] in,
//!   - CURVE keys ([`CurveKeyPair`], [`curve_keypair`], [`curve_public`]) and
//!     Z85 ([`z85_encode`], [`z85_decode`]), with libzmq's rules,
//!   - [`SocketType`] names, libzmq numbers and the compatibility table.
//!
//! We speak ZMTP 3.1, talk to 3.0 peers, and refuse ZMTP 1.0/2.0 peers
//! (libzmq before 4.0) with [`WireError::BadSignature`] or
//! [`WireError::UnsupportedVersion`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use bytes;

mod command;
mod config;
pub mod connection;
mod error;
mod frame;
mod greeting;
mod handshake;
mod mechanism;
pub mod metadata;
mod socket_type;
mod transmit;
mod z85;
mod zap;

pub use command::{Command, MAX_ERROR_REASON, MAX_PING_CONTEXT, names as command_names};
pub use config::{CurveConfig, HandshakeConfig, MechanismConfig, PlainConfig};
pub use connection::{Connection, ConnectionConfig, ConnectionError, ErrorKind, Heartbeat, Message, MessageSink};
pub use error::WireError;
pub use frame::{
    Decoder, Frame, FrameHeader, MAX_FRAME_SIZE, MAX_WIRE_FRAME_SIZE, encode_frame_header, flags, frame_header_len,
};
pub use greeting::Greeting;
pub use handshake::{HANDSHAKE_MAX_FRAME_SIZE, Handshake, HandshakeStatus, PeerInfo};
pub use mechanism::keys::{
    CURVE_KEY_LEN, CURVE_KEY_Z85_LEN, CurveKeyPair, CurvePublicKey, CurveSecretKey, curve_keypair, curve_public,
};
pub use mechanism::name::Mechanism;
pub use metadata::{MAX_IDENTITY_LEN, Metadata};
pub use socket_type::SocketType;
pub use transmit::Transmit;
pub use z85::{Z85Error, z85_decode, z85_encode};
pub use zap::{ZAP_REQUEST_ID, ZAP_VERSION, ZapConfig, ZapReply, ZapRequest};
