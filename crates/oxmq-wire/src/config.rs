//! Configuration of one side of a ZMTP handshake.
//!
//! Kept apart from [`crate::Handshake`] so that the mechanisms (which build
//! their commands from it) and the handshake (which runs the mechanisms) both
//! take it from below.

use bytes::Bytes;
use zeroize::Zeroizing;

use crate::mechanism::keys::{CurveKeyPair, CurvePublicKey};
use crate::zap::ZapConfig;
use crate::{Mechanism, Metadata, SocketType};

/// Configuration of one side of a handshake.
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    /// Our socket type, announced as `Socket-Type` and checked against the
    /// peer's.
    pub socket_type: SocketType,
    /// Our identity (routing id), at most 255 bytes. Announced as `Identity`
    /// only if `socket_type.sends_identity()` (REQ, DEALER, ROUTER), with an
    /// empty value when `None`, as libzmq does.
    pub identity: Option<Bytes>,
    /// Extra properties (by convention `X-...`) appended to our READY.
    /// Properties named `Socket-Type` or `Identity` are ignored.
    pub metadata: Metadata,
    /// Largest frame accepted (`None`: unlimited). During the handshake the
    /// limit is additionally capped at [`crate::HANDSHAKE_MAX_FRAME_SIZE`].
    pub max_frame_size: Option<u64>,
    /// Security mechanism, with its role and credentials.
    pub mechanism: MechanismConfig,
    /// `Some`: ask a ZAP handler before admitting the peer (PLAIN and CURVE
    /// servers, and NULL; see [`crate::Connection::zap_request`]). `None`:
    /// admit without asking (libzmq without a handler bound; for NULL without
    /// ZAP_DOMAIN).
    pub zap: Option<ZapConfig>,
}

impl HandshakeConfig {
    /// A NULL-mechanism configuration with no identity, no extra metadata,
    /// no frame size limit and no ZAP.
    pub fn new(socket_type: SocketType) -> HandshakeConfig {
        HandshakeConfig {
            socket_type,
            identity: None,
            metadata: Metadata::new(),
            max_frame_size: None,
            mechanism: MechanismConfig::Null,
            zap: None,
        }
    }
}

/// The security mechanism of one side, with its credentials.
#[derive(Debug, Clone, Default)]
pub enum MechanismConfig {
    /// No security.
    #[default]
    Null,
    /// PLAIN (RFC 24): clear-text user name and password.
    Plain(PlainConfig),
    /// CURVE (RFC 26): encryption and authentication with Curve25519 keys.
    Curve(CurveConfig),
}

impl MechanismConfig {
    /// The mechanism's name, as the greeting carries it.
    pub fn name(&self) -> Mechanism {
        match self {
            MechanismConfig::Null => Mechanism::Null,
            MechanismConfig::Plain(_) => Mechanism::Plain,
            MechanismConfig::Curve(_) => Mechanism::Curve,
        }
    }

    /// We act as the server of the mechanism handshake (the greeting's
    /// as-server flag; always false for NULL).
    pub fn is_server(&self) -> bool {
        match self {
            MechanismConfig::Null => false,
            MechanismConfig::Plain(p) => p.server,
            MechanismConfig::Curve(c) => c.server,
        }
    }
}

/// PLAIN settings (libzmq's PLAIN_SERVER, PLAIN_USERNAME, PLAIN_PASSWORD).
#[derive(Debug, Clone, Default)]
pub struct PlainConfig {
    /// We are the server: we check credentials (through ZAP) instead of sending them.
    pub server: bool,
    /// The client's user name (at most 255 bytes).
    pub username: Bytes,
    /// The client's password (at most 255 bytes; zeroized on drop).
    pub password: Zeroizing<Vec<u8>>,
}

impl PlainConfig {
    /// A PLAIN client sending `username` and `password`.
    pub fn client(username: impl Into<Bytes>, password: impl AsRef<[u8]>) -> PlainConfig {
        PlainConfig { server: false, username: username.into(), password: Zeroizing::new(password.as_ref().to_vec()) }
    }

    /// A PLAIN server.
    pub fn server() -> PlainConfig {
        PlainConfig { server: true, ..PlainConfig::default() }
    }
}

/// CURVE settings (libzmq's CURVE_SERVER, CURVE_PUBLICKEY, CURVE_SECRETKEY,
/// CURVE_SERVERKEY).
#[derive(Debug, Clone)]
pub struct CurveConfig {
    /// We are the server.
    pub server: bool,
    /// Our long-term key pair.
    pub keys: CurveKeyPair,
    /// The server's long-term public key: required for a client, unused by a server.
    pub server_key: Option<CurvePublicKey>,
}

impl CurveConfig {
    /// A CURVE client with its key pair, talking to the server with `server_key`.
    pub fn client(keys: CurveKeyPair, server_key: CurvePublicKey) -> CurveConfig {
        CurveConfig { server: false, keys, server_key: Some(server_key) }
    }

    /// A CURVE server with its key pair.
    pub fn server(keys: CurveKeyPair) -> CurveConfig {
        CurveConfig { server: true, keys, server_key: None }
    }
}
