//! The whole ZMTP 3.x handshake (greeting exchange, then the mechanism
//! handshake) as a sans-IO state machine.

use bytes::{Buf, Bytes, BytesMut};

use crate::mechanism::{self, Codec, MechanismHandshake, MechanismStatus};
use crate::metadata::MAX_IDENTITY_LEN;
use crate::metadata::names::{IDENTITY, SOCKET_TYPE};
use crate::zap::{ZapReply, ZapRequest};
use crate::{Command, Decoder, Greeting, HandshakeConfig, Metadata, SocketType, WireError};

/// Largest handshake command frame we accept (further bounded by the
/// configured `max_frame_size`). READY commands are normally well under
/// 1 KiB; this leaves room for generous user metadata without letting a
/// peer make us buffer without bound before it is authenticated.
pub const HANDSHAKE_MAX_FRAME_SIZE: u64 = 64 * 1024;

/// What we learned about the peer in a successful handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The version from the peer's greeting, e.g. `(3, 1)`; `(3, 0)` peers
    /// want subscriptions as `0x01`/`0x00` messages instead of commands.
    pub version: (u8, u8),
    /// The peer's socket type (already checked to be compatible with ours).
    pub socket_type: SocketType,
    /// The peer's `Identity` property, if it sent a non-empty one (an empty
    /// identity, as libzmq sends when none is set, is `None`). Identities
    /// starting with a zero byte are passed up unchanged.
    pub identity: Option<Bytes>,
    /// All properties the peer sent, including `Socket-Type` and `Identity`.
    pub metadata: Metadata,
    /// The User-Id the ZAP handler gave the peer (`None` without ZAP, or
    /// when the handler gave an empty one).
    pub user_id: Option<Bytes>,
    /// The properties the ZAP handler attached to the connection.
    pub zap_metadata: Metadata,
}

/// Result of feeding bytes to a [`Handshake`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeStatus {
    /// The handshake needs more input.
    NeedMore,
    /// The handshake waits for the ZAP handler's answer to
    /// [`Handshake::zap_request`]; it consumes no input until
    /// [`Handshake::zap_reply`].
    AwaitingZap,
    /// The handshake is complete; traffic may flow.
    Done(PeerInfo),
}

/// Where the handshake is.
#[derive(Debug)]
enum State {
    /// Receiving the peer's 64-byte greeting.
    Greeting { buf: [u8; Greeting::LEN], filled: usize },
    /// Running the security mechanism handshake.
    Mechanism(Box<dyn MechanismHandshake>),
    /// The mechanism waits for the answer to this ZAP request.
    AwaitingZap(Box<dyn MechanismHandshake>, ZapRequest),
    /// Finished successfully.
    Done(PeerInfo),
    /// Finished with an error; every later call returns it again.
    Failed(WireError),
}

/// The ZMTP 3.x handshake as a state machine: bytes in, bytes out.
///
/// Usage: call [`Handshake::start`] once and send what it produced (our
/// greeting); then feed every received chunk to [`Handshake::input`] and
/// send whatever it appends to `out`, until it returns
/// [`HandshakeStatus::Done`]. Bytes after the handshake are left in the
/// input buffer: they are the first traffic frames. On `Err`, still flush
/// `out` (it may hold an `ERROR` command for the peer), then close.
///
/// We always send a full ZMTP 3.1 greeting at once and refuse peers older
/// than ZMTP 3.0; 3.0 and 3.1 (and newer) peers are handled alike.
#[derive(Debug)]
pub struct Handshake {
    cfg: HandshakeConfig,
    state: State,
    greeting_sent: bool,
    peer_greeting: Option<Greeting>,
    decoder: Decoder,
    /// The traffic codec the mechanism handed over on completion, until
    /// [`Handshake::take_codec`] takes it.
    codec: Option<Codec>,
    /// What the ZAP handler said about the peer (User-Id, metadata).
    zap_user_id: Option<Bytes>,
    zap_metadata: Metadata,
}

impl Handshake {
    /// Creates a handshake. A configuration error (unimplemented mechanism,
    /// identity over 255 bytes) is reported by the first
    /// [`Handshake::input`] call; use [`Handshake::try_new`] to get it now.
    pub fn new(cfg: HandshakeConfig) -> Handshake {
        let limit = cfg.max_frame_size.map_or(HANDSHAKE_MAX_FRAME_SIZE, |m| m.min(HANDSHAKE_MAX_FRAME_SIZE));
        let state = match Self::validate(&cfg) {
            Ok(()) => State::Greeting { buf: [0; Greeting::LEN], filled: 0 },
            Err(e) => State::Failed(e),
        };
        Handshake {
            cfg,
            state,
            greeting_sent: false,
            peer_greeting: None,
            decoder: Decoder::new(Some(limit)),
            codec: None,
            zap_user_id: None,
            zap_metadata: Metadata::new(),
        }
    }

    /// Like [`Handshake::new`], but reports configuration errors at once.
    pub fn try_new(cfg: HandshakeConfig) -> Result<Handshake, WireError> {
        let hs = Handshake::new(cfg);
        match &hs.state {
            State::Failed(e) => Err(e.clone()),
            _ => Ok(hs),
        }
    }

    fn validate(cfg: &HandshakeConfig) -> Result<(), WireError> {
        mechanism::for_config(cfg).map(drop)
    }

    /// The configuration this handshake was created with.
    pub fn config(&self) -> &HandshakeConfig {
        &self.cfg
    }

    /// Appends our 64-byte greeting to `out`. Call once, first; later calls
    /// append nothing (and [`Handshake::input`] calls it if you did not).
    /// Appends nothing if the configuration is invalid.
    pub fn start(&mut self, out: &mut BytesMut) {
        if self.greeting_sent || matches!(self.state, State::Failed(_)) {
            return;
        }
        // Set for a PLAIN or CURVE server, as RFC 23 asks (libzmq 4.3.5 sends
        // zero there whatever its role, and reads nothing from it: so do we).
        let as_server = self.cfg.mechanism.is_server();
        out.extend_from_slice(&Greeting::ours(self.cfg.mechanism.name(), as_server).encode());
        self.greeting_sent = true;
    }

    /// Feeds received bytes.
    ///
    /// Consumes from `input` what the handshake uses (any amount may be
    /// passed, down to one byte at a time) and appends what must be sent to
    /// `out` (our READY once the peer's greeting is accepted; an ERROR
    /// command before failing on an incompatible socket type). Once the
    /// handshake completes, the remaining bytes stay in `input`.
    ///
    /// Buffering is bounded: 64 bytes of greeting, then one command frame of
    /// at most [`HANDSHAKE_MAX_FRAME_SIZE`] (or `max_frame_size` if smaller)
    /// in `input` itself; a larger declared frame fails at once with
    /// [`WireError::FrameTooLarge`]. A PLAIN or CURVE server waiting for HELLO
    /// takes no more than a HELLO can be (CURVE 200 bytes, PLAIN 518): a
    /// longer declared frame fails at once with [`WireError::MalformedCommand`].
    ///
    /// After completion, further calls return `Done` again without consuming
    /// anything; after an error, they return the same error.
    pub fn input(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> Result<HandshakeStatus, WireError> {
        self.start(out);
        let result = self.run(input, out);
        if let Err(e) = &result
            && !matches!(self.state, State::Failed(_))
        {
            self.state = State::Failed(e.clone());
        }
        result
    }

    fn run(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> Result<HandshakeStatus, WireError> {
        loop {
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Done(info) => return Ok(HandshakeStatus::Done(info.clone())),
                State::Greeting { buf, filled } => {
                    let n = input.len().min(Greeting::LEN - *filled);
                    buf[*filled..*filled + n].copy_from_slice(&input[..n]);
                    input.advance(n);
                    *filled += n;
                    Greeting::check_prefix(&buf[..*filled])?;
                    if *filled < Greeting::LEN {
                        return Ok(HandshakeStatus::NeedMore);
                    }
                    let greeting = Greeting::decode(buf)?;
                    if greeting.mechanism != self.cfg.mechanism.name() {
                        return Err(WireError::MechanismMismatch {
                            ours: self.cfg.mechanism.name(),
                            theirs: greeting.mechanism,
                        });
                    }
                    self.peer_greeting = Some(greeting);
                    let mut mech = mechanism::for_config(&self.cfg)?;
                    let status = mech.start(out)?;
                    self.advance(mech, status, out)?;
                }
                State::AwaitingZap(..) => {
                    // The peer owes us nothing until our answer: more than one
                    // handshake frame's worth of bytes meanwhile is abuse.
                    if input.len() as u64 > HANDSHAKE_MAX_FRAME_SIZE + 9 {
                        return Err(WireError::UnexpectedCommand(
                            "more data while its authentication is pending".into(),
                        ));
                    }
                    return Ok(HandshakeStatus::AwaitingZap);
                }
                State::Mechanism(mech) => {
                    // A command longer than the mechanism can take next is refused from its
                    // header and name, before its body is buffered.
                    if let Some(h) = self.decoder.peek_header(input)?
                        && let Some(max) = mech.max_command_len()
                        && h.body_len > max
                    {
                        if !h.command {
                            return Err(WireError::MessageBeforeHandshake);
                        }
                        // Wait for the name (at most 256 bytes) so that the error is the one
                        // the whole command would get.
                        let body = &input[h.header_len..];
                        let Some(&n) = body.first() else {
                            return Ok(HandshakeStatus::NeedMore);
                        };
                        let Some(name) = body.get(..(1 + usize::from(n)).min(h.body_len)) else {
                            return Ok(HandshakeStatus::NeedMore);
                        };
                        return Err(mech.refuse_long_command(name));
                    }
                    let Some(frame) = self.decoder.decode(input)? else {
                        return Ok(HandshakeStatus::NeedMore);
                    };
                    if !frame.command {
                        return Err(WireError::MessageBeforeHandshake);
                    }
                    let status = mech.on_command(frame.body, out)?;
                    let State::Mechanism(mech) =
                        std::mem::replace(&mut self.state, State::Greeting { buf: [0; Greeting::LEN], filled: 0 })
                    else {
                        unreachable!("in the mechanism state")
                    };
                    self.advance(mech, status, out)?;
                }
            }
        }
    }

    /// Moves to the state `status` asks for.
    fn advance(
        &mut self,
        mech: Box<dyn MechanismHandshake>,
        status: MechanismStatus,
        out: &mut BytesMut,
    ) -> Result<(), WireError> {
        self.state = match status {
            MechanismStatus::Handshaking => State::Mechanism(mech),
            MechanismStatus::AwaitingZap(request) => State::AwaitingZap(mech, request),
            MechanismStatus::Ready(md, codec) => {
                let info = self.peer_info(md, out)?;
                self.codec = Some(codec);
                State::Done(info)
            }
        };
        Ok(())
    }

    /// The ZAP request the handshake waits on ([`HandshakeStatus::AwaitingZap`]).
    pub fn zap_request(&self) -> Option<&ZapRequest> {
        match &self.state {
            State::AwaitingZap(_, request) => Some(request),
            _ => None,
        }
    }

    /// The ZAP handler's answer to [`Handshake::zap_request`]: 200 goes on
    /// (appending WELCOME or READY to `out`; then call [`Handshake::input`]
    /// again with whatever input is buffered), anything else appends an
    /// ERROR with the status code (none for 300, as libzmq) and fails with
    /// [`WireError::AuthFailed`]. A status other than 200, 300, 400, 500, or
    /// a reply with no request outstanding, fails with
    /// [`WireError::ZapBadReply`].
    pub fn zap_reply(&mut self, reply: ZapReply, out: &mut BytesMut) -> Result<(), WireError> {
        match &self.state {
            State::AwaitingZap(..) => {}
            State::Failed(e) => return Err(e.clone()),
            _ => return Err(mechanism::unexpected_zap_reply()),
        }
        let result = self.on_zap_reply(reply, out);
        if let Err(e) = &result
            && !matches!(self.state, State::Failed(_))
        {
            self.state = State::Failed(e.clone());
        }
        result
    }

    fn on_zap_reply(&mut self, reply: ZapReply, out: &mut BytesMut) -> Result<(), WireError> {
        if !matches!(reply.status_code, 200 | 300 | 400 | 500) {
            return Err(WireError::ZapBadReply("ZAP status code is not 200, 300, 400 or 500"));
        }
        let State::AwaitingZap(mut mech, _) =
            std::mem::replace(&mut self.state, State::Greeting { buf: [0; Greeting::LEN], filled: 0 })
        else {
            unreachable!("checked by zap_reply")
        };
        let status = mech.on_zap_reply(&reply, out)?;
        self.zap_user_id = Some(reply.user_id).filter(|u| !u.is_empty());
        self.zap_metadata = reply.metadata;
        self.advance(mech, status, out)
    }

    /// Checks the peer's metadata and builds the [`PeerInfo`].
    fn peer_info(&self, metadata: Metadata, out: &mut BytesMut) -> Result<PeerInfo, WireError> {
        // The parsed values are slices of the engine's receive buffer; copy
        // them so the long-lived PeerInfo does not pin that buffer.
        let metadata = {
            let mut owned = Metadata::new();
            for (name, value) in metadata.iter() {
                owned.try_insert(name, Bytes::copy_from_slice(value))?;
            }
            owned
        };
        let ours = self.cfg.socket_type;
        let raw_type = metadata.get(SOCKET_TYPE).ok_or_else(|| {
            WireError::InvalidMetadata("the peer did not announce its Socket-Type (required by oxmq)".to_owned())
        })?;
        let socket_type = match SocketType::from_name(raw_type) {
            Some(t) if ours.is_compatible(t) => t,
            _ => {
                let theirs = String::from_utf8_lossy(raw_type).into_owned();
                // RFC 37: reply with ERROR, then disconnect.
                Command::Error(format!("Invalid socket type: {} cannot talk to {theirs}", ours.as_str())).encode(out);
                return Err(WireError::IncompatibleSocketType { ours, theirs });
            }
        };
        let identity = match metadata.get(IDENTITY) {
            Some(id) if id.len() > MAX_IDENTITY_LEN => {
                return Err(WireError::InvalidMetadata(format!(
                    "the peer's Identity is {} bytes; ZMTP allows at most 255",
                    id.len()
                )));
            }
            Some(id) if !id.is_empty() => Some(id.clone()),
            _ => None,
        };
        let g = self.peer_greeting.as_ref().expect("greeting precedes mechanism");
        Ok(PeerInfo {
            version: (g.major, g.minor),
            socket_type,
            identity,
            metadata,
            user_id: self.zap_user_id.clone(),
            zap_metadata: self.zap_metadata.clone(),
        })
    }

    /// The version from the peer's greeting, once it has been received and
    /// accepted (for ZMTP 3.0 downgrade decisions: SUBSCRIBE as a command
    /// for 3.1+, as a `0x01` message for 3.0).
    pub fn peer_version(&self) -> Option<(u8, u8)> {
        self.peer_greeting.as_ref().map(|g| (g.major, g.minor))
    }

    /// The peer's decoded greeting, once received and accepted.
    pub fn peer_greeting(&self) -> Option<&Greeting> {
        self.peer_greeting.as_ref()
    }

    /// The codec that carries traffic from now on, once the handshake is
    /// done (`None` before, and after it was taken).
    pub(crate) fn take_codec(&mut self) -> Option<Codec> {
        self.codec.take()
    }

    /// Whether the handshake completed successfully.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_waiting_for_hello_refuses_a_longer_command_from_its_header() {
        use crate::{CurveConfig, CurveKeyPair, MechanismConfig, PlainConfig};
        let curve = MechanismConfig::Curve(CurveConfig::server(CurveKeyPair::generate().unwrap()));
        for (mechanism, hello_max) in [(curve, 200), (MechanismConfig::Plain(PlainConfig::server()), 518)] {
            let name = mechanism.name();
            for (declared, refused) in [(hello_max, false), (hello_max + 1, true), (64 * 1024, true)] {
                let mut cfg = HandshakeConfig::new(SocketType::Router);
                cfg.mechanism = mechanism.clone();
                let mut hs = Handshake::new(cfg);
                // The client's greeting, then a command header and the name alone.
                let mut input = BytesMut::from(&Greeting::ours(name, false).encode()[..]);
                crate::encode_frame_header(false, true, declared, &mut input);
                input.extend_from_slice(b"\x05HELLO");
                let r = hs.input(&mut input, &mut BytesMut::new());
                if refused {
                    assert!(
                        matches!(&r, Err(WireError::MalformedCommand(m)) if m.starts_with("HELLO")),
                        "{name:?}, {declared} bytes: {r:?}"
                    );
                } else {
                    assert_eq!(r, Ok(HandshakeStatus::NeedMore), "{name:?}, {declared} bytes");
                }
            }
        }
    }

    #[test]
    fn a_long_command_before_hello_gets_the_error_its_name_calls_for() {
        use crate::{CurveConfig, CurveKeyPair, Mechanism, MechanismConfig};
        let server = MechanismConfig::Curve(CurveConfig::server(CurveKeyPair::generate().unwrap()));
        // (command flag, name bytes sent after a header declaring 300 bytes, what follows)
        type Check = fn(&Result<HandshakeStatus, WireError>) -> bool;
        let cases: [(bool, &[u8], Check); 4] = [
            (true, b"", |r| r == &Ok(HandshakeStatus::NeedMore)),
            (true, b"\x08INITIA", |r| r == &Ok(HandshakeStatus::NeedMore)),
            (true, b"\x08INITIATE", |r| matches!(r, Err(WireError::UnexpectedCommand(m)) if m.starts_with("INITIATE"))),
            (false, b"", |r| r == &Err(WireError::MessageBeforeHandshake)),
        ];
        for (command, name, check) in cases {
            let mut cfg = HandshakeConfig::new(SocketType::Router);
            cfg.mechanism = server.clone();
            let mut hs = Handshake::new(cfg);
            let mut input = BytesMut::from(&Greeting::ours(Mechanism::Curve, false).encode()[..]);
            crate::encode_frame_header(false, command, 300, &mut input);
            input.extend_from_slice(name);
            let r = hs.input(&mut input, &mut BytesMut::new());
            assert!(check(&r), "{name:?}: {r:?}");
        }
    }

    #[test]
    fn state_machines_are_send() {
        fn assert_send<T: Send + 'static>() {}
        assert_send::<Handshake>();
        assert_send::<crate::Decoder>();
        assert_send::<PeerInfo>();
        assert_send::<WireError>();
    }
}
