//! [`ConnectionConfig`] and its [`Heartbeat`] settings.

use std::time::Duration;

use crate::{HandshakeConfig, SocketType};

/// Configuration of one side of a [`Connection`](crate::Connection).
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Socket type, identity, metadata, mechanism and the largest frame
    /// accepted (MAXMSGSIZE; `max_frame_size`, which also bounds the traffic
    /// after the handshake).
    pub handshake: HandshakeConfig,
    /// HANDSHAKE_IVL: the connection fails with
    /// [`ConnectionError::HandshakeTimeout`](crate::ConnectionError::HandshakeTimeout)
    /// if the handshake is not complete this long after
    /// [`Connection::new`](crate::Connection::new). `None`: no limit.
    pub handshake_timeout: Option<Duration>,
    /// Our heartbeats (HEARTBEAT_IVL, HEARTBEAT_TIMEOUT, HEARTBEAT_TTL);
    /// `None`: no PINGs of ours (the peer's PINGs are still answered, and
    /// their TTL still enforced).
    pub heartbeat: Option<Heartbeat>,
}

impl ConnectionConfig {
    /// A NULL-mechanism configuration with no identity, no extra metadata, no
    /// frame size limit, no handshake limit and no heartbeats.
    pub fn new(socket_type: SocketType) -> ConnectionConfig {
        ConnectionConfig { handshake: HandshakeConfig::new(socket_type), handshake_timeout: None, heartbeat: None }
    }
}

/// Heartbeat settings (ZMTP 3.1 PING/PONG). Never used with a ZMTP 3.0 peer,
/// which does not know PING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// HEARTBEAT_IVL: a PING every interval, the first one an interval after
    /// the handshake.
    pub interval: Duration,
    /// HEARTBEAT_TIMEOUT: after a PING sent while no timeout is pending, fail
    /// if nothing at all is received within this. `None`: PINGs only.
    pub timeout: Option<Duration>,
    /// HEARTBEAT_TTL, sent in each PING: the peer should give up on us if it
    /// receives nothing within it. Sent in deciseconds (truncated, at most
    /// 6553.5 s); zero: none.
    pub ttl: Duration,
}

impl Heartbeat {
    /// The settings from libzmq's socket options, in milliseconds:
    /// `None` when HEARTBEAT_IVL is 0 (or negative); HEARTBEAT_TIMEOUT -1
    /// means "the interval", 0 means none.
    pub fn from_options(ivl_ms: i32, timeout_ms: i32, ttl_ms: i32) -> Option<Heartbeat> {
        if ivl_ms <= 0 {
            return None;
        }
        let timeout = if timeout_ms < 0 { ivl_ms } else { timeout_ms };
        Some(Heartbeat {
            interval: Duration::from_millis(ivl_ms as u64),
            timeout: (timeout > 0).then(|| Duration::from_millis(timeout as u64)),
            ttl: Duration::from_millis(ttl_ms.max(0) as u64),
        })
    }

    /// [`Heartbeat::ttl`] in the PING's unit, deciseconds.
    pub(crate) fn ttl_deciseconds(&self) -> u16 {
        (self.ttl.as_millis() / 100).min(u128::from(u16::MAX)) as u16
    }
}
