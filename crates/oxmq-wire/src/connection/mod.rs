//! A whole ZMTP connection as a sans-IO state machine, in the spirit of
//! quinn-proto: bytes and instants in; messages, bytes to write and deadlines
//! out. It never performs I/O nor reads a clock.
//!
//! [`Connection`] runs the greeting and mechanism handshake (with
//! [`Handshake`]), then the traffic: frames to messages
//! and back, the commands after the handshake (PING/PONG, SUBSCRIBE/CANCEL,
//! ERROR, a second READY), heartbeats, the peer's PING TTL, MAXMSGSIZE and
//! HANDSHAKE_IVL.
//!
//! # Driving it
//!
//! The driver owns the socket, a read buffer (`BytesMut`) and a [`Transmit`],
//! and loops:
//!
//! 1. **Read** into the read buffer; on end of stream or an I/O error, end
//!    the connection (that is the driver's business). After every read that
//!    brought bytes, call [`Connection::input`] with the current instant: it
//!    consumes every complete frame in the buffer (leaving a partial one in
//!    place) and appends the decoded messages to the driver's batch, bodies
//!    split from the buffer without a copy.
//! 2. **Large bodies**: when [`Connection::peek_header`] shows that the frame
//!    at the front of the buffer has a large body mostly still to come, the
//!    driver may skip the header, read the body into an exact-size buffer of
//!    its own (calling [`Connection::on_read`] after each partial read, so
//!    that they count as traffic), then feed the whole frame with
//!    [`Connection::input_frame`].
//! 3. **Pop messages**: hand the batch to the socket. If the socket's queue
//!    is full and the driver stops reading until it drains, say so with
//!    [`Connection::set_reading_paused`] (and clear it when reading resumes):
//!    silence meanwhile is not held against the peer.
//! 4. **Encode**: take the messages to send (whole messages, in batches) and
//!    call [`Connection::encode`] with the [`Transmit`]; when there are no
//!    messages but [`Connection::wants_transmit`] (handshake bytes, an owed
//!    PONG or PING), call [`Connection::poll_transmit`].
//! 5. **Write** the [`Transmit`] (it is a [`bytes::Buf`]; use
//!    [`bytes::Buf::chunks_vectored`] for a vectored write, then
//!    [`bytes::Buf::advance`]).
//! 6. **Timers**: sleep until [`Connection::poll_timeout`] (re-read it after
//!    every call into the connection), then call
//!    [`Connection::handle_timeout`]; it may fail the connection or owe a
//!    PING (then [`Connection::wants_transmit`] is true).
//!
//! During the handshake the same loop runs with no messages to send, until
//! [`Connection::is_established`]; [`Connection::peer_info`] then says who
//! the peer is. Messages that arrived right behind the handshake come out of
//! the same [`Connection::input`] call that completed it.
//!
//! On an error, every later call returns it again. Messages appended before
//! the error are whole and may be delivered; a multipart message left open is
//! the driver's to roll back. Still write what [`Connection::encode`] emits
//! (a handshake refusal carries an ERROR command for the peer), then close.

mod config;
mod error;
mod timers;

#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

pub use self::config::{ConnectionConfig, Heartbeat};
pub use self::error::{ConnectionError, ErrorKind};
use self::timers::Timers;
use crate::mechanism::{Codec, FrameCodec};
use crate::zap::{ZapReply, ZapRequest};
use crate::{
    Command, Decoder, Frame, FrameHeader, Handshake, HandshakeStatus, PeerInfo, SocketType, Transmit, WireError,
};

/// One message frame, received or to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The frame body.
    pub body: Bytes,
    /// More frames of the same message follow.
    pub more: bool,
}

impl Message {
    /// A message frame.
    pub fn new(body: impl Into<Bytes>, more: bool) -> Message {
        Message { body: body.into(), more }
    }
}

/// Where [`Connection::input`] appends the messages it decodes: a `Vec` or
/// `VecDeque` of [`Message`]s, or a driver's own batch type.
///
/// (Not `Extend`: `VecDeque`'s `extend` with one item is an out-of-line call
/// per message, 15% of a decode of small frames; `push_back` inlines.)
pub trait MessageSink {
    /// Appends one decoded message frame.
    fn push_message(&mut self, m: Message);
}

impl MessageSink for Vec<Message> {
    #[inline]
    fn push_message(&mut self, m: Message) {
        self.push(m);
    }
}

impl MessageSink for VecDeque<Message> {
    #[inline]
    fn push_message(&mut self, m: Message) {
        self.push_back(m);
    }
}

/// One side of a ZMTP 3.x connection, from greeting to close (see the
/// [module documentation](self) for how to drive it).
#[derive(Debug)]
pub struct Connection {
    /// Until established: the handshake in progress.
    handshake: Option<Box<Handshake>>,
    handshake_deadline: Option<Instant>,
    handshake_timeout: Duration,
    /// Once established: frame handling.
    traffic: Option<Traffic>,
    peer: Option<PeerInfo>,
    error: Option<ConnectionError>,
    /// Raw handshake bytes waiting for the next [`Connection::encode`].
    control: BytesMut,
    timers: Timers,
    socket_type: SocketType,
    max_frame_size: Option<u64>,
    heartbeat: Option<Heartbeat>,
}

/// The traffic state of an established connection.
#[derive(Debug)]
struct Traffic {
    codec: Codec,
    flow: Flow,
}

/// Everything about traffic but the codec (borrowed apart from it).
#[derive(Debug)]
struct Flow {
    decoder: Decoder,
    /// Incoming: the next frame continues a multipart message.
    in_msg: bool,
    /// Outgoing: the next frame starts a message.
    out_first: bool,
    /// We are SUB/XSUB talking to a ZMTP 3.1+ peer: single-frame
    /// `0x01`/`0x00` messages go out as SUBSCRIBE/CANCEL commands.
    sends_sub_commands: bool,
    /// We are PUB/XPUB: SUBSCRIBE/CANCEL commands come in as messages.
    receives_subs: bool,
    /// The context of the PONG owed: only the latest is kept, so that a peer
    /// that floods PINGs and reads nothing costs no memory.
    owed_pong: Option<Bytes>,
    /// TTL of the last PING in the current input (deciseconds), if any.
    ping_ttl: Option<u16>,
}

impl Connection {
    /// Starts a connection at `now`: our greeting is ready to send
    /// ([`Connection::wants_transmit`]) and the handshake deadline runs.
    ///
    /// Fails with [`ConnectionError::Handshake`] on a configuration error
    /// (an unimplemented mechanism, an identity over 255 bytes, bad metadata).
    pub fn new(cfg: ConnectionConfig, now: Instant) -> Result<Connection, ConnectionError> {
        let socket_type = cfg.handshake.socket_type;
        let max_frame_size = cfg.handshake.max_frame_size;
        let mut handshake = Handshake::try_new(cfg.handshake).map_err(ConnectionError::Handshake)?;
        let mut control = BytesMut::with_capacity(256);
        handshake.start(&mut control);
        Ok(Connection {
            handshake: Some(Box::new(handshake)),
            handshake_deadline: cfg.handshake_timeout.map(|t| now + t),
            handshake_timeout: cfg.handshake_timeout.unwrap_or_default(),
            traffic: None,
            peer: None,
            error: None,
            control,
            timers: Timers::default(),
            socket_type,
            max_frame_size,
            heartbeat: cfg.heartbeat,
        })
    }

    /// The handshake completed: traffic flows.
    pub fn is_established(&self) -> bool {
        self.traffic.is_some()
    }

    /// The peer, once the handshake completed: version, socket type,
    /// identity, metadata.
    pub fn peer_info(&self) -> Option<&PeerInfo> {
        self.peer.as_ref()
    }

    /// The ZAP request the handshake is waiting on, if any: the driver sends
    /// it to the ZAP handler (an empty delimiter frame, then
    /// [`ZapRequest::frames`]) and answers with [`Connection::zap_reply`].
    /// Meanwhile the handshake consumes no input (the peer owes none) and
    /// HANDSHAKE_IVL keeps running. Poll it after [`Connection::new`] (NULL
    /// with ZAP asks at once) and after every [`Connection::input`].
    pub fn zap_request(&self) -> Option<&ZapRequest> {
        self.handshake.as_ref().and_then(|hs| hs.zap_request())
    }

    /// The ZAP handler answered [`Connection::zap_request`] at `now`.
    ///
    /// Status 200 resumes the handshake: what we owe the peer (WELCOME or
    /// READY) is queued ([`Connection::wants_transmit`]), the reply's User-Id
    /// and metadata go to [`PeerInfo`]; then call [`Connection::input`] with
    /// the read buffer, even if nothing new arrived, to go on with whatever
    /// the peer sent meanwhile. 300, 400 and 500 fail the connection with
    /// [`WireError::AuthFailed`] (inside [`ConnectionError::Handshake`]),
    /// after queueing an ERROR command carrying the status code for 400 and
    /// 500 (libzmq sends none for 300): write it, then close.
    pub fn zap_reply(&mut self, reply: ZapReply, now: Instant) -> Result<(), ConnectionError> {
        self.check()?;
        let Some(hs) = self.handshake.as_mut() else {
            return Err(ConnectionError::Handshake(WireError::ZapBadReply("the handshake is already complete")));
        };
        if let Err(e) = hs.zap_reply(reply, &mut self.control) {
            return Err(self.fail(ConnectionError::Handshake(e)));
        }
        // CURVE's READY may complete the handshake here.
        match hs.input(&mut BytesMut::new(), &mut self.control) {
            Ok(HandshakeStatus::Done(peer)) => self.establish(peer, now),
            Ok(_) => {}
            Err(e) => return Err(self.fail(ConnectionError::Handshake(e))),
        }
        Ok(())
    }

    /// The error the connection failed with, if it did.
    pub fn error(&self) -> Option<&ConnectionError> {
        self.error.as_ref()
    }

    /// Bytes were read into `buf` at `now`: runs the handshake on them, then
    /// decodes every complete frame, appending the messages to `msgs` (in
    /// order; SUBSCRIBE/CANCEL commands to a PUB/XPUB as `0x01`/`0x00` +
    /// topic messages). A partial frame stays at the front of `buf`.
    ///
    /// Any call counts as traffic received: it cancels the heartbeat timeout
    /// and the peer's TTL. A PING from the peer owes it a PONG and starts its
    /// TTL at `now`.
    pub fn input<S: MessageSink>(
        &mut self,
        now: Instant,
        buf: &mut BytesMut,
        msgs: &mut S,
    ) -> Result<(), ConnectionError> {
        self.check()?;
        self.timers.on_read();
        if self.traffic.is_none() {
            let hs = self.handshake.as_mut().expect("a connection is handshaking until established");
            match hs.input(buf, &mut self.control) {
                Ok(HandshakeStatus::NeedMore | HandshakeStatus::AwaitingZap) => return Ok(()),
                Ok(HandshakeStatus::Done(peer)) => self.establish(peer, now),
                Err(e) => return Err(self.fail(ConnectionError::Handshake(e))),
            }
        }
        let Traffic { codec, flow } = self.traffic.as_mut().expect("established");
        let result = match codec {
            Codec::Null(c) => flow.decode_all(c, buf, msgs),
            Codec::Curve(c) => flow.decode_all(c, buf, msgs),
        };
        self.finish_input(now, result)
    }

    /// The header of the frame at the front of `buf`, once established and
    /// when it is complete and valid (an invalid one is reported by the next
    /// [`Connection::input`]). Its `body_len` is within MAXMSGSIZE but can be
    /// huge without one: cap any reservation made from it.
    ///
    /// For reading a large body into a buffer of the driver's own: skip
    /// `header_len` bytes, read exactly `body_len` bytes (taking the part
    /// already in `buf` first), then [`Connection::input_frame`].
    pub fn peek_header(&self, buf: &[u8]) -> Option<FrameHeader> {
        if self.error.is_some() {
            return None;
        }
        let t = self.traffic.as_ref()?;
        t.flow.decoder.peek_header(buf).ok().flatten()
    }

    /// Feeds one whole frame read outside [`Connection::input`] (see
    /// [`Connection::peek_header`]), as if decoded from the read buffer.
    /// Counts as traffic received.
    ///
    /// # Panics
    /// Before the connection is established.
    pub fn input_frame<S: MessageSink>(
        &mut self,
        now: Instant,
        frame: Frame,
        msgs: &mut S,
    ) -> Result<(), ConnectionError> {
        self.check()?;
        self.timers.on_read();
        let Traffic { codec, flow } = self.traffic.as_mut().expect("input_frame before the handshake completed");
        let result = match codec {
            Codec::Null(c) => flow.decode_one(c, frame, msgs),
            Codec::Curve(c) => flow.decode_one(c, frame, msgs),
        };
        self.finish_input(now, result)
    }

    /// Bytes arrived that are not given to the connection yet (part of a
    /// large body read into the driver's own buffer): cancels the heartbeat
    /// timeout and the peer's TTL, as any input does.
    pub fn on_read(&mut self) {
        self.timers.on_read();
    }

    /// The driver stops (`true`) or resumes (`false`) reading because the
    /// socket's queue is full. While paused the heartbeat timeout and the
    /// peer's TTL never fire: a pending heartbeat timeout is dropped, and the
    /// TTL restarts in full when reading resumes at `now`. PINGs go on.
    pub fn set_reading_paused(&mut self, paused: bool, now: Instant) {
        self.timers.set_paused(paused, now);
    }

    /// Whether the driver said it is paused reading.
    pub fn reading_paused(&self) -> bool {
        self.timers.paused()
    }

    /// Messages go on the wire as plain ZMTP frames: the handshake is done, the
    /// connection has not failed, the mechanism leaves frames in the clear (NULL,
    /// PLAIN), and no message of ours becomes a command (we are not a SUB or XSUB
    /// talking to a ZMTP 3.1 peer). Then a whole message's wire form is its
    /// frames' headers ([`encode_frame_header`](crate::encode_frame_header)) and
    /// bodies, whatever the connection's state, and a driver may encode it apart
    /// from the connection (see [`Transmit::append_encoded`]). Stays true until
    /// the connection fails.
    pub fn frames_in_the_clear(&self) -> bool {
        self.error.is_none()
            && matches!(&self.traffic, Some(Traffic { codec: Codec::Null(_), flow }) if !flow.sends_sub_commands)
    }

    /// Something is owed to the peer besides messages: handshake bytes, an
    /// ERROR command, a PONG or a PING. Call [`Connection::encode`] (with no
    /// messages if there are none) and write.
    pub fn wants_transmit(&self) -> bool {
        let owed = self.timers.owed_ping.is_some() || self.traffic.as_ref().is_some_and(|t| t.flow.owed_pong.is_some());
        !self.control.is_empty() || (owed && self.error.is_none())
    }

    /// Appends to `tx` what is owed (handshake bytes, then the owed PONG and
    /// PING), then `msgs`, frame by frame, as the negotiated mechanism puts
    /// them on the wire. Bodies of [`Transmit::ZERO_COPY_MIN`] bytes or more
    /// are queued as they are, not copied. `msgs` are frames of whole
    /// messages; a single-frame `0x01`/`0x00` + topic message from a SUB/XSUB
    /// goes to a ZMTP 3.1 peer as a SUBSCRIBE/CANCEL command.
    ///
    /// After a failure, only the bytes owed from the handshake are emitted
    /// (e.g. an ERROR command for the peer) and `msgs` are dropped.
    ///
    /// # Panics
    /// If `msgs` is not empty before the connection is established.
    pub fn encode<I: IntoIterator<Item = Message>>(&mut self, msgs: I, tx: &mut Transmit) {
        if !self.control.is_empty() {
            tx.tail_mut().extend_from_slice(&self.control);
            self.control.clear();
        }
        let mut msgs = msgs.into_iter();
        let Some(Traffic { codec, flow }) = self.traffic.as_mut() else {
            assert!(self.error.is_some() || msgs.next().is_none(), "messages encoded before the handshake completed");
            return;
        };
        if self.error.is_some() {
            return;
        }
        let pong = flow.owed_pong.take().map(|context| Command::Pong { context });
        let ping = self.timers.owed_ping.take().map(|ttl| Command::Ping { ttl, context: Bytes::new() });
        match codec {
            Codec::Null(c) => flow.encode(c, [pong, ping], msgs, tx),
            Codec::Curve(c) => flow.encode(c, [pong, ping], msgs, tx),
        }
    }

    /// Appends to `tx` what is owed, with no messages: [`Connection::encode`]
    /// of nothing, for when [`Connection::wants_transmit`] is true.
    pub fn poll_transmit(&mut self, tx: &mut Transmit) {
        self.encode(std::iter::empty(), tx);
    }

    /// The next instant at which [`Connection::handle_timeout`] has work: the
    /// handshake deadline, the next PING, the heartbeat timeout or the peer's
    /// TTL (the last two not while reading is paused). `None`: no timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.error.is_some() {
            None
        } else if self.traffic.is_none() {
            self.handshake_deadline
        } else {
            self.timers.next_deadline()
        }
    }

    /// Time has come to `now`: fails the connection on an expired deadline,
    /// or owes the peer a PING (see [`Connection::wants_transmit`]). Calling
    /// it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnectionError> {
        self.check()?;
        let result = if self.traffic.is_none() {
            match self.handshake_deadline {
                Some(at) if now >= at => Err(ConnectionError::HandshakeTimeout(self.handshake_timeout)),
                _ => Ok(()),
            }
        } else {
            self.timers.on_timeout(now)
        };
        result.map_err(|e| self.fail(e))
    }

    fn check(&self) -> Result<(), ConnectionError> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn fail(&mut self, e: ConnectionError) -> ConnectionError {
        self.error = Some(e.clone());
        e
    }

    /// The handshake completed at `now` with `peer`.
    fn establish(&mut self, peer: PeerInfo, now: Instant) {
        let mut hs = self.handshake.take().expect("handshaking");
        let codec = hs.take_codec().expect("a completed handshake hands over its codec");
        let modern = peer.version >= (3, 1);
        let ours = self.socket_type;
        self.traffic = Some(Traffic {
            codec,
            flow: Flow {
                decoder: Decoder::new(self.max_frame_size),
                in_msg: false,
                out_first: true,
                sends_sub_commands: matches!(ours, SocketType::Sub | SocketType::XSub) && modern,
                receives_subs: matches!(ours, SocketType::Pub | SocketType::XPub),
                owed_pong: None,
                ping_ttl: None,
            },
        });
        // No heartbeats to a ZMTP 3.0 peer: it would not understand PING.
        self.timers.start(self.heartbeat.filter(|_| modern), now);
        self.handshake_deadline = None;
        self.peer = Some(peer);
    }

    /// After input processed at `now`: starts the TTL of the last PING in it.
    fn finish_input(&mut self, now: Instant, result: Result<(), ConnectionError>) -> Result<(), ConnectionError> {
        let flow = &mut self.traffic.as_mut().expect("established").flow;
        if let Some(ttl) = flow.ping_ttl.take() {
            self.timers.on_peer_ping(ttl, now);
        }
        result.map_err(|e| self.fail(e))
    }
}

impl Flow {
    /// Decodes every complete frame in `buf` (monomorphized per codec: no
    /// per-frame dispatch).
    fn decode_all<C: FrameCodec, S: MessageSink>(
        &mut self,
        codec: &mut C,
        buf: &mut BytesMut,
        msgs: &mut S,
    ) -> Result<(), ConnectionError> {
        let decoder = self.decoder.clone();
        decoder.decode_each(buf, |wire| self.decode_one(codec, wire, msgs), ConnectionError::Protocol)
    }

    /// One frame off the wire: a message goes to `msgs`, a command to
    /// [`Flow::on_command`] (out of line, to keep this loop tight).
    #[inline(always)]
    fn decode_one<C: FrameCodec, S: MessageSink>(
        &mut self,
        codec: &mut C,
        wire: Frame,
        msgs: &mut S,
    ) -> Result<(), ConnectionError> {
        // Only the CURVE codec refuses frames (NULL's passes every frame through).
        let frame = codec.decode(wire).map_err(ConnectionError::CurveMessage)?;
        if frame.command {
            return self.on_command(&frame.body, msgs);
        }
        self.in_msg = frame.more;
        msgs.push_message(Message { body: frame.body, more: frame.more });
        Ok(())
    }

    /// A command after the handshake.
    #[inline(never)]
    fn on_command<S: MessageSink>(&mut self, body: &Bytes, msgs: &mut S) -> Result<(), ConnectionError> {
        match Command::parse(body).map_err(ConnectionError::Protocol)? {
            Command::Ping { ttl, context } => {
                self.ping_ttl = Some(ttl);
                self.owed_pong = Some(context);
            }
            // A subscription to a socket type that has no use for it is dropped (below).
            cmd @ (Command::Subscribe(_) | Command::Cancel(_)) if self.receives_subs => {
                if self.in_msg {
                    return Err(ConnectionError::Protocol(WireError::UnexpectedCommand(format!(
                        "{} inside a multipart message",
                        String::from_utf8_lossy(cmd.name())
                    ))));
                }
                let body = cmd.to_legacy_subscription().expect("a subscription");
                msgs.push_message(Message { body, more: false });
            }
            Command::Error(reason) => return Err(ConnectionError::PeerError(reason)),
            Command::Ready(_) => {
                return Err(ConnectionError::Protocol(WireError::UnexpectedCommand(
                    "a second READY, after the handshake".into(),
                )));
            }
            // PONG, and commands of later protocol versions, need no answer.
            _ => {}
        }
        Ok(())
    }

    /// Appends the commands `owed`, then `msgs`, to `tx` with `codec`.
    #[inline]
    fn encode<C: FrameCodec>(
        &mut self,
        codec: &mut C,
        owed: [Option<Command>; 2],
        msgs: impl Iterator<Item = Message>,
        tx: &mut Transmit,
    ) {
        for cmd in owed.iter().flatten() {
            codec.encode_command(cmd, tx);
        }
        for m in msgs {
            match self.subscription_command(&m) {
                Some(cmd) => codec.encode_command(&cmd, tx),
                None => codec.encode_message(m.body, m.more, tx),
            }
        }
    }

    /// The SUBSCRIBE/CANCEL command that message `m` stands for, if it goes
    /// out as one (else it goes out as itself).
    #[inline]
    fn subscription_command(&mut self, m: &Message) -> Option<Command> {
        let starts = std::mem::replace(&mut self.out_first, !m.more);
        if self.sends_sub_commands && starts && !m.more { Command::from_legacy_subscription(&m.body) } else { None }
    }
}
