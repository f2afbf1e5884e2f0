//! `--opt NAME=VALUE`: any socket option by its libzmq name (as in zmq_setsockopt(3), without
//! the `ZMQ_` prefix, in any case), its value in the form the man page gives its type, and
//! `oxmq options`, which prints what a socket of a type holds after the `--opt`s.

use super::spec::parse_type;
use super::{CmdResult, Exit, setup_err};
use clap::Args;
use oxmq::{Context, Socket, SocketType, opt};

/// How an option's value is written on the command line and passed to the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `int`: a decimal integer (-1 where the man page allows it).
    Int,
    /// `int` used as a flag: 0 or 1 (also true/false, on/off, yes/no).
    Bool,
    /// `int64_t`: a decimal integer.
    Int64,
    /// `binary data`: the value's bytes as given, or `hex:` and hex digits.
    Bytes,
    /// `character string`: the text as given, or `hex:` and hex digits; read back without
    /// the NUL libzmq adds.
    Text,
    /// A CURVE key: 40 Z85 characters (as `oxmq keygen` prints them), or `hex:` and 64 hex
    /// digits; read back as Z85 (what zmq_getsockopt gives a 41-byte buffer).
    Key,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Int => "an integer (int)",
            Kind::Bool => "0 or 1 (int)",
            Kind::Int64 => "an integer (int64_t)",
            Kind::Bytes => "bytes (binary data)",
            Kind::Text => "text (character string)",
            Kind::Key => "a CURVE key: 40 Z85 characters, or hex: and 64 hex digits",
        }
    }

    /// The name `oxmq options` prints in its type column.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Int => "int",
            Kind::Bool => "bool",
            Kind::Int64 => "int64",
            Kind::Bytes => "bytes",
            Kind::Text => "text",
            Kind::Key => "key",
        }
    }
}

/// The prefix of a binary value given in hex: `--opt routing_id=hex:00ff10`.
pub const HEX_PREFIX: &str = "hex:";

/// One option oxmq supports: its libzmq name (lower case), id, value kind, whether it can be
/// read back and set, and whether its value is a secret (never echoed).
#[derive(Debug, Clone, Copy)]
pub struct OptionDef {
    pub name: &'static str,
    pub id: i32,
    pub kind: Kind,
    pub readable: bool,
    pub settable: bool,
    pub secret: bool,
}

const fn def(name: &'static str, id: i32, kind: Kind) -> OptionDef {
    OptionDef { name, id, kind, readable: true, settable: true, secret: false }
}

const fn write_only(name: &'static str, id: i32, kind: Kind) -> OptionDef {
    OptionDef { readable: false, ..def(name, id, kind) }
}

const fn read_only(name: &'static str, id: i32, kind: Kind) -> OptionDef {
    OptionDef { settable: false, ..def(name, id, kind) }
}

const fn secret(name: &'static str, id: i32, kind: Kind) -> OptionDef {
    OptionDef { secret: true, ..def(name, id, kind) }
}

/// Every option oxmq's sockets take, by libzmq's name and id.
pub const OPTIONS: &[OptionDef] = &[
    def("routing_id", opt::ROUTING_ID, Kind::Bytes),
    write_only("subscribe", opt::SUBSCRIBE, Kind::Bytes),
    write_only("unsubscribe", opt::UNSUBSCRIBE, Kind::Bytes),
    def("linger", opt::LINGER, Kind::Int),
    def("reconnect_ivl", opt::RECONNECT_IVL, Kind::Int),
    def("backlog", opt::BACKLOG, Kind::Int),
    def("reconnect_ivl_max", opt::RECONNECT_IVL_MAX, Kind::Int),
    def("maxmsgsize", opt::MAXMSGSIZE, Kind::Int64),
    def("sndhwm", opt::SNDHWM, Kind::Int),
    def("rcvhwm", opt::RCVHWM, Kind::Int),
    def("rcvtimeo", opt::RCVTIMEO, Kind::Int),
    def("sndtimeo", opt::SNDTIMEO, Kind::Int),
    def("router_mandatory", opt::ROUTER_MANDATORY, Kind::Bool),
    def("tcp_keepalive", opt::TCP_KEEPALIVE, Kind::Int),
    def("tcp_keepalive_cnt", opt::TCP_KEEPALIVE_CNT, Kind::Int),
    def("tcp_keepalive_idle", opt::TCP_KEEPALIVE_IDLE, Kind::Int),
    def("tcp_keepalive_intvl", opt::TCP_KEEPALIVE_INTVL, Kind::Int),
    def("immediate", opt::IMMEDIATE, Kind::Bool),
    write_only("xpub_verbose", opt::XPUB_VERBOSE, Kind::Bool),
    def("ipv6", opt::IPV6, Kind::Bool),
    def("probe_router", opt::PROBE_ROUTER, Kind::Bool),
    def("req_correlate", opt::REQ_CORRELATE, Kind::Bool),
    def("req_relaxed", opt::REQ_RELAXED, Kind::Bool),
    def("conflate", opt::CONFLATE, Kind::Bool),
    write_only("connect_routing_id", opt::CONNECT_ROUTING_ID, Kind::Bytes),
    def("handshake_ivl", opt::HANDSHAKE_IVL, Kind::Int),
    write_only("xpub_nodrop", opt::XPUB_NODROP, Kind::Bool),
    write_only("xpub_manual", opt::XPUB_MANUAL, Kind::Bool),
    write_only("xpub_welcome_msg", opt::XPUB_WELCOME_MSG, Kind::Bytes),
    def("stream_notify", opt::STREAM_NOTIFY, Kind::Bool),
    def("invert_matching", opt::INVERT_MATCHING, Kind::Bool),
    def("heartbeat_ivl", opt::HEARTBEAT_IVL, Kind::Int),
    def("heartbeat_ttl", opt::HEARTBEAT_TTL, Kind::Int),
    def("heartbeat_timeout", opt::HEARTBEAT_TIMEOUT, Kind::Int),
    write_only("xpub_verboser", opt::XPUB_VERBOSER, Kind::Bool),
    def("connect_timeout", opt::CONNECT_TIMEOUT, Kind::Int),
    // Security: setting one chooses the mechanism, as in libzmq (plain_username makes a PLAIN
    // client, curve_server=1 a CURVE server, curve_serverkey a CURVE client, ...).
    read_only("mechanism", opt::MECHANISM, Kind::Int),
    def("plain_server", opt::PLAIN_SERVER, Kind::Bool),
    def("plain_username", opt::PLAIN_USERNAME, Kind::Text),
    secret("plain_password", opt::PLAIN_PASSWORD, Kind::Text),
    def("curve_server", opt::CURVE_SERVER, Kind::Bool),
    def("curve_publickey", opt::CURVE_PUBLICKEY, Kind::Key),
    secret("curve_secretkey", opt::CURVE_SECRETKEY, Kind::Key),
    def("curve_serverkey", opt::CURVE_SERVERKEY, Kind::Key),
    def("zap_domain", opt::ZAP_DOMAIN, Kind::Text),
    def("zap_enforce_domain", opt::ZAP_ENFORCE_DOMAIN, Kind::Bool),
    // "X-name:value"; repeatable, a name set again keeps its first value (as libzmq).
    write_only("metadata", opt::METADATA, Kind::Text),
    // Kernel settings of tcp connections.
    def("sndbuf", opt::SNDBUF, Kind::Int),
    def("rcvbuf", opt::RCVBUF, Kind::Int),
    def("tos", opt::TOS, Kind::Int),
    def("tcp_maxrt", opt::TCP_MAXRT, Kind::Int),
    def("bindtodevice", opt::BINDTODEVICE, Kind::Text),
    def("socks_proxy", opt::SOCKS_PROXY, Kind::Text),
    // An address with an optional /mask; repeatable (each adds a network).
    write_only("tcp_accept_filter", opt::TCP_ACCEPT_FILTER, Kind::Text),
    def("ipv4only", opt::IPV4ONLY, Kind::Bool),
    write_only("router_handover", opt::ROUTER_HANDOVER, Kind::Bool),
    // Each adds a process, user or group an ipc listener accepts; repeatable.
    write_only("ipc_filter_pid", opt::IPC_FILTER_PID, Kind::Int),
    write_only("ipc_filter_uid", opt::IPC_FILTER_UID, Kind::Int),
    write_only("ipc_filter_gid", opt::IPC_FILTER_GID, Kind::Int),
    // Raw tcp peers on a ROUTER (deprecated in libzmq; STREAM is its successor).
    write_only("router_raw", opt::ROUTER_RAW, Kind::Bool),
    read_only("thread_safe", opt::THREAD_SAFE, Kind::Bool),
    // Kept and read back only, as libzmq keeps them without the multicast transports.
    def("affinity", opt::AFFINITY, Kind::Int64),
    def("rate", opt::RATE, Kind::Int),
    def("recovery_ivl", opt::RECOVERY_IVL, Kind::Int),
    def("multicast_hops", opt::MULTICAST_HOPS, Kind::Int),
    def("multicast_maxtpdu", opt::MULTICAST_MAXTPDU, Kind::Int),
    def("multicast_loop", opt::MULTICAST_LOOP, Kind::Bool),
    def("loopback_fastpath", opt::LOOPBACK_FASTPATH, Kind::Bool),
];

/// libzmq's older names for options above (zmq.h keeps them as aliases).
const ALIASES: &[(&str, &str)] =
    &[("identity", "routing_id"), ("connect_rid", "connect_routing_id"), ("delay_attach_on_connect", "immediate")];

/// libzmq options oxmq does not have (GSSAPI, as a libzmq built without it; USE_FD,
/// which takes a descriptor the Rust API is handed, not a number; libzmq's drafts, ...): named
/// so that the error says so rather than "unknown".
const UNSUPPORTED: &[&str] = &[
    "gssapi_server",
    "gssapi_principal",
    "gssapi_service_principal",
    "gssapi_plaintext",
    "gssapi_principal_nametype",
    "gssapi_service_principal_nametype",
    "vmci_buffer_size",
    "vmci_buffer_min_size",
    "vmci_buffer_max_size",
    "vmci_connect_timeout",
    "use_fd",
    "router_notify",
    "xpub_manual_last_value",
    "socks_username",
    "socks_password",
    "in_batch_size",
    "out_batch_size",
    "only_first_subscribe",
    "reconnect_stop",
    "hello_msg",
    "disconnect_msg",
    "hiccup_msg",
    "priority",
    "busy_poll",
    "xsub_verbose_unsubscribe",
];

/// libzmq's read-only options: `--opt` says they cannot be set.
const READ_ONLY: &[&str] = &["type", "rcvmore", "events", "fd", "last_endpoint"];

/// A parsed `--opt NAME=VALUE`.
///
/// An error that could show a secret (a bad value of `curve_secretkey` or `plain_password`, any
/// value of a name that is not known, which may be a misspelt secret one, or an argument
/// without `=`) is not returned to clap, which would print the whole argument, but kept here
/// and reported by [`apply`] without the value.
#[derive(Clone, PartialEq, Eq)]
pub struct SockOpt {
    /// The option's libzmq name, in upper case (as errors print it).
    pub name: String,
    pub id: i32,
    /// The value encoded as zmq_setsockopt takes it.
    pub value: Vec<u8>,
    /// The value as given (for messages; empty for a secret one).
    pub given: String,
    /// Why the option cannot be set, found while parsing; [`apply`] reports it.
    pub error: Option<String>,
}

impl std::fmt::Debug for SockOpt {
    /// Without the value: it may be a secret key or a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SockOpt").field("name", &self.name).field("id", &self.id).finish_non_exhaustive()
    }
}

/// Finds an option by its libzmq name (any case, `ZMQ_` prefix allowed, `-` for `_`).
pub fn lookup(name: &str) -> Result<&'static OptionDef, String> {
    let mut key = name.trim().to_ascii_lowercase().replace('-', "_");
    if let Some(rest) = key.strip_prefix("zmq_") {
        key = rest.to_string();
    }
    let key = ALIASES.iter().find(|(old, _)| *old == key).map_or(key.as_str(), |(_, new)| new);
    if let Some(d) = OPTIONS.iter().find(|d| d.name == key) {
        return Ok(d);
    }
    let upper = key.to_ascii_uppercase();
    if READ_ONLY.contains(&key) {
        return Err(format!("socket option {upper} is read-only in libzmq: it cannot be set"));
    }
    if UNSUPPORTED.contains(&key) {
        return Err(format!("socket option {upper} is libzmq's, but oxmq does not support it"));
    }
    let close: Vec<&str> = OPTIONS.iter().map(|d| d.name).filter(|n| similar(n, key)).collect();
    let hint = if close.is_empty() {
        "; `oxmq options` lists the supported ones".to_string()
    } else {
        format!(" (did you mean {}?)", close.join(" or "))
    };
    Err(format!("unknown socket option {name:?}{hint}"))
}

/// Whether two names are a typo apart: one edit (insert, delete, substitute) or two letters
/// swapped.
fn similar(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[p..], &b[p..]);
    let tail = |x: &[u8], y: &[u8]| x.iter().rev().zip(y.iter().rev()).take_while(|(u, v)| u == v).count();
    let s = tail(ra, rb);
    let (ma, mb) = (ra.len().saturating_sub(s), rb.len().saturating_sub(s));
    (ma <= 1 && mb <= 1) || (ma == 2 && mb == 2 && ra[0] == rb[1] && ra[1] == rb[0])
}

/// Parses `NAME=VALUE` (the value checked against the option's type, not yet against the
/// socket). Errors that could show a secret are kept for [`apply`] (see [`SockOpt`]).
pub fn parse_opt(s: &str) -> Result<SockOpt, String> {
    let expected = || Ok(deferred(String::new(), 0, "expected NAME=VALUE, e.g. sndhwm=1000 or linger=0".into()));
    let Some((name, value)) = s.split_once('=') else {
        // Perhaps a secret given with another separator: not for clap to print either.
        return expected();
    };
    // No option name has other characters: this is a secret given with another separator
    // whose Z85 text holds a '=' (`curve_secretkey:f=...`), and the "name" is part of it.
    if !name.trim().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return expected();
    }
    let d = match lookup(name) {
        Ok(d) => d,
        // The value may be a secret given under a misspelt name: not for clap to print.
        Err(why) => return Ok(deferred(name.trim().to_ascii_uppercase(), 0, why)),
    };
    let upper = d.name.to_ascii_uppercase();
    if !d.settable {
        return Err(format!(
            "socket option {upper} is read-only in libzmq: it cannot be set (the security options \
             choose it: plain_server, plain_username, curve_server, curve_serverkey, ...)"
        ));
    }
    match encode(d, value) {
        Ok(bytes) => {
            let given = if d.secret { String::new() } else { value.to_string() };
            Ok(SockOpt { name: upper, id: d.id, value: bytes, given, error: None })
        }
        Err(why) if d.secret => Ok(deferred(upper.clone(), d.id, format!("bad value for {upper}: {why}"))),
        Err(why) => Err(format!("bad value {value:?} for {upper}: {why}")),
    }
}

/// A `--opt` whose error [`apply`] reports.
fn deferred(name: String, id: i32, why: String) -> SockOpt {
    SockOpt { name, id, value: Vec::new(), given: String::new(), error: Some(why) }
}

/// An option's value as zmq_setsockopt takes it; the error says what was expected, without
/// the value.
fn encode(d: &OptionDef, value: &str) -> Result<Vec<u8>, String> {
    let expected = || format!("expected {}", d.kind.describe());
    let hex = |digits: &str| super::input::unhex(digits.as_bytes()).map_err(|e| format!("{e} after {HEX_PREFIX}"));
    Ok(match d.kind {
        Kind::Int => value.trim().parse::<i32>().map_err(|_| expected())?.to_ne_bytes().to_vec(),
        Kind::Int64 => value.trim().parse::<i64>().map_err(|_| expected())?.to_ne_bytes().to_vec(),
        Kind::Bool => {
            let on = match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "on" | "yes" => 1i32,
                "0" | "false" | "off" | "no" => 0,
                _ => return Err(expected()),
            };
            on.to_ne_bytes().to_vec()
        }
        Kind::Bytes | Kind::Text => match value.strip_prefix(HEX_PREFIX) {
            Some(digits) => hex(digits)?,
            None => value.as_bytes().to_vec(),
        },
        Kind::Key => {
            // 40 Z85 characters (even ones that start with "hex:": Z85 has ':'), or hex: and
            // the 32 bytes in hex.
            let key = match value.strip_prefix(HEX_PREFIX) {
                Some(digits) if value.len() != 40 => hex(digits)?,
                _ if value.len() == 40 => oxmq::z85_decode(value).map_err(|e| format!("{e}; {}", expected()))?,
                _ => return Err(format!("{}, got {} characters", expected(), value.len())),
            };
            if key.len() != 32 {
                return Err(format!("{}, got {} bytes", expected(), key.len()));
            }
            key
        }
    })
}

/// Sets each `--opt` on `socket`, in order; the error names the option and says why (never
/// with a secret value).
pub fn apply(socket: &Socket, opts: &[SockOpt]) -> CmdResult {
    for o in opts {
        let shown = match (o.name.is_empty(), o.given.is_empty()) {
            (true, _) => "--opt".to_string(),
            (false, true) => format!("--opt {}", o.name.to_ascii_lowercase()),
            (false, false) => format!("--opt {}={}", o.name.to_ascii_lowercase(), o.given),
        };
        if let Some(why) = &o.error {
            return Err(Exit::setup(format!("{shown}: {why}")));
        }
        socket.set_option_raw(o.id, &o.value).map_err(|e| {
            let why = match e {
                oxmq::Error::InvalidArgument(why) => why,
                e => e.to_string(),
            };
            Exit::setup(format!("{shown}: {why}"))
        })?;
    }
    Ok(())
}

/// The help of `--opt`, shared by every command.
pub const OPT_HELP: &str = "Set a socket option by its libzmq name (zmq_setsockopt(3), any case, \
without ZMQ_), repeatable: --opt sndhwm=10 --opt linger=0 --opt heartbeat_ivl=1000. Values: \
integers for int options (ms for times, -1 where libzmq allows it), 0/1 for flags, the text \
itself for routing_id, subscribe and other binary or string options, or hex:DIGITS for any bytes \
(--opt routing_id=hex:00ff10; a text value that itself starts with hex: must be given in hex). \
Security: plain_server=1, plain_username=U, plain_password=P, curve_server=1, \
curve_publickey=KEY, curve_secretkey=KEY, curve_serverkey=KEY (40 Z85 characters, as `oxmq \
keygen` prints them, or hex: and 64 digits), zap_domain=D, zap_enforce_domain=1, \
metadata=X-Name:value (repeatable); mechanism is read-only. Secret values are never echoed. \
Applied after --timeout, so they override it. `oxmq options` lists them all";

/// Options of `oxmq options`.
#[derive(Debug, Args)]
pub struct OptionsArgs {
    /// The socket type whose options to show (any case).
    #[arg(short = 't', long = "type", value_name = "TYPE", default_value = "PAIR", value_parser = parse_type)]
    pub ty: SocketType,
    #[arg(long = "opt", value_name = "NAME=VALUE", value_parser = parse_opt, help = OPT_HELP)]
    pub opts: Vec<SockOpt>,
    /// Print the secret options' values (curve_secretkey, plain_password) instead of
    /// `(hidden)`.
    #[arg(long = "show-secrets")]
    pub show_secrets: bool,
}

/// `oxmq options`: one line per supported option, `name<TAB>id<TAB>type<TAB>value` (value `-`
/// for the write-only ones), as a socket of `--type` holds it after the `--opt`s. Binary and
/// text values print as text when they are printable UTF-8, else as `hex:` and their digits
/// (the form `--opt` takes); CURVE keys as Z85.
pub fn options(a: &OptionsArgs) -> CmdResult {
    let ctx = Context::new();
    let socket = ctx.socket(a.ty).map_err(setup_err(format_args!("cannot create a {} socket", a.ty)))?;
    apply(&socket, &a.opts)?;
    let mut out = String::new();
    for d in OPTIONS {
        let value = if !d.readable {
            "-".to_string()
        } else if d.secret && !a.show_secrets {
            "(hidden)".to_string()
        } else {
            // A CURVE key into a 41-byte buffer comes as Z85 and a NUL, as libzmq gives it.
            let read =
                if d.kind == Kind::Key { socket.get_option_sized(d.id, 41) } else { socket.get_option_raw(d.id) };
            let raw = read.map_err(|e| Exit::failed(format!("cannot read {}: {e}", d.name)))?;
            render(d.kind, &raw)
        };
        out.push_str(&format!("{}\t{}\t{}\t{value}\n", d.name, d.id, d.kind.name()));
    }
    print!("{out}");
    Ok(())
}

/// An option's value as zmq_getsockopt returned it, printed.
fn render(kind: Kind, raw: &[u8]) -> String {
    match kind {
        Kind::Int | Kind::Bool => {
            raw.get(..4).map_or("?".into(), |b| i32::from_ne_bytes(b.try_into().unwrap()).to_string())
        }
        Kind::Int64 => raw.get(..8).map_or("?".into(), |b| i64::from_ne_bytes(b.try_into().unwrap()).to_string()),
        Kind::Text | Kind::Key => render_bytes(raw.strip_suffix(&[0]).unwrap_or(raw)),
        Kind::Bytes => render_bytes(raw),
    }
}

/// Bytes as text if they are printable UTF-8 that `--opt` would read back as the same bytes,
/// else as `hex:` and their digits.
fn render_bytes(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(text) if !text.starts_with(HEX_PREFIX) && !text.chars().any(char::is_control) => text.to_string(),
        _ => {
            let mut out = HEX_PREFIX.as_bytes().to_vec();
            super::format::hex_into(&mut out, raw);
            String::from_utf8(out).expect("hex digits")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_form() {
        for name in ["sndhwm", "SNDHWM", "ZMQ_SNDHWM", "zmq_sndhwm"] {
            assert_eq!(lookup(name).unwrap().id, opt::SNDHWM, "{name}");
        }
        assert_eq!(lookup("identity").unwrap().id, opt::ROUTING_ID);
        assert_eq!(lookup("heartbeat-ivl").unwrap().id, opt::HEARTBEAT_IVL);
    }

    #[test]
    fn unknown_unsupported_and_read_only_are_told_apart() {
        let e = lookup("sndhmw").unwrap_err();
        assert!(e.contains("unknown socket option \"sndhmw\"") && e.contains("did you mean sndhwm"), "{e}");
        let e = lookup("lingr").unwrap_err();
        assert!(e.contains("did you mean linger"), "{e}");
        let e = lookup("gssapi_server").unwrap_err();
        assert!(e.contains("GSSAPI_SERVER") && e.contains("does not support"), "{e}");
        let e = parse_opt("mechanism=1").unwrap_err();
        assert!(e.contains("MECHANISM is read-only") && e.contains("curve_server"), "{e}");
        let e = lookup("rcvmore").unwrap_err();
        assert!(e.contains("RCVMORE") && e.contains("read-only"), "{e}");
        assert!(lookup("nonsense").unwrap_err().contains("oxmq options"));
    }

    #[test]
    fn values_by_type() {
        let o = parse_opt("linger=-1").unwrap();
        assert_eq!((o.id, o.value.clone()), (opt::LINGER, (-1i32).to_ne_bytes().to_vec()));
        assert_eq!(parse_opt("immediate=true").unwrap().value, 1i32.to_ne_bytes());
        assert_eq!(parse_opt("maxmsgsize=5000000000").unwrap().value, 5_000_000_000i64.to_ne_bytes());
        assert_eq!(parse_opt("routing_id=a=b").unwrap().value, b"a=b");
        let e = parse_opt("sndhwm=lots").unwrap_err();
        assert!(e.contains("bad value \"lots\" for SNDHWM") && e.contains("integer"), "{e}");
        assert!(parse_opt("conflate=2").unwrap_err().contains("0 or 1"));
        let o = parse_opt("curve_secretkey:D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs").unwrap();
        assert!(o.error.unwrap().contains("expected NAME=VALUE") && o.given.is_empty());
        // The same with a '=' in the key: the part before it is not echoed as a name.
        let o = parse_opt("curve_secretkey:f=Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%csD:)").unwrap();
        assert!(o.error.unwrap().contains("expected NAME=VALUE") && o.name.is_empty());
    }

    const KEY: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

    #[test]
    fn hex_values_and_keys() {
        assert_eq!(parse_opt("routing_id=hex:00ff10").unwrap().value, [0x00, 0xff, 0x10]);
        assert_eq!(parse_opt("subscribe=hex:").unwrap().value, b"");
        assert_eq!(parse_opt("zap_domain=HEX:41").unwrap().value, b"HEX:41", "only hex: in lower case");
        let e = parse_opt("routing_id=hex:0g").unwrap_err();
        assert!(e.contains("ROUTING_ID") && e.contains("'g' is not a hex digit"), "{e}");
        let raw = oxmq::z85_decode(KEY).unwrap();
        assert_eq!(parse_opt(&format!("curve_serverkey={KEY}")).unwrap().value, raw);
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse_opt(&format!("curve_publickey=hex:{hex}")).unwrap().value, raw);
        // A Z85 key may start with "hex:" (Z85 has ':'): its length tells it apart.
        let z85 = "hex:".to_string() + &KEY[4..];
        assert_eq!(parse_opt(&format!("curve_publickey={z85}")).unwrap().value.len(), 32);
        for bad in ["short", &KEY[1..], "hex:00", &format!("{}~", &KEY[1..])] {
            let e = parse_opt(&format!("curve_serverkey={bad}")).unwrap_err();
            assert!(e.contains("CURVE_SERVERKEY") && e.contains("40 Z85 characters"), "{bad}: {e}");
        }
    }

    #[test]
    fn secret_values_are_never_in_errors_or_debug() {
        let secret = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%c"; // 39 characters: bad
        for arg in
            [format!("curve_secretkey={secret}"), format!("curve_secrtkey={secret}"), format!("nonsense={secret}")]
        {
            let o = parse_opt(&arg).expect("kept for apply, not clap");
            let why = o.error.clone().expect("an error");
            assert!(!why.contains(secret) && !format!("{o:?}").contains(secret), "{why}");
        }
        let o = parse_opt("plain_password=hunter2").unwrap();
        assert!(o.error.is_none() && o.given.is_empty() && !format!("{o:?}").contains("hunter2"));
        assert_eq!(o.value, b"hunter2");
    }

    #[test]
    fn values_print_as_text_or_hex() {
        assert_eq!(render(Kind::Bytes, b"peer-7"), "peer-7");
        assert_eq!(render(Kind::Bytes, &[0, 0xff, 0x10]), "hex:00ff10");
        assert_eq!(render(Kind::Bytes, b"hex:41"), "hex:6865783a3431", "read back by --opt as itself");
        assert_eq!(render(Kind::Text, b"global\0"), "global");
        assert_eq!(render(Kind::Key, format!("{KEY}\0").as_bytes()), KEY);
    }
}
