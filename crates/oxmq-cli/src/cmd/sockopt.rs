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
    /// `binary data` or `character string`: the value's bytes as given.
    Bytes,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Int => "an integer (int)",
            Kind::Bool => "0 or 1 (int)",
            Kind::Int64 => "an integer (int64_t)",
            Kind::Bytes => "bytes (binary data)",
        }
    }
}

/// One option oxmq supports: its libzmq name (lower case), id, value kind, and whether it can
/// be read back.
#[derive(Debug, Clone, Copy)]
pub struct OptionDef {
    pub name: &'static str,
    pub id: i32,
    pub kind: Kind,
    pub readable: bool,
}

const fn def(name: &'static str, id: i32, kind: Kind) -> OptionDef {
    OptionDef { name, id, kind, readable: true }
}

const fn write_only(name: &'static str, id: i32, kind: Kind) -> OptionDef {
    OptionDef { name, id, kind, readable: false }
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
];

/// libzmq's older names for options above (zmq.h keeps them as aliases).
const ALIASES: &[(&str, &str)] =
    &[("identity", "routing_id"), ("connect_rid", "connect_routing_id"), ("delay_attach_on_connect", "immediate")];

/// libzmq options oxmq does not have (security mechanisms, multicast, kernel buffer sizes,
/// ...): named so that the error says so rather than "unknown".
const UNSUPPORTED: &[&str] = &[
    "affinity",
    "rate",
    "recovery_ivl",
    "sndbuf",
    "rcvbuf",
    "multicast_hops",
    "ipv4only",
    "tcp_accept_filter",
    "router_raw",
    "mechanism",
    "plain_server",
    "plain_username",
    "plain_password",
    "curve_server",
    "curve_publickey",
    "curve_secretkey",
    "curve_serverkey",
    "zap_domain",
    "router_handover",
    "tos",
    "ipc_filter_pid",
    "ipc_filter_uid",
    "ipc_filter_gid",
    "gssapi_server",
    "gssapi_principal",
    "gssapi_service_principal",
    "gssapi_plaintext",
    "socks_proxy",
    "tcp_maxrt",
    "multicast_maxtpdu",
    "use_fd",
    "bindtodevice",
    "zap_enforce_domain",
    "loopback_fastpath",
    "metadata",
    "multicast_loop",
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
const READ_ONLY: &[&str] = &["type", "rcvmore", "events", "fd", "last_endpoint", "mechanism", "thread_safe"];

/// A parsed `--opt NAME=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockOpt {
    /// The option's libzmq name, in upper case (as errors print it).
    pub name: String,
    pub id: i32,
    /// The value encoded as zmq_setsockopt takes it.
    pub value: Vec<u8>,
    /// The value as given (for messages).
    pub given: String,
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
/// socket).
pub fn parse_opt(s: &str) -> Result<SockOpt, String> {
    let (name, value) =
        s.split_once('=').ok_or_else(|| format!("expected NAME=VALUE, e.g. sndhwm=1000 or linger=0, not {s:?}"))?;
    let d = lookup(name)?;
    let upper = d.name.to_ascii_uppercase();
    let bad = || format!("bad value {value:?} for {upper}: expected {}", d.kind.describe());
    let bytes = match d.kind {
        Kind::Int => value.trim().parse::<i32>().map_err(|_| bad())?.to_ne_bytes().to_vec(),
        Kind::Int64 => value.trim().parse::<i64>().map_err(|_| bad())?.to_ne_bytes().to_vec(),
        Kind::Bool => {
            let on = match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "on" | "yes" => 1i32,
                "0" | "false" | "off" | "no" => 0,
                _ => return Err(bad()),
            };
            on.to_ne_bytes().to_vec()
        }
        Kind::Bytes => value.as_bytes().to_vec(),
    };
    Ok(SockOpt { name: upper, id: d.id, value: bytes, given: value.to_string() })
}

/// Sets each `--opt` on `socket`; the error names the option and says why.
pub fn apply(socket: &Socket, opts: &[SockOpt]) -> CmdResult {
    for o in opts {
        socket.set_option_raw(o.id, &o.value).map_err(|e| {
            let why = match e {
                oxmq::Error::InvalidArgument(why) => why,
                e => e.to_string(),
            };
            Exit::setup(format!("--opt {}={}: {why}", o.name.to_ascii_lowercase(), o.given))
        })?;
    }
    Ok(())
}

/// The help of `--opt`, shared by every command.
pub const OPT_HELP: &str = "Set a socket option by its libzmq name (zmq_setsockopt(3), any case, \
without ZMQ_), repeatable: --opt sndhwm=10 --opt linger=0 --opt heartbeat_ivl=1000. Values: \
integers for int options (ms for times, -1 where libzmq allows it), 0/1 for flags, the text \
itself for routing_id and other binary options. Applied after --timeout, so they override it. \
`oxmq options` lists them all";

/// Options of `oxmq options`.
#[derive(Debug, Args)]
pub struct OptionsArgs {
    /// The socket type whose options to show (any case).
    #[arg(short = 't', long = "type", value_name = "TYPE", default_value = "PAIR", value_parser = parse_type)]
    pub ty: SocketType,
    #[arg(long = "opt", value_name = "NAME=VALUE", value_parser = parse_opt, help = OPT_HELP)]
    pub opts: Vec<SockOpt>,
}

/// `oxmq options`: one line per supported option, `name<TAB>id<TAB>type<TAB>value` (value `-`
/// for the write-only ones), as a socket of `--type` holds it after the `--opt`s.
pub fn options(a: &OptionsArgs) -> CmdResult {
    let ctx = Context::new();
    let socket = ctx.socket(a.ty).map_err(setup_err(format_args!("cannot create a {} socket", a.ty)))?;
    apply(&socket, &a.opts)?;
    let mut out = String::new();
    for d in OPTIONS {
        let value = if d.readable {
            let raw = socket.get_option_raw(d.id).map_err(|e| Exit::failed(format!("cannot read {}: {e}", d.name)))?;
            render(d.kind, &raw)
        } else {
            "-".to_string()
        };
        let kind = match d.kind {
            Kind::Int => "int",
            Kind::Bool => "bool",
            Kind::Int64 => "int64",
            Kind::Bytes => "bytes",
        };
        out.push_str(&format!("{}\t{}\t{kind}\t{value}\n", d.name, d.id));
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
        Kind::Bytes => String::from_utf8_lossy(raw).into_owned(),
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
        let e = lookup("curve_server").unwrap_err();
        assert!(e.contains("CURVE_SERVER") && e.contains("does not support"), "{e}");
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
        assert!(parse_opt("sndhwm").unwrap_err().contains("NAME=VALUE"));
    }
}
