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
//! Only NULL exists today. PLAIN and CURVE slot in as further
//! [`MechanismHandshake`] implementations and [`Codec`] variants.
//!
//! # Extension point: ZAP
//!
//! A PLAIN or CURVE server asks a ZAP handler (RFC 27) whether the client's
//! credentials are acceptable, and must not send its WELCOME/READY before
//! the answer. That answer comes from outside the connection, later. The
//! plan, not implemented yet:
//! - `MechanismStatus` gains `AwaitingZap(ZapRequest)`: the mechanism has
//!   consumed the command that carried the credentials and waits;
//! - the handshake stops consuming input while a request is outstanding
//!   (the peer sends nothing more until our answer anyway) and reports it;
//! - [`crate::Connection`] exposes the request to its driver (an accessor
//!   next to `is_established`, polled after `input`), which sends it to the
//!   ZAP handler and later calls a `zap_reply(reply, now)` entry that hands
//!   the reply to the mechanism (`on_zap_reply`, appending WELCOME/READY or
//!   ERROR to the handshake output) and resumes decoding whatever input is
//!   buffered. The handshake deadline keeps running meanwhile.

use bytes::{Bytes, BytesMut};

use crate::{Command, Frame, HandshakeConfig, Mechanism, Metadata, Transmit, WireError};

pub(crate) mod name;
pub(crate) mod null;

/// Progress of a mechanism handshake after one command.
#[derive(Debug)]
pub(crate) enum MechanismStatus {
    /// More commands are needed (NULL never needs more than one; PLAIN and
    /// CURVE will).
    #[allow(dead_code)]
    Handshaking,
    /// The mechanism handshake is complete (both sides sent their final
    /// command): the peer's metadata, and the codec for the traffic.
    Ready(Metadata, Codec),
}

/// One side of a security mechanism handshake.
pub(crate) trait MechanismHandshake: Send + std::fmt::Debug {
    /// Called once, when the peer's greeting has been accepted: append the
    /// commands we send first (NULL: our READY).
    fn start(&mut self, out: &mut BytesMut) -> Result<(), WireError>;

    /// Process one command frame body from the peer, appending any reply.
    fn on_command(&mut self, body: Bytes, out: &mut BytesMut) -> Result<MechanismStatus, WireError>;
}

/// A frame to send, as the connection hands it to a [`FrameCodec`].
#[derive(Debug)]
pub(crate) enum OutFrame {
    /// A message frame.
    Message {
        /// The body, never copied by codecs that leave it in the clear when
        /// it is large (see [`Transmit::ZERO_COPY_MIN`]).
        body: Bytes,
        /// More frames of the same message follow.
        more: bool,
    },
    /// A command (PING, PONG, SUBSCRIBE, CANCEL after the handshake).
    Command(Command),
}

/// How one mechanism carries frames after its handshake.
///
/// Batches: [`FrameCodec::encode_batch`] takes every frame of one write at
/// once (the connection builds them lazily, so that nothing is collected);
/// [`FrameCodec::decode`] is called for each frame in a loop that the
/// connection monomorphizes per codec, so it inlines like a batch call.
pub(crate) trait FrameCodec {
    /// Appends the wire form of `frames` to `tx`.
    fn encode_batch<I: Iterator<Item = OutFrame>>(&mut self, frames: I, tx: &mut Transmit);

    /// The frame that a frame received on the wire carries (NULL: itself).
    /// An error is a protocol violation (e.g. a frame that fails to decrypt).
    fn decode(&mut self, wire: Frame) -> Result<Frame, WireError>;
}

/// The traffic codec of the mechanism a connection negotiated: one variant
/// per mechanism, so that choosing the codec costs one match per batch.
#[derive(Debug)]
pub(crate) enum Codec {
    /// NULL: frames go on the wire as they are.
    Null(null::NullCodec),
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
