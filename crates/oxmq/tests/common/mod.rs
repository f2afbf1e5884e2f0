//! Helpers shared by the integration tests: the timeouts, the transports, unique endpoints,
//! bounded waiting, sockets configured for tests, message assertions, and (in [`raw`]) a tiny
//! hand-written ZMTP 3.1 peer over a raw `TcpStream` for talking to oxmq byte by byte.
//!
//! Every socket made here has a receive timeout, so a missing message fails the test instead of
//! hanging it, and LINGER 0, so a test never waits on its context to flush.

#![allow(dead_code, unused_imports)] // each test binary uses its own subset

pub mod hostile;
pub mod raw;
pub mod zap;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oxmq::{Bytes, Context, Error, Event, Monitor, Pull, Push, Rep, Req, Socket, SocketBase, SocketType};

pub use raw::*;

// ---------------------------------------------------------------- timeouts

/// Bound on anything that must happen: a receive or send that must succeed, a connection that
/// must close, a thread that must wake. A passing test never waits it out (only a failing one
/// does), so it is generous: CI shares 2 cores between builds and a loopback round trip there
/// can stall for a second.
pub const SOON: Duration = Duration::from_secs(5);
/// [`SOON`] in milliseconds, for RCVTIMEO/SNDTIMEO.
pub const TIMEO_MS: i32 = SOON.as_millis() as i32;
/// How long to watch for something that must NOT happen. Every passing test waits it out, so it
/// is short; a quiet window alone proves little (the unwanted message may just be late), so a
/// test follows it with a marker that must be the next thing to arrive wherever its pattern
/// allows one.
pub const QUIET: Duration = Duration::from_millis(200);
/// [`QUIET`] in milliseconds, for RCVTIMEO.
pub const QUIET_MS: i32 = QUIET.as_millis() as i32;

// ---------------------------------------------------------------- transports

/// The transports a test can run over. The libzmq interop tests use Tcp and Ipc only (their
/// peer is another process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Inproc,
    Tcp,
    Ipc,
}

pub const TRANSPORTS: [Transport; 3] = [Transport::Inproc, Transport::Tcp, Transport::Ipc];

impl Transport {
    /// A fresh endpoint of this transport to bind to (a wildcard port for tcp).
    pub fn bind_endpoint(self) -> String {
        match self {
            Transport::Inproc => format!("inproc://{}", unique_name("inproc")),
            Transport::Tcp => "tcp://127.0.0.1:*".to_string(),
            Transport::Ipc => format!("ipc://@{}", unique_name("ipc")),
        }
    }
}

// ---------------------------------------------------------------- skipped checks

/// Where [`skip`] appends its lines: `skipped.txt` in cargo's scratch directory for integration
/// tests (`<target dir>/tmp`), which `.ci/run` empties before `cargo test` and prints after it.
pub fn skipped_file() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("skipped.txt")
}

/// Say that the calling test checks nothing (or less) because this machine lacks something
/// (`reason`), as `SKIPPED <binary>::<test>: <reason>`.
///
/// `cargo test` captures what a passing test prints, `eprintln!` included (the capture is of
/// the print macros on the test's thread; locking `std::io::stderr()` is captured too), so a
/// line printed here alone would never show in CI's log. The line therefore also goes to the
/// file [`skipped_file`], appended (whole lines, so concurrent tests and test processes do not
/// interleave), and `.ci/run` prints that file once `cargo test` has finished, passed or not.
pub fn skip(reason: &str) {
    use std::io::Write;
    let exe = std::env::current_exe().ok();
    let binary = exe.as_ref().and_then(|p| p.file_stem()).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    // cargo names a test binary `<file>-<hash>`.
    let binary = binary.rsplit_once('-').map_or(binary.as_str(), |(name, _)| name).to_string();
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let line = format!("SKIPPED {binary}::{test}: {reason}\n");
    eprint!("{line}");
    let file = std::fs::OpenOptions::new().create(true).append(true).open(skipped_file());
    if let Err(e) = file.and_then(|mut f| f.write_all(line.as_bytes())) {
        eprintln!("(cannot record the skip in {}: {e})", skipped_file().display());
    }
}

// ---------------------------------------------------------------- endpoints

/// A tcp port that was free a moment ago (bound by a std listener on :0, then released).
pub fn free_tcp_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `tcp://127.0.0.1:<free port>`.
pub fn free_tcp_endpoint() -> String {
    format!("tcp://127.0.0.1:{}", free_tcp_port())
}

fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A name no other test (or test process) uses.
pub fn unique_name(tag: &str) -> String {
    format!("oxmq-t-{}-{tag}-{}", std::process::id(), unique())
}

/// A fresh temporary directory, removed with what it holds when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique_name(tag));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Writes `text` to the file `name` in it; returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh ipc socket path (not created) and its endpoint.
pub fn ipc_endpoint(tag: &str) -> (String, PathBuf) {
    let path = std::env::temp_dir().join(format!("oxmq-t-{}-{tag}-{}.sock", std::process::id(), unique()));
    let _ = std::fs::remove_file(&path);
    (format!("ipc://{}", path.display()), path)
}

/// A fresh inproc endpoint.
pub fn inproc_endpoint(tag: &str) -> String {
    format!("inproc://{tag}-{}", unique())
}

/// `host:port` of a `tcp://host:port` endpoint.
pub fn tcp_addr(endpoint: &str) -> &str {
    endpoint.strip_prefix("tcp://").expect("a tcp endpoint")
}

// ---------------------------------------------------------------- waiting

/// Poll `f` until it returns `Some`, for at most `within`. Polling with a short pause is for
/// conditions nothing can signal (a port becoming free); the pause is not a wait for the event.
pub fn eventually<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run `f` on its own thread and give back its result if it finishes within `within`; `None`
/// if it is still running (it is left behind: the test fails rather than hangs).
pub fn within<T: Send + 'static>(within: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(within).ok()
}

/// The kernel id of the calling thread (Linux), to watch it from another thread.
pub fn current_tid() -> String {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    link.file_name().unwrap().to_string_lossy().into_owned()
}

/// Wait until the thread `tid` of this process is asleep in the kernel (state S), e.g. blocked
/// in a receive. True if seen within `within`.
pub fn wait_thread_asleep(tid: &str, within: Duration) -> bool {
    eventually(within, || {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
        let state = stat.rsplit_once(") ")?.1.chars().next()?;
        (state == 'S').then_some(())
    })
    .is_some()
}

// ---------------------------------------------------------------- good oxmq peers

/// A PULL with RCVTIMEO set, bound to `endpoint`.
pub fn pull_bound(ctx: &Context, endpoint: &str) -> Pull {
    let pull = Pull::new(ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.bind(endpoint).unwrap();
    pull
}

/// A PUSH with LINGER 0 (so an unsent message never holds up the end of a test).
pub fn push_linger0(ctx: &Context) -> Push {
    let push = Push::new(ctx).unwrap();
    push.set_linger(0).unwrap();
    push
}

/// Send numbered messages until one arrives at `pull` (each receive waits `step_ms`), for at
/// most `within`. Returns the first message received.
pub fn send_until_received(push: &Push, pull: &Pull, within: Duration, step_ms: i32) -> Option<String> {
    pull.set_rcvtimeo(step_ms).unwrap();
    let mut i = 0;
    eventually(within, || {
        i += 1;
        let _ = push.try_send(format!("probe-{i}"), false);
        pull.recv().ok().map(|m| String::from_utf8(m.to_vec()).unwrap())
    })
}

/// Prove a bound PULL still serves: a fresh oxmq PUSH connects to `endpoint` and a message it
/// sends arrives.
pub fn assert_pull_serves(ctx: &Context, pull: &Pull, endpoint: &str) {
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    let push = Push::new(ctx).unwrap();
    push.set_linger(0).unwrap();
    push.connect(endpoint).unwrap();
    let token = format!("good-{}", unique());
    push.send(token.as_str()).unwrap();
    // Earlier (hostile) traffic must not have left anything else behind.
    match pull.recv() {
        Ok(m) => assert_eq!(m, token.as_str(), "the good peer's message"),
        Err(e) => panic!("a well-behaved PUSH was not served after the hostile peer: {e}"),
    }
}

/// Prove a bound REP still serves: a fresh oxmq REQ connects, and a request and its reply go
/// through.
pub fn assert_rep_serves(ctx: &Context, rep: &Rep, endpoint: &str) {
    rep.set_rcvtimeo(TIMEO_MS).unwrap();
    rep.set_sndtimeo(TIMEO_MS).unwrap();
    let req = Req::new(ctx).unwrap();
    req.set_linger(0).unwrap();
    req.set_rcvtimeo(TIMEO_MS).unwrap();
    req.connect(endpoint).unwrap();
    req.send("ping").unwrap();
    match rep.recv() {
        Ok(m) => assert_eq!(m, "ping"),
        Err(e) => panic!("a well-behaved REQ was not served after the hostile peer: {e}"),
    }
    rep.send("pong").unwrap();
    assert_eq!(req.recv().unwrap(), "pong");
}

pub fn is_again<T: std::fmt::Debug>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::Again))
}

pub fn is_term<T: std::fmt::Debug>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::ContextTerminated))
}

// ---------------------------------------------------------------- sockets and messages

/// A socket with RCVTIMEO [`TIMEO_MS`] and LINGER 0.
pub fn socket(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).unwrap_or_else(|e| panic!("cannot create a {t:?} socket: {e}"));
    s.set_rcvtimeo(TIMEO_MS).unwrap();
    s.set_linger(0).unwrap();
    s
}

/// Bind `s` to a fresh endpoint of `tr`; returns the endpoint peers connect to.
pub fn bind(s: &SocketBase, tr: Transport) -> String {
    let ep = tr.bind_endpoint();
    s.bind(&ep).unwrap_or_else(|e| panic!("bind {ep}: {e}"));
    s.last_endpoint().unwrap()
}

/// A message's frames as lossy strings, for readable assertion failures.
pub fn show<B: AsRef<[u8]>>(parts: &[B]) -> Vec<String> {
    parts.iter().map(|p| String::from_utf8_lossy(p.as_ref()).into_owned()).collect()
}

/// A socket the message helpers below receive from: the dynamic [`Socket`], or a STREAM test's
/// `Stream` (add other typed sockets as tests need them).
pub trait Receiver: std::ops::Deref<Target = SocketBase> {
    /// Receive one whole message (within the socket's RCVTIMEO).
    fn recv_message(&self) -> oxmq::Result<Vec<Bytes>>;
}

macro_rules! receivers {
    ($($t:ty),*) => {$(
        impl Receiver for $t {
            fn recv_message(&self) -> oxmq::Result<Vec<Bytes>> {
                self.recv_multipart()
            }
        }
    )*};
}
receivers!(Socket, oxmq::Stream);

/// Receive one whole message (within the socket's RCVTIMEO).
pub fn recv_msg(s: &impl Receiver) -> Vec<Bytes> {
    s.recv_message().unwrap_or_else(|e| panic!("expected a message, got {e:?}"))
}

/// Receive one whole message and check its frames.
#[track_caller]
pub fn expect_msg<B: AsRef<[u8]>>(s: &impl Receiver, want: &[B]) {
    let got = s.recv_message().unwrap_or_else(|e| panic!("expected {:?}, got {e:?}", show(want)));
    assert_eq!(show(&got), show(want), "received message");
    let got: Vec<&[u8]> = got.iter().map(|b| b.as_ref()).collect();
    let want: Vec<&[u8]> = want.iter().map(|b| b.as_ref()).collect();
    assert_eq!(got, want, "received bytes");
}

/// Check that no message arrives within `ms` (the socket's RCVTIMEO is restored after).
#[track_caller]
pub fn expect_nothing(s: &impl Receiver, ms: i32) {
    let saved = s.rcvtimeo().unwrap();
    s.set_rcvtimeo(ms).unwrap();
    let r = s.recv_message();
    s.set_rcvtimeo(saved).unwrap();
    match r {
        Err(Error::Again) => {}
        Ok(m) => panic!("expected no message, got {:?}", show(&m)),
        Err(e) => panic!("expected Again, got {e:?}"),
    }
}

/// "Nothing (more) arrives on `s`": nothing within [`QUIET_MS`], and then a marker, sent by
/// `send_marker` on the same path as whatever must not arrive (so the pattern delivers it after
/// anything sent before it), must be the very next message. The quiet window alone proves
/// little (an unwanted message may just be late); the marker does.
#[track_caller]
pub fn expect_nothing_before<B: AsRef<[u8]>>(s: &impl Receiver, send_marker: impl FnOnce(), marker: &[B]) {
    expect_nothing(s, QUIET_MS);
    send_marker();
    expect_msg(s, marker);
}

/// [`expect_nothing_before`] for monitor events: no event within [`QUIET`], then a marker event
/// must be the very next one: `s` binds a fresh loopback port and unbinds it, which reports
/// LISTENING and CLOSED for that port (events queue in the order they happen). The monitor
/// must be asked for one of the two at least.
#[track_caller]
pub fn expect_no_event_before(mon: &Monitor, s: &SocketBase) {
    let marks = [Event::Listening, Event::Closed].into_iter().filter(|&e| mon.events().contains(e));
    let marks: Vec<Event> = marks.collect();
    assert!(!marks.is_empty(), "a marker needs a monitor asked for LISTENING or CLOSED");
    if let Some(ev) = mon.recv_timeout(QUIET) {
        panic!("expected no event, got {ev:?}");
    }
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.last_endpoint().unwrap();
    s.unbind(&ep).unwrap();
    for want in marks {
        let ev = mon.recv_timeout(SOON).unwrap_or_else(|| panic!("no marker {want} for {ep}"));
        assert_eq!((ev.event, ev.endpoint.as_str()), (want, ep.as_str()), "the marker must be the next event");
    }
}

/// Send `parts` from a ROUTER with ROUTER_MANDATORY set, retrying while the peer (the first
/// frame) is not yet known (`HostUnreachable`), for at most a few seconds.
#[track_caller]
pub fn send_when_routable<B: AsRef<[u8]>>(router: &Socket, parts: &[B]) {
    assert!(router.router_mandatory().unwrap(), "needs ROUTER_MANDATORY to see unroutable peers");
    let mut last = None;
    let sent = eventually(SOON, || match router.send_multipart(parts.iter().map(|p| p.as_ref().to_vec())) {
        Ok(()) => Some(()),
        Err(Error::HostUnreachable) => None,
        Err(e) => {
            last = Some(format!("{e:?}"));
            Some(())
        }
    });
    assert!(sent.is_some(), "peer {:?} never became routable", show(&parts[..1]));
    assert!(last.is_none(), "send failed: {last:?}");
}

/// Count the messages `send` accepts before it reports `Again`, up to `max`.
pub fn count_until_full(max: usize, mut send: impl FnMut() -> oxmq::Result<()>) -> usize {
    for n in 0..max {
        match send() {
            Ok(()) => {}
            Err(Error::Again) => return n,
            Err(e) => panic!("send {n} failed: {e:?}"),
        }
    }
    max
}

/// Receive (without blocking) until nothing is left; returns how many messages there were.
pub fn drain(s: &Socket) -> usize {
    let mut n = 0;
    while s.try_recv().is_ok() {
        while s.rcvmore() {
            s.try_recv().unwrap();
        }
        n += 1;
    }
    n
}

/// Is there an IPv6 loopback to test with?
pub fn have_ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// CPU time used by the whole process so far.
pub fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

const OWN_PROCESS: &str = "OXMQ_TEST_OWN_PROCESS";

/// For a test that measures the process's CPU time, which the other tests running in the same
/// process would disturb: in the test binary as run by cargo, run `test` again alone in a
/// child process, check that it passed, and return false; in that child, return true (the
/// test goes on and measures).
pub fn in_a_process_of_its_own(test: &str) -> bool {
    if std::env::var_os(OWN_PROCESS).is_some() {
        return true;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(OWN_PROCESS, "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(text.contains("1 passed"), "the child did not run the test:\n{text}");
    false
}

/// The number after `key:` in one of this process's /proc/self files of "key: value [unit]"
/// lines: `proc_self("status", "VmRSS")` (KiB), `proc_self("status", "Threads")`,
/// `proc_self("io", "syscr")`.
pub fn proc_self(file: &str, key: &str) -> u64 {
    proc_field(&format!("/proc/self/{file}"), key)
}

/// [`proc_self`] for the calling thread: `proc_thread_self("io", "syscw")`, its write calls.
pub fn proc_thread_self(file: &str, key: &str) -> u64 {
    proc_field(&format!("/proc/thread-self/{file}"), key)
}

fn proc_field(path: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {path}"))
}
