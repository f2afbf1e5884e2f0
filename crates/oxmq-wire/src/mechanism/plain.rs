//! The PLAIN security mechanism (RFC 24, as libzmq 4.3.5 runs it): the
//! client sends HELLO (user name, password); the server answers WELCOME (or
//! ERROR, after asking ZAP); the client sends INITIATE (its metadata); the
//! server answers READY (its metadata). Traffic then flows as with NULL.

use bytes::{Bytes, BytesMut};
use zeroize::Zeroizing;

use super::null::NullCodec;
use super::{Codec, MechanismHandshake, MechanismStatus, command_frame, peer_error, unexpected};
use crate::config::PlainConfig;
use crate::zap::{ZapReply, ZapRequest};
use crate::{HandshakeConfig, Metadata, WireError};

const HELLO: &[u8] = b"\x05HELLO";
const WELCOME: &[u8] = b"\x07WELCOME";
const INITIATE: &[u8] = b"\x08INITIATE";
const READY: &[u8] = b"\x05READY";
const ERROR: &[u8] = b"\x05ERROR";

/// Our metadata, encoded (the body of INITIATE or READY after the name).
fn encoded_metadata(cfg: &HandshakeConfig) -> Result<Bytes, WireError> {
    let mut md = BytesMut::new();
    super::our_metadata(cfg)?.encode(&mut md);
    Ok(md.freeze())
}

/// PLAIN client.
#[derive(Debug)]
pub(crate) struct PlainClient {
    /// HELLO's data: user name and password, each with its length byte.
    hello: Zeroizing<Vec<u8>>,
    metadata: Bytes,
    state: ClientState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    Welcome,
    Ready,
}

impl PlainClient {
    pub(crate) fn new(cfg: &HandshakeConfig, plain: &PlainConfig) -> Result<Self, WireError> {
        let (user, pass) = (&plain.username[..], &plain.password[..]);
        if user.len() > 255 || pass.len() > 255 {
            return Err(WireError::BadConfig("PLAIN user names and passwords are at most 255 bytes"));
        }
        let mut hello = Zeroizing::new(Vec::with_capacity(2 + user.len() + pass.len()));
        hello.push(user.len() as u8);
        hello.extend_from_slice(user);
        hello.push(pass.len() as u8);
        hello.extend_from_slice(pass);
        Ok(PlainClient { hello, metadata: encoded_metadata(cfg)?, state: ClientState::Welcome })
    }
}

impl MechanismHandshake for PlainClient {
    fn start(&mut self, out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        command_frame(b"HELLO", &[&self.hello], out);
        Ok(MechanismStatus::Handshaking)
    }

    fn on_command(&mut self, body: Bytes, out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        if let Some(rest) = body.strip_prefix(WELCOME)
            && self.state == ClientState::Welcome
        {
            if !rest.is_empty() {
                return Err(WireError::MalformedCommand("WELCOME with data (PLAIN)"));
            }
            command_frame(b"INITIATE", &[&self.metadata], out);
            self.state = ClientState::Ready;
            Ok(MechanismStatus::Handshaking)
        } else if body.starts_with(READY) && self.state == ClientState::Ready {
            let md = Metadata::parse_bytes(&body.slice(READY.len()..))?;
            Ok(MechanismStatus::Ready(md, Codec::Null(NullCodec)))
        } else if let Some(rest) = body.strip_prefix(ERROR) {
            Err(peer_error(rest))
        } else {
            let expected = if self.state == ClientState::Welcome { "WELCOME or ERROR" } else { "READY or ERROR" };
            Err(unexpected(&body, "PLAIN", expected))
        }
    }

    fn on_zap_reply(&mut self, _reply: &ZapReply, _out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        Err(super::unexpected_zap_reply())
    }
}

/// PLAIN server.
#[derive(Debug)]
pub(crate) struct PlainServer {
    /// The ZAP request to make (without credentials), if ZAP is configured.
    zap: Option<ZapRequest>,
    metadata: Bytes,
    state: ServerState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    Hello,
    Zap,
    Initiate,
}

impl PlainServer {
    pub(crate) fn new(cfg: &HandshakeConfig) -> Result<Self, WireError> {
        Ok(PlainServer {
            zap: super::zap_request(cfg, Vec::new()),
            metadata: encoded_metadata(cfg)?,
            state: ServerState::Hello,
        })
    }

    /// Parses HELLO's data with libzmq's checks: a user name and a password,
    /// each with its length byte, and nothing after them.
    fn credentials(data: &Bytes) -> Result<(Bytes, Bytes), WireError> {
        let bad = WireError::MalformedCommand("HELLO without a well-formed user name and password (PLAIN)");
        let user_len = usize::from(*data.first().ok_or(bad.clone())?);
        let pass_len = usize::from(*data.get(1 + user_len).ok_or(bad.clone())?);
        if data.len() != 2 + user_len + pass_len {
            return Err(bad);
        }
        Ok((data.slice(1..1 + user_len), data.slice(2 + user_len..)))
    }

    fn welcome(&mut self, out: &mut BytesMut) -> MechanismStatus {
        command_frame(b"WELCOME", &[], out);
        self.state = ServerState::Initiate;
        MechanismStatus::Handshaking
    }
}

impl MechanismHandshake for PlainServer {
    fn start(&mut self, _out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        Ok(MechanismStatus::Handshaking)
    }

    fn max_command_len(&self) -> Option<usize> {
        // HELLO: its name, then a user name and a password of at most 255 bytes each.
        (self.state == ServerState::Hello).then_some(HELLO.len() + 2 * (1 + 255))
    }

    fn refuse_long_command(&self, name: &[u8]) -> WireError {
        if name == HELLO {
            WireError::MalformedCommand("HELLO without a well-formed user name and password (PLAIN)")
        } else {
            unexpected(name, "PLAIN", "HELLO")
        }
    }

    fn on_command(&mut self, body: Bytes, out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        match self.state {
            ServerState::Hello => {
                if !body.starts_with(HELLO) {
                    return Err(unexpected(&body, "PLAIN", "HELLO"));
                }
                let (user, pass) = Self::credentials(&body.slice(HELLO.len()..))?;
                match self.zap.take() {
                    Some(mut request) => {
                        // Copied: the request outlives the receive buffer they are slices of.
                        request.credentials = vec![Bytes::copy_from_slice(&user), Bytes::copy_from_slice(&pass)];
                        self.state = ServerState::Zap;
                        Ok(MechanismStatus::AwaitingZap(request))
                    }
                    None => Ok(self.welcome(out)),
                }
            }
            ServerState::Initiate => {
                if !body.starts_with(INITIATE) {
                    return Err(unexpected(&body, "PLAIN", "INITIATE"));
                }
                let md = Metadata::parse_bytes(&body.slice(INITIATE.len()..))?;
                command_frame(b"READY", &[&self.metadata], out);
                Ok(MechanismStatus::Ready(md, Codec::Null(NullCodec)))
            }
            ServerState::Zap => Err(unexpected(&body, "PLAIN", "nothing while authenticating")),
        }
    }

    fn on_zap_reply(&mut self, reply: &ZapReply, out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        if self.state != ServerState::Zap {
            return Err(super::unexpected_zap_reply());
        }
        if reply.status_code != 200 {
            return Err(super::zap_refusal(reply, out));
        }
        Ok(self.welcome(out))
    }
}
