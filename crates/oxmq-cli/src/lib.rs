//! Shared argument parsing and result printing for the oxmq perf tools
//! (`local_thr`, `remote_thr`, `local_lat`, `remote_lat`, `inproc_thr`, `inproc_lat`, and the
//! ceilings without ZeroMQ: `tcp_local_thr`/`tcp_remote_thr`, `inproc_ceiling`, and the
//! plain-TCP latency floor `tcp_local_lat`/`tcp_remote_lat`).
//!
//! They mirror libzmq's `perf/` programs: same arguments, same output
//! lines, same measurement window, so that they pair with the libzmq tools of
//! `oxmq-libzmq-perf` across processes in either direction.

use std::fmt::Display;
use std::process;
use std::time::{Duration, Instant};

/// Reads exactly `N` positional arguments or prints `usage: ...` and exits 1.
pub fn args<const N: usize>(usage: &str) -> [String; N] {
    let v: Vec<String> = std::env::args().skip(1).collect();
    match <[String; N]>::try_from(v) {
        Ok(a) => a,
        Err(_) => {
            println!("usage: {usage}");
            process::exit(1);
        }
    }
}

/// Parses a non-negative count or size argument, exiting with a message on error.
pub fn number(s: &str, what: &str) -> usize {
    match s.trim().parse::<usize>() {
        Ok(n) => n,
        Err(_) => {
            eprintln!("invalid {what}: {s:?}");
            process::exit(1);
        }
    }
}

/// Reports a failed call the way libzmq's tools do and exits 1.
pub fn fail(call: &str, err: impl Display) -> ! {
    eprintln!("error in {call}: {err}");
    process::exit(1);
}

/// The raw-TCP tools' side that binds: accept one plain TCP connection on `tcp://host:port`
/// (no ZeroMQ; a blocking socket), exiting 1 on failure.
pub fn tcp_accept(endpoint: &str) -> std::net::TcpStream {
    let addr = endpoint.strip_prefix("tcp://").unwrap_or_else(|| fail("bind", "only tcp:// endpoints"));
    let listener = std::net::TcpListener::bind(addr).unwrap_or_else(|e| fail("bind", e));
    listener.accept().unwrap_or_else(|e| fail("accept", e)).0
}

/// The raw-TCP tools' side that connects: a plain TCP connection to `tcp://host:port`, tried
/// again for 5 s, as a ZeroMQ connect would, in case the listener is not up yet.
pub fn tcp_connect(endpoint: &str) -> std::net::TcpStream {
    use std::time::{Duration, Instant};
    let addr = endpoint.strip_prefix("tcp://").unwrap_or_else(|| fail("connect", "only tcp:// endpoints"));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match std::net::TcpStream::connect(addr) {
            Ok(c) => return c,
            Err(e) if Instant::now() > deadline => fail("connect", e),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Exits 1 with libzmq's message for a message of the wrong size.
pub fn check_size(got: usize, want: usize) {
    if got != want {
        eprintln!("message of incorrect size received (got {got} B, expected {want} B)");
        process::exit(1);
    }
}

/// A fresh body of `size` zero bytes for one message, made as the libzmq tools make theirs:
/// `malloc`, then `memset` (`zmq_msg_init_size`, then rust-zmq's `Message::with_size` zeroing).
///
/// Not `vec![0; size]`: that is `calloc`, and glibc's `calloc` (2.36 here) skips the
/// per-thread cache that `malloc` takes from, so it locks the allocator's arena for every
/// message. A tool that sends from one thread and frees on another would then measure that
/// lock, and not the same work as libzmq's tool.
#[allow(clippy::slow_vector_initialization, reason = "the lint's `vec![0; n]` is the calloc avoided here")]
pub fn zeroed_body(size: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(size);
    body.resize(size, 0);
    body
}

/// Receive `count` messages with `recv` (which returns each one's size), checking their size.
/// As in libzmq's `local_thr`, the clock starts once the first message has arrived.
pub fn time_receives(size: usize, count: usize, mut recv: impl FnMut() -> usize) -> Duration {
    check_size(recv(), size);
    let start = Instant::now();
    for _ in 1..count {
        check_size(recv(), size);
    }
    start.elapsed()
}

/// Run `roundtrips` request/reply roundtrips with `roundtrip` (which returns the reply's size),
/// checking the size of each reply.
pub fn time_roundtrips(size: usize, roundtrips: usize, mut roundtrip: impl FnMut() -> usize) -> Duration {
    let start = Instant::now();
    for _ in 0..roundtrips {
        check_size(roundtrip(), size);
    }
    start.elapsed()
}

fn micros(elapsed: Duration) -> f64 {
    // libzmq's stopwatch has microsecond resolution and clamps 0 to 1.
    (elapsed.as_micros().max(1)) as f64
}

/// Prints the two header lines of the throughput tools.
pub fn print_thr_header(size: usize, count: usize) {
    println!("message size: {size} [B]");
    println!("message count: {count}");
}

/// Prints the throughput lines, computed like libzmq's `local_thr`:
/// `count` messages over the time from the first message to the last.
pub fn print_thr_result(size: usize, count: usize, elapsed: Duration) {
    let throughput = (count as f64 / micros(elapsed) * 1_000_000.0) as u64;
    let megabits = (throughput as f64 * size as f64 * 8.0) / 1_000_000.0;
    println!("mean throughput: {throughput} [msg/s]");
    println!("mean throughput: {megabits:.3} [Mb/s]");
}

/// Prints the two header lines of the latency tools.
pub fn print_lat_header(size: usize, roundtrips: usize) {
    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
}

/// Prints the one-way latency: elapsed / (2 * roundtrips), in microseconds.
pub fn print_lat_result(roundtrips: usize, elapsed: Duration) {
    let latency = elapsed.as_secs_f64() * 1_000_000.0 / (2.0 * roundtrips.max(1) as f64);
    println!("average latency: {latency:.3} [us]");
}

/// The resident set size (`VmRSS` of `/proc/<pid>/status`) of process `pid`
/// (`None`: this process), in KiB.
pub fn vm_rss_kib(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    parse_vm_rss(&std::fs::read_to_string(path).ok()?)
}

/// The `VmRSS:` figure of a `/proc/<pid>/status` text, in KiB.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok())
}

/// Raises the soft limit on open files to the hard limit (the memory tools hold
/// thousands of connections). Returns the new soft limit (`u64::MAX`: unlimited).
pub fn raise_nofile_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    if lim.current != lim.maximum {
        let want = rustix::process::Rlimit { current: lim.maximum, maximum: lim.maximum };
        if setrlimit(Resource::Nofile, want).is_ok() {
            return lim.maximum.unwrap_or(u64::MAX);
        }
    }
    lim.current.unwrap_or(u64::MAX)
}

/// Pins the calling thread to `core` when the environment variable `var`
/// names one (the two-thread inproc tools: the receiving thread and the
/// sending thread each get their own variable). Unset: the thread is left to
/// the scheduler.
pub fn pin_thread_from_env(var: &str) {
    let Ok(core) = std::env::var(var) else { return };
    let core: usize = core.trim().parse().unwrap_or_else(|_| fail(var, format!("not a core number: {core:?}")));
    pin_thread(core).unwrap_or_else(|e| fail("sched_setaffinity", e));
}

/// Pins the calling thread to `core`.
pub fn pin_thread(core: usize) -> std::io::Result<()> {
    use rustix::thread::{CpuSet, sched_setaffinity};
    if core >= CpuSet::MAX_CPU {
        return Err(std::io::Error::other(format!("core {core} out of range")));
    }
    let mut set = CpuSet::new();
    set.set(core);
    // None: the calling thread.
    sched_setaffinity(None, &set).map_err(std::io::Error::from)
}

/// Prints the result lines of the memory tools: `<what>: <value> [<unit>]`.
pub fn print_figure(what: &str, value: impl Display, unit: &str) {
    println!("{what}: {value} [{unit}]");
}

/// Finds a `<key> <number> <unit>` line (as the perf tools print them) in `text`.
pub fn parse_figure(text: &str, key: &str, unit: &str) -> Option<f64> {
    text.lines().find_map(|l| l.trim().strip_prefix(key)?.trim().strip_suffix(unit)?.trim().parse::<f64>().ok())
}

/// Which side of a throughput run a `scale_thr` process plays, and the pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The single socket (it binds).
    One,
    /// The `peers` sockets (they connect), all in this process and one context.
    Many,
    /// Both, in two threads of this process (for inproc).
    Both,
}

/// The socket pattern of a `scale_thr` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// One PUSH sends, the peers are PULLs.
    Push,
    /// One XPUB (XPUB_NODROP, XPUB_VERBOSE: a PUB that blocks instead of dropping and sees
    /// every subscription) sends, the peers are SUBs subscribed to everything.
    Pub,
    /// The peers are DEALERs that send, the one socket is a ROUTER.
    Router,
}

/// The arguments of `scale_thr`.
#[derive(Debug, Clone)]
pub struct ScaleArgs {
    pub role: Role,
    pub pattern: Pattern,
    pub endpoint: String,
    pub peers: usize,
    pub size: usize,
    /// Messages received in all (for PUB: by all subscribers together; the PUB sends count/peers).
    pub count: usize,
}

pub const SCALE_USAGE: &str =
    "scale_thr <one|many|both> <push|pub|router> <endpoint> <peers> <message-size> <message-count>";

impl ScaleArgs {
    /// Reads the arguments of `scale_thr` (exits with the usage on error).
    pub fn from_env(usage: &str) -> ScaleArgs {
        let [role, pattern, endpoint, peers, size, count] = args::<6>(usage);
        let role = match role.as_str() {
            "one" => Role::One,
            "many" => Role::Many,
            "both" => Role::Both,
            _ => fail("arguments", format!("role must be one, many or both, not {role:?}")),
        };
        let pattern = match pattern.as_str() {
            "push" => Pattern::Push,
            "pub" => Pattern::Pub,
            "router" => Pattern::Router,
            _ => fail("arguments", format!("pattern must be push, pub or router, not {pattern:?}")),
        };
        let peers = number(&peers, "peer count").max(1);
        let size = number(&size, "message size");
        let count = number(&count, "message count").max(peers);
        ScaleArgs { role, pattern, endpoint, peers, size, count }
    }

    /// Whether the single socket is the receiving side.
    pub fn one_receives(&self) -> bool {
        self.pattern == Pattern::Router
    }

    /// `both`: pin the calling thread, which runs the single socket (`one: true`) or the
    /// peers, from `PERF_PIN_RECV` or `PERF_PIN_SEND` by the side it is on, as `inproc_thr`.
    pub fn pin_side(&self, one: bool) {
        pin_thread_from_env(if one == self.one_receives() { "PERF_PIN_RECV" } else { "PERF_PIN_SEND" });
    }

    /// How many messages each sending socket sends.
    pub fn sends_per_sender(&self) -> usize {
        match self.pattern {
            Pattern::Push => self.count,
            Pattern::Pub | Pattern::Router => self.count / self.peers,
        }
    }

    /// How many messages the receiving side counts in all.
    pub fn total_received(&self) -> usize {
        match self.pattern {
            Pattern::Push => self.count,
            Pattern::Pub | Pattern::Router => self.count / self.peers * self.peers,
        }
    }
}

/// Deadline for setting up a run (connections, subscriptions) before a tool gives up.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Counts received messages over many sockets: the clock starts at the first one.
#[derive(Debug)]
pub struct RecvCounter {
    pub want: usize,
    pub size: usize,
    pub got: usize,
    pub start: Option<Instant>,
}

impl RecvCounter {
    pub fn new(want: usize, size: usize) -> RecvCounter {
        RecvCounter { want, size, got: 0, start: None }
    }
    /// Records one received message of `len` bytes.
    pub fn record(&mut self, len: usize) {
        check_size(len, self.size);
        if self.start.is_none() {
            self.start = Some(Instant::now());
        }
        self.got += 1;
    }
    pub fn done(&self) -> bool {
        self.got >= self.want
    }
    /// Prints the result like `local_thr` (the first message starts the clock).
    pub fn print(&self) {
        let elapsed = self.start.map(|s| s.elapsed()).unwrap_or_default();
        print_thr_header(self.size, self.got);
        print_thr_result(self.size, self.got, elapsed);
    }
}

/// This process's VmRSS once it has stopped changing: read every 100 ms until two readings
/// agree (at most 3 s).
pub fn settled_rss() -> u64 {
    let mut last = vm_rss_kib(None).unwrap_or(0);
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(100));
        let now = vm_rss_kib(None).unwrap_or(0);
        if now == last {
            break;
        }
        last = now;
    }
    last
}

/// Prints the result lines of `conn_server`.
pub fn print_conn_result(connections: usize, before_kib: u64, after_kib: u64) {
    print_figure("connections", connections, "conn");
    print_figure("rss before", before_kib, "KiB");
    print_figure("rss after", after_kib, "KiB");
    let per = after_kib.saturating_sub(before_kib) as f64 / connections.max(1) as f64;
    print_figure("rss per connection", format!("{per:.2}"), "KiB");
}

/// The security mechanism of a perf run (`oxmq bench --mechanisms`), read from the
/// environment by both implementations' tools so that every pairing agrees:
/// `PERF_MECHANISM` = `null` (or unset), `plain` or `curve`. For CURVE the bench makes one
/// server key pair per run and passes it as `PERF_CURVE_SERVER_PUBLIC` and
/// `PERF_CURVE_SERVER_SECRET` (Z85); a client makes its own. The binding tool (`local_*`) is
/// the server. A PLAIN server needs a ZAP handler in libzmq and in oxmq (a PLAIN handshake
/// always asks one), so the server tools run one that admits [`PERF_PLAIN_USER`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PerfSecurity {
    Null,
    Plain,
    Curve { server_public: String, server_secret: String },
}

/// The PLAIN user name and password of a perf run.
pub const PERF_PLAIN_USER: (&str, &str) = ("perf", "perf-password");

/// Reads [`PerfSecurity`] from the environment, exiting with a message if it is malformed.
pub fn perf_security() -> PerfSecurity {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match var("PERF_MECHANISM").as_deref() {
        None | Some("null") => PerfSecurity::Null,
        Some("plain") => PerfSecurity::Plain,
        Some("curve") => match (var("PERF_CURVE_SERVER_PUBLIC"), var("PERF_CURVE_SERVER_SECRET")) {
            (Some(server_public), Some(server_secret)) => PerfSecurity::Curve { server_public, server_secret },
            _ => fail("PERF_MECHANISM", "curve needs PERF_CURVE_SERVER_PUBLIC and PERF_CURVE_SERVER_SECRET (Z85)"),
        },
        Some(other) => fail("PERF_MECHANISM", format!("{other:?} is not null, plain or curve")),
    }
}

/// A ZAP handler (RFC 27) of a perf tool's PLAIN server: admits [`PERF_PLAIN_USER`], refuses
/// anyone else, until dropped. `recv` waits up to 100 ms for a request's frames (None: none
/// yet), `send` answers one; the implementation supplies both over its REP socket.
pub fn serve_zap(
    stop: &std::sync::atomic::AtomicBool,
    mut recv: impl FnMut() -> Option<Vec<Vec<u8>>>,
    mut send: impl FnMut(Vec<Vec<u8>>),
) {
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let Some(req) = recv() else { continue };
        // version, request id, domain, address, identity, mechanism, username, password
        let admitted = req.len() == 8
            && req[5] == b"PLAIN"
            && req[6] == PERF_PLAIN_USER.0.as_bytes()
            && req[7] == PERF_PLAIN_USER.1.as_bytes();
        let (status, text, user): (&[u8], &[u8], &[u8]) =
            if admitted { (b"200", b"OK", PERF_PLAIN_USER.0.as_bytes()) } else { (b"400", b"refused", b"") };
        let id = req.get(1).cloned().unwrap_or_default();
        send(vec![b"1.0".to_vec(), id, status.to_vec(), text.to_vec(), user.to_vec(), Vec::new()]);
    }
}

/// Configures an oxmq socket of a perf tool for [`perf_security`]: `server` for the binding
/// side. Returns the ZAP handler a PLAIN server needs; keep it until the socket is closed.
pub fn secure_oxmq(ctx: &oxmq::Context, s: &oxmq::Socket, server: bool) -> Option<ZapThread> {
    let check = |what: &str, r: oxmq::Result<()>| r.unwrap_or_else(|e| fail(what, e));
    match perf_security() {
        PerfSecurity::Null => None,
        PerfSecurity::Plain if server => {
            check("set_plain_server", s.set_plain_server(true));
            let rep = ctx.socket(oxmq::SocketType::Rep).unwrap_or_else(|e| fail("socket", e));
            rep.bind("inproc://zeromq.zap.01").unwrap_or_else(|e| fail("bind zap", e));
            check("set_rcvtimeo", rep.set_rcvtimeo(100));
            Some(ZapThread::spawn(move |stop| {
                serve_zap(
                    stop,
                    || rep.recv_multipart().ok().map(|m| m.iter().map(|f| f.to_vec()).collect()),
                    |reply| rep.send_multipart(reply).unwrap_or_else(|e| fail("zap send", e)),
                )
            }))
        }
        PerfSecurity::Plain => {
            check("set_plain_username", s.set_plain_username(PERF_PLAIN_USER.0));
            check("set_plain_password", s.set_plain_password(PERF_PLAIN_USER.1));
            None
        }
        PerfSecurity::Curve { server_public, server_secret } => {
            if server {
                check("set_curve_server", s.set_curve_server(true));
                check("set_curve_secretkey", s.set_curve_secretkey(&server_secret));
            } else {
                let (public, secret) = oxmq::curve_keypair().unwrap_or_else(|e| fail("curve_keypair", e));
                check("set_curve_serverkey", s.set_curve_serverkey(&server_public));
                check("set_curve_publickey", s.set_curve_publickey(&public));
                check("set_curve_secretkey", s.set_curve_secretkey(secret.as_str()));
            }
            None
        }
    }
}

/// A perf tool's ZAP handler thread; stops (and closes its socket) when dropped.
pub struct ZapThread {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ZapThread {
    /// Runs `serve` on a thread until the handle is dropped (`serve` polls the flag).
    pub fn spawn(serve: impl FnOnce(&std::sync::atomic::AtomicBool) + Send + 'static) -> ZapThread {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || serve(&flag));
        ZapThread { stop, thread: Some(thread) }
    }
}

impl Drop for ZapThread {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
