//! Socket options (zmq_setsockopt(3) / zmq_getsockopt(3)): defaults, round-trips through the
//! typed and the raw calls with libzmq's ids, invalid values, and the options whose effect is
//! easy to observe; and endpoint strings (zmq_tcp(7), zmq_ipc(7), zmq_inproc(7)).

mod common;

use std::time::{Duration, Instant};

use common::{
    QUIET_MS, Transport, bind, expect_msg, expect_nothing, have_ipv6_loopback, recv_msg, socket, unique_name,
};
use oxmq::{Context, Error, Socket, SocketBase, SocketType, opt};

use SocketType::{Dealer, Pair, Pull, Push, Rep, Req, Router};

const TYPES: [SocketType; 7] = [Pair, Req, Rep, Dealer, Router, Pull, Push];

type SetInt = fn(&SocketBase, i32) -> oxmq::Result<()>;
type GetInt = fn(&SocketBase) -> oxmq::Result<i32>;

/// An int option: name, libzmq id, setter, getter, libzmq default, a valid non-default value,
/// and the largest invalid value just below its range.
struct IntOpt {
    name: &'static str,
    id: i32,
    set: SetInt,
    get: GetInt,
    default: i32,
    value: i32,
    first_invalid: i32,
}

fn int_options() -> Vec<IntOpt> {
    let o = |name, id, set: SetInt, get: GetInt, default, value, first_invalid| IntOpt {
        name,
        id,
        set,
        get,
        default,
        value,
        first_invalid,
    };
    vec![
        o("SNDHWM", opt::SNDHWM, SocketBase::set_sndhwm, SocketBase::sndhwm, 1000, 7, -1),
        o("RCVHWM", opt::RCVHWM, SocketBase::set_rcvhwm, SocketBase::rcvhwm, 1000, 0, -1),
        o("SNDTIMEO", opt::SNDTIMEO, SocketBase::set_sndtimeo, SocketBase::sndtimeo, -1, 250, -2),
        o("RCVTIMEO", opt::RCVTIMEO, SocketBase::set_rcvtimeo, SocketBase::rcvtimeo, -1, 0, -2),
        o("LINGER", opt::LINGER, SocketBase::set_linger, SocketBase::linger, -1, 0, -2),
        o("RECONNECT_IVL", opt::RECONNECT_IVL, SocketBase::set_reconnect_ivl, SocketBase::reconnect_ivl, 100, -1, -2),
        o(
            "RECONNECT_IVL_MAX",
            opt::RECONNECT_IVL_MAX,
            SocketBase::set_reconnect_ivl_max,
            SocketBase::reconnect_ivl_max,
            0,
            5000,
            -1,
        ),
        o("BACKLOG", opt::BACKLOG, SocketBase::set_backlog, SocketBase::backlog, 100, 17, -1),
        o("HANDSHAKE_IVL", opt::HANDSHAKE_IVL, SocketBase::set_handshake_ivl, SocketBase::handshake_ivl, 30000, 0, -1),
        o(
            "CONNECT_TIMEOUT",
            opt::CONNECT_TIMEOUT,
            SocketBase::set_connect_timeout,
            SocketBase::connect_timeout,
            0,
            250,
            -1,
        ),
        o("TCP_KEEPALIVE", opt::TCP_KEEPALIVE, SocketBase::set_tcp_keepalive, SocketBase::tcp_keepalive, -1, 1, -2),
        o(
            "TCP_KEEPALIVE_CNT",
            opt::TCP_KEEPALIVE_CNT,
            SocketBase::set_tcp_keepalive_cnt,
            SocketBase::tcp_keepalive_cnt,
            -1,
            3,
            -2,
        ),
        o(
            "TCP_KEEPALIVE_IDLE",
            opt::TCP_KEEPALIVE_IDLE,
            SocketBase::set_tcp_keepalive_idle,
            SocketBase::tcp_keepalive_idle,
            -1,
            60,
            -2,
        ),
        o(
            "TCP_KEEPALIVE_INTVL",
            opt::TCP_KEEPALIVE_INTVL,
            SocketBase::set_tcp_keepalive_intvl,
            SocketBase::tcp_keepalive_intvl,
            -1,
            10,
            -2,
        ),
        o("SNDBUF", opt::SNDBUF, SocketBase::set_sndbuf, SocketBase::sndbuf, -1, 0, -2),
        o("RCVBUF", opt::RCVBUF, SocketBase::set_rcvbuf, SocketBase::rcvbuf, -1, 65536, -2),
        o("TOS", opt::TOS, SocketBase::set_tos, SocketBase::tos, 0, 0x28, -1),
        o("TCP_MAXRT", opt::TCP_MAXRT, SocketBase::set_tcp_maxrt, SocketBase::tcp_maxrt, 0, 5000, -1),
        o("RATE", opt::RATE, SocketBase::set_rate, SocketBase::rate, 100, 1, 0),
        o("RECOVERY_IVL", opt::RECOVERY_IVL, SocketBase::set_recovery_ivl, SocketBase::recovery_ivl, 10000, 0, -1),
        o("MULTICAST_HOPS", opt::MULTICAST_HOPS, SocketBase::set_multicast_hops, SocketBase::multicast_hops, 1, 255, 0),
        o(
            "MULTICAST_MAXTPDU",
            opt::MULTICAST_MAXTPDU,
            SocketBase::set_multicast_maxtpdu,
            SocketBase::multicast_maxtpdu,
            1500,
            9000,
            0,
        ),
    ]
}

type SetBool = fn(&SocketBase, bool) -> oxmq::Result<()>;
type GetBool = fn(&SocketBase) -> oxmq::Result<bool>;

fn bool_options() -> Vec<(&'static str, i32, SetBool, GetBool)> {
    vec![
        ("IMMEDIATE", opt::IMMEDIATE, SocketBase::set_immediate, SocketBase::immediate),
        ("IPV6", opt::IPV6, SocketBase::set_ipv6, SocketBase::ipv6),
        ("ROUTER_MANDATORY", opt::ROUTER_MANDATORY, SocketBase::set_router_mandatory, SocketBase::router_mandatory),
        ("PROBE_ROUTER", opt::PROBE_ROUTER, SocketBase::set_probe_router, SocketBase::probe_router),
        ("REQ_RELAXED", opt::REQ_RELAXED, SocketBase::set_req_relaxed, SocketBase::req_relaxed),
        ("REQ_CORRELATE", opt::REQ_CORRELATE, SocketBase::set_req_correlate, SocketBase::req_correlate),
    ]
}

fn raw_int(s: &SocketBase, id: i32) -> i32 {
    let v = s.get_option_raw(id).unwrap();
    assert_eq!(v.len(), 4, "option {id} is a 4-byte int");
    i32::from_ne_bytes(v[..].try_into().unwrap())
}

fn raw_i64(s: &SocketBase, id: i32) -> i64 {
    let v = s.get_option_raw(id).unwrap();
    assert_eq!(v.len(), 8, "option {id} is an 8-byte int");
    i64::from_ne_bytes(v[..].try_into().unwrap())
}

#[track_caller]
fn assert_invalid(r: oxmq::Result<()>, what: &str) {
    assert!(matches!(r, Err(Error::InvalidArgument(_))), "{what}: expected InvalidArgument, got {r:?}");
}

// ---------------------------------------------------------------------------------------------
// Defaults and round-trips
// ---------------------------------------------------------------------------------------------

#[test]
fn defaults_are_libzmqs() {
    let ctx = Context::new();
    for t in TYPES {
        let s = ctx.socket(t).unwrap();
        for o in int_options() {
            assert_eq!((o.get)(&s).unwrap(), o.default, "{t:?} {} typed default", o.name);
            assert_eq!(raw_int(&s, o.id), o.default, "{t:?} {} raw default", o.name);
        }
        for (name, id, _, get) in bool_options() {
            assert!(!get(&s).unwrap(), "{t:?} {name} default");
            assert_eq!(raw_int(&s, id), 0, "{t:?} {name} raw default");
        }
        assert_eq!(s.maxmsgsize().unwrap(), -1);
        assert_eq!(raw_i64(&s, opt::MAXMSGSIZE), -1);
        assert_eq!(s.routing_id().unwrap(), b"");
        assert_eq!(s.get_option_raw(opt::ROUTING_ID).unwrap(), b"");
        assert_eq!(raw_int(&s, opt::RCVMORE), 0);
        assert!(!s.rcvmore());
        assert_eq!(s.last_endpoint().unwrap(), "");
        assert_eq!(s.get_option_raw(opt::LAST_ENDPOINT).unwrap(), b"\0");
        assert_eq!(s.affinity().unwrap(), 0);
        assert!(s.ipv4only().unwrap());
        assert!(!s.thread_safe().unwrap());
        assert_eq!(s.use_fd().unwrap(), -1);
        assert_eq!(s.socks_proxy().unwrap(), "");
        assert_eq!(s.get_option_raw(opt::SOCKS_PROXY).unwrap(), b"\0");
        assert_eq!(s.bindtodevice().unwrap(), "");
        assert_eq!(s.get_option_raw(opt::BINDTODEVICE).unwrap(), b"\0");
    }
    assert!(!ctx.socket(Router).unwrap().router_handover().unwrap());
}

#[test]
fn the_other_new_options_round_trip_typed_and_by_id() {
    let ctx = Context::new();
    let s = ctx.socket(Dealer).unwrap();
    s.set_affinity(u64::MAX - 1).unwrap();
    assert_eq!(s.affinity().unwrap(), u64::MAX - 1);
    assert_eq!(raw_i64(&s, opt::AFFINITY), -2);
    s.set_ipv4only(false).unwrap();
    assert!(s.ipv6().unwrap() && !s.ipv4only().unwrap());
    s.set_ipv6(false).unwrap();
    assert_eq!(raw_int(&s, opt::IPV4ONLY), 1);
    s.set_socks_proxy("proxy.example:1080").unwrap();
    assert_eq!(s.get_option_raw(opt::SOCKS_PROXY).unwrap(), b"proxy.example:1080\0");
    s.set_option_raw(opt::SOCKS_PROXY, b"127.0.0.1:9050\0").unwrap();
    assert_eq!(s.socks_proxy().unwrap(), "127.0.0.1:9050", "a C string's NUL is not part of it");
    s.set_bindtodevice("lo").unwrap();
    assert_eq!(s.get_option_raw(opt::BINDTODEVICE).unwrap(), b"lo\0");
    assert_invalid(s.set_bindtodevice(&"d".repeat(17)), "BINDTODEVICE of 17 bytes");
    assert_eq!(s.bindtodevice().unwrap(), "lo");
    s.add_tcp_accept_filter("10.0.0.0/8").unwrap();
    assert_invalid(s.add_tcp_accept_filter("10.0.0.0/33"), "a /33 mask");
    assert_invalid(s.add_tcp_accept_filter(""), "an empty network");
    s.clear_tcp_accept_filters().unwrap();
    assert!(s.get_option_raw(opt::TCP_ACCEPT_FILTER).is_err(), "write-only, as in libzmq");
    assert_invalid(s.set_option_raw(opt::THREAD_SAFE, &0i32.to_ne_bytes()), "THREAD_SAFE is read-only");
    assert_invalid(s.set_router_handover(true), "ROUTER_HANDOVER on a DEALER");
    let r = ctx.socket(Router).unwrap();
    r.set_router_handover(true).unwrap();
    assert!(r.router_handover().unwrap());
    assert!(r.get_option_raw(opt::ROUTER_HANDOVER).is_err(), "write-only, as in libzmq");
    for id in [opt::GSSAPI_SERVER, opt::GSSAPI_PLAINTEXT, opt::GSSAPI_PRINCIPAL, opt::VMCI_BUFFER_SIZE] {
        assert_invalid(s.set_option_raw(id, &0i32.to_ne_bytes()), "a GSSAPI or VMCI option");
        assert!(s.get_option_raw(id).is_err(), "option {id}");
    }
}

#[test]
fn type_is_libzmqs_socket_type_number() {
    let ctx = Context::new();
    for (t, n) in [(Pair, 0), (Req, 3), (Rep, 4), (Dealer, 5), (Router, 6), (Pull, 7), (Push, 8)] {
        assert_eq!(raw_int(&ctx.socket(t).unwrap(), opt::TYPE), n, "{t:?}");
    }
}

#[test]
fn int_options_round_trip_through_typed_and_raw_calls() {
    let ctx = Context::new();
    let s = ctx.socket(Dealer).unwrap();
    for o in int_options() {
        (o.set)(&s, o.value).unwrap();
        assert_eq!((o.get)(&s).unwrap(), o.value, "{} typed", o.name);
        assert_eq!(raw_int(&s, o.id), o.value, "{} raw", o.name);
        // And the other way: raw set, typed get.
        s.set_option_raw(o.id, &o.default.to_ne_bytes()).unwrap();
        assert_eq!((o.get)(&s).unwrap(), o.default, "{} raw set", o.name);
        // Large values are kept as they are.
        (o.set)(&s, 1_000_000).unwrap_or_else(|e| {
            assert_eq!(o.name, "TCP_KEEPALIVE", "{}: 1000000 refused: {e}", o.name);
        });
    }
}

#[test]
fn bool_options_round_trip_through_typed_and_raw_calls() {
    let ctx = Context::new();
    for (name, id, set, get) in bool_options() {
        let s = ctx.socket(type_taking(id)).unwrap();
        set(&s, true).unwrap();
        assert!(get(&s).unwrap(), "{name}");
        assert_eq!(raw_int(&s, id), 1, "{name} raw");
        s.set_option_raw(id, &0i32.to_ne_bytes()).unwrap();
        assert!(!get(&s).unwrap(), "{name} raw set 0");
        s.set_option_raw(id, &1i32.to_ne_bytes()).unwrap();
        assert!(get(&s).unwrap(), "{name} raw set 1");
        set(&s, false).unwrap();
        assert_eq!(raw_int(&s, id), 0, "{name} raw");
    }
}

#[test]
fn maxmsgsize_round_trips_as_an_int64() {
    let ctx = Context::new();
    let s = ctx.socket(Pull).unwrap();
    s.set_maxmsgsize(1 << 40).unwrap();
    assert_eq!(s.maxmsgsize().unwrap(), 1 << 40);
    assert_eq!(raw_i64(&s, opt::MAXMSGSIZE), 1 << 40);
    s.set_option_raw(opt::MAXMSGSIZE, &0i64.to_ne_bytes()).unwrap();
    assert_eq!(s.maxmsgsize().unwrap(), 0);
    s.set_maxmsgsize(-1).unwrap();
    assert_eq!(raw_i64(&s, opt::MAXMSGSIZE), -1);
}

#[test]
fn routing_id_round_trips_from_1_to_255_bytes() {
    let ctx = Context::new();
    let s = ctx.socket(Dealer).unwrap();
    for id in [vec![b'a'], b"peer-7".to_vec(), vec![0xff; 255], vec![1, 0, 0]] {
        s.set_routing_id(&id).unwrap();
        assert_eq!(s.routing_id().unwrap(), id);
        assert_eq!(s.get_option_raw(opt::ROUTING_ID).unwrap(), id);
    }
    s.set_option_raw(opt::ROUTING_ID, b"raw").unwrap();
    assert_eq!(s.routing_id().unwrap(), b"raw");
}

#[test]
fn rcvmore_is_reported_through_the_raw_call() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let ep = bind(&pull, Transport::Inproc);
    let push = socket(&ctx, Push);
    push.connect(&ep).unwrap();
    push.send_multipart(["a", "b"]).unwrap();
    assert_eq!(pull.recv().unwrap(), "a");
    assert!(pull.rcvmore());
    assert_eq!(raw_int(&pull, opt::RCVMORE), 1);
    assert_eq!(pull.recv().unwrap(), "b");
    assert!(!pull.rcvmore());
    assert_eq!(raw_int(&pull, opt::RCVMORE), 0);
}

#[test]
fn last_endpoint_is_the_resolved_endpoint_nul_terminated() {
    let ctx = Context::new();
    let s = ctx.socket(Pull).unwrap();
    let check = |want: &str| {
        assert_eq!(s.last_endpoint().unwrap(), want);
        let raw = s.get_option_raw(opt::LAST_ENDPOINT).unwrap();
        assert_eq!(raw, format!("{want}\0").into_bytes());
    };
    s.bind("tcp://127.0.0.1:*").unwrap();
    let tcp = s.last_endpoint().unwrap();
    let port: u16 = tcp.strip_prefix("tcp://127.0.0.1:").expect(&tcp).parse().unwrap();
    assert_ne!(port, 0);
    check(&tcp);
    let name = format!("inproc://{}", unique_name("last-endpoint"));
    s.bind(&name).unwrap();
    check(&name);
    let ipc = format!("ipc://@{}", unique_name("last-endpoint"));
    s.bind(&ipc).unwrap();
    check(&ipc);
    // A connect sets it too.
    let other = format!("ipc://@{}", unique_name("not-bound"));
    s.connect(&other).unwrap();
    check(&other);
    // The resolved endpoint unbinds.
    s.unbind(&tcp).unwrap();
}

#[test]
fn options_are_per_socket() {
    let ctx = Context::new();
    let a = ctx.socket(Dealer).unwrap();
    let b = ctx.socket(Dealer).unwrap();
    a.set_sndhwm(5).unwrap();
    a.set_routing_id(b"a").unwrap();
    assert_eq!(b.sndhwm().unwrap(), 1000);
    assert_eq!(b.routing_id().unwrap(), b"");
}

// ---------------------------------------------------------------------------------------------
// Invalid values
// ---------------------------------------------------------------------------------------------

#[test]
fn out_of_range_int_values_are_invalid_and_change_nothing() {
    let ctx = Context::new();
    let s = ctx.socket(Dealer).unwrap();
    for o in int_options() {
        (o.set)(&s, o.value).unwrap();
        assert_invalid((o.set)(&s, o.first_invalid), o.name);
        assert_invalid((o.set)(&s, i32::MIN), o.name);
        assert_invalid(s.set_option_raw(o.id, &o.first_invalid.to_ne_bytes()), o.name);
        assert_eq!((o.get)(&s).unwrap(), o.value, "{}: a refused value must not be stored", o.name);
        // The lowest valid value is accepted.
        (o.set)(&s, o.first_invalid + 1).unwrap();
    }
    assert_invalid(s.set_tcp_keepalive(2), "TCP_KEEPALIVE 2");
}

#[test]
fn bool_options_take_only_0_or_1() {
    let ctx = Context::new();
    for (name, id, _, _) in bool_options() {
        let s = ctx.socket(type_taking(id)).unwrap();
        assert_invalid(s.set_option_raw(id, &(-1i32).to_ne_bytes()), name);
    }
    let s = ctx.socket(Router).unwrap();
    for id in [opt::IMMEDIATE, opt::IPV6] {
        assert_invalid(s.set_option_raw(id, &2i32.to_ne_bytes()), "strict boolean 2");
    }
}

/// A socket type the option applies to (ROUTER_MANDATORY: ROUTER; REQ_*: REQ; ...).
fn type_taking(id: i32) -> oxmq::SocketType {
    match id {
        opt::REQ_RELAXED | opt::REQ_CORRELATE => Req,
        _ => Router,
    }
}

#[test]
fn socket_type_options_are_invalid_on_other_types_and_take_any_non_negative_value() {
    // As libzmq's socket types read them: EINVAL on a type they do not apply to; any int >= 0,
    // non-zero meaning on.
    let ctx = Context::new();
    for (id, applies, other) in [
        (opt::ROUTER_MANDATORY, Router, Dealer),
        (opt::PROBE_ROUTER, Dealer, Push),
        (opt::REQ_RELAXED, Req, Rep),
        (opt::REQ_CORRELATE, Req, Router),
    ] {
        let s = ctx.socket(applies).unwrap();
        s.set_option_raw(id, &2i32.to_ne_bytes()).unwrap();
        assert_eq!(raw_int(&s, id), 1, "option {id} set to 2 reads back as on");
        assert_invalid(ctx.socket(other).unwrap().set_option_raw(id, &1i32.to_ne_bytes()), "wrong socket type");
    }
}

#[test]
fn raw_values_of_the_wrong_length_are_invalid() {
    let ctx = Context::new();
    let s = ctx.socket(Dealer).unwrap();
    for o in int_options() {
        for bad in [&[][..], &[1, 0, 0][..], &[1, 0, 0, 0, 0][..], &[1, 0, 0, 0, 0, 0, 0, 0][..]] {
            assert_invalid(s.set_option_raw(o.id, bad), o.name);
        }
    }
    for (name, id, _, _) in bool_options() {
        assert_invalid(s.set_option_raw(id, &[1]), name);
    }
    assert_invalid(s.set_option_raw(opt::MAXMSGSIZE, &100i32.to_ne_bytes()), "MAXMSGSIZE 4 bytes");
    assert_eq!(s.maxmsgsize().unwrap(), -1);
}

#[test]
fn routing_ids_must_be_1_to_255_bytes_not_starting_with_zero() {
    let ctx = Context::new();
    let s = ctx.socket(Router).unwrap();
    s.set_routing_id(b"keep").unwrap();
    let long = vec![b'x'; 256];
    for bad in [&b""[..], &long[..], &[0u8][..], &[0u8, b'a', b'b'][..]] {
        assert_invalid(s.set_routing_id(bad), "ROUTING_ID");
        assert_invalid(s.set_option_raw(opt::ROUTING_ID, bad), "raw ROUTING_ID");
        assert_invalid(s.set_connect_routing_id(bad), "CONNECT_ROUTING_ID");
        assert_invalid(s.set_option_raw(opt::CONNECT_ROUTING_ID, bad), "raw CONNECT_ROUTING_ID");
    }
    assert_eq!(s.routing_id().unwrap(), b"keep");
    s.set_connect_routing_id(&[b'y'; 255]).unwrap();
}

#[test]
fn unknown_and_read_only_options_are_invalid() {
    let ctx = Context::new();
    let s = ctx.socket(Pair).unwrap();
    for id in [-1, 0, 1, 9999, i32::MAX] {
        assert_invalid(s.set_option_raw(id, &1i32.to_ne_bytes()), &format!("set option {id}"));
        assert!(matches!(s.get_option_raw(id), Err(Error::InvalidArgument(_))), "get option {id}");
    }
    for id in [opt::TYPE, opt::RCVMORE, opt::LAST_ENDPOINT] {
        assert_invalid(s.set_option_raw(id, &1i32.to_ne_bytes()), &format!("set read-only option {id}"));
    }
    assert_eq!(raw_int(&s, opt::TYPE), 0);
}

// ---------------------------------------------------------------------------------------------
// Options at work
// ---------------------------------------------------------------------------------------------

#[test]
fn rcvtimeo_bounds_a_receive() {
    let ctx = Context::new();
    let pull = ctx.socket(Pull).unwrap();
    pull.set_rcvtimeo(0).unwrap();
    assert!(matches!(pull.recv(), Err(Error::Again)));
    pull.set_rcvtimeo(50).unwrap();
    let start = Instant::now();
    assert!(matches!(pull.recv(), Err(Error::Again)));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(45) && took < Duration::from_secs(1), "RCVTIMEO 50 took {took:?}");
    assert!(matches!(pull.try_recv(), Err(Error::Again)));
}

#[test]
fn maxmsgsize_drops_an_oversized_message_and_its_connection() {
    for tr in [Transport::Tcp, Transport::Ipc] {
        let ctx = Context::new();
        let pull = socket(&ctx, Pull);
        pull.set_maxmsgsize(1000).unwrap();
        let ep = bind(&pull, tr);

        let offender = socket(&ctx, Push);
        offender.connect(&ep).unwrap();
        offender.send(vec![1u8; 1000]).unwrap();
        assert_eq!(recv_msg(&pull), vec![vec![1u8; 1000]], "{tr:?}: exactly MAXMSGSIZE is allowed");
        offender.send(vec![2u8; 1001]).unwrap();
        // No marker: the oversized message ends the offender's connection, and one on another
        // connection is not ordered after it (the polite peer below checks the rest).
        expect_nothing(&pull, QUIET_MS);

        // A well-behaved peer is still served.
        let polite = socket(&ctx, Push);
        polite.connect(&ep).unwrap();
        polite.send_multipart([vec![3u8; 1000], vec![4u8; 10]]).unwrap();
        let m = recv_msg(&pull);
        assert!(m.iter().all(|f| f.len() <= 1000), "{tr:?}: an oversized frame was delivered");
        assert_eq!(m, vec![vec![3u8; 1000], vec![4u8; 10]], "{tr:?}");
    }
}

#[test]
fn maxmsgsize_does_not_limit_sending() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let ep = bind(&pull, Transport::Tcp);
    let push = socket(&ctx, Push);
    // (Not below ~40 bytes: as in libzmq, the limit applies to the peer's handshake commands too.)
    push.set_maxmsgsize(100).unwrap();
    push.connect(&ep).unwrap();
    push.send(vec![9u8; 1000]).unwrap();
    assert_eq!(recv_msg(&pull), vec![vec![9u8; 1000]]);
}

#[test]
fn immediate_queues_only_to_completed_connections() {
    let ctx = Context::new();
    let ep = format!("ipc://@{}", unique_name("immediate"));
    let eager = socket(&ctx, Push);
    eager.connect(&ep).unwrap();
    eager.try_send("queued before the peer exists", false).unwrap();
    let strict = socket(&ctx, Push);
    strict.set_immediate(true).unwrap();
    strict.connect(&ep).unwrap();
    assert!(matches!(strict.try_send("x", false), Err(Error::Again)), "IMMEDIATE: no connection, no queue");

    let pull = socket(&ctx, Pull);
    pull.bind(&ep).unwrap();
    expect_msg(&pull, &["queued before the peer exists"]);
    strict.set_sndtimeo(3000).unwrap();
    strict.send("once connected").unwrap();
    expect_msg(&pull, &["once connected"]);
}

#[test]
fn a_255_byte_routing_id_reaches_the_router() {
    for tr in [Transport::Inproc, Transport::Tcp] {
        let ctx = Context::new();
        let router = socket(&ctx, Router);
        let ep = bind(&router, tr);
        let dealer = socket(&ctx, Dealer);
        let id = vec![b'z'; 255];
        dealer.set_routing_id(&id).unwrap();
        dealer.connect(&ep).unwrap();
        dealer.send("x").unwrap();
        expect_msg(&router, &[&id[..], b"x"]);
    }
}

#[test]
fn routing_id_set_after_connect_applies_to_later_connections_only() {
    // libzmq takes options at bind/connect time.
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    let ep = bind(&router, Transport::Tcp);
    let dealer = socket(&ctx, Dealer);
    dealer.set_routing_id(b"before").unwrap();
    dealer.connect(&ep).unwrap();
    dealer.set_routing_id(b"after").unwrap();
    dealer.send("x").unwrap();
    expect_msg(&router, &["before", "x"]);
}

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

/// Check a PUSH connected to `connect_ep` reaches `pull`.
fn assert_reaches(ctx: &Context, pull: &Socket, connect_ep: &str, ipv6: bool) {
    let push = socket(ctx, Push);
    push.set_ipv6(ipv6).unwrap();
    push.connect(connect_ep).unwrap();
    push.send(connect_ep).unwrap();
    expect_msg(pull, &[connect_ep]);
}

#[test]
fn tcp_wildcard_address_and_port() {
    for ep in ["tcp://*:*", "tcp://*:0"] {
        let ctx = Context::new();
        let pull = socket(&ctx, Pull);
        pull.bind(ep).unwrap();
        let last = pull.last_endpoint().unwrap();
        let port: u16 = last.strip_prefix("tcp://0.0.0.0:").expect(&last).parse().unwrap();
        assert_ne!(port, 0, "{ep} resolved to {last}");
        assert_reaches(&ctx, &pull, &format!("tcp://127.0.0.1:{port}"), false);
    }
}

#[test]
fn tcp_ipv6_loopback() {
    if !have_ipv6_loopback() {
        common::skip("this machine has no IPv6 loopback ([::1] cannot be bound)");
        return;
    }
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_ipv6(true).unwrap();
    pull.bind("tcp://[::1]:*").unwrap();
    let last = pull.last_endpoint().unwrap();
    let port: u16 = last.strip_prefix("tcp://[::1]:").expect(&last).parse().unwrap();
    assert_ne!(port, 0);
    assert_reaches(&ctx, &pull, &last, true);
}

#[test]
fn tcp_wildcard_with_ipv6_accepts_both_families() {
    if !have_ipv6_loopback() {
        common::skip("this machine has no IPv6 loopback ([::1] cannot be bound)");
        return;
    }
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_ipv6(true).unwrap();
    pull.bind("tcp://*:*").unwrap();
    let last = pull.last_endpoint().unwrap();
    let port = last.rsplit_once(':').unwrap().1;
    assert_reaches(&ctx, &pull, &format!("tcp://[::1]:{port}"), true);
    assert_reaches(&ctx, &pull, &format!("tcp://127.0.0.1:{port}"), false);
}

#[test]
fn tcp_connect_by_host_name() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let ep = bind(&pull, Transport::Tcp);
    let port = ep.rsplit_once(':').unwrap().1;
    assert_reaches(&ctx, &pull, &format!("tcp://localhost:{port}"), false);
}

#[test]
fn bad_endpoints_are_refused_with_the_right_error() {
    let ctx = Context::new();
    let s = ctx.socket(Pair).unwrap();
    for ep in [
        "",
        "tcp",
        "tcp:/127.0.0.1:5555",
        "tcp://",
        "tcp://127.0.0.1",
        "tcp://127.0.0.1:",
        "tcp://127.0.0.1:abc",
        "tcp://127.0.0.1:99999",
        "tcp://:5555",
        "tcp://[::1:5555",
        "inproc://",
        "ipc://",
    ] {
        let b = s.bind(ep);
        assert!(matches!(b, Err(Error::InvalidEndpoint(_))), "bind {ep:?}: {b:?}");
        let c = s.connect(ep);
        assert!(matches!(c, Err(Error::InvalidEndpoint(_))), "connect {ep:?}: {c:?}");
    }
    for ep in ["bogus://x", "pgm://eth0;239.192.1.1:5555", "TCP://127.0.0.1:5555"] {
        let b = s.bind(ep);
        assert!(matches!(b, Err(Error::ProtocolNotSupported(_))), "bind {ep:?}: {b:?}");
        let c = s.connect(ep);
        assert!(matches!(c, Err(Error::ProtocolNotSupported(_))), "connect {ep:?}: {c:?}");
    }
    // A connect needs a real host and port.
    for ep in ["tcp://*:5555", "tcp://127.0.0.1:*", "tcp://127.0.0.1:0"] {
        let c = s.connect(ep);
        assert!(matches!(c, Err(Error::InvalidEndpoint(_))), "connect {ep:?}: {c:?}");
    }
    // None of that left an endpoint behind.
    assert_eq!(s.last_endpoint().unwrap(), "");
}

#[test]
fn binding_a_tcp_port_twice_is_addr_in_use() {
    let ctx = Context::new();
    let a = socket(&ctx, Pull);
    let ep = bind(&a, Transport::Tcp);
    let b = socket(&ctx, Pull);
    assert!(matches!(b.bind(&ep), Err(Error::AddrInUse(_))), "another socket");
    assert!(matches!(a.bind(&ep), Err(Error::AddrInUse(_))), "the same socket");
    let port = ep.rsplit_once(':').unwrap().1;
    assert!(matches!(b.bind(&format!("tcp://*:{port}")), Err(Error::AddrInUse(_))), "the wildcard address");
    // The first bind still works.
    assert_eq!(a.last_endpoint().unwrap(), ep);
    assert_reaches(&ctx, &a, &ep, false);
}

#[test]
fn binding_an_inproc_or_abstract_ipc_name_twice_is_addr_in_use() {
    for tr in [Transport::Inproc, Transport::Ipc] {
        let ctx = Context::new();
        let a = socket(&ctx, Pull);
        let ep = bind(&a, tr);
        let b = socket(&ctx, Pull);
        assert!(matches!(b.bind(&ep), Err(Error::AddrInUse(_))), "{tr:?}: another socket");
        assert!(matches!(a.bind(&ep), Err(Error::AddrInUse(_))), "{tr:?}: the same socket");
        assert_reaches(&ctx, &a, &ep, false);
    }
}

#[test]
fn an_inproc_name_is_free_again_after_its_socket_closes() {
    let ctx = Context::new();
    let name = format!("inproc://{}", unique_name("rebind"));
    let a = socket(&ctx, Pull);
    a.bind(&name).unwrap();
    drop(a);
    let b = socket(&ctx, Pull);
    b.bind(&name).unwrap();
    assert_reaches(&ctx, &b, &name, false);
}

#[test]
fn ipc_file_path_and_wildcard_endpoints() {
    let ctx = Context::new();
    let dir = std::env::temp_dir().join(unique_name("ipc-dir"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    let ep = format!("ipc://{}", path.display());
    let pull = socket(&ctx, Pull);
    pull.bind(&ep).unwrap();
    assert_eq!(pull.last_endpoint().unwrap(), ep);
    assert!(path.exists(), "the socket file exists while bound");
    assert_reaches(&ctx, &pull, &ep, false);
    pull.unbind(&ep).unwrap();
    assert!(!path.exists(), "unbind removes the socket file");
    let _ = std::fs::remove_dir(&dir);

    let pull = socket(&ctx, Pull);
    pull.bind("ipc://*").unwrap();
    let last = pull.last_endpoint().unwrap();
    assert!(last.starts_with("ipc://") && last != "ipc://*", "ipc://* resolved to {last}");
    assert_reaches(&ctx, &pull, &last, false);
}

/// MULTICAST_LOOP (on by default) and LOOPBACK_FASTPATH (off): as libzmq 4.3.5, any int sets
/// them (nonzero: on), unlike the 0-or-1 flags.
#[test]
fn multicast_loop_is_on_by_default_and_takes_any_int() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Pub).unwrap();
    assert!(s.multicast_loop().unwrap());
    assert_eq!(raw_int(&s, opt::MULTICAST_LOOP), 1);
    for (v, on) in [(0, false), (2, true), (-1, true), (0, false)] {
        s.set_option_raw(opt::MULTICAST_LOOP, &i32::to_ne_bytes(v)).unwrap();
        assert_eq!(s.multicast_loop().unwrap(), on, "{v}");
    }
    assert!(!s.loopback_fastpath().unwrap());
    s.set_option_raw(opt::LOOPBACK_FASTPATH, &i32::to_ne_bytes(7)).unwrap();
    assert_eq!(raw_int(&s, opt::LOOPBACK_FASTPATH), 1);
}
