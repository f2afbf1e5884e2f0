//! Socket options: the typed values, their libzmq defaults, and libzmq's numeric ids (for the
//! raw get/set calls the C ABI will use).

use std::time::Duration;

use bytes::Bytes;
use oxmq_wire::{
    CurveConfig, CurveKeyPair, CurvePublicKey, CurveSecretKey, Mechanism, MechanismConfig, Metadata, PlainConfig,
    z85_decode,
};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// libzmq's numeric option ids (`ZMQ_*` in zmq.h).
pub mod opt {
    pub const ROUTING_ID: i32 = 5;
    pub const SUBSCRIBE: i32 = 6;
    pub const UNSUBSCRIBE: i32 = 7;
    pub const RCVMORE: i32 = 13;
    /// Read-only: the socket's readiness descriptor as an int, as [`crate::SocketBase::fd`].
    pub const FD: i32 = 14;
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
    /// Read-only: the security mechanism, `ZMQ_NULL` (0), `ZMQ_PLAIN` (1) or `ZMQ_CURVE` (2).
    pub const MECHANISM: i32 = 43;
    pub const PLAIN_SERVER: i32 = 44;
    pub const PLAIN_USERNAME: i32 = 45;
    pub const PLAIN_PASSWORD: i32 = 46;
    pub const CURVE_SERVER: i32 = 47;
    pub const CURVE_PUBLICKEY: i32 = 48;
    pub const CURVE_SECRETKEY: i32 = 49;
    pub const CURVE_SERVERKEY: i32 = 50;
    pub const ZAP_DOMAIN: i32 = 55;
    pub const ZAP_ENFORCE_DOMAIN: i32 = 93;
    pub const LOOPBACK_FASTPATH: i32 = 94;
    pub const METADATA: i32 = 95;
    pub const MULTICAST_LOOP: i32 = 96;
    // Kernel socket settings and the transports' own options.
    pub const AFFINITY: i32 = 4;
    pub const RATE: i32 = 8;
    pub const RECOVERY_IVL: i32 = 9;
    pub const SNDBUF: i32 = 11;
    pub const RCVBUF: i32 = 12;
    pub const MULTICAST_HOPS: i32 = 25;
    /// Deprecated: the inverse of IPV6.
    pub const IPV4ONLY: i32 = 31;
    /// Deprecated: accept tcp connections only from these addresses (write-only).
    pub const TCP_ACCEPT_FILTER: i32 = 38;
    /// Deprecated (ROUTER): speak raw TCP, as STREAM does (write-only).
    pub const ROUTER_RAW: i32 = 41;
    pub const ROUTER_HANDOVER: i32 = 56;
    pub const TOS: i32 = 57;
    pub const SOCKS_PROXY: i32 = 68;
    pub const TCP_MAXRT: i32 = 80;
    /// Read-only: whether the socket is one of the thread-safe draft types (never, here).
    pub const THREAD_SAFE: i32 = 81;
    pub const MULTICAST_MAXTPDU: i32 = 84;
    pub const USE_FD: i32 = 89;
    pub const BINDTODEVICE: i32 = 92;
    /// Deprecated: accept ipc connections only from processes with these ids (write-only).
    pub const IPC_FILTER_PID: i32 = 58;
    pub const IPC_FILTER_UID: i32 = 59;
    pub const IPC_FILTER_GID: i32 = 60;
    // GSSAPI and VMCI: what a libzmq built without them answers (pyzmq's is): EINVAL.
    pub const GSSAPI_SERVER: i32 = 62;
    pub const GSSAPI_PRINCIPAL: i32 = 63;
    pub const GSSAPI_SERVICE_PRINCIPAL: i32 = 64;
    pub const GSSAPI_PLAINTEXT: i32 = 65;
    pub const GSSAPI_SERVICE_PRINCIPAL_NAMETYPE: i32 = 90;
    pub const GSSAPI_PRINCIPAL_NAMETYPE: i32 = 91;
    pub const VMCI_BUFFER_SIZE: i32 = 70;
    /// The same number as XPUB_MANUAL in zmq.h: by id, it is XPUB_MANUAL.
    pub const VMCI_BUFFER_MIN_SIZE: i32 = 71;
    /// The same number as XPUB_WELCOME_MSG in zmq.h: by id, it is XPUB_WELCOME_MSG.
    pub const VMCI_BUFFER_MAX_SIZE: i32 = 72;
    /// The same number as STREAM_NOTIFY in zmq.h: by id, it is STREAM_NOTIFY.
    pub const VMCI_CONNECT_TIMEOUT: i32 = 73;
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
    /// The security mechanism and its credentials, ZAP_DOMAIN, METADATA.
    pub security: Security,
    /// AFFINITY: libzmq's I/O thread bitmask; stored and read back (one runtime here).
    pub affinity: u64,
    /// RATE, RECOVERY_IVL, MULTICAST_HOPS, MULTICAST_MAXTPDU: the multicast transports'
    /// (pgm, epgm, norm, udp); stored and read back, as a libzmq without them keeps them.
    pub rate: i32,
    pub recovery_ivl: i32,
    pub multicast_hops: i32,
    pub multicast_maxtpdu: i32,
    /// MULTICAST_LOOP (udp multicast sees its own datagrams; default on) and LOOPBACK_FASTPATH
    /// (Windows' loopback fast path; default off): stored and read back, as libzmq 4.3.5 keeps
    /// them where they do nothing (it takes any int, nonzero as on).
    pub multicast_loop: bool,
    pub loopback_fastpath: bool,
    /// SNDBUF, RCVBUF: SO_SNDBUF/SO_RCVBUF of tcp sockets (-1 = the OS default).
    pub sndbuf: i32,
    pub rcvbuf: i32,
    /// TOS: IP_TOS (IPV6_TCLASS on IPv6) of tcp sockets (0 = leave the kernel's).
    pub tos: i32,
    /// TCP_MAXRT in ms: TCP_USER_TIMEOUT of tcp connections (0 = the kernel's).
    pub tcp_maxrt: i32,
    /// BINDTODEVICE: SO_BINDTODEVICE of tcp sockets (empty = none).
    pub bindtodevice: String,
    /// TCP_ACCEPT_FILTER: the networks a tcp listener accepts connections from (empty = all).
    pub tcp_accept_filters: Vec<(std::net::IpAddr, u8)>,
    /// IPC_FILTER_PID, IPC_FILTER_UID, IPC_FILTER_GID: the processes, users and groups an ipc
    /// listener accepts connections from (all empty = everyone).
    pub ipc_filter_pids: Vec<i32>,
    pub ipc_filter_uids: Vec<u32>,
    pub ipc_filter_gids: Vec<u32>,
    /// ROUTER_HANDOVER: a peer arriving with a routing id in use takes it over.
    pub router_handover: bool,
    /// ROUTER_RAW: a ROUTER whose tcp and ipc peers speak raw bytes, as STREAM's do.
    pub raw_socket: bool,
    /// USE_FD: the next tcp or ipc bind uses this listening socket instead of opening one.
    pub use_fd: Option<std::sync::Arc<std::os::fd::OwnedFd>>,
    /// SOCKS_PROXY: connect tcp endpoints through this SOCKS5 proxy (`host:port`; empty = none).
    pub socks_proxy: String,
}

/// A socket's security options, as libzmq keeps them: the mechanism follows the last option
/// that chose one (PLAIN_USERNAME makes a PLAIN client, CURVE_SERVER 1 a CURVE server, ...).
#[derive(Clone)]
pub(crate) struct Security {
    pub mechanism: Mechanism,
    /// The server role of PLAIN or CURVE.
    pub as_server: bool,
    pub plain_username: Bytes,
    pub plain_password: Zeroizing<Vec<u8>>,
    pub curve_public: Option<CurvePublicKey>,
    pub curve_secret: Option<CurveSecretKey>,
    pub curve_server: Option<CurvePublicKey>,
    pub zap_domain: String,
    pub zap_enforce_domain: bool,
    /// METADATA: the application's `X-` properties, sent in READY/INITIATE.
    pub metadata: Metadata,
}

impl Default for Security {
    fn default() -> Security {
        Security {
            mechanism: Mechanism::Null,
            as_server: false,
            plain_username: Bytes::new(),
            plain_password: Zeroizing::new(Vec::new()),
            curve_public: None,
            curve_secret: None,
            curve_server: None,
            zap_domain: String::new(),
            zap_enforce_domain: false,
            metadata: Metadata::new(),
        }
    }
}

impl std::fmt::Debug for Security {
    /// Never the password or the secret key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("mechanism", &self.mechanism)
            .field("as_server", &self.as_server)
            .field("plain_username", &self.plain_username)
            .field("zap_domain", &self.zap_domain)
            .finish_non_exhaustive()
    }
}

impl Security {
    /// libzmq's number for the mechanism (ZMQ_NULL, ZMQ_PLAIN, ZMQ_CURVE).
    pub fn mechanism_number(&self) -> i32 {
        match self.mechanism {
            Mechanism::Null => 0,
            Mechanism::Plain => 1,
            Mechanism::Curve => 2,
        }
    }

    /// The mechanism configuration a connection's handshake runs with; an error says which
    /// option is missing (a CURVE client without the server's key, a CURVE socket without
    /// its key pair).
    pub fn mechanism_config(&self) -> std::result::Result<MechanismConfig, String> {
        Ok(match self.mechanism {
            Mechanism::Null => MechanismConfig::Null,
            Mechanism::Plain if self.as_server => MechanismConfig::Plain(PlainConfig::server()),
            Mechanism::Plain => {
                MechanismConfig::Plain(PlainConfig::client(self.plain_username.clone(), &self.plain_password[..]))
            }
            Mechanism::Curve => {
                let secret = self.curve_secret.clone().ok_or("CURVE needs CURVE_SECRETKEY")?;
                let keys = CurveKeyPair::from_secret(secret);
                if let Some(public) = &self.curve_public
                    && !public.ct_eq(&keys.public)
                {
                    return Err("CURVE_PUBLICKEY is not the public key of CURVE_SECRETKEY".into());
                }
                if self.as_server {
                    MechanismConfig::Curve(CurveConfig::server(keys))
                } else {
                    let server = self.curve_server.ok_or("a CURVE client needs CURVE_SERVERKEY")?;
                    MechanismConfig::Curve(CurveConfig::client(keys, server))
                }
            }
        })
    }
}

impl Security {
    /// zmq_setsockopt of a security option, as libzmq: `None` if `id` is not one.
    pub fn set(&mut self, id: i32, v: &[u8]) -> Option<Result<()>> {
        match self.set_one(id, v) {
            Ok(false) => None,
            Ok(true) => Some(Ok(())),
            Err(e) => Some(Err(e)),
        }
    }

    /// Set a security option: `Ok(false)` if `id` is not one.
    fn set_one(&mut self, id: i32, v: &[u8]) -> Result<bool> {
        {
            match id {
                opt::PLAIN_SERVER | opt::CURVE_SERVER => {
                    let (name, mech) = if id == opt::PLAIN_SERVER {
                        ("PLAIN_SERVER", Mechanism::Plain)
                    } else {
                        ("CURVE_SERVER", Mechanism::Curve)
                    };
                    let on = match raw_i32(id, v)? {
                        0 => false,
                        1 => true,
                        n => return Err(Error::InvalidArgument(format!("{name} takes 0 or 1, got {n}"))),
                    };
                    self.as_server = on;
                    self.mechanism = if on { mech } else { Mechanism::Null };
                }
                opt::PLAIN_USERNAME | opt::PLAIN_PASSWORD => {
                    let name = if id == opt::PLAIN_USERNAME { "PLAIN_USERNAME" } else { "PLAIN_PASSWORD" };
                    if v.len() > 255 {
                        return Err(Error::InvalidArgument(format!("{name} is at most 255 bytes, got {}", v.len())));
                    }
                    if id == opt::PLAIN_USERNAME {
                        self.plain_username = Bytes::copy_from_slice(v);
                    } else {
                        self.plain_password = Zeroizing::new(v.to_vec());
                    }
                    // An empty value turns security off, as libzmq's NULL value does.
                    if v.is_empty() {
                        self.mechanism = Mechanism::Null;
                    } else {
                        self.as_server = false;
                        self.mechanism = Mechanism::Plain;
                    }
                }
                opt::CURVE_PUBLICKEY => {
                    self.curve_public = Some(CurvePublicKey(curve_key("CURVE_PUBLICKEY", v)?));
                    self.mechanism = Mechanism::Curve;
                }
                opt::CURVE_SECRETKEY => {
                    self.curve_secret = Some(CurveSecretKey::from_bytes(curve_key("CURVE_SECRETKEY", v)?));
                    self.mechanism = Mechanism::Curve;
                }
                opt::CURVE_SERVERKEY => {
                    self.curve_server = Some(CurvePublicKey(curve_key("CURVE_SERVERKEY", v)?));
                    self.as_server = false;
                    self.mechanism = Mechanism::Curve;
                }
                opt::ZAP_DOMAIN => {
                    if v.len() > 255 {
                        return Err(Error::InvalidArgument(format!(
                            "ZAP_DOMAIN is at most 255 bytes, got {}",
                            v.len()
                        )));
                    }
                    let d =
                        std::str::from_utf8(v).map_err(|_| Error::InvalidArgument("ZAP_DOMAIN must be text".into()))?;
                    self.zap_domain = d.trim_end_matches('\0').to_string();
                }
                opt::ZAP_ENFORCE_DOMAIN => self.zap_enforce_domain = raw_bool(id, v)?,
                opt::METADATA => {
                    // "X-name:value", as libzmq takes it.
                    let bad =
                        || Error::InvalidArgument("METADATA takes \"X-name:value\" (a name starting with X-)".into());
                    let text = std::str::from_utf8(v).map_err(|_| bad())?.trim_end_matches('\0');
                    let (name, value) = text.split_once(':').ok_or_else(bad)?;
                    if !name.starts_with("X-") || value.is_empty() || !Metadata::is_valid_name(name.as_bytes()) {
                        return Err(bad());
                    }
                    // A name set again keeps its first value, as libzmq's (a std::map insert).
                    if self.metadata.get(name).is_none() {
                        self.metadata.insert(name, Bytes::copy_from_slice(value.as_bytes()));
                    }
                }
                opt::MECHANISM => return Err(Error::InvalidArgument("MECHANISM is read-only".into())),
                _ => return Ok(false),
            }
            Ok(true)
        }
    }

    /// zmq_getsockopt of a security option, as libzmq returns it (strings NUL-terminated, keys
    /// as 32 bytes): `None` if `id` is not one.
    pub fn get(&self, id: i32) -> Option<Result<Vec<u8>>> {
        let int = |v: i32| Ok(v.to_ne_bytes().to_vec());
        let text = |v: &[u8]| {
            let mut out = v.to_vec();
            out.push(0);
            Ok(out)
        };
        let key = |k: Option<&[u8; 32]>| Ok(k.map_or_else(|| vec![0; 32], |k| k.to_vec()));
        Some(match id {
            opt::MECHANISM => int(self.mechanism_number()),
            opt::PLAIN_SERVER => int((self.as_server && self.mechanism == Mechanism::Plain) as i32),
            opt::CURVE_SERVER => int((self.as_server && self.mechanism == Mechanism::Curve) as i32),
            opt::PLAIN_USERNAME => text(&self.plain_username),
            opt::PLAIN_PASSWORD => text(&self.plain_password),
            opt::CURVE_PUBLICKEY => key(self.curve_public.as_ref().map(|k| &k.0)),
            opt::CURVE_SECRETKEY => key(self.curve_secret.as_ref().map(|k| k.as_bytes())),
            opt::CURVE_SERVERKEY => key(self.curve_server.as_ref().map(|k| &k.0)),
            opt::ZAP_DOMAIN => text(self.zap_domain.as_bytes()),
            opt::ZAP_ENFORCE_DOMAIN => int(self.zap_enforce_domain as i32),
            _ => return None,
        })
    }
}

/// How zmq_getsockopt hands an option's value to the caller's buffer, whose size decides what
/// it gets (libzmq 4.3.5's `do_getsockopt` and its callers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GetForm {
    /// An `int`: the buffer must be exactly 4 bytes.
    Int,
    /// An `int64_t`: exactly 8 bytes.
    Int64,
    /// An `int` that libzmq's socket (not its options) answers: a buffer of 4 bytes or more,
    /// 4 written (RCVMORE, EVENTS, THREAD_SAFE).
    IntAtLeast,
    /// A character string: the text and its NUL, into a buffer at least that long.
    Text,
    /// Binary data (ROUTING_ID): the bytes, into a buffer at least that long.
    Binary,
    /// A CURVE key: the 32 bytes into a 32-byte buffer, the 40 Z85 characters and a NUL into a
    /// 41-byte one; no other size.
    CurveKey,
}

/// The form an option readable by id comes in (`None`: not one libzmq reads back).
pub(crate) fn get_form(id: i32) -> Option<GetForm> {
    use opt::*;
    Some(match id {
        ROUTING_ID => GetForm::Binary,
        MAXMSGSIZE | AFFINITY => GetForm::Int64,
        THREAD_SAFE | RCVMORE | EVENTS | FD => GetForm::IntAtLeast,
        LAST_ENDPOINT | PLAIN_USERNAME | PLAIN_PASSWORD | ZAP_DOMAIN | SOCKS_PROXY | BINDTODEVICE => GetForm::Text,
        CURVE_PUBLICKEY | CURVE_SECRETKEY | CURVE_SERVERKEY => GetForm::CurveKey,
        SNDHWM | RCVHWM | SNDTIMEO | RCVTIMEO | LINGER | RECONNECT_IVL | RECONNECT_IVL_MAX | BACKLOG | IMMEDIATE
        | HANDSHAKE_IVL | CONNECT_TIMEOUT | TCP_KEEPALIVE | TCP_KEEPALIVE_CNT | TCP_KEEPALIVE_IDLE
        | TCP_KEEPALIVE_INTVL | IPV6 | ROUTER_MANDATORY | PROBE_ROUTER | REQ_RELAXED | REQ_CORRELATE | CONFLATE
        | INVERT_MATCHING | HEARTBEAT_IVL | HEARTBEAT_TTL | HEARTBEAT_TIMEOUT | STREAM_NOTIFY | TYPE | MECHANISM
        | PLAIN_SERVER | CURVE_SERVER | ZAP_ENFORCE_DOMAIN | RATE | RECOVERY_IVL | SNDBUF | RCVBUF | MULTICAST_HOPS
        | MULTICAST_MAXTPDU | IPV4ONLY | TOS | TCP_MAXRT | USE_FD | MULTICAST_LOOP | LOOPBACK_FASTPATH => GetForm::Int,
        _ => return None,
    })
}

/// What zmq_getsockopt returns for option `id` into a buffer of `buflen` bytes, given the value
/// as [`crate::SocketBase::get_option_raw`] has it (ints native-endian, text with its NUL, CURVE
/// keys as 32 bytes): the bytes it writes (their count is what it stores in `*optvallen`), or
/// EINVAL where libzmq refuses the size. The error never holds the value.
pub(crate) fn fit_to_buffer(id: i32, value: Vec<u8>, buflen: usize) -> Result<Vec<u8>> {
    let form = get_form(id).ok_or_else(|| Error::InvalidArgument(format!("option {id} cannot be read")))?;
    let refuse = |wants: String| {
        Err(Error::InvalidArgument(format!("option {id} reads into {wants}, not a buffer of {buflen} bytes")))
    };
    match form {
        GetForm::Int | GetForm::Int64 if buflen != value.len() => refuse(format!("exactly {} bytes", value.len())),
        GetForm::IntAtLeast if buflen < value.len() => refuse(format!("at least {} bytes", value.len())),
        GetForm::Text | GetForm::Binary if buflen < value.len() => {
            let what = if form == GetForm::Text { "its text and a NUL" } else { "its bytes" };
            refuse(format!("at least {} bytes ({what})", value.len()))
        }
        GetForm::CurveKey => match buflen {
            32 => Ok(value),
            41 => {
                let mut text = oxmq_wire::z85_encode(&value)
                    .map_err(|e| Error::InvalidArgument(format!("option {id}: {e}")))?
                    .into_bytes();
                text.push(0);
                Ok(text)
            }
            _ => refuse("32 bytes (the key) or 41 (40 Z85 characters and a NUL)".into()),
        },
        _ => Ok(value),
    }
}

/// A CURVE key as zmq_setsockopt takes it: 32 bytes, or 40 Z85 characters (41 with a
/// terminating NUL).
pub(crate) fn curve_key(name: &str, v: &[u8]) -> Result<[u8; 32]> {
    let bad = |why: String| Error::InvalidArgument(format!("{name}: {why}"));
    match v.len() {
        32 => Ok(v.try_into().expect("32 bytes")),
        40 | 41 => {
            let text = &v[..40];
            if v.len() == 41 && v[40] != 0 {
                return Err(bad("a 41-byte key must be 40 Z85 characters and a NUL".into()));
            }
            let text = std::str::from_utf8(text).map_err(|_| bad("not Z85 text".into()))?;
            let key = z85_decode(text).map_err(|e| bad(e.to_string()))?;
            Ok(key.try_into().expect("40 Z85 characters are 32 bytes"))
        }
        n => Err(bad(format!("a key is 32 bytes or 40 Z85 characters, got {n} bytes"))),
    }
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
            security: Security::default(),
            affinity: 0,
            rate: 100,
            recovery_ivl: 10_000,
            multicast_hops: 1,
            multicast_loop: true,
            loopback_fastpath: false,
            multicast_maxtpdu: 1500,
            sndbuf: -1,
            rcvbuf: -1,
            tos: 0,
            tcp_maxrt: 0,
            bindtodevice: String::new(),
            tcp_accept_filters: Vec::new(),
            router_handover: false,
            ipc_filter_pids: Vec::new(),
            ipc_filter_uids: Vec::new(),
            ipc_filter_gids: Vec::new(),
            raw_socket: false,
            use_fd: None,
            socks_proxy: String::new(),
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

pub(crate) fn check_positive(name: &str, v: i32) -> Result<i32> {
    if v <= 0 {
        return Err(Error::InvalidArgument(format!("{name} must be > 0, got {v}")));
    }
    Ok(v)
}

/// A TCP_ACCEPT_FILTER value: an IPv4 address with an optional `/bits` mask, as libzmq 4.3.5
/// takes it (an IPv6 address is refused there too, without IPV6); a trailing NUL is allowed.
pub(crate) fn parse_accept_filter(v: &[u8], ipv6: bool) -> Result<(std::net::IpAddr, u8)> {
    let bad = || Error::InvalidArgument("TCP_ACCEPT_FILTER takes an IP address with an optional /mask".into());
    let text = std::str::from_utf8(v).map_err(|_| bad())?;
    let text = text.strip_suffix('\0').unwrap_or(text);
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    };
    let ip: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
    let mapped = match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        _ => None,
    };
    // An IPv4-mapped address is IPv4's, which libzmq takes without IPV6 too.
    if ip.is_ipv6() && mapped.is_none() && !ipv6 {
        return Err(bad());
    }
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        None => max,
        // Decimal digits only (libzmq's atoi also reads "8x" as 8).
        Some(b) if !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()) => match b.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => return Err(bad()),
        },
        Some(_) => return Err(bad()),
    };
    Ok(match mapped {
        Some(v4) if bits >= 96 => (std::net::IpAddr::V4(v4), bits - 96),
        _ => (ip, bits),
    })
}

/// Whether `peer` is in the network `(net, bits)` (an IPv4-mapped IPv6 peer matches IPv4
/// networks).
pub(crate) fn accept_filter_matches(filter: &(std::net::IpAddr, u8), peer: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    };
    let (net, bits) = *filter;
    match (net, peer) {
        (IpAddr::V4(n), IpAddr::V4(p)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits as u32) };
            u32::from(n) & mask == u32::from(p) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(p)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits as u32) };
            u128::from(n) & mask == u128::from(p) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod accept_filter_tests {
    use super::*;

    #[test]
    fn filters_parse_as_libzmq_takes_them_and_match_their_network() {
        let f = parse_accept_filter(b"10.1.0.0/16", false).unwrap();
        assert!(accept_filter_matches(&f, "10.1.200.3".parse().unwrap()));
        assert!(!accept_filter_matches(&f, "10.2.0.1".parse().unwrap()));
        assert!(accept_filter_matches(&f, "::ffff:10.1.0.9".parse().unwrap()));
        let one = parse_accept_filter(b"127.0.0.1\0", false).unwrap();
        assert_eq!(one.1, 32);
        assert!(accept_filter_matches(&one, "127.0.0.1".parse().unwrap()));
        assert!(!accept_filter_matches(&one, "127.0.0.2".parse().unwrap()));
        let all = parse_accept_filter(b"10.0.0.0/0", false).unwrap();
        assert!(accept_filter_matches(&all, "192.168.1.1".parse().unwrap()));
        for bad in [&b""[..], b"foo", b"10.0.0.0/33", b"10.0.0.0/", b"10.0.0.0/+8", b"::1", b"1.2.3.4/8x"] {
            assert!(parse_accept_filter(bad, false).is_err(), "{bad:?}");
        }
        let v6 = parse_accept_filter(b"fe80::/10", true).unwrap();
        assert!(accept_filter_matches(&v6, "fe80::1".parse().unwrap()));
        assert!(!accept_filter_matches(&v6, "::1".parse().unwrap()));
        assert!(parse_accept_filter(b"::/129", true).is_err());
        let mapped = parse_accept_filter(b"::ffff:1.2.3.4", false).unwrap();
        assert!(accept_filter_matches(&mapped, "1.2.3.4".parse().unwrap()));
    }
}
