//! Helpers shared by the socket-semantics tests (`patterns.rs`, `options.rs`).
//!
//! Every socket made here has a receive timeout, so a missing message fails the test instead of
//! hanging it, and LINGER 0, so a test never waits on its context to flush.
#![allow(dead_code)] // each test crate uses a different subset

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oxmq::{Bytes, Context, Error, Socket, SocketBase, SocketType};

/// How long a receive that should succeed may wait.
pub const RECV_TIMEOUT_MS: i32 = 2000;
/// How long to wait before concluding that nothing is coming.
pub const QUIET_MS: i32 = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Inproc,
    Tcp,
    Ipc,
}

pub const TRANSPORTS: [Transport; 3] = [Transport::Inproc, Transport::Tcp, Transport::Ipc];

/// A name no other test (or test process) uses.
pub fn unique_name(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("oxmq-sem-{}-{tag}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

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

/// A socket with RCVTIMEO [`RECV_TIMEOUT_MS`] and LINGER 0.
pub fn socket(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).unwrap_or_else(|e| panic!("cannot create a {t:?} socket: {e}"));
    s.set_rcvtimeo(RECV_TIMEOUT_MS).unwrap();
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

/// Receive one whole message (within the socket's RCVTIMEO).
pub fn recv_msg(s: &Socket) -> Vec<Bytes> {
    s.recv_multipart().unwrap_or_else(|e| panic!("expected a message, got {e:?}"))
}

/// Receive one whole message and check its frames.
#[track_caller]
pub fn expect_msg<B: AsRef<[u8]>>(s: &Socket, want: &[B]) {
    let got = s.recv_multipart().unwrap_or_else(|e| panic!("expected {:?}, got {e:?}", show(want)));
    assert_eq!(show(&got), show(want), "received message");
    let got: Vec<&[u8]> = got.iter().map(|b| b.as_ref()).collect();
    let want: Vec<&[u8]> = want.iter().map(|b| b.as_ref()).collect();
    assert_eq!(got, want, "received bytes");
}

/// Check that no message arrives within `ms` (the socket's RCVTIMEO is restored after).
#[track_caller]
pub fn expect_nothing(s: &Socket, ms: i32) {
    let saved = s.rcvtimeo().unwrap();
    s.set_rcvtimeo(ms).unwrap();
    let r = s.recv_multipart();
    s.set_rcvtimeo(saved).unwrap();
    match r {
        Err(Error::Again) => {}
        Ok(m) => panic!("expected no message, got {:?}", show(&m)),
        Err(e) => panic!("expected Again, got {e:?}"),
    }
}

/// Run `f` until it returns `Some`, for at most `limit`.
pub fn retry_until<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Send `parts` from a ROUTER with ROUTER_MANDATORY set, retrying while the peer (the first
/// frame) is not yet known (`HostUnreachable`), for at most a few seconds.
#[track_caller]
pub fn send_when_routable<B: AsRef<[u8]>>(router: &Socket, parts: &[B]) {
    assert!(router.router_mandatory().unwrap(), "needs ROUTER_MANDATORY to see unroutable peers");
    let mut last = None;
    let sent = retry_until(Duration::from_secs(5), || {
        match router.send_multipart(parts.iter().map(|p| p.as_ref().to_vec())) {
            Ok(()) => Some(()),
            Err(Error::HostUnreachable) => None,
            Err(e) => {
                last = Some(format!("{e:?}"));
                Some(())
            }
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
