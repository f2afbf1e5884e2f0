//! The `engine` entry point: oxmq's real connection engine (`engine::run`, reached through
//! `oxmq::fuzzing`) fed a peer's arbitrary bytes through an in-memory duplex, on a
//! current-thread tokio runtime whose clock is paused (virtual time: a timer fires only when
//! nothing else can run, so a stalled engine shows up at once as a virtual timeout).
//!
//! What the engine does with the bytes is compared with a model built from `oxmq-wire` alone
//! ([`model`]): the same handshake, then the frames and commands the way the engine's reader
//! treats them. See [`engine`] for the checks.

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use oxmq::fuzzing::{self, EngineEnd};
use oxmq::{Context, Socket};
use oxmq_wire::{
    Command, Decoder, Greeting, Handshake, HandshakeConfig, HandshakeStatus, Mechanism, Metadata, SocketType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::split_control;

/// The engine reserves room for a large frame's body from its header, up to this much (its
/// `MAX_RESERVE`): by design the one allocation a length field may size.
pub const ENGINE_MAX_RESERVE: usize = 16 * 1024 * 1024;

/// The largest single allocation allowed while the engine handles `input_len` bytes: its
/// designed body reservation, its 64 KiB read chunk (and one doubling of it), plus the usual
/// per-input bound.
pub fn engine_alloc_bound(input_len: usize) -> usize {
    ENGINE_MAX_RESERVE + 2 * 64 * 1024 + crate::alloc_bound(input_len)
}

/// How long (virtual time) a run may take before it counts as stalled. Every timer the engine
/// has with the options used here (HANDSHAKE_IVL 30 s, heartbeats of 100 ms, a peer PING's
/// TTL of at most 6553.5 s) fits; the run itself takes no virtual time unless it waits.
const VIRTUAL_LIMIT: Duration = Duration::from_secs(4 * 3600);

/// The socket types, indexed by the first input byte.
const TYPES: [SocketType; 12] = SocketType::ALL;

fn context() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(Context::new)
}

thread_local! {
    static RUNTIME: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
}

fn with_runtime<R>(f: impl FnOnce(&tokio::runtime::Runtime) -> R) -> R {
    RUNTIME.with(|rt| {
        let mut rt = rt.borrow_mut();
        let rt = rt.get_or_insert_with(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .expect("current-thread runtime")
        });
        f(rt)
    })
}

/// The run's set-up, from the four control bytes.
#[derive(Debug, Clone)]
pub struct EngineSetup {
    pub socket_type: SocketType,
    /// MAXMSGSIZE (-1: none).
    pub maxmsgsize: i64,
    /// RCVHWM (and SNDHWM).
    pub hwm: i32,
    /// Our ROUTING_ID, announced in our READY.
    pub routing_id: Option<Bytes>,
    /// HEARTBEAT_IVL 100 ms, TTL 1 s.
    pub heartbeat: bool,
    pub conflate: bool,
    /// The peer bytes start with a valid greeting and READY from a compatible socket type.
    pub prelude: bool,
    /// ... in ZMTP 3.0 rather than 3.1.
    pub prelude_v30: bool,
    /// SUB/XSUB subscribe to everything.
    pub subscribe_all: bool,
    /// The in-memory duplex's buffer (bytes per direction): small ones split reads.
    pub duplex_buf: usize,
}

impl EngineSetup {
    /// Control byte 0: socket type; 1: option bits; 2: MAXMSGSIZE / HWM / routing id
    /// parameter; 3: the duplex buffer size.
    pub fn from_control(ctl: [u8; 4]) -> EngineSetup {
        let bits = ctl[1];
        let p = ctl[2];
        EngineSetup {
            socket_type: TYPES[usize::from(ctl[0]) % TYPES.len()],
            maxmsgsize: if bits & 0x01 != 0 { i64::from(p) * 4 } else { -1 },
            hwm: if bits & 0x02 != 0 { 1 + i32::from(p % 8) } else { 1000 },
            routing_id: (bits & 0x04 != 0).then(|| Bytes::from(vec![b'r'; 1 + usize::from(p % 16)])),
            heartbeat: bits & 0x08 != 0,
            conflate: bits & 0x10 != 0,
            prelude: bits & 0x20 != 0,
            prelude_v30: bits & 0x40 != 0,
            subscribe_all: bits & 0x80 == 0,
            duplex_buf: 1 + usize::from(ctl[3]) * 16,
        }
    }

    fn handshake_config(&self) -> HandshakeConfig {
        let mut cfg = HandshakeConfig::new(self.socket_type);
        cfg.identity = self.routing_id.clone();
        cfg.max_frame_size = (self.maxmsgsize >= 0).then_some(self.maxmsgsize as u64);
        cfg
    }

    fn conflates(&self) -> bool {
        use SocketType::*;
        self.conflate && matches!(self.socket_type, Dealer | Pull | Push | Pub | Sub)
    }
}

/// A valid greeting and READY from the first socket type compatible with `ours`.
pub fn prelude(ours: SocketType, v30: bool) -> Vec<u8> {
    let peer = SocketType::ALL.into_iter().find(|t| ours.is_compatible(*t)).unwrap_or(SocketType::Pair);
    let mut g = Greeting::ours(Mechanism::Null, false);
    if v30 {
        g.minor = 0;
    }
    let mut out = BytesMut::from(&g.encode()[..]);
    let mut md = Metadata::new();
    md.insert("Socket-Type", Bytes::from_static(peer.as_str().as_bytes()));
    Command::Ready(md).encode(&mut out);
    out.to_vec()
}

/// How the model says the connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelEnd {
    /// A protocol error (handshake refused, a bad frame or command): `EngineEnd::Protocol`.
    Protocol,
    /// The bytes end without one: `EngineEnd::Disconnected`.
    Eof,
}

/// What the peer's bytes amount to, according to `oxmq-wire` and the engine's documented
/// rules: the complete messages the socket's pipe gets (subscriptions as `0x01`/`0x00`
/// messages for PUB/XPUB), and how the connection ends.
#[derive(Debug)]
pub struct Model {
    pub end: ModelEnd,
    pub handshake_done: bool,
    pub peer_identity: Option<Bytes>,
    pub messages: Vec<Vec<Bytes>>,
    /// The first frames of a message whose end did not come.
    pub partial: bool,
}

pub fn model(setup: &EngineSetup, stream: &[u8]) -> Model {
    let mut m =
        Model { end: ModelEnd::Eof, handshake_done: false, peer_identity: None, messages: Vec::new(), partial: false };
    if setup.socket_type == SocketType::Stream {
        m.messages.push(vec![Bytes::copy_from_slice(stream)]);
        return m;
    }
    let cfg = setup.handshake_config();
    let mut hs = Handshake::new(cfg.clone());
    let mut input = BytesMut::from(stream);
    let mut out = BytesMut::new();
    match hs.input(&mut input, &mut out) {
        // No ZAP is configured: AwaitingZap does not happen.
        Ok(HandshakeStatus::NeedMore | HandshakeStatus::AwaitingZap) => return m,
        Err(_) => {
            m.end = ModelEnd::Protocol;
            return m;
        }
        Ok(HandshakeStatus::Done(peer)) => {
            m.handshake_done = true;
            m.peer_identity = peer.identity;
        }
    }
    let receives_subs = matches!(setup.socket_type, SocketType::Pub | SocketType::XPub);
    let mut d = Decoder::new(cfg.max_frame_size);
    let mut current: Vec<Bytes> = Vec::new();
    loop {
        match d.decode(&mut input) {
            Ok(None) => break,
            Err(_) => {
                m.end = ModelEnd::Protocol;
                break;
            }
            Ok(Some(f)) if f.command => match Command::parse(&f.body) {
                Ok(c @ (Command::Subscribe(_) | Command::Cancel(_))) => {
                    if receives_subs {
                        if !current.is_empty() {
                            m.end = ModelEnd::Protocol;
                            break;
                        }
                        m.messages.push(vec![c.to_legacy_subscription().expect("a subscription")]);
                    }
                }
                Ok(Command::Error(_) | Command::Ready(_)) | Err(_) => {
                    m.end = ModelEnd::Protocol;
                    break;
                }
                Ok(_) => {}
            },
            Ok(Some(f)) => {
                current.push(f.body);
                if !f.more {
                    m.messages.push(std::mem::take(&mut current));
                }
            }
        }
    }
    m.partial = !current.is_empty();
    m
}

/// What one run of the engine gave.
#[derive(Debug, Clone)]
pub struct EngineRun {
    /// `None`: still running when the virtual time limit passed.
    pub end: Option<EngineEnd>,
    /// Every message the socket received, in order.
    pub received: Vec<Vec<Bytes>>,
    /// Every byte the engine wrote to the peer.
    pub output: Vec<u8>,
    /// Messages the driver sent (REQ requests, REP replies, an XSUB subscription, the
    /// [`our_message`] of a PAIR, DEALER, PUSH or ROUTER).
    pub sent: usize,
    /// Their bytes.
    pub sent_bytes: usize,
    /// [`our_message`] went out (as ROUTER: to the peer).
    pub announced: bool,
    /// Virtual time the run took.
    pub elapsed: Duration,
}

fn socket_for(setup: &EngineSetup) -> Socket {
    let s = context().socket(setup.socket_type).expect("socket");
    s.set_rcvtimeo(0).expect("rcvtimeo");
    s.set_sndtimeo(0).expect("sndtimeo");
    s.set_linger(0).expect("linger");
    s.set_maxmsgsize(setup.maxmsgsize).expect("maxmsgsize");
    s.set_rcvhwm(setup.hwm).expect("rcvhwm");
    s.set_sndhwm(setup.hwm).expect("sndhwm");
    if let Some(id) = &setup.routing_id {
        s.set_routing_id(id).expect("routing id");
    }
    if setup.heartbeat {
        s.set_heartbeat_ivl(100).expect("heartbeat ivl");
        s.set_heartbeat_ttl(1000).expect("heartbeat ttl");
    }
    if setup.conflate {
        s.set_conflate(true).expect("conflate");
    }
    if setup.subscribe_all && setup.socket_type == SocketType::Sub {
        s.subscribe(b"").expect("subscribe");
    }
    s
}

/// What a PAIR, DEALER or PUSH sends once its peer is there, and a ROUTER sends to its peer
/// (after the routing id) once it heard from it: three frames, the middle one, with a duplex
/// buffer of 1 KiB or more, large enough to be written from its own buffer (the engine's
/// vectored write path). Through smaller buffers it is short: 20 KB a byte at a time would
/// make the run slow and show nothing new.
pub fn our_message(setup: &EngineSetup) -> Vec<Bytes> {
    let middle = if setup.duplex_buf >= 1024 { 20_000 } else { 100 };
    vec![Bytes::from_static(b"head"), Bytes::from(vec![b'b'; middle]), Bytes::from_static(b"tail")]
}

/// The application side: take every message the socket has (non-blocking), answer REQ/REP
/// the way an application would, so that the socket keeps reading.
struct Driver {
    received: Vec<Vec<Bytes>>,
    sent: usize,
    sent_bytes: usize,
    announced: bool,
    /// REQ: a request is out and its reply not yet in.
    req_waiting: bool,
    xsub_subscribed: bool,
}

impl Driver {
    /// REQ: send the next request (none may be outstanding).
    fn request(&mut self, s: &Socket) {
        if s.send("q").is_ok() {
            self.sent += 1;
            self.sent_bytes += 1;
            self.req_waiting = true;
        }
    }

    /// Send [`our_message`], after `envelope` (a ROUTER's routing id).
    fn announce(&mut self, s: &Socket, setup: &EngineSetup, envelope: Option<&Bytes>) {
        let msg: Vec<Bytes> = envelope.cloned().into_iter().chain(our_message(setup)).collect();
        let len = msg.iter().map(Bytes::len).sum::<usize>();
        if s.send_multipart(msg).is_ok() {
            self.sent += 1;
            self.sent_bytes += len;
            self.announced = true;
        }
    }

    fn step(&mut self, s: &Socket, setup: &EngineSetup) {
        let _ = s.events();
        let t = setup.socket_type;
        if t == SocketType::Req && !self.req_waiting {
            self.request(s);
        }
        if matches!(t, SocketType::Pair | SocketType::Dealer | SocketType::Push) && !self.announced {
            self.announce(s, setup, None);
        }
        if t == SocketType::XSub && setup.subscribe_all && !self.xsub_subscribed && s.send(&b"\x01"[..]).is_ok() {
            self.sent += 1;
            self.xsub_subscribed = true;
        }
        // A run that is not stalled moves at most a few thousand messages.
        for _ in 0..100_000 {
            let Ok(msg) = s.recv_multipart() else { return };
            assert!(!msg.is_empty(), "an empty multipart message");
            if t == SocketType::Router && !self.announced {
                self.announce(s, setup, msg.first());
            }
            self.received.push(msg);
            if t == SocketType::Rep && s.send("r").is_ok() {
                self.sent += 1;
                self.sent_bytes += 1;
            }
            if t == SocketType::Req {
                self.req_waiting = false;
                self.request(s);
            }
        }
    }
}

/// Runs the engine over `stream` and collects what happened.
pub fn run_engine(setup: &EngineSetup, stream: &[u8]) -> EngineRun {
    let socket = socket_for(setup);
    let run = with_runtime(|rt| {
        rt.block_on(async {
            let start = tokio::time::Instant::now();
            let (ours, peer) = tokio::io::duplex(setup.duplex_buf);
            let (ord, owr) = tokio::io::split(ours);
            let (mut prd, mut pwr) = tokio::io::split(peer);
            let feed = async {
                // The engine may hang up first (a refused handshake): the rest is not read.
                if pwr.write_all(stream).await.is_ok() {
                    // Virtual time passes only when nothing else can run: the EOF comes once
                    // the engine has taken in everything and the socket has answered (a REQ
                    // its request, PONGs), as from a peer that waits a little before leaving.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    let _ = pwr.shutdown().await;
                }
            };
            let collect = async {
                let mut out = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    match prd.read(&mut buf).await {
                        Ok(0) | Err(_) => return out,
                        Ok(n) => out.extend_from_slice(&buf[..n]),
                    }
                }
            };
            let engine = fuzzing::run_engine(&socket, ord, owr, "tcp://fuzz.peer:1");
            let mut driver = Driver {
                received: Vec::new(),
                sent: 0,
                sent_bytes: 0,
                announced: false,
                req_waiting: false,
                xsub_subscribed: false,
            };
            let drive = async {
                loop {
                    let seen = fuzzing::socket_seq(&socket);
                    driver.step(&socket, setup);
                    fuzzing::socket_changed(&socket, seen).await;
                }
            };
            let work = async { tokio::join!(engine, feed, collect) };
            let finished = tokio::select! {
                r = tokio::time::timeout(VIRTUAL_LIMIT, work) => r.ok(),
                () = drive => unreachable!("the driver loops until dropped"),
            };
            // What is still queued for the socket (the engine's pipe outlives it until read).
            driver.step(&socket, setup);
            let elapsed = start.elapsed();
            let (end, output) = match finished {
                Some((end, (), output)) => (Some(end), output),
                None => (None, Vec::new()),
            };
            EngineRun {
                end,
                received: driver.received,
                output,
                sent: driver.sent,
                sent_bytes: driver.sent_bytes,
                announced: driver.announced,
                elapsed,
            }
        })
    });
    drop(socket);
    run
}

/// Is `got` the same sequence as the start of `want` (all of it when `all`)?
fn check_prefix(got: &[Vec<Bytes>], want: &[Vec<Bytes>], all: bool, what: &str) {
    assert!(got.len() <= want.len(), "{what}: {} messages received, {} sent by the peer", got.len(), want.len());
    assert_eq!(got, &want[..got.len()], "{what}: received messages differ from the peer's");
    if all {
        assert_eq!(got.len(), want.len(), "{what}: messages lost on a clean connection");
    }
}

/// How many of `got`'s first messages are found, in order, in `want`.
fn matched_prefix(got: &[Vec<Bytes>], want: &[Vec<Bytes>]) -> usize {
    let mut j = 0;
    for (i, g) in got.iter().enumerate() {
        match want[j..].iter().position(|w| w == g) {
            Some(k) => j += k + 1,
            None => return i,
        }
    }
    got.len()
}

/// Is every element of `got` found, in order, in `want` after `map`?
fn check_subsequence(got: &[Vec<Bytes>], want: &[Vec<Bytes>], map: impl Fn(&[Bytes]) -> Option<Vec<Bytes>>) {
    let mut j = 0;
    for (i, g) in got.iter().enumerate() {
        loop {
            assert!(j < want.len(), "received message {i} {g:?} is not one the peer sent (in order)");
            j += 1;
            if map(&want[j - 1]).as_ref() == Some(g) {
                break;
            }
        }
    }
}

/// The connection engine. Four control bytes ([`EngineSetup::from_control`]) choose the
/// socket type (from `SocketType::ALL`), options (MAXMSGSIZE, HWM, ROUTING_ID, heartbeats,
/// CONFLATE, SUB subscribing), whether a valid greeting + READY is put in front of the rest
/// (so that short inputs get past the handshake) and the duplex's buffer size; the rest is
/// what the peer sends, followed by EOF.
///
/// Checks: the run ends within the virtual time limit with the end the model predicts
/// (a protocol error exactly when the model finds one, else a disconnection); no panic; no
/// allocation over [`engine_alloc_bound`]; the engine's output starts with a ZMTP greeting
/// and is bounded by a fixed allowance plus the input (a PONG per PING, never more); every
/// message the socket delivers is one the peer sent, in order, with the socket type's
/// envelope (ROUTER's routing id, REQ/REP's delimiter) — for PAIR, PULL, DEALER, ROUTER and
/// SUB (subscribed to everything, no CONFLATE) exactly the model's messages, all of them
/// when the connection ended cleanly; a STREAM delivers exactly the input.
pub fn engine(data: &[u8]) {
    let (ctl, rest) = split_control::<4>(data);
    let setup = EngineSetup::from_control(ctl);
    let mut stream = Vec::with_capacity(128 + rest.len());
    if setup.prelude {
        stream.extend_from_slice(&prelude(setup.socket_type, setup.prelude_v30));
    }
    stream.extend_from_slice(rest);
    let m = model(&setup, &stream);
    let (run, largest) = crate::alloc_scope_unchecked(|| run_engine(&setup, &stream));
    assert!(
        largest <= engine_alloc_bound(stream.len()),
        "an allocation of {largest} bytes for {} bytes of input",
        stream.len()
    );
    check_run(&setup, &stream, &m, &run);
}

/// The checks of [`engine`] on one run (public so that a test can show they fire).
pub fn check_run(setup: &EngineSetup, stream: &[u8], m: &Model, run: &EngineRun) {
    let t = setup.socket_type;
    let Some(end) = run.end.as_ref() else {
        // Only a PUSH may stop reading for good: it never receives, so a peer that sends it
        // messages anyway (against the pattern) fills the pipe to RCVHWM and is pushed back,
        // as libzmq does. The connection costs its fixed buffers, nothing more.
        assert!(
            t == SocketType::Push && m.messages.len() + usize::from(m.partial) > setup.hwm as usize,
            "{t:?}: the engine was still running after {:?} of virtual time ({} messages from the peer)",
            run.elapsed,
            m.messages.len()
        );
        return;
    };
    // Ends as the model says.
    match (m.end, end) {
        (ModelEnd::Protocol, EngineEnd::Protocol(_)) | (ModelEnd::Eof, EngineEnd::Disconnected(_)) => {}
        (want, got) => panic!("{t:?}: the model ends with {want:?}, the engine with {got:?}"),
    }
    // Output: a greeting first (ZMTP types), and bounded.
    if t != SocketType::Stream {
        let n = run.output.len().min(Greeting::LEN);
        assert!(n > 0, "{t:?}: the engine wrote no greeting");
        assert_eq!(Greeting::check_prefix(&run.output[..n]), Ok(()), "{t:?}: the engine's greeting is invalid");
        let pings = if setup.heartbeat { 2 + run.elapsed.as_millis() as usize / 100 } else { 0 };
        let allowance =
            1024 + setup.routing_id.as_ref().map_or(0, Bytes::len) + 32 * (run.sent + pings) + run.sent_bytes;
        assert!(
            run.output.len() <= allowance + stream.len(),
            "{t:?}: the engine wrote {} bytes for {} bytes of input",
            run.output.len(),
            stream.len()
        );
        // What the socket sent went out whole before the peer's EOF (which comes only once
        // everything is quiet) on a connection that ended cleanly.
        if run.announced && m.end == ModelEnd::Eof {
            let mut out = BytesMut::from(&run.output[Greeting::LEN..]);
            let mut d = Decoder::new(None);
            let (mut msgs, mut cur) = (Vec::new(), Vec::new());
            while let Some(f) = d.decode(&mut out).expect("the engine's own frames") {
                if !f.command {
                    cur.push(f.body);
                    if !f.more {
                        msgs.push(std::mem::take(&mut cur));
                    }
                }
            }
            assert!(cur.is_empty() && out.is_empty(), "{t:?}: the engine's output ends inside a frame or message");
            assert!(msgs.contains(&our_message(setup)), "{t:?}: the message the socket sent did not go out");
        }
    } else {
        assert!(run.output.is_empty(), "STREAM: nothing was sent, yet the engine wrote");
    }
    // Frames within MAXMSGSIZE.
    if setup.maxmsgsize >= 0 && t != SocketType::Stream {
        for msg in &run.received {
            let payload = if t == SocketType::Router { &msg[1..] } else { &msg[..] };
            for f in payload {
                assert!(f.len() as u64 <= setup.maxmsgsize as u64, "{t:?}: a {}-byte frame passed MAXMSGSIZE", f.len());
            }
        }
    }
    let clean = m.end == ModelEnd::Eof;
    let got = &run.received;
    let want = &m.messages;
    match t {
        SocketType::Pair | SocketType::Pull | SocketType::Dealer if !setup.conflates() => {
            check_prefix(got, want, clean, &format!("{t:?}"))
        }
        SocketType::Sub if setup.subscribe_all && !setup.conflates() => check_prefix(got, want, clean, "SUB"),
        SocketType::Sub if !setup.subscribe_all => assert!(got.is_empty(), "SUB with no subscription received"),
        SocketType::Router => {
            for msg in got {
                assert!(msg.len() >= 2, "ROUTER: a message without routing id and body: {msg:?}");
                assert!(!msg[0].is_empty(), "ROUTER: an empty routing id");
                assert_eq!(msg[0], got[0][0], "ROUTER: one peer, two routing ids");
                if let Some(id) = &m.peer_identity
                    && id[0] != 0
                {
                    assert_eq!(&msg[0], id, "ROUTER: the routing id is not the peer's identity");
                }
            }
            let bodies: Vec<Vec<Bytes>> = got.iter().map(|m| m[1..].to_vec()).collect();
            check_prefix(&bodies, want, clean, "ROUTER");
        }
        SocketType::Rep => check_subsequence(got, want, |w| {
            let k = w.iter().position(Bytes::is_empty)?;
            (k + 1 < w.len()).then(|| w[k + 1..].to_vec())
        }),
        SocketType::Req => {
            assert!(got.len() <= run.sent, "REQ: more replies than requests");
            check_subsequence(got, want, |w| (w.len() >= 2 && w[0].is_empty()).then(|| w[1..].to_vec()))
        }
        SocketType::Push | SocketType::Pub => assert!(got.is_empty(), "{t:?} received a message"),
        SocketType::Stream => {
            let mut data = Vec::new();
            for msg in got {
                assert_eq!(msg.len(), 2, "STREAM: not [id, data]: {msg:?}");
                assert_eq!(msg[0], got[0][0], "STREAM: one peer, two ids");
                data.extend_from_slice(&msg[1]);
            }
            assert_eq!(data, stream, "STREAM: the data received is not the peer's bytes");
        }
        SocketType::XPub => {
            // The peer's subscriptions (deduplicated) and messages, then, once it is gone, a
            // cancellation for each topic it still held (as libzmq's XPUB does).
            let n = matched_prefix(got, want);
            for g in &got[n..] {
                let sub = [&[1u8][..], &g[0][1..]].concat();
                assert!(
                    g.len() == 1 && g[0].first() == Some(&0) && want.iter().any(|w| w.len() == 1 && w[0] == sub),
                    "XPUB: {g:?} is neither the peer's nor a cancellation of its subscription"
                );
            }
        }
        // XSUB and conflating sockets: a subsequence.
        _ => check_subsequence(got, want, |w| Some(w.to_vec())),
    }
}

/// Control bytes for a run of `t` with a valid prelude and otherwise default options.
pub fn control_with_prelude(t: SocketType) -> [u8; 4] {
    let i = SocketType::ALL.iter().position(|x| *x == t).expect("a socket type") as u8;
    [i, 0x20, 0, 255]
}
