//! Socket options through the socket: by libzmq's numeric id (`zmq_setsockopt` /
//! `zmq_getsockopt`, with their validation and errors) and as typed setters and getters.
//!
//! The values themselves and their defaults are [`crate::options::Options`]; this is the
//! plumbing from a call to them.

use std::os::fd::AsRawFd;

use bytes::Bytes;
use oxmq_wire::SocketType;
use zeroize::Zeroizing;

use super::SocketBase;
use crate::error::{Error, Result};
use crate::options::{self, Options, opt};

impl SocketBase {
    fn with_options<T>(&self, f: impl FnOnce(&mut Options) -> Result<T>) -> Result<T> {
        f(&mut self.core.lock().options)
    }

    /// Set an option by libzmq's numeric id (see [`crate::opt`]), with the value encoded as
    /// `zmq_setsockopt` takes it (native-endian ints).
    pub fn set_option_raw(&self, id: i32, v: &[u8]) -> Result<()> {
        use options::{check_ms, check_non_negative, check_positive, check_routing_id, raw_bool, raw_i32, raw_i64};
        self.check_term()?;
        let t = self.shared.socket_type;
        if id == opt::SUBSCRIBE || id == opt::UNSUBSCRIBE {
            // Not a setting but an action of the pattern's.
            let mut core = self.core.lock();
            core.process_commands(&self.shared);
            let core = &mut *core;
            return core.pattern.subscribe(v, id == opt::SUBSCRIBE, &core.options);
        }
        // Options of one socket type's behaviour: EINVAL on other types, and (as libzmq's
        // socket types read them) any value >= 0, non-zero meaning on.
        let type_flag = |name: &str, types: &[SocketType]| -> Result<bool> {
            if !types.contains(&t) {
                return Err(Error::InvalidArgument(format!("{name} does not apply to {} sockets", t.as_str())));
            }
            let n = raw_i32(id, v)?;
            if n < 0 {
                return Err(Error::InvalidArgument(format!("{name} must be >= 0, got {n}")));
            }
            Ok(n != 0)
        };
        let has_endpoints = id == opt::ROUTER_RAW && !self.core.lock().endpoints.is_empty();
        self.with_options(|o| {
            if let Some(r) = o.security.set(id, v) {
                return r;
            }
            match id {
                opt::SNDHWM => o.sndhwm = check_non_negative("SNDHWM", raw_i32(id, v)?)?,
                opt::RCVHWM => o.rcvhwm = check_non_negative("RCVHWM", raw_i32(id, v)?)?,
                opt::SNDTIMEO => o.sndtimeo = check_ms("SNDTIMEO", raw_i32(id, v)?)?,
                opt::RCVTIMEO => o.rcvtimeo = check_ms("RCVTIMEO", raw_i32(id, v)?)?,
                opt::LINGER => o.linger = check_ms("LINGER", raw_i32(id, v)?)?,
                opt::ROUTING_ID => o.routing_id = Some(check_routing_id("ROUTING_ID", v)?),
                opt::CONNECT_ROUTING_ID => o.connect_routing_id = Some(check_routing_id("CONNECT_ROUTING_ID", v)?),
                opt::RECONNECT_IVL => o.reconnect_ivl = check_ms("RECONNECT_IVL", raw_i32(id, v)?)?,
                opt::RECONNECT_IVL_MAX => {
                    o.reconnect_ivl_max = check_non_negative("RECONNECT_IVL_MAX", raw_i32(id, v)?)?
                }
                opt::BACKLOG => o.backlog = check_non_negative("BACKLOG", raw_i32(id, v)?)?,
                opt::IMMEDIATE => o.immediate = raw_bool(id, v)?,
                opt::MAXMSGSIZE => {
                    let n = raw_i64(id, v)?;
                    if n < -1 {
                        return Err(Error::InvalidArgument(format!("MAXMSGSIZE must be -1 or >= 0, got {n}")));
                    }
                    o.maxmsgsize = n;
                }
                opt::HANDSHAKE_IVL => o.handshake_ivl = check_non_negative("HANDSHAKE_IVL", raw_i32(id, v)?)?,
                opt::CONNECT_TIMEOUT => o.connect_timeout = check_non_negative("CONNECT_TIMEOUT", raw_i32(id, v)?)?,
                opt::TCP_KEEPALIVE => {
                    let n = raw_i32(id, v)?;
                    if !(-1..=1).contains(&n) {
                        return Err(Error::InvalidArgument(format!("TCP_KEEPALIVE must be -1, 0 or 1, got {n}")));
                    }
                    o.tcp_keepalive = n;
                }
                opt::TCP_KEEPALIVE_CNT => o.tcp_keepalive_cnt = check_ms("TCP_KEEPALIVE_CNT", raw_i32(id, v)?)?,
                opt::TCP_KEEPALIVE_IDLE => o.tcp_keepalive_idle = check_ms("TCP_KEEPALIVE_IDLE", raw_i32(id, v)?)?,
                opt::TCP_KEEPALIVE_INTVL => o.tcp_keepalive_intvl = check_ms("TCP_KEEPALIVE_INTVL", raw_i32(id, v)?)?,
                opt::IPV6 => o.ipv6 = raw_bool(id, v)?,
                opt::ROUTER_MANDATORY => o.router_mandatory = type_flag("ROUTER_MANDATORY", &[SocketType::Router])?,
                opt::PROBE_ROUTER => {
                    o.probe_router =
                        type_flag("PROBE_ROUTER", &[SocketType::Router, SocketType::Dealer, SocketType::Req])?
                }
                opt::REQ_RELAXED => o.req_relaxed = type_flag("REQ_RELAXED", &[SocketType::Req])?,
                opt::REQ_CORRELATE => o.req_correlate = type_flag("REQ_CORRELATE", &[SocketType::Req])?,
                opt::CONFLATE => o.conflate = raw_bool(id, v)?,
                opt::INVERT_MATCHING => o.invert_matching = raw_bool(id, v)?,
                // XPUB's options apply to PUB too (libzmq's PUB is an XPUB).
                opt::XPUB_VERBOSE => {
                    o.xpub_verbose_subs = type_flag("XPUB_VERBOSE", &[SocketType::XPub, SocketType::Pub])?;
                    o.xpub_verbose_unsubs = false;
                }
                opt::XPUB_VERBOSER => {
                    o.xpub_verbose_subs = type_flag("XPUB_VERBOSER", &[SocketType::XPub, SocketType::Pub])?;
                    o.xpub_verbose_unsubs = o.xpub_verbose_subs;
                }
                opt::XPUB_MANUAL => o.xpub_manual = type_flag("XPUB_MANUAL", &[SocketType::XPub])?,
                opt::XPUB_NODROP => o.xpub_nodrop = type_flag("XPUB_NODROP", &[SocketType::XPub, SocketType::Pub])?,
                opt::XPUB_WELCOME_MSG => {
                    if !matches!(t, SocketType::XPub | SocketType::Pub) {
                        return Err(Error::InvalidArgument(format!(
                            "XPUB_WELCOME_MSG does not apply to {} sockets",
                            t.as_str()
                        )));
                    }
                    o.xpub_welcome_msg = (!v.is_empty()).then(|| Bytes::copy_from_slice(v));
                }
                opt::HEARTBEAT_IVL => o.heartbeat_ivl = check_non_negative("HEARTBEAT_IVL", raw_i32(id, v)?)?,
                opt::HEARTBEAT_TIMEOUT => o.heartbeat_timeout = check_ms("HEARTBEAT_TIMEOUT", raw_i32(id, v)?)?,
                opt::HEARTBEAT_TTL => {
                    // Sent to peers in deciseconds as a u16.
                    let n = raw_i32(id, v)?;
                    if !(0..=u16::MAX as i32 * 100).contains(&n) {
                        return Err(Error::InvalidArgument(format!("HEARTBEAT_TTL must be 0 to 6553500 ms, got {n}")));
                    }
                    o.heartbeat_ttl = n / 100 * 100;
                }
                opt::STREAM_NOTIFY => {
                    // libzmq takes exactly 0 or 1 here, and only on STREAM sockets.
                    if t != SocketType::Stream {
                        return Err(Error::InvalidArgument(format!(
                            "STREAM_NOTIFY does not apply to {} sockets",
                            t.as_str()
                        )));
                    }
                    o.stream_notify = raw_bool(id, v)?;
                }
                opt::AFFINITY => o.affinity = raw_i64(id, v)? as u64,
                opt::RATE => o.rate = check_positive("RATE", raw_i32(id, v)?)?,
                opt::RECOVERY_IVL => o.recovery_ivl = check_non_negative("RECOVERY_IVL", raw_i32(id, v)?)?,
                opt::MULTICAST_HOPS => o.multicast_hops = check_positive("MULTICAST_HOPS", raw_i32(id, v)?)?,
                opt::MULTICAST_MAXTPDU => o.multicast_maxtpdu = check_positive("MULTICAST_MAXTPDU", raw_i32(id, v)?)?,
                // libzmq 4.3.5 takes any int for these two, nonzero as on.
                opt::MULTICAST_LOOP => o.multicast_loop = raw_i32(id, v)? != 0,
                opt::LOOPBACK_FASTPATH => o.loopback_fastpath = raw_i32(id, v)? != 0,
                opt::SNDBUF => o.sndbuf = check_ms("SNDBUF", raw_i32(id, v)?)?,
                opt::RCVBUF => o.rcvbuf = check_ms("RCVBUF", raw_i32(id, v)?)?,
                opt::TOS => o.tos = check_non_negative("TOS", raw_i32(id, v)?)?,
                opt::TCP_MAXRT => o.tcp_maxrt = check_non_negative("TCP_MAXRT", raw_i32(id, v)?)?,
                opt::USE_FD => match check_ms("USE_FD", raw_i32(id, v)?)? {
                    // Dropping the descriptor held closes it: it was handed over.
                    -1 => o.use_fd = None,
                    _ => {
                        return Err(Error::InvalidArgument(
                            "USE_FD by number needs unsafe code, which oxmq has none of: hand the \
                             descriptor over with SocketBase::set_use_fd"
                                .into(),
                        ));
                    }
                },
                opt::IPV4ONLY => o.ipv6 = !raw_bool(id, v)?,
                opt::TCP_ACCEPT_FILTER => {
                    if v.is_empty() {
                        o.tcp_accept_filters.clear();
                    } else {
                        let f = options::parse_accept_filter(v, o.ipv6)?;
                        o.tcp_accept_filters.push(f);
                    }
                }
                // Each value adds an id; an empty value (libzmq's NULL) clears the list.
                opt::IPC_FILTER_PID if v.is_empty() => o.ipc_filter_pids.clear(),
                opt::IPC_FILTER_UID if v.is_empty() => o.ipc_filter_uids.clear(),
                opt::IPC_FILTER_GID if v.is_empty() => o.ipc_filter_gids.clear(),
                opt::IPC_FILTER_PID => o.ipc_filter_pids.push(raw_i32(id, v)?),
                opt::IPC_FILTER_UID => o.ipc_filter_uids.push(raw_i32(id, v)? as u32),
                opt::IPC_FILTER_GID => o.ipc_filter_gids.push(raw_i32(id, v)? as u32),
                opt::ROUTER_HANDOVER => o.router_handover = type_flag("ROUTER_HANDOVER", &[SocketType::Router])?,
                opt::ROUTER_RAW => match (type_flag("ROUTER_RAW", &[SocketType::Router])?, o.raw_socket) {
                    // Its peers are raw from their first byte: set before any bind or connect.
                    (true, _) if has_endpoints => {
                        return Err(Error::InvalidArgument(
                            "ROUTER_RAW must be set before the socket's first bind or connect".into(),
                        ));
                    }
                    (true, _) => o.raw_socket = true,
                    (false, false) => {}
                    (false, true) => {
                        return Err(Error::InvalidArgument("ROUTER_RAW cannot be turned off again".into()));
                    }
                },
                opt::BINDTODEVICE => {
                    let name = text_value("BINDTODEVICE", v)?;
                    if name.len() > 16 {
                        return Err(Error::InvalidArgument(format!(
                            "BINDTODEVICE is at most 16 bytes, got {}",
                            name.len()
                        )));
                    }
                    o.bindtodevice = name;
                }
                opt::SOCKS_PROXY => {
                    // As libzmq, any text: a proxy that is not `host:port` fails each connect.
                    o.socks_proxy = text_value("SOCKS_PROXY", v)?;
                }
                opt::GSSAPI_SERVER
                | opt::GSSAPI_PRINCIPAL
                | opt::GSSAPI_SERVICE_PRINCIPAL
                | opt::GSSAPI_PLAINTEXT
                | opt::GSSAPI_SERVICE_PRINCIPAL_NAMETYPE
                | opt::GSSAPI_PRINCIPAL_NAMETYPE => return Err(without("GSSAPI", id)),
                // 71 to 73, VMCI's other options, are XPUB_MANUAL, XPUB_WELCOME_MSG and
                // STREAM_NOTIFY too in zmq.h: libzmq answers them as those, and so does oxmq.
                opt::VMCI_BUFFER_SIZE => return Err(without("VMCI", id)),
                opt::TYPE | opt::RCVMORE | opt::LAST_ENDPOINT | opt::EVENTS | opt::FD | opt::THREAD_SAFE => {
                    return Err(Error::InvalidArgument(format!("option {id} is read-only")));
                }
                _ => return Err(Error::InvalidArgument(format!("unknown or unsupported socket option {id}"))),
            }
            Ok(())
        })
    }

    /// Get an option by libzmq's numeric id, encoded as `zmq_getsockopt` returns it into a
    /// buffer that fits: ints native-endian, character strings (LAST_ENDPOINT, ZAP_DOMAIN,
    /// PLAIN_USERNAME, PLAIN_PASSWORD) with their terminating NUL, ROUTING_ID as its bytes,
    /// CURVE keys as 32 bytes (32 zero bytes when not set). For libzmq's answer to a buffer of
    /// a given size (a CURVE key as Z85 into 41 bytes, EINVAL for a buffer that does not fit),
    /// see [`SocketBase::get_option_sized`].
    pub fn get_option_raw(&self, id: i32) -> Result<Vec<u8>> {
        if id == opt::EVENTS {
            return Ok(i32::from(self.events()?.bits()).to_ne_bytes().to_vec());
        }
        if id == opt::FD {
            // An int, as libzmq's on Unix; the descriptor stays the socket's.
            return Ok(self.fd()?.as_raw_fd().to_ne_bytes().to_vec());
        }
        self.check_term()?;
        let core = self.core.lock();
        let o = &core.options;
        if let Some(r) = o.security.get(id) {
            return r;
        }
        let int = |v: i32| Ok(v.to_ne_bytes().to_vec());
        let flag = |v: bool| int(v as i32);
        match id {
            opt::SNDHWM => int(o.sndhwm),
            opt::RCVHWM => int(o.rcvhwm),
            opt::SNDTIMEO => int(o.sndtimeo),
            opt::RCVTIMEO => int(o.rcvtimeo),
            opt::LINGER => int(o.linger),
            opt::ROUTING_ID => Ok(o.routing_id.as_deref().unwrap_or_default().to_vec()),
            opt::RECONNECT_IVL => int(o.reconnect_ivl),
            opt::RECONNECT_IVL_MAX => int(o.reconnect_ivl_max),
            opt::BACKLOG => int(o.backlog),
            opt::IMMEDIATE => flag(o.immediate),
            opt::MAXMSGSIZE => Ok(o.maxmsgsize.to_ne_bytes().to_vec()),
            opt::HANDSHAKE_IVL => int(o.handshake_ivl),
            opt::CONNECT_TIMEOUT => int(o.connect_timeout),
            opt::TCP_KEEPALIVE => int(o.tcp_keepalive),
            opt::TCP_KEEPALIVE_CNT => int(o.tcp_keepalive_cnt),
            opt::TCP_KEEPALIVE_IDLE => int(o.tcp_keepalive_idle),
            opt::TCP_KEEPALIVE_INTVL => int(o.tcp_keepalive_intvl),
            opt::IPV6 => flag(o.ipv6),
            opt::ROUTER_MANDATORY => flag(o.router_mandatory),
            opt::PROBE_ROUTER => flag(o.probe_router),
            opt::REQ_RELAXED => flag(o.req_relaxed),
            opt::REQ_CORRELATE => flag(o.req_correlate),
            opt::CONFLATE => flag(o.conflate),
            opt::INVERT_MATCHING => flag(o.invert_matching),
            opt::HEARTBEAT_IVL => int(o.heartbeat_ivl),
            opt::HEARTBEAT_TTL => int(o.heartbeat_ttl),
            opt::HEARTBEAT_TIMEOUT => int(o.heartbeat_timeout),
            opt::STREAM_NOTIFY => flag(o.stream_notify),
            opt::TYPE => int(self.shared.socket_type.zmq_type()),
            opt::RCVMORE => flag(core.rcvmore),
            opt::AFFINITY => Ok(o.affinity.to_ne_bytes().to_vec()),
            opt::RATE => int(o.rate),
            opt::RECOVERY_IVL => int(o.recovery_ivl),
            opt::MULTICAST_HOPS => int(o.multicast_hops),
            opt::MULTICAST_MAXTPDU => int(o.multicast_maxtpdu),
            opt::MULTICAST_LOOP => int(i32::from(o.multicast_loop)),
            opt::LOOPBACK_FASTPATH => int(i32::from(o.loopback_fastpath)),
            opt::SNDBUF => int(o.sndbuf),
            opt::RCVBUF => int(o.rcvbuf),
            opt::TOS => int(o.tos),
            opt::TCP_MAXRT => int(o.tcp_maxrt),
            opt::USE_FD => int(o.use_fd.as_ref().map_or(-1, |fd| std::os::fd::AsRawFd::as_raw_fd(&**fd))),
            opt::IPV4ONLY => flag(!o.ipv6),
            // No socket type here is one of libzmq's thread-safe (draft) ones.
            opt::THREAD_SAFE => int(0),
            opt::BINDTODEVICE | opt::SOCKS_PROXY => {
                let text = if id == opt::BINDTODEVICE { &o.bindtodevice } else { &o.socks_proxy };
                let mut v = text.clone().into_bytes();
                v.push(0);
                Ok(v)
            }
            opt::GSSAPI_SERVER
            | opt::GSSAPI_PRINCIPAL
            | opt::GSSAPI_SERVICE_PRINCIPAL
            | opt::GSSAPI_PLAINTEXT
            | opt::GSSAPI_SERVICE_PRINCIPAL_NAMETYPE
            | opt::GSSAPI_PRINCIPAL_NAMETYPE => Err(without("GSSAPI", id)),
            opt::VMCI_BUFFER_SIZE => Err(without("VMCI", id)),
            opt::LAST_ENDPOINT => {
                // zmq_getsockopt returns it NUL-terminated.
                let mut v = core.last_endpoint.clone().into_bytes();
                v.push(0);
                Ok(v)
            }
            _ => Err(Error::InvalidArgument(format!("unknown or unsupported socket option {id}"))),
        }
    }
}

impl SocketBase {
    /// Get an option by libzmq's numeric id as `zmq_getsockopt` returns it into the caller's
    /// buffer of `buflen` bytes: the bytes it writes there (how many is what libzmq stores in
    /// `*optvallen`), or `Error::InvalidArgument` (EINVAL) where libzmq refuses that size:
    ///
    /// - an int option needs exactly 4 bytes (RCVMORE, EVENTS and THREAD_SAFE, which libzmq's
    ///   socket answers rather than its options, at least 4: 4 are written), MAXMSGSIZE and
    ///   AFFINITY exactly 8;
    /// - a character string (LAST_ENDPOINT, ZAP_DOMAIN, PLAIN_USERNAME, PLAIN_PASSWORD,
    ///   SOCKS_PROXY, BINDTODEVICE) comes with its NUL and needs a buffer at least that long;
    /// - ROUTING_ID comes as its bytes and needs a buffer at least that long;
    /// - a CURVE key (CURVE_PUBLICKEY, CURVE_SECRETKEY, CURVE_SERVERKEY) comes as its 32 bytes
    ///   into a 32-byte buffer and as 40 Z85 characters and a NUL into a 41-byte one; any other
    ///   size is refused.
    ///
    /// The C ABI's `zmq_getsockopt` is this call plus the copy.
    pub fn get_option_sized(&self, id: i32, buflen: usize) -> Result<Vec<u8>> {
        let value = self.get_option_raw(id)?;
        options::fit_to_buffer(id, value, buflen)
    }
}

/// The answer of a libzmq built without `what` (as pyzmq's is) to its options: EINVAL.
fn without(what: &str, id: i32) -> Error {
    Error::InvalidArgument(format!(
        "option {id} is a {what} option: oxmq, like a libzmq built without {what}, does not have it"
    ))
}

/// A character-string option's value: text, without the NULs a C caller may end it with.
fn text_value(name: &str, v: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(v).map_err(|_| Error::InvalidArgument(format!("{name} must be text")))?;
    let text = text.trim_end_matches('\0');
    if text.contains('\0') {
        return Err(Error::InvalidArgument(format!("{name} may not hold a NUL")));
    }
    Ok(text.to_string())
}

macro_rules! int_options {
    ($($(#[$doc:meta])* $set:ident, $get:ident, $id:expr;)*) => {
        impl SocketBase {
            $(
                $(#[$doc])*
                pub fn $set(&self, v: i32) -> Result<()> {
                    self.set_option_raw($id, &v.to_ne_bytes())
                }
                $(#[$doc])*
                pub fn $get(&self) -> Result<i32> {
                    let v = self.get_option_raw($id)?;
                    Ok(i32::from_ne_bytes(v[..4].try_into().expect("4 bytes")))
                }
            )*
        }
    };
}

macro_rules! bool_options {
    ($($(#[$doc:meta])* $set:ident, $get:ident, $id:expr;)*) => {
        impl SocketBase {
            $(
                $(#[$doc])*
                pub fn $set(&self, on: bool) -> Result<()> {
                    self.set_option_raw($id, &(on as i32).to_ne_bytes())
                }
                $(#[$doc])*
                pub fn $get(&self) -> Result<bool> {
                    Ok(self.get_option_raw($id)?[0] != 0)
                }
            )*
        }
    };
}

int_options! {
    /// SNDHWM: outgoing messages queued per peer before sends block or drop (0 = no limit).
    set_sndhwm, sndhwm, opt::SNDHWM;
    /// RCVHWM: incoming messages queued per peer before the peer is pushed back (0 = no limit).
    set_rcvhwm, rcvhwm, opt::RCVHWM;
    /// SNDTIMEO in ms: how long a send blocks before `Error::Again` (-1 = forever).
    set_sndtimeo, sndtimeo, opt::SNDTIMEO;
    /// RCVTIMEO in ms: how long a receive blocks before `Error::Again` (-1 = forever).
    set_rcvtimeo, rcvtimeo, opt::RCVTIMEO;
    /// LINGER in ms: how long queued messages are still flushed after close (-1 = forever).
    set_linger, linger, opt::LINGER;
    /// RECONNECT_IVL in ms between reconnection attempts (-1 = never reconnect). As in libzmq
    /// 4.3.5, each wait adds a random part below RECONNECT_IVL (so the clients of a restarted
    /// server do not all return at once) unless RECONNECT_IVL_MAX is set.
    set_reconnect_ivl, reconnect_ivl, opt::RECONNECT_IVL;
    /// RECONNECT_IVL_MAX in ms: the interval doubles per failed attempt up to this, without a
    /// random part (0 = unset: RECONNECT_IVL plus a random part; below RECONNECT_IVL: ignored).
    set_reconnect_ivl_max, reconnect_ivl_max, opt::RECONNECT_IVL_MAX;
    /// BACKLOG: pending connections the listener queues.
    set_backlog, backlog, opt::BACKLOG;
    /// HANDSHAKE_IVL in ms: a peer must finish its handshake in this time (0 = no limit).
    set_handshake_ivl, handshake_ivl, opt::HANDSHAKE_IVL;
    /// CONNECT_TIMEOUT in ms: a tcp connect that has not completed in this time is given up
    /// and retried after RECONNECT_IVL, as a refused one is (0 = wait as long as the kernel
    /// does, which can be minutes when the peer's host drops the attempt). A host name with
    /// several addresses gets this long for each address it tries.
    set_connect_timeout, connect_timeout, opt::CONNECT_TIMEOUT;
    /// TCP_KEEPALIVE: -1 system default, 0 off, 1 on.
    set_tcp_keepalive, tcp_keepalive, opt::TCP_KEEPALIVE;
    /// TCP_KEEPALIVE_CNT (-1 = system default).
    set_tcp_keepalive_cnt, tcp_keepalive_cnt, opt::TCP_KEEPALIVE_CNT;
    /// TCP_KEEPALIVE_IDLE in seconds (-1 = system default).
    set_tcp_keepalive_idle, tcp_keepalive_idle, opt::TCP_KEEPALIVE_IDLE;
    /// TCP_KEEPALIVE_INTVL in seconds (-1 = system default).
    set_tcp_keepalive_intvl, tcp_keepalive_intvl, opt::TCP_KEEPALIVE_INTVL;
    /// HEARTBEAT_IVL in ms: send a ZMTP PING this often (0 = no heartbeats).
    set_heartbeat_ivl, heartbeat_ivl, opt::HEARTBEAT_IVL;
    /// HEARTBEAT_TTL in ms (rounded down to 100 ms), sent in each PING: how long the peer
    /// should wait for traffic from us after a PING before giving up on the connection.
    set_heartbeat_ttl, heartbeat_ttl, opt::HEARTBEAT_TTL;
    /// HEARTBEAT_TIMEOUT in ms: close the connection when nothing arrives this long after a
    /// PING (-1 = HEARTBEAT_IVL, 0 = never). The connection is then reconnected as usual.
    set_heartbeat_timeout, heartbeat_timeout, opt::HEARTBEAT_TIMEOUT;
    /// SNDBUF in bytes: the kernel send buffer (SO_SNDBUF) of each tcp connection (-1, the
    /// default: the OS default; 0 and up are given to the kernel, which rounds them to its own
    /// bounds). Set on a listener, whose accepted connections inherit it, and on each
    /// connecting socket, as libzmq does; ipc sockets keep the OS default, as in libzmq.
    /// Applies to binds and connects made after it is set.
    set_sndbuf, sndbuf, opt::SNDBUF;
    /// RCVBUF in bytes: the kernel receive buffer (SO_RCVBUF) of each tcp connection, as
    /// SNDBUF (-1, the default: the OS default).
    set_rcvbuf, rcvbuf, opt::RCVBUF;
    /// TOS: the IP type-of-service byte (IP_TOS; IPV6_TCLASS on IPv6) of tcp connections,
    /// set on connecting sockets, listeners and accepted connections (0, the default: the
    /// kernel's).
    set_tos, tos, opt::TOS;
    /// TCP_MAXRT in ms: how long sent data may stay unacknowledged before the kernel drops
    /// the tcp connection (Linux's TCP_USER_TIMEOUT; 0, the default: the kernel's).
    set_tcp_maxrt, tcp_maxrt, opt::TCP_MAXRT;
    /// RATE in kbit/s: the multicast data rate (default 100). oxmq has no multicast transport
    /// (pgm, epgm, norm); the value is kept and read back, as a libzmq without them keeps it.
    set_rate, rate, opt::RATE;
    /// RECOVERY_IVL in ms: how far back multicast recovery reaches (default 10000). Kept and
    /// read back only: oxmq has no multicast transport.
    set_recovery_ivl, recovery_ivl, opt::RECOVERY_IVL;
    /// MULTICAST_HOPS: the multicast TTL (default 1). Kept and read back only: oxmq has no
    /// multicast transport.
    set_multicast_hops, multicast_hops, opt::MULTICAST_HOPS;
    /// MULTICAST_MAXTPDU in bytes: the largest multicast packet (default 1500). Kept and read
    /// back only: oxmq has no multicast transport.
    set_multicast_maxtpdu, multicast_maxtpdu, opt::MULTICAST_MAXTPDU;
}

impl SocketBase {
    /// USE_FD: the next tcp or ipc `bind` uses this socket, bound and listening already,
    /// instead of opening one; the endpoint given to `bind` only picks the transport (and names
    /// the endpoint if the socket has no path of its own). Handed over for good, as libzmq
    /// takes it: the listener closes it when it is unbound or the socket closes, and a socket
    /// closed before binding closes it too. A bind uses it up (USE_FD reads -1 after), unless
    /// it fails: a descriptor that is not a listening socket of the endpoint's transport fails
    /// the bind with EINVAL and stays held for the next one.
    ///
    /// libzmq takes the descriptor's number; oxmq has no unsafe code to turn a number into a
    /// socket, so the Rust API takes the descriptor itself (`std::net::TcpListener`,
    /// `std::os::unix::net::UnixListener` or any `OwnedFd`) and by id only -1 is accepted
    /// (drop the one held, which closes it).
    pub fn set_use_fd(&self, listener: impl Into<std::os::fd::OwnedFd>) -> Result<()> {
        self.check_term()?;
        self.core.lock().options.use_fd = Some(std::sync::Arc::new(listener.into()));
        Ok(())
    }
    /// USE_FD: the number of the descriptor held for the next bind, or -1.
    pub fn use_fd(&self) -> Result<i32> {
        let v = self.get_option_raw(opt::USE_FD)?;
        Ok(i32::from_ne_bytes(v[..4].try_into().expect("4 bytes")))
    }
    /// AFFINITY: libzmq's bitmask of the I/O threads new connections may run on (default 0,
    /// any). oxmq runs a context's connections on its one runtime, as libzmq does with one I/O
    /// thread, which is its default; the value is kept and read back.
    pub fn set_affinity(&self, mask: u64) -> Result<()> {
        self.set_option_raw(opt::AFFINITY, &mask.to_ne_bytes())
    }
    /// AFFINITY.
    pub fn affinity(&self) -> Result<u64> {
        let v = self.get_option_raw(opt::AFFINITY)?;
        Ok(u64::from_ne_bytes(v[..8].try_into().expect("8 bytes")))
    }
    /// IPV4ONLY (deprecated in libzmq): the inverse of IPV6 (default true).
    pub fn set_ipv4only(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::IPV4ONLY, &(on as i32).to_ne_bytes())
    }
    /// IPV4ONLY: the inverse of IPV6.
    pub fn ipv4only(&self) -> Result<bool> {
        Ok(self.get_option_raw(opt::IPV4ONLY)?[0] != 0)
    }
    /// TCP_ACCEPT_FILTER (deprecated in libzmq; ZAP is its successor): tcp listeners accept
    /// connections only from addresses in the networks added (an IP address, optionally
    /// `/bits`; IPv6 ones with IPV6 set), and close the others at once. None added (the
    /// default): every address. Applies to connections accepted after it is set.
    pub fn add_tcp_accept_filter(&self, network: &str) -> Result<()> {
        if network.is_empty() {
            return Err(Error::InvalidArgument("TCP_ACCEPT_FILTER: an empty network".into()));
        }
        self.set_option_raw(opt::TCP_ACCEPT_FILTER, network.as_bytes())
    }
    /// TCP_ACCEPT_FILTER with no value (libzmq's NULL): accept from every address again.
    pub fn clear_tcp_accept_filters(&self) -> Result<()> {
        self.set_option_raw(opt::TCP_ACCEPT_FILTER, b"")
    }
    /// IPC_FILTER_PID (deprecated in libzmq; ZAP is its successor): ipc listeners accept
    /// connections only from processes that match one of the IPC filters (a listed process
    /// id, user id, or group id, the peer user's supplementary groups included, from the
    /// kernel's SO_PEERCRED), and close the others at once. None set (the default): everyone.
    /// Applies to binds made after it is set.
    pub fn add_ipc_filter_pid(&self, pid: i32) -> Result<()> {
        self.set_option_raw(opt::IPC_FILTER_PID, &pid.to_ne_bytes())
    }
    /// IPC_FILTER_UID: add a user id to the IPC filters (see [`SocketBase::add_ipc_filter_pid`]).
    pub fn add_ipc_filter_uid(&self, uid: u32) -> Result<()> {
        self.set_option_raw(opt::IPC_FILTER_UID, &uid.to_ne_bytes())
    }
    /// IPC_FILTER_GID: add a group id to the IPC filters (see [`SocketBase::add_ipc_filter_pid`]).
    pub fn add_ipc_filter_gid(&self, gid: u32) -> Result<()> {
        self.set_option_raw(opt::IPC_FILTER_GID, &gid.to_ne_bytes())
    }
    /// IPC_FILTER_PID, _UID and _GID with no value (libzmq's NULL): accept everyone again.
    pub fn clear_ipc_filters(&self) -> Result<()> {
        for id in [opt::IPC_FILTER_PID, opt::IPC_FILTER_UID, opt::IPC_FILTER_GID] {
            self.set_option_raw(id, b"")?;
        }
        Ok(())
    }
    /// ROUTER_HANDOVER (ROUTER): a peer that connects with a routing id another connected
    /// peer has takes the id over, and the other peer's connection is closed (what it sent
    /// and was not read yet is dropped, as libzmq drops it). Off (the default), the new peer
    /// is refused. Write-only in libzmq; read back here from the Rust API only.
    pub fn set_router_handover(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::ROUTER_HANDOVER, &(on as i32).to_ne_bytes())
    }
    /// ROUTER_HANDOVER.
    pub fn router_handover(&self) -> Result<bool> {
        self.check_term()?;
        Ok(self.core.lock().options.router_handover)
    }
    /// ROUTER_RAW (ROUTER; deprecated in libzmq, which suggests STREAM): the socket's tcp and
    /// ipc peers speak raw bytes instead of ZMTP. Each read from a peer arrives as
    /// `[routing id, bytes]`, and `[routing id, ""]` when a peer connects and when it goes; a
    /// message sent is `[routing id, bytes]` (MORE on the bytes is ignored), and empty bytes
    /// close that connection. Set before the first bind or connect (EINVAL after), and not
    /// turned off again; inproc endpoints are refused, as for STREAM. Write-only, as in libzmq.
    pub fn set_router_raw(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::ROUTER_RAW, &(on as i32).to_ne_bytes())
    }
    /// THREAD_SAFE (read-only): whether the socket may be used from several threads at once
    /// in libzmq's sense (its draft types); false for every socket type oxmq has, as libzmq
    /// answers for them.
    pub fn thread_safe(&self) -> Result<bool> {
        Ok(self.get_option_raw(opt::THREAD_SAFE)?[0] != 0)
    }
    /// BINDTODEVICE: bind the tcp sockets of later binds and connects to this network
    /// interface (SO_BINDTODEVICE; at most 16 bytes; usually needs CAP_NET_RAW). A bind to
    /// an interface that does not exist fails (ENODEV, as in libzmq); a connect keeps
    /// retrying. Empty (the default): none.
    pub fn set_bindtodevice(&self, interface: &str) -> Result<()> {
        self.set_option_raw(opt::BINDTODEVICE, interface.as_bytes())
    }
    /// BINDTODEVICE (empty if none).
    pub fn bindtodevice(&self) -> Result<String> {
        self.check_term()?;
        Ok(self.core.lock().options.bindtodevice.clone())
    }
    /// SOCKS_PROXY: make later tcp connects through the SOCKS5 proxy at `host:port` (no
    /// authentication; the proxy resolves the endpoint's host name). Empty (the default):
    /// connect directly.
    pub fn set_socks_proxy(&self, proxy: &str) -> Result<()> {
        self.set_option_raw(opt::SOCKS_PROXY, proxy.as_bytes())
    }
    /// SOCKS_PROXY (empty if none).
    pub fn socks_proxy(&self) -> Result<String> {
        self.check_term()?;
        Ok(self.core.lock().options.socks_proxy.clone())
    }
}

bool_options! {
    /// MULTICAST_LOOP: whether udp multicast sees its own datagrams (default on). Kept and read
    /// back only: oxmq has no multicast transport.
    set_multicast_loop, multicast_loop, opt::MULTICAST_LOOP;
    /// LOOPBACK_FASTPATH: Windows' loopback fast path for tcp (default off). Kept and read back
    /// only, as libzmq does off Windows.
    set_loopback_fastpath, loopback_fastpath, opt::LOOPBACK_FASTPATH;
    /// IMMEDIATE: queue messages only to peers whose connection is complete.
    set_immediate, immediate, opt::IMMEDIATE;
    /// IPV6: bind `*` to IPv6 (dual-stack) and resolve host names to IPv6 too.
    set_ipv6, ipv6, opt::IPV6;
    /// ROUTER_MANDATORY: report unroutable messages (`HostUnreachable`, `Again`) instead of dropping them.
    set_router_mandatory, router_mandatory, opt::ROUTER_MANDATORY;
    /// PROBE_ROUTER: send an empty message to each new peer so a ROUTER learns our routing id.
    set_probe_router, probe_router, opt::PROBE_ROUTER;
    /// REQ_RELAXED: a REQ may send a new request before the reply to the last one.
    set_req_relaxed, req_relaxed, opt::REQ_RELAXED;
    /// REQ_CORRELATE: a REQ tags requests with an id and accepts only the matching reply.
    set_req_correlate, req_correlate, opt::REQ_CORRELATE;
    /// CONFLATE: keep only the latest message in each queue (single-frame messages only).
    set_conflate, conflate, opt::CONFLATE;
    /// INVERT_MATCHING: PUB/XPUB send to the subscribers that do *not* match, SUB receives
    /// the messages that match none of its topics.
    set_invert_matching, invert_matching, opt::INVERT_MATCHING;
    /// STREAM_NOTIFY (STREAM only, on by default): receive `[id, ""]` when a peer connects and
    /// when it disconnects.
    set_stream_notify, stream_notify, opt::STREAM_NOTIFY;
}

impl SocketBase {
    /// XPUB_VERBOSE (PUB, XPUB): pass every subscription to the application, not only new
    /// topics.
    pub fn set_xpub_verbose(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::XPUB_VERBOSE, &(on as i32).to_ne_bytes())
    }
    /// XPUB_VERBOSER (PUB, XPUB): pass every subscription and every cancel to the application.
    pub fn set_xpub_verboser(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::XPUB_VERBOSER, &(on as i32).to_ne_bytes())
    }
    /// XPUB_MANUAL (XPUB): the application decides subscriptions, with SUBSCRIBE/UNSUBSCRIBE
    /// for the peer whose subscription it received last.
    pub fn set_xpub_manual(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::XPUB_MANUAL, &(on as i32).to_ne_bytes())
    }
    /// XPUB_NODROP (PUB, XPUB): a send to a full subscriber waits (or fails with
    /// `Error::Again`) instead of dropping the message.
    pub fn set_xpub_nodrop(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::XPUB_NODROP, &(on as i32).to_ne_bytes())
    }
    /// XPUB_WELCOME_MSG (PUB, XPUB): a message sent to each new subscriber (empty: none).
    pub fn set_xpub_welcome_msg(&self, msg: &[u8]) -> Result<()> {
        self.set_option_raw(opt::XPUB_WELCOME_MSG, msg)
    }
}

impl SocketBase {
    /// MAXMSGSIZE in bytes: a peer sending a larger frame is disconnected (-1 = no limit).
    pub fn set_maxmsgsize(&self, v: i64) -> Result<()> {
        self.set_option_raw(opt::MAXMSGSIZE, &v.to_ne_bytes())
    }
    /// MAXMSGSIZE in bytes.
    pub fn maxmsgsize(&self) -> Result<i64> {
        self.check_term()?;
        Ok(self.core.lock().options.maxmsgsize)
    }
    /// ROUTING_ID: the identity this socket announces to its peers (1-255 bytes).
    pub fn set_routing_id(&self, id: &[u8]) -> Result<()> {
        self.set_option_raw(opt::ROUTING_ID, id)
    }
    /// ROUTING_ID.
    pub fn routing_id(&self) -> Result<Vec<u8>> {
        self.get_option_raw(opt::ROUTING_ID)
    }
    /// CONNECT_ROUTING_ID: the routing id this ROUTER or STREAM gives the peer of the next
    /// `connect`.
    pub fn set_connect_routing_id(&self, id: &[u8]) -> Result<()> {
        self.set_option_raw(opt::CONNECT_ROUTING_ID, id)
    }
}

/// The security options (see ARCHITECTURE.md and libzmq's zmq_setsockopt for how they choose
/// the mechanism).
impl SocketBase {
    /// MECHANISM: the security mechanism the options chose (NULL unless one was set).
    pub fn mechanism(&self) -> Result<oxmq_wire::Mechanism> {
        self.check_term()?;
        Ok(self.core.lock().options.security.mechanism)
    }
    /// PLAIN_SERVER: be the PLAIN server, which checks the clients' user names and passwords
    /// (through a ZAP handler, if one is bound). `false` turns security off.
    pub fn set_plain_server(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::PLAIN_SERVER, &(on as i32).to_ne_bytes())
    }
    /// PLAIN_USERNAME: be a PLAIN client with this user name (at most 255 bytes; empty turns
    /// security off).
    pub fn set_plain_username(&self, name: impl AsRef<[u8]>) -> Result<()> {
        self.set_option_raw(opt::PLAIN_USERNAME, name.as_ref())
    }
    /// PLAIN_PASSWORD: the PLAIN client's password (at most 255 bytes).
    pub fn set_plain_password(&self, password: impl AsRef<[u8]>) -> Result<()> {
        self.set_option_raw(opt::PLAIN_PASSWORD, password.as_ref())
    }
    /// CURVE_SERVER: be the CURVE server (set CURVE_SECRETKEY too). `false` turns security off.
    pub fn set_curve_server(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::CURVE_SERVER, &(on as i32).to_ne_bytes())
    }
    /// CURVE_PUBLICKEY: this socket's long-term public key, 32 bytes or 40 Z85 characters.
    pub fn set_curve_publickey(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.set_option_raw(opt::CURVE_PUBLICKEY, key.as_ref())
    }
    /// CURVE_SECRETKEY: this socket's long-term secret key, 32 bytes or 40 Z85 characters.
    pub fn set_curve_secretkey(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.set_option_raw(opt::CURVE_SECRETKEY, key.as_ref())
    }
    /// CURVE_SERVERKEY: be a CURVE client of the server with this public key (32 bytes or 40
    /// Z85 characters); set CURVE_PUBLICKEY and CURVE_SECRETKEY too.
    pub fn set_curve_serverkey(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.set_option_raw(opt::CURVE_SERVERKEY, key.as_ref())
    }
    /// ZAP_DOMAIN: the domain a ZAP handler is told this socket's connections belong to.
    pub fn set_zap_domain(&self, domain: &str) -> Result<()> {
        self.set_option_raw(opt::ZAP_DOMAIN, domain.as_bytes())
    }
    /// ZAP_ENFORCE_DOMAIN: with no ZAP handler bound, refuse instead of admitting everyone.
    pub fn set_zap_enforce_domain(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::ZAP_ENFORCE_DOMAIN, &(on as i32).to_ne_bytes())
    }
    /// METADATA: a property `name` (starting with `X-`) sent to every peer in the handshake;
    /// the peer reads it as a message property. A name added again keeps its first value, as
    /// in libzmq.
    pub fn add_metadata(&self, name: &str, value: &str) -> Result<()> {
        self.set_option_raw(opt::METADATA, format!("{name}:{value}").as_bytes())
    }
}

/// The security options read back (libzmq's zmq_getsockopt values, typed).
impl SocketBase {
    fn security<T>(&self, f: impl FnOnce(&options::Security) -> T) -> Result<T> {
        self.check_term()?;
        Ok(f(&self.core.lock().options.security))
    }
    /// PLAIN_SERVER: whether this socket is a PLAIN server.
    pub fn plain_server(&self) -> Result<bool> {
        self.security(|s| s.as_server && s.mechanism == oxmq_wire::Mechanism::Plain)
    }
    /// PLAIN_USERNAME: the PLAIN client's user name (empty if none was set).
    pub fn plain_username(&self) -> Result<Vec<u8>> {
        self.security(|s| s.plain_username.to_vec())
    }
    /// PLAIN_PASSWORD: the PLAIN client's password (empty if none was set), zeroized when
    /// dropped.
    pub fn plain_password(&self) -> Result<Zeroizing<Vec<u8>>> {
        self.security(|s| s.plain_password.clone())
    }
    /// CURVE_SERVER: whether this socket is a CURVE server.
    pub fn curve_server(&self) -> Result<bool> {
        self.security(|s| s.as_server && s.mechanism == oxmq_wire::Mechanism::Curve)
    }
    /// CURVE_PUBLICKEY: this socket's public key, 32 bytes (all zero if none was set, as
    /// libzmq returns it).
    pub fn curve_publickey(&self) -> Result<[u8; 32]> {
        self.security(|s| s.curve_public.map_or([0; 32], |k| k.0))
    }
    /// CURVE_SECRETKEY: this socket's secret key, 32 bytes (all zero if none was set),
    /// zeroized when dropped.
    pub fn curve_secretkey(&self) -> Result<Zeroizing<[u8; 32]>> {
        self.security(|s| Zeroizing::new(s.curve_secret.as_ref().map_or([0; 32], |k| *k.as_bytes())))
    }
    /// CURVE_SERVERKEY: the public key of the server this CURVE client talks to, 32 bytes
    /// (all zero if none was set).
    pub fn curve_serverkey(&self) -> Result<[u8; 32]> {
        self.security(|s| s.curve_server.map_or([0; 32], |k| k.0))
    }
    /// CURVE_PUBLICKEY as 40 Z85 characters (what zmq_getsockopt gives a 41-byte buffer, less
    /// the NUL; `"0000…"` if none was set).
    pub fn curve_publickey_z85(&self) -> Result<String> {
        Ok(z85_key(&self.curve_publickey()?))
    }
    /// CURVE_SECRETKEY as 40 Z85 characters, zeroized when dropped.
    pub fn curve_secretkey_z85(&self) -> Result<Zeroizing<String>> {
        Ok(Zeroizing::new(z85_key(&self.curve_secretkey()?[..])))
    }
    /// CURVE_SERVERKEY as 40 Z85 characters.
    pub fn curve_serverkey_z85(&self) -> Result<String> {
        Ok(z85_key(&self.curve_serverkey()?))
    }
    /// ZAP_DOMAIN (empty if none was set).
    pub fn zap_domain(&self) -> Result<String> {
        self.security(|s| s.zap_domain.clone())
    }
    /// ZAP_ENFORCE_DOMAIN.
    pub fn zap_enforce_domain(&self) -> Result<bool> {
        self.security(|s| s.zap_enforce_domain)
    }
}

/// A 32-byte key as Z85 (always 40 characters).
fn z85_key(key: &[u8]) -> String {
    oxmq_wire::z85_encode(key).expect("32 bytes are a multiple of 4")
}
