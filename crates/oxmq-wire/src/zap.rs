//! ZAP (RFC 27, as libzmq 4.3.5 speaks it), the wire half: what a server's
//! handshake asks and how it takes the answer. Sending the request to the
//! handler at `inproc://zeromq.zap.01` and reading its reply is the driver's
//! business (see [`crate::Connection::zap_request`]).

use bytes::Bytes;

use crate::{Mechanism, Metadata, WireError};

/// The ZAP version libzmq speaks.
pub const ZAP_VERSION: &[u8] = b"1.0";

/// The request id libzmq puts in every ZAP request (one request per connection).
pub const ZAP_REQUEST_ID: &[u8] = b"1";

/// The driver wants a ZAP handler consulted (libzmq: a handler is bound at
/// `inproc://zeromq.zap.01`, and for NULL a ZAP_DOMAIN is set). Applies to
/// PLAIN and CURVE servers and to NULL; PLAIN and CURVE clients never ask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZapConfig {
    /// ZAP_DOMAIN (may be empty).
    pub domain: Bytes,
    /// The peer's address as the request carries it (libzmq: the IP address
    /// for tcp, empty for ipc).
    pub address: Bytes,
}

/// A ZAP request the handshake waits on: the frames RFC 27 and libzmq send
/// (after the empty delimiter frame), see [`ZapRequest::frames`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapRequest {
    /// ZAP_DOMAIN.
    pub domain: Bytes,
    /// The peer's address.
    pub address: Bytes,
    /// Our own routing id (ROUTING_ID option), as libzmq sends it.
    pub routing_id: Bytes,
    /// The mechanism of the handshake.
    pub mechanism: Mechanism,
    /// The credentials: none for NULL, username and password for PLAIN, the
    /// client's 32-byte long-term public key for CURVE.
    pub credentials: Vec<Bytes>,
}

impl ZapRequest {
    /// The request's frames in order, without the leading empty delimiter:
    /// version, request id, domain, address, identity (routing id),
    /// mechanism, then each credential.
    pub fn frames(&self) -> Vec<Bytes> {
        let mut frames = vec![
            Bytes::from_static(ZAP_VERSION),
            Bytes::from_static(ZAP_REQUEST_ID),
            self.domain.clone(),
            self.address.clone(),
            self.routing_id.clone(),
            Bytes::from_static(self.mechanism.as_str().as_bytes()),
        ];
        frames.extend(self.credentials.iter().cloned());
        frames
    }
}

/// A ZAP handler's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapReply {
    /// 200 (admitted), 300 (temporary failure), 400 (denied) or 500 (internal error).
    pub status_code: u16,
    /// Human-readable text (not sent to the peer: libzmq sends the code).
    pub status_text: String,
    /// The User-Id the handler gives the peer (may be empty).
    pub user_id: Bytes,
    /// Properties the handler attaches to the connection.
    pub metadata: Metadata,
}

impl ZapReply {
    /// An admission (200) with a user id and no metadata.
    pub fn allow(user_id: impl Into<Bytes>) -> ZapReply {
        ZapReply { status_code: 200, status_text: "OK".into(), user_id: user_id.into(), metadata: Metadata::new() }
    }

    /// A refusal with `status_code` (300, 400 or 500).
    pub fn deny(status_code: u16, status_text: impl Into<String>) -> ZapReply {
        ZapReply { status_code, status_text: status_text.into(), user_id: Bytes::new(), metadata: Metadata::new() }
    }

    /// Parses a reply message's frames after the empty delimiter (version,
    /// request id, status code, status text, user id, metadata) with
    /// libzmq's checks: version `1.0`, request id `1`, a status code of
    /// `200`, `300`, `400` or `500`, valid metadata. Errors are
    /// [`WireError::ZapBadReply`].
    pub fn parse(frames: &[Bytes]) -> Result<ZapReply, WireError> {
        let [version, request_id, status, text, user_id, metadata] = frames else {
            return Err(WireError::ZapBadReply("a ZAP reply has 6 frames after the delimiter"));
        };
        if &version[..] != ZAP_VERSION {
            return Err(WireError::ZapBadReply("ZAP reply version is not 1.0"));
        }
        if &request_id[..] != ZAP_REQUEST_ID {
            return Err(WireError::ZapBadReply("ZAP reply request id does not match"));
        }
        let status_code = match &status[..] {
            b"200" => 200,
            b"300" => 300,
            b"400" => 400,
            b"500" => 500,
            _ => return Err(WireError::ZapBadReply("ZAP reply status code is not 200, 300, 400 or 500")),
        };
        let metadata =
            Metadata::parse_bytes(metadata).map_err(|_| WireError::ZapBadReply("ZAP reply metadata is malformed"))?;
        Ok(ZapReply {
            status_code,
            status_text: String::from_utf8_lossy(text).into_owned(),
            user_id: user_id.clone(),
            metadata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_frames_in_rfc_order() {
        let req = ZapRequest {
            domain: Bytes::from_static(b"global"),
            address: Bytes::from_static(b"127.0.0.1"),
            routing_id: Bytes::new(),
            mechanism: Mechanism::Plain,
            credentials: vec![Bytes::from_static(b"admin"), Bytes::from_static(b"secret")],
        };
        assert_eq!(
            req.frames(),
            [&b"1.0"[..], b"1", b"global", b"127.0.0.1", b"", b"PLAIN", b"admin", b"secret"]
                .map(Bytes::from_static)
                .to_vec()
        );
    }

    #[test]
    fn reply_parsing_follows_libzmq() {
        let f = |v: &[&'static [u8]]| v.iter().map(|b| Bytes::from_static(b)).collect::<Vec<_>>();
        let ok = ZapReply::parse(&f(&[b"1.0", b"1", b"200", b"OK", b"alice", b""])).unwrap();
        assert_eq!((ok.status_code, &ok.user_id[..]), (200, &b"alice"[..]));
        for bad in [
            f(&[b"1.0", b"1", b"201", b"", b"", b""]),
            f(&[b"1.1", b"1", b"200", b"", b"", b""]),
            f(&[b"1.0", b"2", b"200", b"", b"", b""]),
            f(&[b"1.0", b"1", b"200", b"", b""]),
            f(&[b"1.0", b"1", b"200", b"", b"", b"\x05X-Bad"]),
        ] {
            assert!(matches!(ZapReply::parse(&bad), Err(WireError::ZapBadReply(_))), "{bad:?}");
        }
    }
}
