//! Security mechanisms: the part of the ZMTP handshake that comes after the
//! greeting exchange, and what happens to every frame after it.
//!
//! A mechanism has two halves:
//! - a handshake, a small state machine behind [`MechanismHandshake`] (boxed:
//!   it runs once per connection, off the hot path). It is started once the
//!   peer's greeting has been accepted, then fed the peer's handshake
//!   commands one at a time until it yields the peer's metadata and
//! - the [`FrameCodec`] that then carries traffic: how each frame we send is
//!   put on the wire and how each frame received is taken off it. NULL (and
//!   PLAIN) pass frames through untouched, bodies included (zero copy);
//!   CURVE will box each frame in a `MESSAGE` command whose encrypted
//!   payload starts with the frame's flags (MORE, COMMAND). The codecs are
//!   the variants of [`Codec`], an enum, so that the connection dispatches
//!   once per batch ([`Codec`] is matched, then a loop monomorphized for that
//!   codec runs over the frames) and never per frame.
//!
//! NULL and PLAIN carry traffic with the NULL codec; CURVE with its own.
//!
//! # ZAP
//!
//! A PLAIN or CURVE server (and NULL when configured so) asks a ZAP handler
//! (RFC 27) whether the client's credentials are acceptable, and must not
//! send its WELCOME/READY before the answer. That answer comes from outside
//! the connection, later:
//! - a mechanism that has consumed the command carrying the credentials (or,
//!   for NULL, that has just started) returns [`MechanismStatus::AwaitingZap`]
//!   with the [`ZapRequest`];
//! - the handshake stops consuming input while the request is outstanding
//!   (the peer sends nothing more until our answer anyway) and reports it;
//! - [`crate::Connection::zap_request`] exposes it to the driver, which sends
//!   it to the ZAP handler and later calls [`crate::Connection::zap_reply`]:
//!   the reply goes to [`MechanismHandshake::on_zap_reply`], which appends
//!   WELCOME/READY (200) or ERROR (400, 500; nothing for 300, as libzmq) to
//!   the handshake output. The handshake deadline keeps running meanwhile.

use bytes::{Bytes, BytesMut};

use crate::config::MechanismConfig;
use crate::frame::encode_frame_header;
use crate::zap::{ZapReply, ZapRequest};
use crate::{Command, Frame, HandshakeConfig, Metadata, Transmit, WireError};

pub(crate) mod curve;
pub(crate) mod curve_codec;
pub(crate) mod keys;
#[cfg(test)]
pub(crate) mod libzmq_vectors;
pub(crate) mod name;
pub(crate) mod null;
pub(crate) mod plain;

/// Progress of a mechanism handshake after one command.
#[derive(Debug)]
pub(crate) enum MechanismStatus {
    /// More commands are needed.
    Handshaking,
    /// The mechanism waits for the ZAP handler's answer to this request
    /// ([`MechanismHandshake::on_zap_reply`]) before it goes on.
    AwaitingZap(ZapRequest),
    /// The mechanism handshake is complete (both sides sent their final
    /// command): the peer's metadata, and the codec for the traffic.
    Ready(Metadata, Codec),
}

/// One side of a security mechanism handshake.
pub(crate) trait MechanismHandshake: Send + std::fmt::Debug {
    /// Called once, when the peer's greeting has been accepted: append the
    /// commands we send first (NULL: our READY; PLAIN and CURVE clients: HELLO).
    fn start(&mut self, out: &mut BytesMut) -> Result<MechanismStatus, WireError>;

    /// Process one command frame body from the peer, appending any reply.
    fn on_command(&mut self, body: Bytes, out: &mut BytesMut) -> Result<MechanismStatus, WireError>;

    /// The longest command this side can accept next, checked against the frame header
    /// before the body is buffered. `None`: the handshake's own limit
    /// ([`crate::HANDSHAKE_MAX_FRAME_SIZE`]). A server waiting for HELLO knows its size
    /// (CURVE: 200 bytes; PLAIN: at most 518), so that a peer that has not authenticated
    /// cannot make it buffer a 64 KiB "HELLO".
    fn max_command_len(&self) -> Option<usize> {
        None
    }

    /// The error for a command longer than [`MechanismHandshake::max_command_len`], given
    /// the start of its body (its name, or as much of it as the frame holds): what
    /// [`MechanismHandshake::on_command`] would say of the whole command.
    fn refuse_long_command(&self, name: &[u8]) -> WireError {
        unexpected(name, "this", "a shorter command")
    }

    /// The ZAP handler answered the request this mechanism is waiting on.
    /// Only called after [`MechanismStatus::AwaitingZap`].
    fn on_zap_reply(&mut self, reply: &ZapReply, out: &mut BytesMut) -> Result<MechanismStatus, WireError>;
}

/// How one mechanism carries frames after its handshake.
///
/// The connection calls [`FrameCodec::encode_message`] for each frame of a
/// write in a loop that it monomorphizes per codec, and so
/// [`FrameCodec::decode`] for each frame read: choosing the codec costs one
/// match per batch, and a frame moves from the pipe to the write buffer
/// without being wrapped in anything on the way.
pub(crate) trait FrameCodec {
    /// Appends the wire form of a message frame to `tx`: its body is never
    /// copied by codecs that leave it in the clear when it is large (see
    /// [`Transmit::ZERO_COPY_MIN`]).
    fn encode_message(&mut self, body: Bytes, more: bool, tx: &mut Transmit);

    /// Appends the wire form of a command (PING, PONG, SUBSCRIBE, CANCEL
    /// after the handshake) to `tx`.
    fn encode_command(&mut self, cmd: &Command, tx: &mut Transmit);

    /// The frame that a frame received on the wire carries (NULL: itself).
    /// An error is a protocol violation (e.g. a frame that fails to decrypt).
    fn decode(&mut self, wire: Frame) -> Result<Frame, WireError>;
}

/// The traffic codec of the mechanism a connection negotiated: one variant
/// per mechanism, so that choosing the codec costs one match per batch.
#[derive(Debug)]
pub(crate) enum Codec {
    /// NULL and PLAIN: frames go on the wire as they are.
    Null(null::NullCodec),
    /// CURVE: every frame boxed in a MESSAGE command.
    Curve(curve_codec::CurveCodec),
}

/// Creates the mechanism state machine for `cfg`, or fails with the
/// configuration error (identity over 255 bytes, bad metadata, PLAIN
/// credentials over 255 bytes, a CURVE client without the server's key).
/// Cheap: no key is generated before [`MechanismHandshake::start`].
pub(crate) fn for_config(cfg: &HandshakeConfig) -> Result<Box<dyn MechanismHandshake>, WireError> {
    Ok(match &cfg.mechanism {
        MechanismConfig::Null => Box::new(null::NullMechanism::new(cfg)?),
        MechanismConfig::Plain(p) if p.server => Box::new(plain::PlainServer::new(cfg)?),
        MechanismConfig::Plain(p) => Box::new(plain::PlainClient::new(cfg, p)?),
        MechanismConfig::Curve(c) if c.server => Box::new(curve::CurveServer::new(cfg, c)?),
        MechanismConfig::Curve(c) => Box::new(curve::CurveClient::new(cfg, c)?),
    })
}

/// The ZAP request a server sends with `credentials`, if `cfg` asks for ZAP.
pub(crate) fn zap_request(cfg: &HandshakeConfig, credentials: Vec<Bytes>) -> Option<ZapRequest> {
    cfg.zap.as_ref().map(|z| ZapRequest {
        domain: z.domain.clone(),
        address: z.address.clone(),
        routing_id: cfg.identity.clone().unwrap_or_default(),
        mechanism: cfg.mechanism.name(),
        credentials,
    })
}

/// A ZAP refusal (any status but 200): libzmq answers 400 and 500 with an
/// ERROR command whose reason is the three-digit status code, and 300
/// (temporary failure) with nothing, closing silently as RFC 26 asks.
pub(crate) fn zap_refusal(reply: &ZapReply, out: &mut BytesMut) -> WireError {
    if reply.status_code != 300 {
        Command::Error(reply.status_code.to_string()).encode(out);
    }
    WireError::AuthFailed { status_code: reply.status_code, status_text: reply.status_text.clone() }
}

/// A reply with no request outstanding (the handshake never passes one on).
pub(crate) fn unexpected_zap_reply() -> WireError {
    WireError::ZapBadReply("no ZAP request is outstanding")
}

/// Appends a command frame whose body is `\x<len>NAME` followed by `parts`.
pub(crate) fn command_frame(name: &[u8], parts: &[&[u8]], out: &mut BytesMut) {
    let len = 1 + name.len() + parts.iter().map(|p| p.len()).sum::<usize>();
    out.reserve(crate::frame_header_len(len) + len);
    encode_frame_header(false, true, len, out);
    out.extend_from_slice(&[name.len() as u8]);
    out.extend_from_slice(name);
    for p in parts {
        out.extend_from_slice(p);
    }
}

/// An ERROR command's reason, with libzmq's checks (a reason length byte,
/// and no more reason than there are bytes); `data` follows `\x05ERROR`.
pub(crate) fn peer_error(data: &[u8]) -> WireError {
    match data.split_first() {
        Some((&len, rest)) if usize::from(len) <= rest.len() => {
            WireError::PeerError(String::from_utf8_lossy(&rest[..usize::from(len)]).into_owned())
        }
        _ => WireError::MalformedCommand("ERROR reason truncated"),
    }
}

/// A command the mechanism does not expect at this point.
pub(crate) fn unexpected(body: &[u8], mechanism: &str, expected: &str) -> WireError {
    let name = body.get(1..1 + usize::from(body.first().copied().unwrap_or(0))).unwrap_or(b"?");
    WireError::UnexpectedCommand(format!(
        "{} during the {mechanism} handshake (expected {expected})",
        String::from_utf8_lossy(name)
    ))
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
        if id.len() > crate::MAX_IDENTITY_LEN {
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
