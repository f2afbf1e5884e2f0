//! ZMTP commands: READY, ERROR, PING, PONG, SUBSCRIBE, CANCEL and unknown
//! ones (passed up for forward compatibility).

use bytes::{BufMut, Bytes, BytesMut};

use crate::frame::encode_frame_header;
use crate::{Metadata, WireError};

/// Longest PING/PONG context allowed by ZMTP 3.1.
pub const MAX_PING_CONTEXT: usize = 16;

/// Longest ERROR reason (it has a one-byte length).
pub const MAX_ERROR_REASON: usize = 255;

/// Command names as they appear on the wire (without the length prefix).
pub mod names {
    /// NULL handshake: metadata.
    pub const READY: &[u8] = b"READY";
    /// Handshake refusal.
    pub const ERROR: &[u8] = b"ERROR";
    /// Heartbeat request.
    pub const PING: &[u8] = b"PING";
    /// Heartbeat reply.
    pub const PONG: &[u8] = b"PONG";
    /// ZMTP 3.1 subscription.
    pub const SUBSCRIBE: &[u8] = b"SUBSCRIBE";
    /// ZMTP 3.1 unsubscription.
    pub const CANCEL: &[u8] = b"CANCEL";
}

/// A ZMTP command (the body of a COMMAND frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `READY`: the NULL mechanism's metadata.
    Ready(Metadata),
    /// `ERROR`: a fatal handshake error with a human-readable reason
    /// (at most 255 bytes on the wire; decoded lossily as UTF-8).
    Error(String),
    /// `PING`: heartbeat request.
    Ping {
        /// Time-to-live hint in tenths of a second (0: none).
        ttl: u16,
        /// Opaque context (0..=16 bytes) to be echoed in the PONG.
        context: Bytes,
    },
    /// `PONG`: heartbeat reply echoing the PING's context.
    Pong {
        /// The context of the PING being answered (0..=16 bytes).
        context: Bytes,
    },
    /// ZMTP 3.1 `SUBSCRIBE`: the data after the name is the topic prefix.
    Subscribe(Bytes),
    /// ZMTP 3.1 `CANCEL`: the data after the name is the topic prefix.
    Cancel(Bytes),
    /// Any other command, passed up rather than refused so that newer peers
    /// and mechanism-specific commands (HELLO, WELCOME, ...) can be handled
    /// by the layer that understands them.
    Unknown {
        /// The command name (without its length byte).
        name: Bytes,
        /// Everything after the name.
        data: Bytes,
    },
}

impl Command {
    /// Parses a COMMAND frame body (which starts with the name-length byte).
    ///
    /// Sub-slices of `body` are shared, not copied. Names are matched exactly
    /// (uppercase), as libzmq does. Lenient where libzmq is: a PING or PONG
    /// context longer than 16 bytes is truncated to 16, and bytes after an
    /// ERROR reason are ignored.
    ///
    /// Errors: [`WireError::MalformedCommand`] for an empty body, an empty
    /// or truncated name, an ERROR with a missing/truncated reason, a PING
    /// without its 2-byte TTL; [`WireError::InvalidMetadata`] for a READY
    /// with bad metadata.
    pub fn parse(body: &Bytes) -> Result<Command, WireError> {
        let Some(&name_len) = body.first() else {
            return Err(WireError::MalformedCommand("empty command frame"));
        };
        let name_len = usize::from(name_len);
        if name_len == 0 {
            return Err(WireError::MalformedCommand("empty command name"));
        }
        if body.len() < 1 + name_len {
            return Err(WireError::MalformedCommand("command name truncated"));
        }
        let data = body.slice(1 + name_len..);
        let cmd = match &body[1..1 + name_len] {
            names::READY => Command::Ready(Metadata::parse_bytes(&data)?),
            names::ERROR => {
                let Some(&reason_len) = data.first() else {
                    return Err(WireError::MalformedCommand("ERROR without a reason"));
                };
                let reason = data
                    .get(1..1 + usize::from(reason_len))
                    .ok_or(WireError::MalformedCommand("ERROR reason truncated"))?;
                Command::Error(String::from_utf8_lossy(reason).into_owned())
            }
            names::PING => {
                if data.len() < 2 {
                    return Err(WireError::MalformedCommand("PING without its TTL"));
                }
                Command::Ping {
                    ttl: u16::from_be_bytes([data[0], data[1]]),
                    context: data.slice(2..data.len().min(2 + MAX_PING_CONTEXT)),
                }
            }
            names::PONG => Command::Pong { context: data.slice(..data.len().min(MAX_PING_CONTEXT)) },
            names::SUBSCRIBE => Command::Subscribe(data),
            names::CANCEL => Command::Cancel(data),
            _ => Command::Unknown { name: body.slice(1..1 + name_len), data },
        };
        Ok(cmd)
    }

    /// The command name (without its length byte).
    pub fn name(&self) -> &[u8] {
        match self {
            Command::Ready(_) => names::READY,
            Command::Error(_) => names::ERROR,
            Command::Ping { .. } => names::PING,
            Command::Pong { .. } => names::PONG,
            Command::Subscribe(_) => names::SUBSCRIBE,
            Command::Cancel(_) => names::CANCEL,
            Command::Unknown { name, .. } => name,
        }
    }

    /// The reason bytes actually sent for an ERROR: at most 255 bytes, cut
    /// at a character boundary.
    fn error_reason(reason: &str) -> &[u8] {
        let mut end = reason.len().min(MAX_ERROR_REASON);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        &reason.as_bytes()[..end]
    }

    /// Length of the command body (what [`Command::encode_body`] appends).
    pub fn body_len(&self) -> usize {
        let data_len = match self {
            Command::Ready(md) => md.encoded_len(),
            Command::Error(reason) => 1 + Self::error_reason(reason).len(),
            Command::Ping { context, .. } => 2 + context.len().min(MAX_PING_CONTEXT),
            Command::Pong { context } => context.len().min(MAX_PING_CONTEXT),
            Command::Subscribe(topic) | Command::Cancel(topic) => topic.len(),
            Command::Unknown { data, .. } => data.len(),
        };
        1 + self.name().len() + data_len
    }

    /// Appends the command body (name-length byte, name, data) to `out`.
    ///
    /// An ERROR reason longer than 255 bytes and a PING/PONG context longer
    /// than 16 bytes are truncated.
    ///
    /// # Panics
    /// If an [`Command::Unknown`] name is empty or longer than 255 bytes.
    pub fn encode_body(&self, out: &mut BytesMut) {
        let name = self.name();
        assert!((1..=255).contains(&name.len()), "command name must be 1..=255 bytes");
        out.reserve(self.body_len());
        out.put_u8(name.len() as u8);
        out.extend_from_slice(name);
        match self {
            Command::Ready(md) => md.encode(out),
            Command::Error(reason) => {
                let reason = Self::error_reason(reason);
                out.put_u8(reason.len() as u8);
                out.extend_from_slice(reason);
            }
            Command::Ping { ttl, context } => {
                out.put_u16(*ttl);
                out.extend_from_slice(&context[..context.len().min(MAX_PING_CONTEXT)]);
            }
            Command::Pong { context } => {
                out.extend_from_slice(&context[..context.len().min(MAX_PING_CONTEXT)]);
            }
            Command::Subscribe(topic) | Command::Cancel(topic) => out.extend_from_slice(topic),
            Command::Unknown { data, .. } => out.extend_from_slice(data),
        }
    }

    /// Appends the complete frame (header with the COMMAND flag, then the
    /// body) to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let len = self.body_len();
        out.reserve(crate::frame_header_len(len) + len);
        encode_frame_header(false, true, len, out);
        self.encode_body(out);
    }

    /// For talking to ZMTP 3.0 peers (and to old libzmq versions that send
    /// subscriptions as messages even over 3.1): the message-frame form of a
    /// SUBSCRIBE (`0x01` + topic) or CANCEL (`0x00` + topic). `None` for
    /// other commands.
    pub fn to_legacy_subscription(&self) -> Option<Bytes> {
        let (flag, topic) = match self {
            Command::Subscribe(t) => (1u8, t),
            Command::Cancel(t) => (0u8, t),
            _ => return None,
        };
        let mut out = BytesMut::with_capacity(1 + topic.len());
        out.put_u8(flag);
        out.extend_from_slice(topic);
        Some(out.freeze())
    }

    /// The inverse of [`Command::to_legacy_subscription`]: a message body
    /// starting with `0x01` is a SUBSCRIBE, `0x00` a CANCEL (the topic is a
    /// zero-copy slice); anything else (including an empty body) is `None`.
    pub fn from_legacy_subscription(body: &Bytes) -> Option<Command> {
        match body.first()? {
            1 => Some(Command::Subscribe(body.slice(1..))),
            0 => Some(Command::Cancel(body.slice(1..))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(cmd: &Command) -> Vec<u8> {
        let mut out = BytesMut::new();
        cmd.encode(&mut out);
        out.to_vec()
    }

    fn roundtrip(cmd: Command) {
        let mut body = BytesMut::new();
        cmd.encode_body(&mut body);
        assert_eq!(body.len(), cmd.body_len());
        assert_eq!(Command::parse(&body.freeze()).unwrap(), cmd);
    }

    #[test]
    fn ready_for_dealer_with_identity_bytes() {
        let mut md = Metadata::new();
        md.insert("Socket-Type", "DEALER");
        md.insert("Identity", "ab");
        let mut expect = vec![0x04, 6 + 1 + 11 + 4 + 6 + 1 + 8 + 4 + 2];
        expect.extend_from_slice(b"\x05READY");
        expect.extend_from_slice(b"\x0bSocket-Type\x00\x00\x00\x06DEALER");
        expect.extend_from_slice(b"\x08Identity\x00\x00\x00\x02ab");
        assert_eq!(frame(&Command::Ready(md.clone())), expect);
        roundtrip(Command::Ready(md));
    }

    #[test]
    fn ping_pong_bytes() {
        let ping = Command::Ping { ttl: 0x0102, context: Bytes::from_static(b"ctx") };
        assert_eq!(frame(&ping), b"\x04\x0a\x04PING\x01\x02ctx");
        let pong = Command::Pong { context: Bytes::from_static(b"ctx") };
        assert_eq!(frame(&pong), b"\x04\x08\x04PONGctx");
        // libzmq's PING: TTL only, no context.
        let bare = Command::parse(&Bytes::from_static(b"\x04PING\x00\x64")).unwrap();
        assert_eq!(bare, Command::Ping { ttl: 100, context: Bytes::new() });
        roundtrip(ping);
        roundtrip(pong);
    }

    #[test]
    fn long_ping_context_truncated() {
        let body = Bytes::from([&b"\x04PING\x00\x01"[..], &[9u8; 20]].concat());
        let Command::Ping { context, .. } = Command::parse(&body).unwrap() else { panic!() };
        assert_eq!(context.len(), 16);
    }

    #[test]
    fn error_subscribe_cancel_unknown() {
        assert_eq!(frame(&Command::Error("no".into())), b"\x04\x09\x05ERROR\x02no");
        assert_eq!(frame(&Command::Subscribe(Bytes::from_static(b"topic"))), b"\x04\x0f\x09SUBSCRIBEtopic");
        assert_eq!(frame(&Command::Cancel(Bytes::new())), b"\x04\x07\x06CANCEL");
        roundtrip(Command::Error(String::new()));
        roundtrip(Command::Error("é".repeat(100)));
        roundtrip(Command::Subscribe(Bytes::from(vec![0u8; 300])));
        roundtrip(Command::Cancel(Bytes::from_static(b"x")));
        roundtrip(Command::Unknown { name: Bytes::from_static(b"HELLO"), data: Bytes::from_static(b"\x00\x01") });
        // Lowercase is not READY.
        assert!(matches!(Command::parse(&Bytes::from_static(b"\x05ready")).unwrap(), Command::Unknown { .. }));
    }

    #[test]
    fn long_error_reason_truncated_on_char_boundary() {
        let mut body = BytesMut::new();
        Command::Error("é".repeat(200)).encode_body(&mut body);
        let Command::Error(r) = Command::parse(&body.freeze()).unwrap() else { panic!() };
        assert_eq!(r.len(), 254);
    }

    #[test]
    fn long_command_uses_long_header() {
        let f = frame(&Command::Subscribe(Bytes::from(vec![b'a'; 300])));
        assert_eq!(f[0], 0x06);
        assert_eq!(f.len(), 9 + 10 + 300);
    }

    #[test]
    fn malformed_commands() {
        for body in [&b""[..], b"\x00", b"\x05REA", b"\x05ERROR", b"\x05ERROR\x05abc", b"\x04PING", b"\x04PING\x00"] {
            assert!(
                matches!(Command::parse(&Bytes::copy_from_slice(body)), Err(WireError::MalformedCommand(_))),
                "{body:?}"
            );
        }
        assert!(matches!(
            Command::parse(&Bytes::from_static(b"\x05READY\x0bSocket-Type\x00\x00")),
            Err(WireError::InvalidMetadata(_))
        ));
    }

    #[test]
    fn legacy_subscriptions() {
        let s = Command::Subscribe(Bytes::from_static(b"ab"));
        let m = s.to_legacy_subscription().unwrap();
        assert_eq!(&m[..], b"\x01ab");
        assert_eq!(Command::from_legacy_subscription(&m), Some(s));
        let c = Command::Cancel(Bytes::new());
        let m = c.to_legacy_subscription().unwrap();
        assert_eq!(&m[..], b"\x00");
        assert_eq!(Command::from_legacy_subscription(&m), Some(c));
        assert_eq!(Command::from_legacy_subscription(&Bytes::new()), None);
        assert_eq!(Command::from_legacy_subscription(&Bytes::from_static(b"\x02x")), None);
        assert_eq!(Command::Error("x".into()).to_legacy_subscription(), None);
    }
}
