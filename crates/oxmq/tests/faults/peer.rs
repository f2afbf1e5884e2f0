//! Peer processes for the fault tests: the test binary run again, alone, with
//! `OXMQ_FAULTS_ROLE` naming what the process is (the pattern of
//! `common::in_a_process_of_its_own`). A process can then be SIGKILLed, SIGSTOPped or put in
//! a network namespace, which threads in the test process cannot.
//!
//! Child side ([`run_role_if_child`]): the role is `KIND MODE ENDPOINT [option=value ...]`,
//! e.g. `pull connect tcp://127.0.0.1:5555 rcvhwm=50`. The child makes one oxmq socket, prints
//! `@@ ready <last endpoint>`, then plays its part and reports on stdout, one `@@ ...` line per
//! fact (`got N` per message received, `event NAME VALUE` per monitor event, ...). It exits when
//! its stdin closes, so a test process that dies leaves no peer behind.
//!
//! Parent side ([`Proc`]): starts a child (optionally under `ip netns exec`), collects its lines
//! with the time each was read, and kills it when dropped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oxmq::{Context, Error, EventMask, Socket, SocketType};

pub const ROLE_ENV: &str = "OXMQ_FAULTS_ROLE";

/// How long a child may take to start and report `ready` (an `ip netns exec` on a loaded
/// machine included).
const START_DEADLINE: Duration = Duration::from_secs(20);

/// A numbered message: the number (8 bytes, little-endian), zero-padded to `size` bytes.
pub fn numbered(n: u64, size: usize) -> Vec<u8> {
    let mut m = n.to_le_bytes().to_vec();
    m.resize(size.max(8), 0);
    m
}

/// The number in a [`numbered`] message.
pub fn number_of(m: &[u8]) -> u64 {
    u64::from_le_bytes(m[..8].try_into().expect("a numbered message has 8 bytes or more"))
}

// ---------------------------------------------------------------------------
// Child side
// ---------------------------------------------------------------------------

fn say(line: &str) {
    // One println is one write of a whole line: lines from several threads never mix.
    println!("@@ {line}");
}

/// In a child process (`OXMQ_FAULTS_ROLE` set), play the role; it never returns. In the test
/// process, return at once.
pub fn run_role_if_child() {
    let Ok(spec) = std::env::var(ROLE_ENV) else { return };
    let words: Vec<&str> = spec.split(' ').collect();
    let [kind, mode, endpoint, rest @ ..] = &words[..] else { panic!("bad role {spec:?}") };
    let opts: HashMap<&str, i64> = rest
        .iter()
        .map(|w| {
            let (k, v) = w.split_once('=').unwrap_or_else(|| panic!("bad role option {w:?}"));
            (k, v.parse().unwrap_or_else(|_| panic!("bad role option {w:?}")))
        })
        .collect();
    let opt = |k: &str| opts.get(k).copied();
    let commands = stdin_commands();
    let ctx = Context::new();
    if *kind == "lpclient" {
        lazy_pirate_client(&ctx, endpoint, opt("timeout").unwrap_or(300) as i32, opt("relaxed") == Some(1));
    }
    let t = match *kind {
        "pull" => SocketType::Pull,
        "push" => SocketType::Push,
        "sub" => SocketType::Sub,
        "pub" => SocketType::Pub,
        "router" => SocketType::Router,
        "rep" => SocketType::Rep,
        other => panic!("unknown role kind {other:?}"),
    };
    let s = Socket::new(&ctx, t).unwrap();
    s.set_linger(0).unwrap();
    let set = |name: &str, f: &dyn Fn(i32) -> oxmq::Result<()>| {
        if let Some(v) = opt(name) {
            f(v as i32).unwrap_or_else(|e| panic!("{name}={v}: {e}"));
        }
    };
    set("sndhwm", &|v| s.set_sndhwm(v));
    set("rcvhwm", &|v| s.set_rcvhwm(v));
    set("sndtimeo", &|v| s.set_sndtimeo(v));
    set("hb_ivl", &|v| s.set_heartbeat_ivl(v));
    set("hb_timeout", &|v| s.set_heartbeat_timeout(v));
    set("reconnect_ivl", &|v| s.set_reconnect_ivl(v));
    if opt("monitor") == Some(1) {
        let mon = s.monitor(EventMask::ALL).unwrap();
        std::thread::spawn(move || {
            while let Some(ev) = mon.recv() {
                say(&format!("event {:?} {}", ev.event, ev.value));
            }
        });
    }
    if t == SocketType::Sub {
        s.subscribe("").unwrap();
    }
    match *mode {
        "bind" => s.bind(endpoint).unwrap_or_else(|e| panic!("bind {endpoint}: {e}")),
        "connect" => s.connect(endpoint).unwrap_or_else(|e| panic!("connect {endpoint}: {e}")),
        other => panic!("mode must be bind or connect, not {other:?}"),
    }
    say(&format!("ready {}", s.last_endpoint().unwrap()));
    match *kind {
        "pull" | "sub" => loop {
            let m = s.recv().unwrap();
            say(&format!("got {}", number_of(&m)));
        },
        "router" | "rep" => loop {
            // Echo: ROUTER sends the routing id back with the rest, REP keeps its envelope.
            let m = s.recv_multipart().unwrap();
            s.send_multipart(m).unwrap();
        },
        "pub" => {
            let period = Duration::from_millis(opt("period_ms").unwrap_or(5) as u64);
            for n in 0.. {
                s.send(numbered(n, 8)).unwrap();
                std::thread::sleep(period);
            }
            unreachable!()
        }
        "push" => {
            // Commands: "send A B" sends A..B and answers "sent B", or "send_failed N ERROR".
            let size = opt("size").unwrap_or(8) as usize;
            for cmd in commands {
                let w: Vec<&str> = cmd.split(' ').collect();
                let ["send", a, b] = w[..] else { panic!("bad command {cmd:?}") };
                let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
                let mut failed = None;
                for n in a..b {
                    if let Err(e) = s.send(numbered(n, size)) {
                        failed = Some((n, e));
                        break;
                    }
                }
                match failed {
                    None => say(&format!("sent {b}")),
                    Some((n, e)) => say(&format!("send_failed {n} {e:?}")),
                }
            }
            std::process::exit(0)
        }
        _ => unreachable!(),
    }
}

/// Stdin, one command a line; the process exits when stdin closes (the test is over, or its
/// process is gone).
fn stdin_commands() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
        std::process::exit(0);
    });
    rx
}

/// The lazy pirate client of `examples/lpclient.rs`, retrying forever and reporting: `reply N`
/// when request N is answered, `retry N` when it timed out and is sent again. Classic: close
/// the REQ and open a new one; relaxed: REQ_RELAXED + REQ_CORRELATE on one socket.
fn lazy_pirate_client(ctx: &Context, endpoint: &str, timeout_ms: i32, relaxed: bool) -> ! {
    let open = || {
        let req = Socket::new(ctx, SocketType::Req).unwrap();
        req.set_linger(0).unwrap();
        req.set_rcvtimeo(timeout_ms).unwrap();
        req.set_reconnect_ivl(100).unwrap();
        if relaxed {
            req.set_req_relaxed(true).unwrap();
            req.set_req_correlate(true).unwrap();
        }
        req.connect(endpoint).unwrap();
        req
    };
    let mut req = open();
    say(&format!("ready {endpoint}"));
    for seq in 1u64.. {
        req.send(numbered(seq, 8)).unwrap();
        loop {
            match req.recv() {
                Ok(reply) => {
                    // Classic: a fresh socket has no old request; relaxed: REQ_CORRELATE drops
                    // replies to abandoned requests. Either way the reply is to this one.
                    assert_eq!(number_of(&reply), seq, "reply to another request");
                    say(&format!("reply {seq}"));
                    break;
                }
                Err(Error::Again) => {
                    say(&format!("retry {seq}"));
                    if !relaxed {
                        drop(req);
                        req = open();
                    }
                    req.send(numbered(seq, 8)).unwrap();
                }
                Err(e) => panic!("recv: {e:?}"),
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    unreachable!()
}

// ---------------------------------------------------------------------------
// Parent side
// ---------------------------------------------------------------------------

/// What a child reported so far.
#[derive(Default)]
pub struct Seen {
    /// Every `got N`, in order.
    pub got: Vec<u64>,
    /// Every other line (without the `@@ `), with when it was read.
    pub lines: Vec<(Instant, String)>,
    /// The child's stdout is closed (it exited or was killed).
    pub eof: bool,
}

/// A child process playing a role.
pub struct Proc {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    seen: Arc<Mutex<Seen>>,
    stderr: Arc<Mutex<String>>,
    /// The endpoint from its `ready` line.
    pub endpoint: String,
}

impl Proc {
    /// Run test `test` of this binary again as a child playing `role`, inside network
    /// namespace `netns` if given; wait for its `ready` line.
    pub fn spawn(name: &str, test: &str, role: &str, netns: Option<&str>) -> Proc {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(ROLE_ENV, role)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name} ({role}): {e}"));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&seen);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest may print "test NAME ... " on the same line first.
                let Some(at) = line.find("@@ ") else { continue };
                let fact = &line[at + 3..];
                let now = Instant::now();
                let mut seen = sink.lock().unwrap();
                match fact.strip_prefix("got ") {
                    Some(n) => seen.got.push(n.parse().expect("got N")),
                    None => seen.lines.push((now, fact.to_string())),
                }
            }
            sink.lock().unwrap().eof = true;
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut child_stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = child_stderr.read(&mut buf) {
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut p =
            Proc { name: name.to_string(), stdin: child.stdin.take(), child, seen, stderr, endpoint: String::new() };
        let (_, ready) = p.wait_line(0, "ready ", START_DEADLINE);
        p.endpoint = ready["ready ".len()..].to_string();
        p
    }

    /// Everything known about the child, for a failure message.
    pub fn describe(&self) -> String {
        let seen = self.seen.lock().unwrap();
        let lines: Vec<&str> = seen.lines.iter().map(|(_, l)| l.as_str()).collect();
        let stderr = self.stderr.lock().unwrap();
        let tail = &stderr[stderr.len().saturating_sub(3000)..];
        format!(
            "{}: {} messages got (last {:?}); lines {:?}; stdout closed: {}; stderr: {tail}",
            self.name,
            seen.got.len(),
            seen.got.last(),
            &lines[lines.len().saturating_sub(30)..],
            seen.eof
        )
    }

    /// The number of lines (other than `got`) so far: a mark for [`wait_line`](Self::wait_line).
    pub fn mark(&self) -> usize {
        self.seen.lock().unwrap().lines.len()
    }

    /// The first line at or after mark `from` that starts with `prefix`, waiting up to
    /// `limit`; fails the test if none comes.
    #[track_caller]
    pub fn wait_line(&self, from: usize, prefix: &str, limit: Duration) -> (Instant, String) {
        let deadline = Instant::now() + limit;
        loop {
            {
                let seen = self.seen.lock().unwrap();
                if let Some(hit) = seen.lines.iter().skip(from).find(|(_, l)| l.starts_with(prefix)) {
                    return hit.clone();
                }
                if seen.eof || Instant::now() >= deadline {
                    drop(seen);
                    panic!("no {prefix:?} line within {limit:?}: {}", self.describe());
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// A copy of the lines at or after mark `from`.
    pub fn lines_since(&self, from: usize) -> Vec<(Instant, String)> {
        self.seen.lock().unwrap().lines[from..].to_vec()
    }

    /// A copy of the numbers received so far.
    pub fn got(&self) -> Vec<u64> {
        self.seen.lock().unwrap().got.clone()
    }

    /// How many messages received so far.
    pub fn got_len(&self) -> usize {
        self.seen.lock().unwrap().got.len()
    }

    /// Wait until `ok(received numbers)`, up to `limit`; fails the test if it never is.
    #[track_caller]
    pub fn wait_got(&self, what: &str, limit: Duration, mut ok: impl FnMut(&[u64]) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if ok(&self.seen.lock().unwrap().got) {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: not within {limit:?}: {}", self.describe());
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Send a command line to the child.
    pub fn tell(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap_or_else(|e| panic!("cannot tell {}: {e}", self.name));
    }

    /// Send signal `name` (STOP, CONT) to the child.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let st = Command::new("kill").args([&format!("-{name}"), &pid]).status();
        assert!(matches!(st, Ok(s) if s.success()), "kill -{name} {pid}: {st:?}");
    }

    /// SIGKILL the child, reap it, and wait until everything it wrote before dying is read.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.seen.lock().unwrap().eof {
            assert!(Instant::now() < deadline, "{}: stdout still open after SIGKILL", self.name);
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stdin = None;
        // SIGKILL also ends a stopped process; std sends nothing to a child already reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
