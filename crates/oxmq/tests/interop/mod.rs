//! Shared harness for the libzmq (pyzmq) interop tests.
//!
//! Every test spawns a `python3 tests/peers/zmq_peer.py` process (see the
//! docstring there for its line protocol) and talks to it over stdin/stdout;
//! some tests also use `tests/peers/zmtp_raw_peer.py`, a hand-written ZMTP
//! client that can lie about its socket type.
//! If python3 or pyzmq is missing, or pyzmq runs another libzmq than
//! 4.3.5 (`LIBZMQ_VERSION`), the tests FAIL, telling you to
//! `pip install pyzmq==26.4.0`; set `OXMQ_SKIP_INTEROP=1` to skip them instead.
//!
//! Layout:
//! * `Peer`: the driver for one python process (reader thread + channel,
//!   every read has a deadline, the child is killed on drop);
//! * `Link`: one oxmq socket wired to one peer over tcp or ipc, with oxmq
//!   either binding or connecting;
//! * `interop_matrix!`: expands scenarios, plain functions
//!   `fn(Transport, Side)`, into four tests each
//!   (`<scenario>::{tcp,ipc}_oxmq_{binds,connects}`).
//!
//! Used by `interop_pyzmq.rs` (socket patterns), `interop_pubsub_*.rs` and the
//! other `interop_*.rs` test crates (`mod common; mod interop;`: the timeouts
//! and `Transport` are the suite's common ones).
#![allow(dead_code)] // each test crate uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use oxmq::{Bytes, Context, Socket, SocketType};

/// How long the peer may take to answer one command. The peer's own receive
/// timeouts are 5 s, so normally it reports a readable error first.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound for a whole test, in case an oxmq call blocks forever.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(30);
// SNDTIMEO/RCVTIMEO of the oxmq sockets under test and the deadline of "wait until it works"
// loops are the suite's common ones.
#[allow(unused_imports)] // not every test crate uses each
pub use crate::common::{SOON, TIMEO_MS, Transport};

pub const PEER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/zmq_peer.py");
pub const PROXY_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/zmq_proxy.py");
pub const RAW_PEER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/zmtp_raw_peer.py");

// ---------------------------------------------------------------------------
// Availability of python3 + pyzmq
// ---------------------------------------------------------------------------

/// The libzmq the interop tests are written against (README.md says so): pyzmq 26.4.0's wheel
/// bundles it, and `.ci/run` installs that pyzmq.
pub const LIBZMQ_VERSION: &str = "4.3.5";

/// Whether the python peer can run with the libzmq this suite is written against, checked once
/// per test binary: `Err` says why not.
fn peer_check() -> &'static Result<(), String> {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    CHECK.get_or_init(|| {
        let probe = "import zmq; print(zmq.zmq_version(), zmq.__version__)";
        let out = match Command::new("python3").args(["-c", probe]).output() {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
            Ok(o) => {
                return Err(format!("`python3 -c 'import zmq'` failed: {}", String::from_utf8_lossy(&o.stderr).trim()));
            }
            Err(e) => return Err(format!("cannot run python3: {e}")),
        };
        match out.split_whitespace().collect::<Vec<_>>()[..] {
            [libzmq, _] if libzmq == LIBZMQ_VERSION => Ok(()),
            [libzmq, pyzmq] => Err(format!(
                "pyzmq {pyzmq} runs libzmq {libzmq}, but these tests are written against libzmq {LIBZMQ_VERSION} \
                 (`pip install pyzmq==26.4.0`, whose wheel bundles it, as .ci/run does)"
            )),
            _ => Err(format!("cannot read the libzmq and pyzmq versions from {out:?}")),
        }
    })
}

/// True if the tests can run. Panics (test failure) when the peer cannot run or runs another
/// libzmq than [`LIBZMQ_VERSION`], unless OXMQ_SKIP_INTEROP=1, in which case it says why and
/// returns false.
pub fn peer_available() -> bool {
    match peer_check() {
        Ok(()) => true,
        Err(why) if std::env::var("OXMQ_SKIP_INTEROP").as_deref() == Ok("1") => {
            crate::common::skip(&format!("libzmq interop test: OXMQ_SKIP_INTEROP=1 ({why})"));
            false
        }
        Err(why) => panic!(
            "libzmq interop peer unavailable: {why}\n\
             Run `pip install pyzmq==26.4.0` (CI installs it), or set OXMQ_SKIP_INTEROP=1 to skip these tests."
        ),
    }
}

/// Runs a test body on its own thread so that an oxmq call that never
/// returns fails the test after TEST_TIMEOUT instead of hanging the run.
pub fn run_test(body: impl FnOnce() + Send + 'static) {
    if !peer_available() {
        return;
    }
    run_without_python(body);
}

/// `run_test` for tests that need no python peer (hand-written ZMTP peers):
/// they run even where pyzmq is missing.
pub fn run_without_python(body: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        body();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(TEST_TIMEOUT) {
        Ok(()) => handle.join().unwrap(),
        Err(RecvTimeoutError::Disconnected) => {
            // The body panicked: re-raise its panic here.
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!("test did not finish within {TEST_TIMEOUT:?}: an oxmq call is probably blocked")
        }
    }
}

// ---------------------------------------------------------------------------
// Peer: one python process
// ---------------------------------------------------------------------------

pub struct Peer {
    what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
    /// The endpoint the peer reported (its LAST_ENDPOINT).
    pub endpoint: String,
}

impl Peer {
    /// Starts `zmq_peer.py --type <socket_type> <args...>` and waits for its
    /// "ready <endpoint>" line.
    pub fn spawn(socket_type: &str, args: &[String]) -> Peer {
        let mut all_args = vec!["--type".to_string(), socket_type.to_string()];
        all_args.extend_from_slice(args);
        let mut peer = Peer::start(PEER_SCRIPT, &all_args, format!("pyzmq {socket_type} peer {args:?}"));
        let ready = peer.read_line();
        match ready.strip_prefix("ready ") {
            Some(ep) => peer.endpoint = ep.to_string(),
            None => peer.fail(&format!("expected a 'ready <endpoint>' line, got {ready:?}")),
        }
        peer
    }

    /// Starts `zmq_proxy.py <args...>` (a libzmq proxy in a python thread)
    /// and waits for its "ready <frontend> <backend>" line; returns the peer
    /// and the backend endpoint (`endpoint` is the frontend's).
    pub fn spawn_proxy(args: &[String]) -> (Peer, String) {
        let mut peer = Peer::start(PROXY_SCRIPT, args, format!("pyzmq proxy {args:?}"));
        let ready = peer.read_line();
        let parts: Vec<&str> = ready.split(' ').collect();
        match parts[..] {
            ["ready", front, back] => {
                peer.endpoint = front.to_string();
                (peer, back.to_string())
            }
            _ => peer.fail(&format!("expected 'ready <frontend> <backend>', got {ready:?}")),
        }
    }

    /// Starts `python3 -u <script> <args...>` with piped stdio.
    pub fn start(script: &str, args: &[String], what: String) -> Peer {
        if let Err(why) = peer_check() {
            panic!("cannot start {what}: {why}");
        }
        let mut child = Command::new("python3")
            .arg("-u")
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start python3 {script}: {e}"));

        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut child_stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        let stderr_thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = child_stderr.read(&mut buf) {
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });

        Peer {
            what,
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            stderr_thread: Some(stderr_thread),
            endpoint: String::new(),
        }
    }

    /// Fails the test with everything known about the peer.
    pub fn fail(&mut self, msg: &str) -> ! {
        let _ = self.child.kill();
        let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join(); // the child is dead, so its stderr is at EOF
        }
        let stderr = self.stderr.lock().unwrap().clone();
        panic!("{}: {msg}\n(peer {status})\n--- peer stderr ---\n{stderr}", self.what)
    }

    /// Writes one command line without waiting for the answer.
    pub fn write(&mut self, command: &str) {
        let ok = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{command}").and_then(|()| stdin.flush()).is_ok(),
            None => false,
        };
        if !ok {
            self.fail(&format!("cannot write command {command:?}: peer stdin closed"));
        }
    }

    /// Reads one answer line; an "error ..." line, a dead peer or no answer
    /// within REPLY_TIMEOUT fail the test.
    pub fn read_line(&mut self) -> String {
        match self.lines.recv_timeout(REPLY_TIMEOUT) {
            Ok(line) if line.starts_with("error") => self.fail(&format!("peer reported: {line}")),
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => self.fail(&format!("no answer within {REPLY_TIMEOUT:?}")),
            Err(RecvTimeoutError::Disconnected) => self.fail("peer exited without answering"),
        }
    }

    /// Reads one answer line if one comes within `timeout`; "error ..." or a
    /// dead peer fail the test.
    pub fn try_read_line(&mut self, timeout: Duration) -> Option<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) if line.starts_with("error") => self.fail(&format!("peer reported: {line}")),
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => self.fail("peer exited without answering"),
        }
    }

    pub fn call(&mut self, command: &str) -> String {
        self.write(command);
        self.read_line()
    }

    pub fn expect(&mut self, command: &str, want: &str) {
        let got = self.call(command);
        if got != want {
            self.fail(&format!("command {command} answered {got:?}, expected {want:?}"));
        }
    }

    /// Reads a "msg ..." line and returns its frame descriptions.
    pub fn read_msg(&mut self) -> Vec<String> {
        let line = self.read_line();
        match line.strip_prefix("msg") {
            Some(rest) => rest.split_whitespace().map(str::to_string).collect(),
            None => self.fail(&format!("expected a 'msg ...' line, got {line:?}")),
        }
    }

    pub fn send(&mut self, msg: &[Part]) {
        self.expect(&format!(r#"{{"cmd":"send","parts":{}}}"#, parts_json(msg)), "ok");
    }

    /// Send, retrying EAGAIN/EHOSTUNREACH for up to `retry_ms` (ROUTER_MANDATORY).
    pub fn send_retrying(&mut self, msg: &[Part], retry_ms: u64) {
        let cmd = format!(r#"{{"cmd":"send","parts":{},"retry_ms":{retry_ms}}}"#, parts_json(msg));
        self.expect(&cmd, "ok");
    }

    /// Non-blocking send; false if it would block (e.g. no pipe to a peer).
    pub fn try_send(&mut self, msg: &[Part]) -> bool {
        let cmd = format!(r#"{{"cmd":"send","parts":{},"timeout_ms":0,"allow_timeout":true}}"#, parts_json(msg));
        match self.call(&cmd).as_str() {
            "ok" => true,
            "timeout" => false,
            other => self.fail(&format!("send answered {other:?}, expected 'ok' or 'timeout'")),
        }
    }

    /// Receives one message (5 s timeout on the peer side).
    pub fn recv(&mut self) -> Vec<String> {
        self.write(r#"{"cmd":"recv","timeout_ms":5000}"#);
        self.read_msg()
    }

    /// Receives one message if one arrives within `timeout_ms`.
    pub fn try_recv(&mut self, timeout_ms: u64) -> Option<Vec<String>> {
        self.write(&format!(r#"{{"cmd":"recv","timeout_ms":{timeout_ms},"allow_timeout":true}}"#));
        let line = self.read_line();
        if line == "timeout" {
            return None;
        }
        match line.strip_prefix("msg") {
            Some(rest) => Some(rest.split_whitespace().map(str::to_string).collect()),
            None => self.fail(&format!("expected 'msg ...' or 'timeout', got {line:?}")),
        }
    }

    /// Starts an echo of `count` messages; read each with `read_msg`, then
    /// call `finish_echo`.
    pub fn start_echo(&mut self, count: usize) {
        self.write(&format!(r#"{{"cmd":"echo","count":{count},"timeout_ms":5000}}"#));
    }

    pub fn finish_echo(&mut self, count: usize) {
        let line = self.read_line();
        if line != format!("ok echoed {count}") {
            self.fail(&format!("expected 'ok echoed {count}', got {line:?}"));
        }
    }

    /// Waits (peer needs --monitor) for one of the named monitor events.
    pub fn wait_event(&mut self, events: &[&str]) -> String {
        let names: Vec<String> = events.iter().map(|e| format!("\"{e}\"")).collect();
        let cmd = format!(r#"{{"cmd":"wait_event","events":[{}],"timeout_ms":5000}}"#, names.join(","));
        self.call(&cmd)
    }

    /// All monitor events seen so far (peer needs --monitor).
    pub fn events(&mut self) -> Vec<String> {
        let line = self.call(r#"{"cmd":"events"}"#);
        line.split_whitespace().skip(1).map(str::to_string).collect()
    }

    /// Receives messages until one whose first frame is `fence` (that one is
    /// not returned); every message gets the peer's 5 s receive timeout.
    pub fn collect(&mut self, fence: &[u8]) -> Vec<Vec<String>> {
        self.start_collect(fence);
        let mut msgs = Vec::new();
        loop {
            let line = self.read_line();
            if let Some(rest) = line.strip_prefix("msg") {
                msgs.push(rest.split_whitespace().map(str::to_string).collect());
            } else if line == format!("ok collected {}", msgs.len()) {
                return msgs;
            } else {
                self.fail(&format!("collect: unexpected line {line:?} after {} messages", msgs.len()));
            }
        }
    }

    /// Starts a `collect` without reading its answer: "msg ..." lines, then
    /// "ok collected N".
    pub fn start_collect(&mut self, fence: &[u8]) {
        let stop = Part::Data(fence.to_vec()).json();
        self.write(&format!(r#"{{"cmd":"collect","stop":{stop},"timeout_ms":5000}}"#));
    }

    /// zmq_setsockopt(ZMQ_<name>) with a binary value (SUBSCRIBE, ...).
    pub fn setsockopt_bytes(&mut self, name: &str, value: &[u8]) {
        let value = Part::Data(value.to_vec()).json();
        self.expect(&format!(r#"{{"cmd":"setsockopt","name":"{name}","value":{value}}}"#), "ok");
    }

    /// zmq_setsockopt(ZMQ_<name>) with an integer value.
    pub fn setsockopt_int(&mut self, name: &str, value: i64) {
        self.expect(&format!(r#"{{"cmd":"setsockopt","name":"{name}","int":{value}}}"#), "ok");
    }

    /// Closes the peer's socket (honouring its LINGER) and waits for it to exit.
    pub fn close(&mut self) {
        self.expect(r#"{"cmd":"close"}"#, "ok");
        self.stdin = None;
        let _ = self.child.wait();
    }

    /// The process id, e.g. to freeze the peer with [`signal`](Self::signal).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name ("STOP", "CONT") to the peer process.
    pub fn signal(&mut self, name: &str) {
        let pid = self.pid().to_string();
        match Command::new("kill").args([&format!("-{name}"), &pid]).status() {
            Ok(status) if status.success() => {}
            other => self.fail(&format!("kill -{name} {pid} failed: {other:?}")),
        }
    }

    /// Kills the process (SIGKILL: a crashing peer) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stdin = None;
        self.kill();
    }
}

// ---------------------------------------------------------------------------
// Message parts, the shared test pattern, base64 and sha256 (std only)
// ---------------------------------------------------------------------------

/// One frame, as the Rust side knows it and as the peer can build it.
#[derive(Clone, Debug)]
pub enum Part {
    Data(Vec<u8>),
    /// The shared pattern (zmq_peer.py `pattern()`), so big frames are
    /// generated on both sides instead of crossing stdin.
    Pattern {
        size: usize,
        seed: u32,
    },
}

impl Part {
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Part::Data(d) => d.clone(),
            Part::Pattern { size, seed } => pattern(*size, *seed),
        }
    }

    pub fn json(&self) -> String {
        match self {
            Part::Data(d) => format!(r#"{{"b64":"{}"}}"#, base64(d)),
            Part::Pattern { size, seed } => format!(r#"{{"size":{size},"seed":{seed}}}"#),
        }
    }
}

pub fn parts_json(msg: &[Part]) -> String {
    let parts: Vec<String> = msg.iter().map(Part::json).collect();
    format!("[{}]", parts.join(","))
}

/// A message from literal frames.
pub fn m(frames: &[&[u8]]) -> Vec<Part> {
    frames.iter().map(|f| Part::Data(f.to_vec())).collect()
}

pub fn frames(msg: &[Part]) -> Vec<Vec<u8>> {
    msg.iter().map(Part::bytes).collect()
}

/// `prefix` frames followed by `msg` (envelopes).
pub fn with_prefix(prefix: &[&[u8]], msg: &[Part]) -> Vec<Part> {
    let mut out = m(prefix);
    out.extend_from_slice(msg);
    out
}

/// byte[i] = ((i % 251) * 131 + (i / 251) * 17 + seed * 29) mod 256
///
/// Built from the 256 possible 251-byte blocks so that 16 MiB is quick even
/// in a debug build.
pub fn pattern(size: usize, seed: u32) -> Vec<u8> {
    const BLOCK: usize = 251;
    static BLOCKS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let blocks = BLOCKS
        .get_or_init(|| (0..256usize).map(|shift| (0..BLOCK).map(|i| (i * 131 + shift) as u8).collect()).collect());
    let mut out = Vec::with_capacity(size + BLOCK);
    for j in 0..size.div_ceil(BLOCK) {
        out.extend_from_slice(&blocks[(j * 17 + seed as usize * 29) % 256]);
    }
    out.truncate(size);
    out
}

pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (k, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> shift) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes what `base64` produces (for readable failure messages only).
pub fn unbase64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let mut out = Vec::new();
    for chunk in text.as_bytes().chunks(4) {
        let n = chunk.iter().take_while(|&&c| c != b'=').count();
        let bits = chunk[..n].iter().fold(0u32, |acc, &c| (acc << 6) | u32::from(value(c))) << (6 * (4 - n));
        out.extend_from_slice(&bits.to_be_bytes()[1..n.max(1)]);
    }
    out
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut tail = data[data.len() / 64 * 64..].to_vec();
    tail.push(0x80);
    while tail.len() % 64 != 56 {
        tail.push(0);
    }
    tail.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    let blocks = data[..data.len() / 64 * 64].chunks_exact(64).chain(tail.chunks_exact(64));
    for block in blocks {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// The peer's description of a frame: "b64:<base64>" up to 1024 bytes,
/// "sha256:<len>:<hex>" above.
pub fn describe(frame: &[u8]) -> String {
    if frame.len() <= 1024 {
        format!("b64:{}", base64(frame))
    } else {
        let hex: String = sha256(frame).iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{}:{hex}", frame.len())
    }
}

/// A whole message described frame by frame, as the peer prints it.
pub fn describe_msg<B: AsRef<[u8]>>(msg: &[B]) -> Vec<String> {
    msg.iter().map(|f| describe(f.as_ref())).collect()
}

/// `describe_msg` of what `msg` will be on the wire.
pub fn describe_parts(msg: &[Part]) -> Vec<String> {
    frames(msg).iter().map(|f| describe(f)).collect()
}

/// A described message made readable (for assertion messages).
pub fn render_msg(described: &[String]) -> Vec<String> {
    described.iter().map(|d| render(d)).collect()
}

/// Command-line arguments from string literals.
pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

/// Asserts that what the peer printed for a message matches `expected`.
#[track_caller]
pub fn assert_peer_got(got: &[String], expected: &[Part], context: &str) {
    let want: Vec<String> = frames(expected).iter().map(|f| describe(f)).collect();
    if got != want.as_slice() {
        let got_r: Vec<String> = got.iter().map(|d| render(d)).collect();
        let want_r: Vec<String> = want.iter().map(|d| render(d)).collect();
        panic!(
            "{context}: the libzmq peer received a different message\n  got:      {got_r:?}\n  expected: {want_r:?}"
        );
    }
}

/// A frame description made readable: small frames as escaped text.
pub fn render(description: &str) -> String {
    match description.strip_prefix("b64:") {
        Some(b64) => {
            let text = unbase64(b64).escape_ascii().to_string();
            if text.len() > 80 {
                format!("{}... ({} bytes)", &text[..80], unbase64(b64).len())
            } else {
                format!("b\"{text}\"")
            }
        }
        None => description.to_string(),
    }
}

/// Asserts that the frames oxmq received equal `expected` (compared byte by
/// byte; described compactly on mismatch).
#[track_caller]
pub fn assert_oxmq_got(got: &[Bytes], expected: &[Part], context: &str) {
    let want = frames(expected);
    let same = got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| g.as_ref() == w.as_slice());
    if !same {
        let got_d: Vec<String> = got.iter().map(|f| render(&describe(f))).collect();
        let want_d: Vec<String> = want.iter().map(|f| render(&describe(f))).collect();
        panic!("{context}: oxmq received a different message\n  got:      {got_d:?}\n  expected: {want_d:?}");
    }
}

// ---------------------------------------------------------------------------
// oxmq side
// ---------------------------------------------------------------------------

pub fn oxmq_socket(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).unwrap_or_else(|e| panic!("oxmq: cannot create {t:?} socket: {e:?}"));
    s.set_linger(0).unwrap();
    s.set_sndtimeo(TIMEO_MS).unwrap();
    s.set_rcvtimeo(TIMEO_MS).unwrap();
    s
}

#[track_caller]
pub fn oxmq_send(s: &Socket, msg: &[Part]) {
    if let Err(e) = s.send_multipart(frames(msg)) {
        panic!("oxmq {:?} send_multipart failed: {e:?} ({e})", s.socket_type());
    }
}

#[track_caller]
pub fn oxmq_recv(s: &Socket) -> Vec<Bytes> {
    s.recv_multipart().unwrap_or_else(|e| panic!("oxmq {:?} recv_multipart failed: {e:?} ({e})", s.socket_type()))
}

/// Receives one message if one arrives within `timeout_ms` (RCVTIMEO restored after).
#[track_caller]
pub fn oxmq_try_recv(s: &Socket, timeout_ms: i32) -> Option<Vec<Bytes>> {
    s.set_rcvtimeo(timeout_ms).unwrap();
    let r = s.recv_multipart();
    s.set_rcvtimeo(TIMEO_MS).unwrap();
    match r {
        Ok(msg) => Some(msg),
        Err(oxmq::Error::Again) => None,
        Err(e) => panic!("oxmq {:?} recv_multipart failed: {e:?} ({e})", s.socket_type()),
    }
}

/// Asserts that nothing is waiting on `s` (non-blocking receive says Again).
#[track_caller]
pub fn assert_oxmq_nothing_queued(s: &Socket, context: &str) {
    s.set_rcvtimeo(0).unwrap();
    match s.recv() {
        Err(oxmq::Error::Again) => {}
        Ok(frame) => panic!("{context}: oxmq delivered a frame it must not have: {}", describe(&frame)),
        Err(e) => panic!("{context}: non-blocking recv should say Again, got {e:?}"),
    }
    s.set_rcvtimeo(TIMEO_MS).unwrap();
}

// ---------------------------------------------------------------------------
// Link: one oxmq socket <-> one peer
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Side {
    OxmqBinds,
    OxmqConnects,
}

/// Why no interop test runs over [`Transport::Inproc`].
pub const INPROC_TO_LIBZMQ: &str = "a libzmq peer runs in another process: no inproc to it";

/// Removes an ipc socket file when the test ends.
pub struct IpcFile(pub PathBuf);

impl IpcFile {
    pub fn new() -> IpcFile {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        IpcFile(std::env::temp_dir().join(format!("oxmq-interop-{}-{n}.ipc", std::process::id())))
    }

    pub fn endpoint(&self) -> String {
        format!("ipc://{}", self.0.display())
    }
}

impl Drop for IpcFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An endpoint a restarted peer can bind again (a free tcp port, or an ipc
/// path removed at the end).
pub fn fixed_endpoint(t: Transport) -> (String, Option<IpcFile>) {
    match t {
        Transport::Ipc => {
            let f = IpcFile::new();
            (f.endpoint(), Some(f))
        }
        Transport::Tcp => (crate::common::free_tcp_endpoint(), None),
        Transport::Inproc => unreachable!("{INPROC_TO_LIBZMQ}"),
    }
}

/// Fields drop in order: peer first, then the oxmq socket, then the context.
pub struct Link {
    /// The ZAP handler of a PLAIN server link (`with_security`); dropped first, before the
    /// context it is bound in.
    pub zap: Option<crate::common::zap::ZapHandler>,
    pub peer: Peer,
    pub ox: Socket,
    pub ctx: Context,
    pub ipc: Option<IpcFile>,
    /// e.g. "tcp, oxmq binds": prefixed to assertion messages.
    pub name: String,
}

/// Creates an oxmq socket (configured by `setup` before bind/connect) and a
/// pyzmq peer, and wires them over `transport` with oxmq on `side`.
pub fn link(
    transport: Transport,
    side: Side,
    ox_type: SocketType,
    setup: impl FnOnce(&Socket),
    peer_type: &str,
    peer_args: &[&str],
) -> Link {
    link_in(Context::new(), transport, side, ox_type, setup, peer_type, peer_args)
}

/// [`link`] in the context `ctx` (one that already has, say, a ZAP handler bound).
pub fn link_in(
    ctx: Context,
    transport: Transport,
    side: Side,
    ox_type: SocketType,
    setup: impl FnOnce(&Socket),
    peer_type: &str,
    peer_args: &[&str],
) -> Link {
    let ox = oxmq_socket(&ctx, ox_type);
    setup(&ox);
    let (zap, secured_args) = match SECURITY.get() {
        Some(security) => secure(security, &ctx, &ox),
        None => (None, Vec::new()),
    };
    let ipc = matches!(transport, Transport::Ipc).then(IpcFile::new);
    let local = match (transport, &ipc) {
        (Transport::Ipc, Some(f)) => f.endpoint(),
        (Transport::Tcp, _) => "tcp://127.0.0.1:*".to_string(),
        _ => unreachable!("{INPROC_TO_LIBZMQ}"),
    };
    let mut args: Vec<String> = peer_args.iter().map(|a| a.to_string()).chain(secured_args).collect();
    let peer = match side {
        Side::OxmqBinds => {
            ox.bind(&local).unwrap_or_else(|e| panic!("oxmq bind {local}: {e:?}"));
            let ep = ox.last_endpoint().unwrap_or_else(|e| panic!("oxmq last_endpoint: {e:?}"));
            args.extend(["--connect".to_string(), ep]);
            Peer::spawn(peer_type, &args)
        }
        Side::OxmqConnects => {
            args.extend(["--bind".to_string(), local]);
            let peer = Peer::spawn(peer_type, &args);
            let ep = &peer.endpoint;
            ox.connect(ep).unwrap_or_else(|e| panic!("oxmq connect {ep}: {e:?}"));
            peer
        }
    };
    let name = format!(
        "{ox_type:?}(oxmq) vs {peer_type}(libzmq), {transport:?}, {}{}",
        if side == Side::OxmqBinds { "oxmq binds" } else { "oxmq connects" },
        SECURITY.get().map(|s| format!(", {s:?}")).unwrap_or_default()
    );
    Link { zap, peer, ox, ctx, ipc, name }
}

/// A security mechanism on every link made by [`link`] / [`link_in`] inside [`with_security`]:
/// which mechanism, and which end is its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// oxmq the PLAIN server (asking its ZAP handler, which admits admin/secret), libzmq the client.
    PlainOxmqServer,
    /// libzmq the PLAIN server (pyzmq's authenticator admits admin/secret), oxmq the client.
    PlainOxmqClient,
    /// oxmq the CURVE server, libzmq the client that pins its key.
    CurveOxmqServer,
    /// libzmq the CURVE server, oxmq the client that pins its key.
    CurveOxmqClient,
}

impl Security {
    pub const ALL: [Security; 4] =
        [Security::PlainOxmqServer, Security::PlainOxmqClient, Security::CurveOxmqServer, Security::CurveOxmqClient];
}

thread_local! {
    static SECURITY: std::cell::Cell<Option<Security>> = const { std::cell::Cell::new(None) };
}

/// Runs `body` (a scenario that links through [`link`]) with `security` on its links.
pub fn with_security<R>(security: Security, body: impl FnOnce() -> R) -> R {
    SECURITY.set(Some(security));
    let r = body();
    SECURITY.set(None);
    r
}

/// A CURVE key pair as (public, secret), Z85.
pub fn keypair() -> (String, String) {
    let (public, secret) = oxmq::curve_keypair().expect("the OS random source");
    (public, secret.to_string())
}

/// A ZAP handler in `ctx` admitting PLAIN user admin with password secret.
pub fn admin_only(ctx: &Context) -> crate::common::zap::ZapHandler {
    crate::common::zap::ZapHandler::start(ctx, |mechanism, creds| match (mechanism, creds) {
        ("PLAIN", [user, pass]) if &user[..] == b"admin" && &pass[..] == b"secret" => Ok("admin"),
        _ => Err("400"),
    })
}

/// Configures the oxmq end of a secured link; returns the ZAP handler it needs and the peer's
/// arguments for the other end.
fn secure(security: Security, ctx: &Context, ox: &Socket) -> (Option<crate::common::zap::ZapHandler>, Vec<String>) {
    let text = |name: &str, value: &str| ["--sockopt-text".to_string(), format!("{name}={value}")];
    match security {
        Security::PlainOxmqServer => {
            ox.set_plain_server(true).unwrap();
            let zap = admin_only(ctx);
            (Some(zap), [text("PLAIN_USERNAME", "admin"), text("PLAIN_PASSWORD", "secret")].concat())
        }
        Security::PlainOxmqClient => {
            ox.set_plain_username("admin").unwrap();
            ox.set_plain_password("secret").unwrap();
            (None, args(&["--sockopt", "PLAIN_SERVER=1", "--auth-plain", "admin=secret"]))
        }
        Security::CurveOxmqServer => {
            let ((server_public, server_secret), (client_public, client_secret)) = (keypair(), keypair());
            ox.set_curve_server(true).unwrap();
            ox.set_curve_secretkey(&server_secret).unwrap();
            let peer = [
                text("CURVE_SERVERKEY", &server_public),
                text("CURVE_PUBLICKEY", &client_public),
                text("CURVE_SECRETKEY", &client_secret),
            ];
            (None, peer.concat())
        }
        Security::CurveOxmqClient => {
            let ((server_public, server_secret), (client_public, client_secret)) = (keypair(), keypair());
            ox.set_curve_serverkey(&server_public).unwrap();
            ox.set_curve_publickey(&client_public).unwrap();
            ox.set_curve_secretkey(&client_secret).unwrap();
            let peer = [args(&["--sockopt", "CURVE_SERVER=1"]), text("CURVE_SECRETKEY", &server_secret).to_vec()];
            (None, peer.concat())
        }
    }
}

/// Message `i` of a burst, as zmq_peer.py `burst_message` builds it.
pub fn burst_message(i: usize) -> Vec<Part> {
    (0..i % 3 + 1).map(|k| Part::Pattern { size: (i * 131 + k * 71) % 600, seed: ((i + k) % 256) as u32 }).collect()
}

/// Expands scenarios `fn(Transport, Side)` into a module of four tests
/// each: `<scenario>::{tcp,ipc}_oxmq_{binds,connects}`.
#[allow(unused_macros)] // not every test crate uses it
macro_rules! interop_matrix {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::{run_test, Side, Transport};

            #[test]
            fn tcp_oxmq_binds() {
                run_test(|| super::$scenario(Transport::Tcp, Side::OxmqBinds));
            }

            #[test]
            fn tcp_oxmq_connects() {
                run_test(|| super::$scenario(Transport::Tcp, Side::OxmqConnects));
            }

            #[test]
            fn ipc_oxmq_binds() {
                run_test(|| super::$scenario(Transport::Ipc, Side::OxmqBinds));
            }

            #[test]
            fn ipc_oxmq_connects() {
                run_test(|| super::$scenario(Transport::Ipc, Side::OxmqConnects));
            }
        }
    )*};
}
