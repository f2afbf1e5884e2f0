//! The CURVE handshake (RFC 26, CurveZMQ, as libzmq 4.3.5 runs it), both roles.
//!
//! ```text
//! C: HELLO    version 1.0, 72 zero bytes, C', short nonce, Box[64 zeros](C'->S)
//! S: WELCOME  long nonce, Box[S' + cookie](S->C')
//!            cookie = long nonce + SecretBox[C' + s'](cookie key)
//! C: INITIATE cookie, short nonce, Box[C + vouch nonce + vouch + metadata](C'->S')
//!            vouch = Box[C' + S](C->S')
//! S: READY    short nonce, Box[metadata](S'->C')
//! ```
//!
//! The server keeps nothing for a connection before a HELLO that opens:
//! its short-term key pair and the cookie key are made then. The cookie key
//! is fresh for every connection (as libzmq's) and, once WELCOME is sent,
//! it is all the server holds: C' and s' come back to it inside the cookie
//! with INITIATE, and the key is dropped once INITIATE is checked.
//!
//! # What a connection that has not authenticated costs the server
//!
//! This is why CurveZMQ has a cookie: a flood of HELLOs from many
//! connections must cost the server little, and bounded, per connection.
//! - **Before a valid HELLO**: no secret and no key, the mechanism's state is
//!   `ServerState::Hello` (the state enum is 40 bytes; the boxed mechanism
//!   256, the `Connection` 544, all made from the configuration). The
//!   handshake buffers the 64-byte greeting and then at most one HELLO of 200
//!   bytes: a longer command is refused from its frame header and name
//!   (`max_command_len`), before its body is read, so a peer that declares a
//!   2^30-byte HELLO is closed at once, not buffered.
//! - **Between WELCOME and INITIATE**: the 32-byte cookie key, inline in the
//!   state (libzmq 4.3.5 keeps a cookie key per connection too; RFC 26 lets a
//!   server keep none, with one cookie key for all connections, rotated: we
//!   keep libzmq's design, 32 bytes, and a cookie is useless on any other
//!   connection). The INITIATE may carry up to 64 KiB of metadata, the
//!   handshake's command limit, which is what such a connection can make the
//!   engine buffer (its read buffer starts with room for it: oxmq's
//!   `engine/zmtp.rs`, `HANDSHAKE_READ`).
//! - **CPU**: a HELLO that opens costs one X25519 agreement (C' with our
//!   long-term key), one X25519 key generation (S') and three boxes (HELLO's
//!   opened, the cookie and WELCOME sealed); one that does not open costs the
//!   agreement alone. The server keeps no state to recognise a replayed
//!   HELLO, so a client can send the same HELLO on every connection at no
//!   cost to itself: the connection rate, the OS's limits and HANDSHAKE_IVL
//!   (30 s by default: the whole handshake's deadline) bound the flood.
//!
//! The measured figures (memory per connection in each state with 5,000
//! connections, CPU per HELLO) are in BENCHMARKS.md, "CURVE handshake cost".

use bytes::{Bytes, BytesMut};
use crypto_box::SalsaBox;
use crypto_box::aead::KeyInit;
use crypto_secretbox::XSalsa20Poly1305;
use zeroize::Zeroizing;

use super::curve_codec::{CurveCodec, Side, long_nonce, open, seal, short_nonce};
use super::keys::{CURVE_KEY_LEN, CurvePublicKey, CurveSecretKey, random};
use super::{Codec, MechanismHandshake, MechanismStatus, command_frame, peer_error, unexpected};
use crate::config::CurveConfig;
use crate::frame::encode_frame_header;
use crate::zap::{ZapReply, ZapRequest};
use crate::{HandshakeConfig, Metadata, WireError};

const HELLO: &[u8] = b"\x05HELLO";
const WELCOME: &[u8] = b"\x07WELCOME";
const INITIATE: &[u8] = b"\x08INITIATE";
const READY: &[u8] = b"\x05READY";
const ERROR: &[u8] = b"\x05ERROR";

/// HELLO's body length.
const HELLO_LEN: usize = 200;
/// WELCOME's body length.
const WELCOME_LEN: usize = 168;
/// The shortest INITIATE body (no metadata).
const INITIATE_MIN_LEN: usize = 257;
/// The shortest READY body (no metadata).
const READY_MIN_LEN: usize = 30;
/// Cookie: 16-byte nonce and the 80-byte box of C' + s'.
const COOKIE_LEN: usize = 96;

fn key32(bytes: &[u8]) -> [u8; CURVE_KEY_LEN] {
    bytes.try_into().expect("32-byte key field")
}

fn public(bytes: &[u8]) -> crypto_box::PublicKey {
    crypto_box::PublicKey::from(key32(bytes))
}

fn our_metadata(cfg: &HandshakeConfig) -> Result<Zeroizing<Vec<u8>>, WireError> {
    let mut md = BytesMut::new();
    super::our_metadata(cfg)?.encode(&mut md);
    Ok(Zeroizing::new(md.to_vec()))
}

/// A short-term (connection) secret key: random, or fixed by a test.
fn ephemeral(fixed: Option<&CurveSecretKey>) -> Result<crypto_box::SecretKey, WireError> {
    match fixed {
        Some(k) => Ok(k.to_crypto()),
        None => Ok(crypto_box::SecretKey::from(*random::<CURVE_KEY_LEN>()?)),
    }
}

/// CURVE client.
pub(crate) struct CurveClient {
    /// Our long-term key pair.
    secret: CurveSecretKey,
    public: CurvePublicKey,
    /// The server's long-term key (S).
    server_key: CurvePublicKey,
    metadata: Zeroizing<Vec<u8>>,
    /// A short-term key chosen by a test instead of a random one.
    fixed_ephemeral: Option<CurveSecretKey>,
    state: ClientState,
}

enum ClientState {
    Start,
    /// HELLO sent, with this short-term secret key (c').
    Welcome(crypto_box::SecretKey),
    /// INITIATE sent; the box of S' and c'.
    Ready(SalsaBox),
    Done,
}

impl std::fmt::Debug for CurveClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurveClient").field("server_key", &self.server_key).finish_non_exhaustive()
    }
}

impl CurveClient {
    pub(crate) fn new(cfg: &HandshakeConfig, curve: &CurveConfig) -> Result<Self, WireError> {
        let server_key =
            curve.server_key.ok_or(WireError::BadConfig("a CURVE client needs the server's public key"))?;
        Ok(CurveClient {
            secret: curve.keys.secret.clone(),
            public: curve.keys.public,
            server_key,
            metadata: our_metadata(cfg)?,
            fixed_ephemeral: None,
            state: ClientState::Start,
        })
    }

    /// A client whose short-term key is `ephemeral` (replaying captures).
    #[cfg(test)]
    pub(crate) fn with_ephemeral(mut self, ephemeral: CurveSecretKey) -> Self {
        self.fixed_ephemeral = Some(ephemeral);
        self
    }

    fn on_welcome(
        &mut self,
        body: &[u8],
        eph: &crypto_box::SecretKey,
        out: &mut BytesMut,
    ) -> Result<SalsaBox, WireError> {
        if body.len() != WELCOME_LEN {
            // libzmq 4.3.5 (curve_client_tools_t::process_welcome) fails a WELCOME of the
            // wrong size as it fails one whose box does not open: ZMTP_CRYPTOGRAPHIC.
            return Err(WireError::Cryptographic("the server's WELCOME is not 168 bytes (CURVE)"));
        }
        let hello_box = SalsaBox::new(&public(&self.server_key.0), eph);
        let plain = open(
            &hello_box,
            &long_nonce(b"WELCOME-", &body[8..24]),
            &body[24..],
            "the server's WELCOME does not open: is the server key right?",
        )?;
        let (server_eph, cookie) = plain.split_at(CURVE_KEY_LEN);
        let cipher = SalsaBox::new(&public(server_eph), eph);
        // The vouch: Box[C' + S](C->S').
        let vouch_nonce = random::<16>()?;
        let mut vouch_plain = [0u8; 64];
        vouch_plain[..32].copy_from_slice(eph.public_key().as_bytes());
        vouch_plain[32..].copy_from_slice(&self.server_key.0);
        let mut plain = BytesMut::with_capacity(32 + 16 + 80 + self.metadata.len());
        plain.extend_from_slice(&self.public.0);
        plain.extend_from_slice(&vouch_nonce[..]);
        let long_term = SalsaBox::new(&public(server_eph), &self.secret.to_crypto());
        seal(&long_term, &long_nonce(b"VOUCH---", &vouch_nonce[..]), &vouch_plain, &mut plain);
        plain.extend_from_slice(&self.metadata);
        let mut boxed = BytesMut::new();
        seal(&cipher, &short_nonce(b"CurveZMQINITIATE", 2), &plain, &mut boxed);
        zeroize::Zeroize::zeroize(&mut plain[..]);
        command_frame(b"INITIATE", &[cookie, &2u64.to_be_bytes(), &boxed], out);
        Ok(cipher)
    }
}

impl MechanismHandshake for CurveClient {
    fn start(&mut self, out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        let eph = ephemeral(self.fixed_ephemeral.as_ref())?;
        let mut hello_box = BytesMut::with_capacity(80);
        let cipher = SalsaBox::new(&public(&self.server_key.0), &eph);
        seal(&cipher, &short_nonce(b"CurveZMQHELLO---", 1), &[0u8; 64], &mut hello_box);
        encode_frame_header(false, true, HELLO_LEN, out);
        out.extend_from_slice(HELLO);
        out.extend_from_slice(b"\x01\x00");
        out.extend_from_slice(&[0u8; 72]);
        out.extend_from_slice(eph.public_key().as_bytes());
        out.extend_from_slice(&1u64.to_be_bytes());
        out.extend_from_slice(&hello_box);
        self.state = ClientState::Welcome(eph);
        Ok(MechanismStatus::Handshaking)
    }

    fn on_command(&mut self, body: Bytes, out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        match std::mem::replace(&mut self.state, ClientState::Done) {
            ClientState::Welcome(eph) if body.starts_with(WELCOME) => {
                let cipher = self.on_welcome(&body, &eph, out)?;
                self.state = ClientState::Ready(cipher);
                Ok(MechanismStatus::Handshaking)
            }
            ClientState::Ready(cipher) if body.starts_with(READY) => {
                if body.len() < READY_MIN_LEN {
                    return Err(WireError::MalformedCommand("READY too short (CURVE)"));
                }
                let nonce = u64::from_be_bytes(body[6..14].try_into().expect("8 bytes"));
                let md = open(
                    &cipher,
                    &short_nonce(b"CurveZMQREADY---", nonce),
                    &body[14..],
                    "the server's READY does not open",
                )?;
                let md = Metadata::parse(&md)?;
                let codec = CurveCodec::new(cipher, Side::Client, 3, nonce);
                Ok(MechanismStatus::Ready(md, Codec::Curve(codec)))
            }
            ClientState::Welcome(_) | ClientState::Ready(_) if body.starts_with(ERROR) => Err(peer_error(&body[6..])),
            ClientState::Welcome(_) => Err(unexpected(&body, "CURVE", "WELCOME or ERROR")),
            ClientState::Ready(_) => Err(unexpected(&body, "CURVE", "READY or ERROR")),
            ClientState::Start | ClientState::Done => Err(unexpected(&body, "CURVE", "nothing")),
        }
    }

    fn on_zap_reply(&mut self, _reply: &ZapReply, _out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        Err(super::unexpected_zap_reply())
    }
}

/// CURVE server.
pub(crate) struct CurveServer {
    /// s; S, which the vouch must name, is derived from it only when an
    /// INITIATE comes (an X25519 operation a connection that sends no valid
    /// HELLO must not cost).
    secret: CurveSecretKey,
    metadata: Zeroizing<Vec<u8>>,
    zap: Option<ZapRequest>,
    state: ServerState,
}

enum ServerState {
    /// Nothing per connection yet.
    Hello,
    /// WELCOME sent: only the cookie key is kept.
    Initiate(Zeroizing<[u8; 32]>),
    /// INITIATE accepted; waiting for the ZAP handler.
    Zap(Box<Accepted>),
    Done,
}

/// An accepted INITIATE: the connection's box, the peer's nonce and metadata.
struct Accepted {
    cipher: SalsaBox,
    peer_nonce: u64,
    metadata: Metadata,
}

impl std::fmt::Debug for CurveServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurveServer").finish_non_exhaustive()
    }
}

impl CurveServer {
    pub(crate) fn new(cfg: &HandshakeConfig, curve: &CurveConfig) -> Result<Self, WireError> {
        Ok(CurveServer {
            secret: curve.keys.secret.clone(),
            metadata: our_metadata(cfg)?,
            zap: super::zap_request(cfg, Vec::new()),
            state: ServerState::Hello,
        })
    }

    /// HELLO: checks it, answers WELCOME; returns the cookie key.
    fn on_hello(&self, body: &[u8], out: &mut BytesMut) -> Result<Zeroizing<[u8; 32]>, WireError> {
        if body.len() != HELLO_LEN {
            return Err(WireError::MalformedCommand("HELLO is not 200 bytes (CURVE)"));
        }
        if body[6..8] != [1, 0] {
            return Err(WireError::MalformedCommand("HELLO of a CurveZMQ version other than 1.0"));
        }
        let client_eph = public(&body[80..112]);
        let long_term = SalsaBox::new(&client_eph, &self.secret.to_crypto());
        let nonce = u64::from_be_bytes(body[112..120].try_into().expect("8 bytes"));
        open(
            &long_term,
            &short_nonce(b"CurveZMQHELLO---", nonce),
            &body[120..],
            "the client's HELLO does not open: does it use our public key?",
        )?;
        // Only now: this connection's short-term key and cookie key.
        let eph = ephemeral(None)?;
        let cookie_key = random::<32>()?;
        let cookie_nonce = random::<16>()?;
        let mut cookie_plain = Zeroizing::new([0u8; 64]);
        cookie_plain[..32].copy_from_slice(&body[80..112]);
        cookie_plain[32..].copy_from_slice(&eph.to_bytes());
        let mut welcome_plain = BytesMut::with_capacity(32 + COOKIE_LEN + 16);
        welcome_plain.extend_from_slice(eph.public_key().as_bytes());
        welcome_plain.extend_from_slice(&cookie_nonce[..]);
        let cookie_box = XSalsa20Poly1305::new(cookie_key.as_ref().into());
        seal(&cookie_box, &long_nonce(b"COOKIE--", &cookie_nonce[..]), &cookie_plain[..], &mut welcome_plain);
        let welcome_nonce = random::<16>()?;
        let mut boxed = BytesMut::with_capacity(16 + welcome_plain.len());
        seal(&long_term, &long_nonce(b"WELCOME-", &welcome_nonce[..]), &welcome_plain, &mut boxed);
        command_frame(b"WELCOME", &[&welcome_nonce[..], &boxed], out);
        Ok(cookie_key)
    }

    /// INITIATE: opens the cookie, the box and the vouch, and checks them.
    fn on_initiate(&self, body: &[u8], cookie_key: &[u8; 32]) -> Result<(Accepted, CurvePublicKey), WireError> {
        if body.len() < INITIATE_MIN_LEN {
            return Err(WireError::MalformedCommand("INITIATE too short (CURVE)"));
        }
        let cookie_box = XSalsa20Poly1305::new(cookie_key.into());
        let cookie = open(
            &cookie_box,
            &long_nonce(b"COOKIE--", &body[9..25]),
            &body[25..105],
            "the INITIATE cookie is not the one we sent",
        )?;
        let (client_eph, our_eph) = cookie.split_at(CURVE_KEY_LEN);
        let our_eph = crypto_box::SecretKey::from(key32(our_eph));
        let cipher = SalsaBox::new(&public(client_eph), &our_eph);
        let nonce = u64::from_be_bytes(body[105..113].try_into().expect("8 bytes"));
        let plain = open(
            &cipher,
            &short_nonce(b"CurveZMQINITIATE", nonce),
            &body[113..],
            "the client's INITIATE does not open",
        )?;
        let client_key = CurvePublicKey(key32(&plain[..32]));
        let vouch_box = SalsaBox::new(&public(&client_key.0), &our_eph);
        let vouch = open(
            &vouch_box,
            &long_nonce(b"VOUCH---", &plain[32..48]),
            &plain[48..128],
            "the INITIATE vouch does not open with the client's key",
        )?;
        let vouched_eph = CurvePublicKey(key32(&vouch[..32]));
        let vouched_server = CurvePublicKey(key32(&vouch[32..64]));
        if !(vouched_eph.ct_eq(&CurvePublicKey(key32(client_eph))) & vouched_server.ct_eq(&self.secret.public_key())) {
            return Err(WireError::KeyExchange("the vouch is not for this connection's keys"));
        }
        let metadata = Metadata::parse(&plain[128..])?;
        Ok((Accepted { cipher, peer_nonce: nonce, metadata }, client_key))
    }

    /// READY, and the traffic codec.
    fn ready(&mut self, accepted: Accepted, out: &mut BytesMut) -> MechanismStatus {
        let mut boxed = BytesMut::with_capacity(16 + self.metadata.len());
        seal(&accepted.cipher, &short_nonce(b"CurveZMQREADY---", 1), &self.metadata, &mut boxed);
        command_frame(b"READY", &[&1u64.to_be_bytes(), &boxed], out);
        self.state = ServerState::Done;
        let codec = CurveCodec::new(accepted.cipher, Side::Server, 2, accepted.peer_nonce);
        MechanismStatus::Ready(accepted.metadata, Codec::Curve(codec))
    }
}

impl MechanismHandshake for CurveServer {
    fn start(&mut self, _out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        Ok(MechanismStatus::Handshaking)
    }

    fn max_command_len(&self) -> Option<usize> {
        // Only HELLO is acceptable now, and it is 200 bytes.
        matches!(self.state, ServerState::Hello).then_some(HELLO_LEN)
    }

    fn refuse_long_command(&self, name: &[u8]) -> WireError {
        // As on_command says of the whole command (libzmq: MALFORMED_COMMAND_HELLO for a
        // HELLO of another size, UNEXPECTED_COMMAND for anything else).
        if name == HELLO {
            WireError::MalformedCommand("HELLO is not 200 bytes (CURVE)")
        } else {
            unexpected(name, "CURVE", "HELLO")
        }
    }

    fn on_command(&mut self, body: Bytes, out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        match std::mem::replace(&mut self.state, ServerState::Done) {
            ServerState::Hello if body.starts_with(HELLO) => {
                self.state = ServerState::Initiate(self.on_hello(&body, out)?);
                Ok(MechanismStatus::Handshaking)
            }
            ServerState::Hello => Err(unexpected(&body, "CURVE", "HELLO")),
            ServerState::Initiate(cookie_key) if body.starts_with(INITIATE) => {
                let (accepted, client_key) = self.on_initiate(&body, &cookie_key)?;
                match self.zap.take() {
                    Some(mut request) => {
                        request.credentials = vec![Bytes::copy_from_slice(&client_key.0)];
                        self.state = ServerState::Zap(Box::new(accepted));
                        Ok(MechanismStatus::AwaitingZap(request))
                    }
                    None => Ok(self.ready(accepted, out)),
                }
            }
            ServerState::Initiate(_) => Err(unexpected(&body, "CURVE", "INITIATE")),
            ServerState::Zap(_) | ServerState::Done => Err(unexpected(&body, "CURVE", "nothing")),
        }
    }

    fn on_zap_reply(&mut self, reply: &ZapReply, out: &mut BytesMut) -> Result<MechanismStatus, WireError> {
        let ServerState::Zap(accepted) = std::mem::replace(&mut self.state, ServerState::Done) else {
            return Err(super::unexpected_zap_reply());
        };
        if reply.status_code != 200 {
            return Err(super::zap_refusal(reply, out));
        }
        Ok(self.ready(*accepted, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a CURVE server keeps per connection (see the module documentation): its
    /// state is nothing before HELLO and the 32-byte cookie key between WELCOME and
    /// INITIATE, inline (no heap); the accepted INITIATE waiting for ZAP is boxed.
    #[test]
    fn a_server_keeps_at_most_the_cookie_key_before_initiate() {
        use std::mem::size_of;
        assert!(size_of::<ServerState>() <= 40, "ServerState is {} bytes", size_of::<ServerState>());
        eprintln!(
            "ServerState {} B, CurveServer {} B, Handshake {} B, Connection {} B",
            size_of::<ServerState>(),
            size_of::<CurveServer>(),
            size_of::<crate::Handshake>(),
            size_of::<crate::Connection>()
        );
    }
}
