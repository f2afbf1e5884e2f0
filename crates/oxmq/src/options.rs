//! Socket options: the typed values, their libzmq defaults, and libzmq's numeric ids (for the
//! raw get/set calls the C ABI will use).

use std::time::Duration;

use crate::error::{Error, Result};

/// libzmq's numeric option ids (`ZMQ_*` in zmq.h).
pub mod opt {
    pub const ROUTING_ID: i32 = 5;
    pub const SUBSCRIBE: i32 = 6;
    pub const UNSUBSCRIBE: i32 = 7;
    pub const RCVMORE: i32 = 13;
    /// Read-only: `ZMQ_POLLIN` (1) | `ZMQ_POLLOUT` (2), as [`crate::SocketBase::events`].
    pub const EVENTS: i32 = 15;
    pub const TYPE: i32 = 16;
    pub const LINGER: i32 = 17;
    pub const RECONNECT_IVL: i32 = 18;
    pub const BACKLOG: i32 = 19;
    pub const RECONNECT_IVL_MAX: i32 = 21;
    pub const MAXMSGSIZE: i32 = 22;
    pub const SNDHWM: i32 = 23;
    pub const RCVHWM: i32 = 24;
    pub const RCVTIMEO: i32 = 27;
    pub const SNDTIMEO: i32 = 28;
    pub const LAST_ENDPOINT: i32 = 32;
    pub const ROUTER_MANDATORY: i32 = 33;
    pub const TCP_KEEPALIVE: i32 = 34;
    pub const TCP_KEEPALIVE_CNT: i32 = 35;
    pub const TCP_KEEPALIVE_IDLE: i32 = 36;
    pub const TCP_KEEPALIVE_INTVL: i32 = 37;
    pub const IMMEDIATE: i32 = 39;
    pub const XPUB_VERBOSE: i32 = 40;
    pub const IPV6: i32 = 42;
    pub const PROBE_ROUTER: i32 = 51;
    pub const REQ_CORRELATE: i32 = 52;
    pub const REQ_RELAXED: i32 = 53;
    pub const CONFLATE: i32 = 54;
    pub const CONNECT_ROUTING_ID: i32 = 61;
    pub const HANDSHAKE_IVL: i32 = 66;
    pub const XPUB_NODROP: i32 = 69;
    pub const XPUB_MANUAL: i32 = 71;
    pub const XPUB_WELCOME_MSG: i32 = 72;
    pub const INVERT_MATCHING: i32 = 74;
    pub const HEARTBEAT_IVL: i32 = 75;
    pub const HEARTBEAT_TTL: i32 = 76;
    pub const HEARTBEAT_TIMEOUT: i32 = 77;
    pub const XPUB_VERBOSER: i32 = 78;
    pub const CONNECT_TIMEOUT: i32 = 79;
    pub const STREAM_NOTIFY: i32 = 73;
}

/// Every option a socket carries. Times are libzmq-style milliseconds where -1 means "forever".
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub sndhwm: i32,
    pub rcvhwm: i32,
    pub sndtimeo: i32,
    pub rcvtimeo: i32,
    pub linger: i32,
    pub routing_id: Option<bytes::Bytes>,
    pub connect_routing_id: Option<bytes::Bytes>,
    pub reconnect_ivl: i32,
    pub reconnect_ivl_max: i32,
    pub backlog: i32,
    pub immediate: bool,
    pub maxmsgsize: i64,
    pub handshake_ivl: i32,
    /// CONNECT_TIMEOUT in ms: give up a tcp connect to one address after this long (0 = the
    /// kernel's own limit).
    pub connect_timeout: i32,
    pub tcp_keepalive: i32,
    pub tcp_keepalive_cnt: i32,
    pub tcp_keepalive_idle: i32,
    pub tcp_keepalive_intvl: i32,
    pub ipv6: bool,
    pub router_mandatory: bool,
    pub probe_router: bool,
    pub req_relaxed: bool,
    pub req_correlate: bool,
    /// CONFLATE: each queue keeps only the latest message.
    pub conflate: bool,
    /// INVERT_MATCHING: PUB/XPUB send to, and SUB receives, what does *not* match.
    pub invert_matching: bool,
    /// XPUB_VERBOSE (or XPUB_VERBOSER): pass every subscription to the application.
    pub xpub_verbose_subs: bool,
    /// XPUB_VERBOSER: pass every cancel to the application too.
    pub xpub_verbose_unsubs: bool,
    pub xpub_manual: bool,
    pub xpub_nodrop: bool,
    pub xpub_welcome_msg: Option<bytes::Bytes>,
    /// HEARTBEAT_IVL in ms (0 = no heartbeats).
    pub heartbeat_ivl: i32,
    /// HEARTBEAT_TTL in ms, a multiple of 100 (sent to the peer in deciseconds; 0 = none).
    pub heartbeat_ttl: i32,
    /// HEARTBEAT_TIMEOUT in ms (-1 = HEARTBEAT_IVL).
    pub heartbeat_timeout: i32,
    /// STREAM: deliver `[id, ""]` when a peer connects and when it disconnects.
    pub stream_notify: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sndhwm: 1000,
            rcvhwm: 1000,
            sndtimeo: -1,
            rcvtimeo: -1,
            linger: -1,
            routing_id: None,
            connect_routing_id: None,
            reconnect_ivl: 100,
            reconnect_ivl_max: 0,
            backlog: 100,
            immediate: false,
            maxmsgsize: -1,
            handshake_ivl: 30_000,
            connect_timeout: 0,
            tcp_keepalive: -1,
            tcp_keepalive_cnt: -1,
            tcp_keepalive_idle: -1,
            tcp_keepalive_intvl: -1,
            ipv6: false,
            router_mandatory: false,
            probe_router: false,
            req_relaxed: false,
            req_correlate: false,
            conflate: false,
            invert_matching: false,
            xpub_verbose_subs: false,
            xpub_verbose_unsubs: false,
            xpub_manual: false,
            xpub_nodrop: false,
            xpub_welcome_msg: None,
            heartbeat_ivl: 0,
            heartbeat_ttl: 0,
            heartbeat_timeout: -1,
            stream_notify: true,
        }
    }
}

/// A libzmq millisecond value as an optional duration (`None` = forever).
pub(crate) fn ms(v: i32) -> Option<Duration> {
    (v >= 0).then(|| Duration::from_millis(v as u64))
}

pub(crate) fn check_ms(name: &str, v: i32) -> Result<i32> {
    if v < -1 {
        return Err(Error::InvalidArgument(format!("{name} must be -1 or >= 0, got {v}")));
    }
    Ok(v)
}

pub(crate) fn check_non_negative(name: &str, v: i32) -> Result<i32> {
    if v < 0 {
        return Err(Error::InvalidArgument(format!("{name} must be >= 0, got {v}")));
    }
    Ok(v)
}

pub(crate) fn check_routing_id(name: &str, id: &[u8]) -> Result<bytes::Bytes> {
    if id.is_empty() || id.len() > 255 {
        return Err(Error::InvalidArgument(format!("{name} must be 1 to 255 bytes, got {}", id.len())));
    }
    if id[0] == 0 {
        return Err(Error::InvalidArgument(format!(
            "{name} may not start with a zero byte (reserved for generated ids)"
        )));
    }
    Ok(bytes::Bytes::copy_from_slice(id))
}

/// Read an int option value the way zmq_setsockopt does (native endian, exactly 4 bytes).
pub(crate) fn raw_i32(id: i32, v: &[u8]) -> Result<i32> {
    let b: [u8; 4] = v
        .try_into()
        .map_err(|_| Error::InvalidArgument(format!("option {id} takes a 4-byte int, got {} bytes", v.len())))?;
    Ok(i32::from_ne_bytes(b))
}

pub(crate) fn raw_i64(id: i32, v: &[u8]) -> Result<i64> {
    let b: [u8; 8] = v
        .try_into()
        .map_err(|_| Error::InvalidArgument(format!("option {id} takes an 8-byte int, got {} bytes", v.len())))?;
    Ok(i64::from_ne_bytes(b))
}

pub(crate) fn raw_bool(id: i32, v: &[u8]) -> Result<bool> {
    match raw_i32(id, v)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Error::InvalidArgument(format!("option {id} takes 0 or 1, got {other}"))),
    }
}
