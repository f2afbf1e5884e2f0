//! Interop tests: oxmq against libzmq 4.x, driven through pyzmq.
//!
//! Every test spawns a `python3 tests/peers/zmq_peer.py` process (see the
//! docstring there for its line protocol) and talks to it over stdin/stdout;
//! the socket-type refusal tests also use `tests/peers/zmtp_raw_peer.py`, a
//! hand-written ZMTP client that can lie about its socket type.
//! If python3 or pyzmq is missing the tests FAIL, telling you to
//! `pip install pyzmq`; set `OXMQ_SKIP_INTEROP=1` to skip them instead.
//!
//! Layout:
//! * `Peer`: the driver for one python process (reader thread + channel,
//!   every read has a deadline, the child is killed on drop);
//! * `Link`: one oxmq socket wired to one peer over tcp or ipc, with oxmq
//!   either binding or connecting;
//! * scenarios: plain functions `fn(Transport, Side)`, expanded by
//!   `interop_matrix!` into four tests each
//!   (`<scenario>::{tcp,ipc}_oxmq_{binds,connects}`);
//! * one-off tests: peer restart, PROBE_ROUTER, incompatible socket types.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use oxmq::{Bytes, Context, Socket, SocketType};

/// How long the peer may take to answer one command. The peer's own receive
/// timeouts are 5 s, so normally it reports a readable error first.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound for a whole test, in case an oxmq call blocks forever.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);
/// SNDTIMEO/RCVTIMEO for the oxmq sockets under test.
const OX_TIMEOUT_MS: i32 = 5000;
/// Deadline for "wait until it works" polling loops.
const POLL_DEADLINE: Duration = Duration::from_secs(5);

const PEER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/zmq_peer.py");
const RAW_PEER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/zmtp_raw_peer.py");

// ---------------------------------------------------------------------------
// Availability of python3 + pyzmq
// ---------------------------------------------------------------------------

/// True if the tests can run. Panics (test failure) when the peer cannot run,
/// unless OXMQ_SKIP_INTEROP=1, in which case it says why and returns false.
fn peer_available() -> bool {
    static CHECK: OnceLock<Result<String, String>> = OnceLock::new();
    let check = CHECK.get_or_init(|| {
        let probe = "import zmq; print(zmq.zmq_version())";
        match Command::new("python3").args(["-c", probe]).output() {
            Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
            Ok(o) => Err(format!("`python3 -c 'import zmq'` failed: {}", String::from_utf8_lossy(&o.stderr).trim())),
            Err(e) => Err(format!("cannot run python3: {e}")),
        }
    });
    match check {
        Ok(_) => true,
        Err(why) if std::env::var("OXMQ_SKIP_INTEROP").as_deref() == Ok("1") => {
            eprintln!("skipping libzmq interop test because OXMQ_SKIP_INTEROP=1 ({why})");
            false
        }
        Err(why) => panic!(
            "libzmq interop peer unavailable: {why}\n\
             Run `pip install pyzmq` (CI installs it), or set OXMQ_SKIP_INTEROP=1 to skip these tests."
        ),
    }
}

/// Runs a test body on its own thread so that an oxmq call that never
/// returns fails the test after TEST_TIMEOUT instead of hanging the run.
fn run_test(body: impl FnOnce() + Send + 'static) {
    if !peer_available() {
        return;
    }
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

struct Peer {
    what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
    /// The endpoint the peer reported (its LAST_ENDPOINT).
    endpoint: String,
}

impl Peer {
    /// Starts `zmq_peer.py --type <socket_type> <args...>` and waits for its
    /// "ready <endpoint>" line.
    fn spawn(socket_type: &str, args: &[String]) -> Peer {
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

    /// Starts `python3 -u <script> <args...>` with piped stdio.
    fn start(script: &str, args: &[String], what: String) -> Peer {
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
    fn fail(&mut self, msg: &str) -> ! {
        let _ = self.child.kill();
        let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join(); // the child is dead, so its stderr is at EOF
        }
        let stderr = self.stderr.lock().unwrap().clone();
        panic!("{}: {msg}\n(peer {status})\n--- peer stderr ---\n{stderr}", self.what)
    }

    /// Writes one command line without waiting for the answer.
    fn write(&mut self, command: &str) {
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
    fn read_line(&mut self) -> String {
        match self.lines.recv_timeout(REPLY_TIMEOUT) {
            Ok(line) if line.starts_with("error") => self.fail(&format!("peer reported: {line}")),
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => self.fail(&format!("no answer within {REPLY_TIMEOUT:?}")),
            Err(RecvTimeoutError::Disconnected) => self.fail("peer exited without answering"),
        }
    }

    fn call(&mut self, command: &str) -> String {
        self.write(command);
        self.read_line()
    }

    fn expect(&mut self, command: &str, want: &str) {
        let got = self.call(command);
        if got != want {
            self.fail(&format!("command {command} answered {got:?}, expected {want:?}"));
        }
    }

    /// Reads a "msg ..." line and returns its frame descriptions.
    fn read_msg(&mut self) -> Vec<String> {
        let line = self.read_line();
        match line.strip_prefix("msg") {
            Some(rest) => rest.split_whitespace().map(str::to_string).collect(),
            None => self.fail(&format!("expected a 'msg ...' line, got {line:?}")),
        }
    }

    fn send(&mut self, msg: &[Part]) {
        self.expect(&format!(r#"{{"cmd":"send","parts":{}}}"#, parts_json(msg)), "ok");
    }

    /// Send, retrying EAGAIN/EHOSTUNREACH for up to `retry_ms` (ROUTER_MANDATORY).
    fn send_retrying(&mut self, msg: &[Part], retry_ms: u64) {
        let cmd = format!(r#"{{"cmd":"send","parts":{},"retry_ms":{retry_ms}}}"#, parts_json(msg));
        self.expect(&cmd, "ok");
    }

    /// Non-blocking send; false if it would block (e.g. no pipe to a peer).
    fn try_send(&mut self, msg: &[Part]) -> bool {
        let cmd = format!(r#"{{"cmd":"send","parts":{},"timeout_ms":0,"allow_timeout":true}}"#, parts_json(msg));
        match self.call(&cmd).as_str() {
            "ok" => true,
            "timeout" => false,
            other => self.fail(&format!("send answered {other:?}, expected 'ok' or 'timeout'")),
        }
    }

    /// Receives one message (5 s timeout on the peer side).
    fn recv(&mut self) -> Vec<String> {
        self.write(r#"{"cmd":"recv","timeout_ms":5000}"#);
        self.read_msg()
    }

    /// Receives one message if one arrives within `timeout_ms`.
    fn try_recv(&mut self, timeout_ms: u64) -> Option<Vec<String>> {
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
    fn start_echo(&mut self, count: usize) {
        self.write(&format!(r#"{{"cmd":"echo","count":{count},"timeout_ms":5000}}"#));
    }

    fn finish_echo(&mut self, count: usize) {
        let line = self.read_line();
        if line != format!("ok echoed {count}") {
            self.fail(&format!("expected 'ok echoed {count}', got {line:?}"));
        }
    }

    /// Waits (peer needs --monitor) for one of the named monitor events.
    fn wait_event(&mut self, events: &[&str]) -> String {
        let names: Vec<String> = events.iter().map(|e| format!("\"{e}\"")).collect();
        let cmd = format!(r#"{{"cmd":"wait_event","events":[{}],"timeout_ms":5000}}"#, names.join(","));
        self.call(&cmd)
    }

    /// All monitor events seen so far (peer needs --monitor).
    fn events(&mut self) -> Vec<String> {
        let line = self.call(r#"{"cmd":"events"}"#);
        line.split_whitespace().skip(1).map(str::to_string).collect()
    }

    /// Kills the process (SIGKILL: a crashing peer) and reaps it.
    fn kill(&mut self) {
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
enum Part {
    Data(Vec<u8>),
    /// The shared pattern (zmq_peer.py `pattern()`), so big frames are
    /// generated on both sides instead of crossing stdin.
    Pattern {
        size: usize,
        seed: u32,
    },
}

impl Part {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Part::Data(d) => d.clone(),
            Part::Pattern { size, seed } => pattern(*size, *seed),
        }
    }

    fn json(&self) -> String {
        match self {
            Part::Data(d) => format!(r#"{{"b64":"{}"}}"#, base64(d)),
            Part::Pattern { size, seed } => format!(r#"{{"size":{size},"seed":{seed}}}"#),
        }
    }
}

fn parts_json(msg: &[Part]) -> String {
    let parts: Vec<String> = msg.iter().map(Part::json).collect();
    format!("[{}]", parts.join(","))
}

/// A message from literal frames.
fn m(frames: &[&[u8]]) -> Vec<Part> {
    frames.iter().map(|f| Part::Data(f.to_vec())).collect()
}

fn frames(msg: &[Part]) -> Vec<Vec<u8>> {
    msg.iter().map(Part::bytes).collect()
}

/// `prefix` frames followed by `msg` (envelopes).
fn with_prefix(prefix: &[&[u8]], msg: &[Part]) -> Vec<Part> {
    let mut out = m(prefix);
    out.extend_from_slice(msg);
    out
}

/// byte[i] = ((i % 251) * 131 + (i / 251) * 17 + seed * 29) mod 256
///
/// Built from the 256 possible 251-byte blocks so that 16 MiB is quick even
/// in a debug build.
fn pattern(size: usize, seed: u32) -> Vec<u8> {
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

fn base64(data: &[u8]) -> String {
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
fn unbase64(text: &str) -> Vec<u8> {
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

fn sha256(data: &[u8]) -> [u8; 32] {
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
fn describe(frame: &[u8]) -> String {
    if frame.len() <= 1024 {
        format!("b64:{}", base64(frame))
    } else {
        let hex: String = sha256(frame).iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{}:{hex}", frame.len())
    }
}

/// Asserts that what the peer printed for a message matches `expected`.
#[track_caller]
fn assert_peer_got(got: &[String], expected: &[Part], context: &str) {
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
fn render(description: &str) -> String {
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
fn assert_oxmq_got(got: &[Bytes], expected: &[Part], context: &str) {
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

fn oxmq_socket(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).unwrap_or_else(|e| panic!("oxmq: cannot create {t:?} socket: {e:?}"));
    s.set_linger(0).unwrap();
    s.set_sndtimeo(OX_TIMEOUT_MS).unwrap();
    s.set_rcvtimeo(OX_TIMEOUT_MS).unwrap();
    s
}

#[track_caller]
fn oxmq_send(s: &Socket, msg: &[Part]) {
    if let Err(e) = s.send_multipart(frames(msg)) {
        panic!("oxmq {:?} send_multipart failed: {e:?} ({e})", s.socket_type());
    }
}

#[track_caller]
fn oxmq_recv(s: &Socket) -> Vec<Bytes> {
    s.recv_multipart().unwrap_or_else(|e| panic!("oxmq {:?} recv_multipart failed: {e:?} ({e})", s.socket_type()))
}

/// Asserts that nothing is waiting on `s` (non-blocking receive says Again).
#[track_caller]
fn assert_oxmq_nothing_queued(s: &Socket, context: &str) {
    s.set_rcvtimeo(0).unwrap();
    match s.recv() {
        Err(oxmq::Error::Again) => {}
        Ok(frame) => panic!("{context}: oxmq delivered a frame it must not have: {}", describe(&frame)),
        Err(e) => panic!("{context}: non-blocking recv should say Again, got {e:?}"),
    }
    s.set_rcvtimeo(OX_TIMEOUT_MS).unwrap();
}

// ---------------------------------------------------------------------------
// Link: one oxmq socket <-> one peer
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Transport {
    Tcp,
    Ipc,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Side {
    OxmqBinds,
    OxmqConnects,
}

/// Removes an ipc socket file when the test ends.
struct IpcFile(PathBuf);

impl IpcFile {
    fn new() -> IpcFile {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        IpcFile(std::env::temp_dir().join(format!("oxmq-interop-{}-{n}.ipc", std::process::id())))
    }

    fn endpoint(&self) -> String {
        format!("ipc://{}", self.0.display())
    }
}

impl Drop for IpcFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Fields drop in order: peer first, then the oxmq socket, then the context.
struct Link {
    peer: Peer,
    ox: Socket,
    _ctx: Context,
    _ipc: Option<IpcFile>,
    /// e.g. "tcp, oxmq binds": prefixed to assertion messages.
    name: String,
}

/// Creates an oxmq socket (configured by `setup` before bind/connect) and a
/// pyzmq peer, and wires them over `transport` with oxmq on `side`.
fn link(
    transport: Transport,
    side: Side,
    ox_type: SocketType,
    setup: impl FnOnce(&Socket),
    peer_type: &str,
    peer_args: &[&str],
) -> Link {
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, ox_type);
    setup(&ox);
    let ipc = matches!(transport, Transport::Ipc).then(IpcFile::new);
    let local = match &ipc {
        Some(f) => f.endpoint(),
        None => "tcp://127.0.0.1:*".to_string(),
    };
    let mut args: Vec<String> = peer_args.iter().map(|a| a.to_string()).collect();
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
        "{ox_type:?}(oxmq) vs {peer_type}(libzmq), {transport:?}, {}",
        if side == Side::OxmqBinds { "oxmq binds" } else { "oxmq connects" }
    );
    Link { peer, ox, _ctx: ctx, _ipc: ipc, name }
}

// ---------------------------------------------------------------------------
// Scenarios, each run over {tcp, ipc} x {oxmq binds, oxmq connects}
// ---------------------------------------------------------------------------

/// The messages every scenario exchanges: single frame, multipart with empty
/// frames first/middle/last, and frames at the short/long size boundary.
fn samples() -> Vec<Vec<Part>> {
    vec![
        m(&[b"hello"]),
        m(&[b"", b"a", b"", b""]),
        vec![Part::Pattern { size: 255, seed: 1 }, Part::Pattern { size: 256, seed: 2 }, Part::Data(vec![])],
    ]
}

/// A reply distinct from the request it answers.
fn reply_to(msg: &[Part]) -> Vec<Part> {
    let mut reply = msg.to_vec();
    reply.push(Part::Data(b"reply".to_vec()));
    reply
}

fn pair_pair(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Pair, |_| {}, "PAIR", &[]);
    for msg in samples() {
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &msg, &l.name);
        oxmq_send(&l.ox, &msg);
        assert_peer_got(&l.peer.recv(), &msg, &l.name);
    }
}

fn push_to_pull(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Push, |_| {}, "PULL", &[]);
    for msg in samples() {
        oxmq_send(&l.ox, &msg);
        assert_peer_got(&l.peer.recv(), &msg, &l.name);
    }
}

fn pull_from_push(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Pull, |_| {}, "PUSH", &[]);
    for msg in samples() {
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &msg, &l.name);
    }
}

/// oxmq REQ -> libzmq REP (echo).
fn req_to_rep(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Req, |_| {}, "REP", &[]);
    let msgs = samples();
    l.peer.start_echo(msgs.len());
    for msg in &msgs {
        oxmq_send(&l.ox, msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), msg, &l.name);
        assert_peer_got(&l.peer.read_msg(), msg, &l.name);
    }
    l.peer.finish_echo(msgs.len());
}

/// libzmq REQ -> oxmq REP.
fn rep_from_req(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Rep, |_| {}, "REQ", &[]);
    for msg in samples() {
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &msg, &l.name);
        let reply = reply_to(&msg);
        oxmq_send(&l.ox, &reply);
        assert_peer_got(&l.peer.recv(), &reply, &l.name);
    }
}

/// oxmq REQ -> libzmq ROUTER (echo): ROUTER sees [routing id, "", body].
fn req_to_router(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Req, |s| s.set_routing_id(b"ox-req").unwrap(), "ROUTER", &[]);
    let msgs = samples();
    l.peer.start_echo(msgs.len());
    for msg in &msgs {
        oxmq_send(&l.ox, msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), msg, &l.name);
        assert_peer_got(&l.peer.read_msg(), &with_prefix(&[b"ox-req", b""], msg), &l.name);
    }
    l.peer.finish_echo(msgs.len());
}

/// libzmq REQ -> oxmq ROUTER.
fn router_from_req(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Router, |_| {}, "REQ", &["--routing-id", "py-req"]);
    for msg in samples() {
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &with_prefix(&[b"py-req", b""], &msg), &l.name);
        let reply = reply_to(&msg);
        oxmq_send(&l.ox, &with_prefix(&[b"py-req", b""], &reply));
        assert_peer_got(&l.peer.recv(), &reply, &l.name);
    }
}

/// oxmq DEALER -> libzmq REP (echo): the DEALER supplies the empty delimiter.
fn dealer_to_rep(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Dealer, |_| {}, "REP", &[]);
    let msgs = samples();
    l.peer.start_echo(msgs.len());
    for msg in &msgs {
        let request = with_prefix(&[b""], msg);
        oxmq_send(&l.ox, &request);
        assert_oxmq_got(&oxmq_recv(&l.ox), &request, &l.name);
        assert_peer_got(&l.peer.read_msg(), msg, &l.name);
    }
    l.peer.finish_echo(msgs.len());
}

/// libzmq DEALER -> oxmq REP.
fn rep_from_dealer(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Rep, |_| {}, "DEALER", &[]);
    for msg in samples() {
        l.peer.send(&with_prefix(&[b""], &msg));
        assert_oxmq_got(&oxmq_recv(&l.ox), &msg, &l.name);
        let reply = reply_to(&msg);
        oxmq_send(&l.ox, &reply);
        assert_peer_got(&l.peer.recv(), &with_prefix(&[b""], &reply), &l.name);
    }
}

/// oxmq DEALER (routing id set) -> libzmq ROUTER (echo).
fn dealer_to_router(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Dealer, |s| s.set_routing_id(b"ox-dealer").unwrap(), "ROUTER", &[]);
    let msgs = samples();
    l.peer.start_echo(msgs.len());
    for msg in &msgs {
        oxmq_send(&l.ox, msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), msg, &l.name);
        assert_peer_got(&l.peer.read_msg(), &with_prefix(&[b"ox-dealer"], msg), &l.name);
    }
    l.peer.finish_echo(msgs.len());
}

/// libzmq DEALER (routing id set) -> oxmq ROUTER.
fn router_from_dealer(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Router, |_| {}, "DEALER", &["--routing-id", "py-dealer"]);
    for msg in samples() {
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &with_prefix(&[b"py-dealer"], &msg), &l.name);
        let reply = reply_to(&msg);
        oxmq_send(&l.ox, &with_prefix(&[b"py-dealer"], &reply));
        assert_peer_got(&l.peer.recv(), &reply, &l.name);
    }
}

/// Sends with ROUTER_MANDATORY, retrying while the peer is not known yet.
fn oxmq_send_when_routable(s: &Socket, msg: &[Part], context: &str) {
    let deadline = Instant::now() + POLL_DEADLINE;
    loop {
        match s.send_multipart(frames(msg)) {
            Ok(()) => return,
            Err(oxmq::Error::HostUnreachable | oxmq::Error::Again) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5)); // bounded polling
            }
            Err(e) => panic!("{context}: oxmq ROUTER could not route to the peer within {POLL_DEADLINE:?}: {e:?}"),
        }
    }
}

/// ROUTER <-> ROUTER, both with routing ids. The connecting side sends first,
/// with ROUTER_MANDATORY, retrying until the handshake made the peer known.
fn router_router(t: Transport, side: Side) {
    let setup = |s: &Socket| {
        s.set_routing_id(b"ox-router").unwrap();
        s.set_router_mandatory(true).unwrap();
    };
    let mut l =
        link(t, side, SocketType::Router, setup, "ROUTER", &["--routing-id", "py-router", "--router-mandatory"]);
    for (i, msg) in samples().into_iter().enumerate() {
        let reply = reply_to(&msg);
        if side == Side::OxmqConnects {
            let to_peer = with_prefix(&[b"py-router"], &msg);
            if i == 0 {
                oxmq_send_when_routable(&l.ox, &to_peer, &l.name);
            } else {
                oxmq_send(&l.ox, &to_peer);
            }
            assert_peer_got(&l.peer.recv(), &with_prefix(&[b"ox-router"], &msg), &l.name);
            l.peer.send(&with_prefix(&[b"ox-router"], &reply));
            assert_oxmq_got(&oxmq_recv(&l.ox), &with_prefix(&[b"py-router"], &reply), &l.name);
        } else {
            l.peer.send_retrying(&with_prefix(&[b"ox-router"], &msg), 5000);
            assert_oxmq_got(&oxmq_recv(&l.ox), &with_prefix(&[b"py-router"], &msg), &l.name);
            oxmq_send(&l.ox, &with_prefix(&[b"py-router"], &reply));
            assert_peer_got(&l.peer.recv(), &with_prefix(&[b"ox-router"], &reply), &l.name);
        }
    }
}

/// PAIR <-> PAIR with frames of 0, 1, 255, 256 (short/long frame boundary),
/// 65536 and 16 MiB bytes in both directions, then all in one message.
fn message_sizes(t: Transport, side: Side) {
    const SIZES: [usize; 6] = [0, 1, 255, 256, 65536, 16 << 20];
    let mut l = link(t, side, SocketType::Pair, |_| {}, "PAIR", &[]);
    for (i, size) in SIZES.into_iter().enumerate() {
        let msg = vec![Part::Pattern { size, seed: i as u32 }];
        let context = format!("{}, {size} byte frame", l.name);
        oxmq_send(&l.ox, &msg);
        assert_peer_got(&l.peer.recv(), &msg, &context);
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &msg, &context);
    }
    let mixed: Vec<Part> =
        (0..2).flat_map(|round| SIZES[..5].iter().map(move |&size| Part::Pattern { size, seed: 7 + round })).collect();
    let context = format!("{}, multipart of mixed sizes", l.name);
    oxmq_send(&l.ox, &mixed);
    assert_peer_got(&l.peer.recv(), &mixed, &context);
    l.peer.send(&mixed);
    assert_oxmq_got(&oxmq_recv(&l.ox), &mixed, &context);
}

/// Message `i` of a burst, as zmq_peer.py `burst_message` builds it.
fn burst_message(i: usize) -> Vec<Part> {
    (0..i % 3 + 1).map(|k| Part::Pattern { size: (i * 131 + k * 71) % 600, seed: ((i + k) % 256) as u32 }).collect()
}

/// PAIR <-> PAIR: 2000 back-to-back messages of 1-3 frames (0..600 bytes)
/// each way, so frames straddle read/write buffer boundaries; order and
/// content are checked message by message.
fn burst(t: Transport, side: Side) {
    const COUNT: usize = 2000;
    let mut l = link(t, side, SocketType::Pair, |_| {}, "PAIR", &[]);
    l.peer.write(&format!(r#"{{"cmd":"expect_burst","count":{COUNT},"timeout_ms":5000}}"#));
    for i in 0..COUNT {
        oxmq_send(&l.ox, &burst_message(i));
    }
    let line = l.peer.read_line();
    assert_eq!(line, "ok", "{}: burst from oxmq", l.name);
    l.peer.expect(&format!(r#"{{"cmd":"send_burst","count":{COUNT}}}"#), "ok");
    for i in 0..COUNT {
        let context = format!("{}: burst message {i} from libzmq", l.name);
        assert_oxmq_got(&oxmq_recv(&l.ox), &burst_message(i), &context);
    }
}

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

interop_matrix!(
    pair_pair,
    push_to_pull,
    pull_from_push,
    req_to_rep,
    rep_from_req,
    req_to_router,
    router_from_req,
    dealer_to_rep,
    rep_from_dealer,
    dealer_to_router,
    router_from_dealer,
    router_router,
    message_sizes,
    burst,
);

/// PROBE_ROUTER on the oxmq side: the connecting oxmq ROUTER announces itself
/// with an empty message, so the libzmq ROUTER can answer without retrying.
#[test]
fn probe_router_from_oxmq() {
    run_test(|| {
        let setup = |s: &Socket| {
            s.set_routing_id(b"ox-router").unwrap();
            s.set_probe_router(true).unwrap();
        };
        let peer_args = ["--routing-id", "py-router", "--router-mandatory"];
        let mut l = link(Transport::Tcp, Side::OxmqConnects, SocketType::Router, setup, "ROUTER", &peer_args);
        // Queue "recv, then reply" on the peer before blocking in oxmq recv:
        // like libzmq, oxmq may only attach the new peer (and send the
        // probe) while the application is inside a socket call.
        let reply = m(&[b"ox-router", b"hi"]); // no retry: the probe made us known
        l.peer.write(r#"{"cmd":"recv","timeout_ms":5000}"#);
        l.peer.write(&format!(r#"{{"cmd":"send","parts":{}}}"#, parts_json(&reply)));
        let got = l.ox.recv_multipart();
        assert_peer_got(&l.peer.read_msg(), &m(&[b"ox-router", b""]), "probe from oxmq ROUTER");
        assert_eq!(l.peer.read_line(), "ok", "libzmq ROUTER replying to the probe");
        let got = got.unwrap_or_else(|e| panic!("oxmq ROUTER recv of the reply to its probe: {e:?}"));
        assert_oxmq_got(&got, &m(&[b"py-router", b"hi"]), "reply to the probe");
    });
}

/// PROBE_ROUTER on the libzmq side: the oxmq ROUTER receives the probe
/// (routing id + empty frame) and can answer straight away.
#[test]
fn probe_router_from_libzmq() {
    run_test(|| {
        let setup = |s: &Socket| {
            s.set_routing_id(b"ox-router").unwrap();
            s.set_router_mandatory(true).unwrap();
        };
        let peer_args = ["--routing-id", "py-router", "--probe-router"];
        let mut l = link(Transport::Tcp, Side::OxmqBinds, SocketType::Router, setup, "ROUTER", &peer_args);
        assert_oxmq_got(&oxmq_recv(&l.ox), &m(&[b"py-router", b""]), "probe from libzmq ROUTER");
        oxmq_send(&l.ox, &m(&[b"py-router", b"hi"])); // mandatory, no retry: the peer is known
        assert_peer_got(&l.peer.recv(), &m(&[b"ox-router", b"hi"]), "reply to the probe");
    });
}

// ---------------------------------------------------------------------------
// A restarting libzmq peer is reconnected to
// ---------------------------------------------------------------------------

/// oxmq PUSH connects to a libzmq PULL bound on a fixed endpoint; the peer is
/// killed (SIGKILL) and a new one binds the same endpoint; oxmq must
/// reconnect by itself and deliver to the new peer.
fn reconnects_after_peer_restart(transport: Transport) {
    let ipc = matches!(transport, Transport::Ipc).then(IpcFile::new);
    let endpoint = match &ipc {
        Some(f) => f.endpoint(),
        None => {
            // A free port for the fixed endpoint (the peer rebinds it with SO_REUSEADDR).
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("tcp://127.0.0.1:{}", probe.local_addr().unwrap().port())
        }
    };
    let name = format!("restart over {transport:?} ({endpoint})");
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, SocketType::Push);
    ox.connect(&endpoint).unwrap_or_else(|e| panic!("oxmq connect {endpoint}: {e:?}"));

    let bind = ["--bind".to_string(), endpoint.clone()];
    let mut first = Peer::spawn("PULL", &bind);
    let before = m(&[b"before restart"]);
    oxmq_send(&ox, &before);
    assert_peer_got(&first.recv(), &before, &name);
    first.kill();
    drop(first);

    let mut second = Peer::spawn("PULL", &bind);
    // Messages sent while oxmq has not noticed the restart may be lost, so
    // keep sending numbered messages until one arrives (bounded by a deadline).
    ox.set_sndtimeo(100).unwrap();
    let deadline = Instant::now() + POLL_DEADLINE;
    let mut sent = Vec::new();
    loop {
        let msg = format!("after restart {}", sent.len());
        sent.push(describe(msg.as_bytes()));
        match ox.send(msg.into_bytes()) {
            Ok(()) | Err(oxmq::Error::Again) => {}
            Err(e) => panic!("{name}: oxmq send after the peer restarted: {e:?}"),
        }
        if let Some(got) = second.try_recv(100) {
            assert!(
                got.len() == 1 && sent.contains(&got[0]),
                "{name}: the new peer received {got:?}, not one of the messages sent after the restart"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: no message reached the restarted peer within {POLL_DEADLINE:?} ({} sent); \
             oxmq did not reconnect",
            sent.len()
        );
    }
}

#[test]
fn reconnects_after_peer_restart_tcp() {
    run_test(|| reconnects_after_peer_restart(Transport::Tcp));
}

#[test]
fn reconnects_after_peer_restart_ipc() {
    run_test(|| reconnects_after_peer_restart(Transport::Ipc));
}

/// oxmq ROUTER (bound): a libzmq DEALER with routing id "py" is killed; oxmq
/// must notice (the id becomes unroutable) and then accept a new DEALER
/// with the same routing id and route to it.
///
/// Note: this is stricter than libzmq 4.3.5, whose own ROUTER sometimes
/// (~1 run in 10) still refuses the reused id right after reporting it
/// unreachable, silently dropping the new peer's messages.
#[test]
fn router_accepts_restarted_peer_with_same_routing_id() {
    run_test(|| {
        let ctx = Context::new();
        let router = oxmq_socket(&ctx, SocketType::Router);
        router.bind("tcp://127.0.0.1:*").unwrap();
        let ep = router.last_endpoint().unwrap();
        let args = ["--connect".to_string(), ep, "--routing-id".to_string(), "py".to_string()];

        let mut first = Peer::spawn("DEALER", &args);
        first.send(&m(&[b"one"]));
        assert_oxmq_got(&oxmq_recv(&router), &m(&[b"py", b"one"]), "first DEALER");
        first.kill();
        drop(first);
        // Wait until oxmq has noticed the death: with ROUTER_MANDATORY,
        // sending to "py" then fails with HostUnreachable. (Without this the
        // new connection could race the old one's teardown, and a live
        // duplicate routing id is refused - by libzmq too.)
        router.set_router_mandatory(true).unwrap();
        let deadline = Instant::now() + POLL_DEADLINE;
        loop {
            match router.send_multipart([&b"py"[..], b"to the dead peer"]) {
                Err(oxmq::Error::HostUnreachable) => break,
                Ok(()) | Err(oxmq::Error::Again) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5)); // bounded polling
                }
                other => {
                    panic!("oxmq ROUTER still routes to a killed peer after {POLL_DEADLINE:?} (last send: {other:?})")
                }
            }
        }

        let mut second = Peer::spawn("DEALER", &args);
        second.send(&m(&[b"two"]));
        assert_oxmq_got(&oxmq_recv(&router), &m(&[b"py", b"two"]), "restarted DEALER, same routing id");
        oxmq_send(&router, &m(&[b"py", b"reply"]));
        assert_peer_got(&second.recv(), &m(&[b"reply"]), "reply routed to the restarted DEALER");
    });
}

/// Messages sent right before the socket is dropped are still delivered
/// when LINGER allows it (here: sent before the connection is even up).
#[test]
fn close_with_linger_flushes_pending_messages() {
    run_test(|| {
        const COUNT: usize = 200;
        let mut peer = Peer::spawn("PULL", &["--bind".to_string(), "tcp://127.0.0.1:*".to_string()]);
        let ctx = Context::new();
        let push = oxmq_socket(&ctx, SocketType::Push);
        push.set_linger(5000).unwrap();
        push.connect(&peer.endpoint).unwrap();
        for i in 0..COUNT {
            oxmq_send(&push, &burst_message(i));
        }
        drop(push); // must not discard what is queued (LINGER 5 s)
        peer.expect(&format!(r#"{{"cmd":"expect_burst","count":{COUNT},"timeout_ms":5000}}"#), "ok");
    });
}

// ---------------------------------------------------------------------------
// Incompatible socket types are refused
// ---------------------------------------------------------------------------

const HANDSHAKE_FAILED: [&str; 3] = ["HANDSHAKE_FAILED_PROTOCOL", "HANDSHAKE_FAILED_NO_DETAIL", "DISCONNECTED"];

/// libzmq DEALER connects to an oxmq PULL and sends: the handshake must fail,
/// oxmq must deliver nothing and keep working for a compatible peer.
#[test]
fn incompatible_dealer_to_oxmq_pull_is_refused() {
    run_test(|| {
        let ctx = Context::new();
        let pull = oxmq_socket(&ctx, SocketType::Pull);
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let ep = pull.last_endpoint().unwrap();
        let mut peer = Peer::spawn("DEALER", &["--connect".into(), ep.clone(), "--monitor".into()]);
        // Queued on the connecting pipe if libzmq has not yet dropped it
        // after the failed handshake (then it would block: that's fine too).
        peer.try_send(&m(&[b"must not arrive"]));
        peer.wait_event(&HANDSHAKE_FAILED);
        let events = peer.events();
        assert!(
            !events.iter().any(|e| e == "HANDSHAKE_SUCCEEDED"),
            "libzmq DEALER completed a handshake with oxmq PULL; its events: {events:?}"
        );
        assert_oxmq_nothing_queued(&pull, "PULL after refusing a DEALER");

        // Still alive: a compatible oxmq PUSH gets through, and only its message.
        let push = oxmq_socket(&ctx, SocketType::Push);
        push.connect(&ep).unwrap();
        let alive = m(&[b"still alive"]);
        oxmq_send(&push, &alive);
        assert_oxmq_got(&oxmq_recv(&pull), &alive, "PULL after refusing a DEALER");
        assert_oxmq_nothing_queued(&pull, "PULL after refusing a DEALER");
    });
}

/// libzmq REQ connects to an oxmq REQ (REQ-REQ is invalid): refused, and the
/// oxmq REQ has no peer to send its request to.
#[test]
fn incompatible_req_to_oxmq_req_is_refused() {
    run_test(|| {
        let ctx = Context::new();
        let req = oxmq_socket(&ctx, SocketType::Req);
        let ipc = IpcFile::new();
        req.bind(&ipc.endpoint()).unwrap();
        let mut peer = Peer::spawn("REQ", &["--connect".into(), ipc.endpoint(), "--monitor".into()]);
        peer.try_send(&m(&[b"request from libzmq"])); // best effort, as above
        peer.wait_event(&HANDSHAKE_FAILED);
        let events = peer.events();
        assert!(
            !events.iter().any(|e| e == "HANDSHAKE_SUCCEEDED"),
            "libzmq REQ completed a handshake with oxmq REQ; its events: {events:?}"
        );
        req.set_sndtimeo(200).unwrap();
        match req.send(&b"request from oxmq"[..]) {
            Err(oxmq::Error::Again) => {}
            other => panic!("oxmq REQ with only an incompatible peer: send should time out (Again), got {other:?}"),
        }
    });
}

// libzmq refuses incompatible types on its own side, so the tests above can't
// show that oxmq checks the peer's Socket-Type. zmtp_raw_peer.py can: it
// announces any type, ignores oxmq's, and sends a message right away.

fn raw_peer(endpoint: &str, announced_type: &str, message: &str) -> Peer {
    let args: Vec<String> = ["--connect", endpoint, "--socket-type", announced_type, "--send", message]
        .iter()
        .map(|a| a.to_string())
        .collect();
    Peer::start(RAW_PEER_SCRIPT, &args, format!("raw ZMTP peer announcing {announced_type}"))
}

/// Control for the test below: the raw peer announcing a compatible type
/// (PUSH) is accepted by oxmq PULL and its message is delivered, so the raw
/// peer's framing is right and the refusal test cannot pass vacuously.
#[test]
fn raw_zmtp_compatible_peer_is_accepted() {
    run_test(|| {
        let ctx = Context::new();
        let pull = oxmq_socket(&ctx, SocketType::Pull);
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let mut peer = raw_peer(&pull.last_endpoint().unwrap(), "PUSH", "from raw PUSH");
        assert_eq!(peer.read_line(), "connected");
        assert_eq!(peer.read_line(), "peer-ready PULL", "oxmq PULL should send READY with Socket-Type PULL");
        assert_eq!(peer.read_line(), "sent");
        assert_oxmq_got(&oxmq_recv(&pull), &m(&[b"from raw PUSH"]), "raw PUSH -> oxmq PULL");
    });
}

/// Peers announcing types incompatible with PULL are disconnected, nothing
/// they send is delivered, and the PULL keeps working.
#[test]
fn raw_zmtp_incompatible_peer_is_dropped() {
    run_test(|| {
        let ctx = Context::new();
        let pull = oxmq_socket(&ctx, SocketType::Pull);
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let ep = pull.last_endpoint().unwrap();
        for announced in ["PUB", "REQ", "PULL"] {
            let context = format!("raw peer announcing {announced} -> oxmq PULL");
            let mut peer = raw_peer(&ep, announced, "must not arrive");
            assert_eq!(peer.read_line(), "connected", "{context}");
            let mut line = peer.read_line(); // peer-ready PULL | peer-error .. | closed
            while line != "closed" && line != "open" {
                assert!(
                    line.starts_with("peer-ready")
                        || line.starts_with("peer-error")
                        || line.starts_with("sent")
                        || line.starts_with("send-failed"),
                    "{context}: unexpected line {line:?}"
                );
                line = peer.read_line();
            }
            assert_eq!(line, "closed", "{context}: oxmq did not close the connection");
            assert_oxmq_nothing_queued(&pull, &context);
        }
        let push = oxmq_socket(&ctx, SocketType::Push);
        push.connect(&ep).unwrap();
        let alive = m(&[b"still alive"]);
        oxmq_send(&push, &alive);
        assert_oxmq_got(&oxmq_recv(&pull), &alive, "PULL after refusing raw peers");
        assert_oxmq_nothing_queued(&pull, "PULL after refusing raw peers");
    });
}

// ---------------------------------------------------------------------------
// Self-checks of the helpers (no python needed)
// ---------------------------------------------------------------------------

#[test]
fn helper_encodings_match_known_vectors() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    for text in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\x00\xff\x10"] {
        assert_eq!(unbase64(&base64(text)), text);
    }
    let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(hex(sha256(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(hex(sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let million_a = vec![b'a'; 1_000_000];
    assert_eq!(hex(sha256(&million_a)), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    let slow = |size: usize, seed: usize| -> Vec<u8> {
        (0..size).map(|i| ((i % 251) * 131 + (i / 251) * 17 + seed * 29) as u8).collect()
    };
    for (size, seed) in [(0, 0), (1, 3), (251, 1), (252, 2), (70_000, 9)] {
        assert_eq!(pattern(size, seed as u32), slow(size, seed), "pattern({size}, {seed})");
    }
    assert_eq!(pattern(300, 1)[249..253], [(249 * 131 + 29) as u8, (250 * 131 + 29) as u8, 17 + 29, 131 + 17 + 29]);
}
