//! CURVE traffic: every frame after the handshake, message or command, goes
//! in a MESSAGE command (`\x07MESSAGE`, an 8-byte short nonce, then the box
//! of a flags byte, 0x01 MORE and 0x02 COMMAND, and the frame's body), the
//! wire frame itself carrying no flags, as libzmq 4.3 sends it.
//!
//! Also the box primitives the CURVE handshake uses: everything goes through
//! RustCrypto's `crypto_box`/`crypto_secretbox` (XSalsa20-Poly1305), in the
//! NaCl layout libzmq uses on the wire: the 16-byte MAC, then the ciphertext.

use bytes::{BufMut, Bytes, BytesMut};
use crypto_box::SalsaBox;
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::generic_array::typenum::{U16, U24};
use crypto_box::aead::{AeadCore, AeadInPlace};
use zeroize::Zeroizing;

use super::FrameCodec;
use crate::frame::encode_frame_header;
use crate::{Command, Frame, Transmit, WireError};

/// Length of a box's MAC.
pub(crate) const MAC_LEN: usize = 16;
/// `\x07MESSAGE`.
pub(crate) const MESSAGE: &[u8] = b"\x07MESSAGE";
/// What a MESSAGE adds to the frame it carries: name, short nonce, MAC, flags.
pub(crate) const MESSAGE_OVERHEAD: usize = MESSAGE.len() + 8 + MAC_LEN + 1;

/// Plaintext flag: more frames follow.
const FLAG_MORE: u8 = 0x01;
/// Plaintext flag: the frame is a command.
const FLAG_COMMAND: u8 = 0x02;

/// A 24-byte nonce: a 16-byte prefix and a big-endian 8-byte counter.
pub(crate) fn short_nonce(prefix: &[u8; 16], n: u64) -> [u8; 24] {
    let mut nonce = [0u8; 24];
    nonce[..16].copy_from_slice(prefix);
    nonce[16..].copy_from_slice(&n.to_be_bytes());
    nonce
}

/// A 24-byte nonce: an 8-byte prefix and 16 bytes (random, or from the peer).
pub(crate) fn long_nonce(prefix: &[u8; 8], tail: &[u8]) -> [u8; 24] {
    let mut nonce = [0u8; 24];
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(tail);
    nonce
}

/// The two ciphers a CURVE handshake uses: public-key boxes and the cookie's
/// secret-key box.
pub(crate) trait BoxCipher: AeadInPlace + AeadCore<NonceSize = U24, TagSize = U16> {}
impl<T: AeadInPlace + AeadCore<NonceSize = U24, TagSize = U16>> BoxCipher for T {}

/// Appends the box of `plaintext` (MAC, then ciphertext) to `out`.
pub(crate) fn seal(cipher: &impl BoxCipher, nonce: &[u8; 24], plaintext: &[u8], out: &mut BytesMut) {
    let start = out.len();
    out.reserve(MAC_LEN + plaintext.len());
    out.put_bytes(0, MAC_LEN);
    out.extend_from_slice(plaintext);
    seal_in_place(cipher, nonce, &mut out[start..]);
}

/// Boxes `buf[MAC_LEN..]` in place and writes the MAC into `buf[..MAC_LEN]`.
#[inline]
fn seal_in_place(cipher: &impl BoxCipher, nonce: &[u8; 24], buf: &mut [u8]) {
    let (mac, text) = buf.split_at_mut(MAC_LEN);
    // XSalsa20 only fails past 2^70 bytes.
    let tag = cipher.encrypt_in_place_detached(GenericArray::from_slice(nonce), b"", text).expect("box size");
    mac.copy_from_slice(&tag);
}

/// Opens a box (MAC, then ciphertext) into a new zeroized buffer; `what`
/// names it in the error.
pub(crate) fn open(
    cipher: &impl BoxCipher,
    nonce: &[u8; 24],
    boxed: &[u8],
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, WireError> {
    let (mac, text) = boxed.split_at_checked(MAC_LEN).ok_or(WireError::MalformedCommand("box truncated (CURVE)"))?;
    let mut plain = Zeroizing::new(text.to_vec());
    cipher
        .decrypt_in_place_detached(GenericArray::from_slice(nonce), b"", &mut plain, GenericArray::from_slice(mac))
        .map_err(|_| WireError::Cryptographic(what))?;
    Ok(plain)
}

/// Which end of the connection a codec is (they box with different nonce prefixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

const CLIENT_PREFIX: &[u8; 16] = b"CurveZMQMESSAGEC";
const SERVER_PREFIX: &[u8; 16] = b"CurveZMQMESSAGES";

/// The CURVE traffic codec: the connection's precomputed box (the short-term
/// keys' shared secret), our next nonce and the peer's last one.
pub(crate) struct CurveCodec {
    cipher: SalsaBox,
    send_prefix: &'static [u8; 16],
    recv_prefix: &'static [u8; 16],
    /// Our next short nonce (continues the handshake's: HELLO 1, INITIATE 2
    /// for a client, READY 1 for a server).
    next_nonce: u64,
    /// The peer's last short nonce; a MESSAGE must carry a larger one.
    peer_nonce: u64,
}

impl std::fmt::Debug for CurveCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurveCodec")
            .field("send_prefix", &String::from_utf8_lossy(self.send_prefix))
            .field("next_nonce", &self.next_nonce)
            .field("peer_nonce", &self.peer_nonce)
            .finish_non_exhaustive()
    }
}

impl CurveCodec {
    pub(crate) fn new(cipher: SalsaBox, side: Side, next_nonce: u64, peer_nonce: u64) -> CurveCodec {
        let (send_prefix, recv_prefix) = match side {
            Side::Client => (CLIENT_PREFIX, SERVER_PREFIX),
            Side::Server => (SERVER_PREFIX, CLIENT_PREFIX),
        };
        CurveCodec { cipher, send_prefix, recv_prefix, next_nonce, peer_nonce }
    }

    /// Appends one MESSAGE carrying a frame of `body_len` bytes with `flags`,
    /// the body written by `write_body`.
    #[inline]
    fn push(&mut self, out: &mut BytesMut, flags: u8, body_len: usize, write_body: impl FnOnce(&mut BytesMut)) {
        let wire_len = MESSAGE_OVERHEAD + body_len;
        out.reserve(crate::frame_header_len(wire_len) + wire_len);
        // No flags on the wire frame: libzmq 4.3 sends MESSAGE so, and would
        // take a COMMAND flag there for the inner frame's.
        encode_frame_header(false, false, wire_len, out);
        out.extend_from_slice(MESSAGE);
        let nonce = self.next_nonce;
        // A u64 of frames is never reached; wrapping would reuse nonces.
        self.next_nonce = nonce.checked_add(1).expect("CURVE nonce exhausted");
        out.extend_from_slice(&nonce.to_be_bytes());
        let boxed = out.len();
        out.put_bytes(0, MAC_LEN);
        out.put_u8(flags);
        write_body(out);
        debug_assert_eq!(out.len() - boxed, MAC_LEN + 1 + body_len);
        seal_in_place(&self.cipher, &short_nonce(self.send_prefix, nonce), &mut out[boxed..]);
    }

    /// The frame a MESSAGE body carries.
    pub(crate) fn open_message(&mut self, body: Bytes) -> Result<Frame, WireError> {
        if !body.starts_with(MESSAGE) {
            return Err(super::unexpected(&body, "CURVE", "MESSAGE, the only command after a CURVE handshake"));
        }
        if body.len() < MESSAGE_OVERHEAD {
            return Err(WireError::MalformedCommand("MESSAGE too short (CURVE)"));
        }
        let nonce = u64::from_be_bytes(body[8..16].try_into().expect("8 bytes"));
        if nonce <= self.peer_nonce {
            return Err(WireError::InvalidSequence { nonce, last: self.peer_nonce });
        }
        let mac: [u8; MAC_LEN] = body[16..32].try_into().expect("16 bytes");
        // In place when the frame owns its buffer, else one copy of the box.
        let (mut buf, text_at) = match body.try_into_mut() {
            Ok(owned) => (owned, 32),
            Err(shared) => (BytesMut::from(&shared[32..]), 0),
        };
        let full_nonce = short_nonce(self.recv_prefix, nonce);
        self.cipher
            .decrypt_in_place_detached(
                GenericArray::from_slice(&full_nonce),
                b"",
                &mut buf[text_at..],
                GenericArray::from_slice(&mac),
            )
            .map_err(|_| WireError::Cryptographic("a CURVE MESSAGE failed to authenticate"))?;
        // Only an authentic MESSAGE moves the sequence on.
        self.peer_nonce = nonce;
        let flags = buf[text_at];
        let inner = buf.freeze().slice(text_at + 1..);
        Ok(Frame { more: flags & FLAG_MORE != 0, command: flags & FLAG_COMMAND != 0, body: inner })
    }
}

impl FrameCodec for CurveCodec {
    fn encode_message(&mut self, body: Bytes, more: bool, tx: &mut Transmit) {
        let flags = if more { FLAG_MORE } else { 0 };
        self.push(tx.tail_mut(), flags, body.len(), |out| out.extend_from_slice(&body));
    }

    fn encode_command(&mut self, cmd: &Command, tx: &mut Transmit) {
        self.push(tx.tail_mut(), FLAG_COMMAND, cmd.body_len(), |out| cmd.encode_body(out));
    }

    #[inline]
    fn decode(&mut self, wire: Frame) -> Result<Frame, WireError> {
        self.open_message(wire.body)
    }
}
