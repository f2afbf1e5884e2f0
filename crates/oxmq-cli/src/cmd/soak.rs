//! `oxmq soak`: a load and soak run of the library inside one process, for a maintainer to
//! leave running for hours (`--duration 2h`) or for a count (`--messages 10000000`).
//!
//! Phase A, the pipeline: a PUSH producer, `--workers` workers (PULL in, PUSH out) and a PULL
//! sink, over tcp, ipc or inproc, each stage with its own HWMs. The producer sends sequence
//! numbers 0, 1, 2, ... with a body of random size and a checksum of it; workers and sink
//! pause at random (`--stall-prob`, `--stall-ms`) so that every queue fills and drains again.
//! The sink sees every sequence number in a sliding window and counts what is lost,
//! duplicated or corrupt. No peer ever goes away, so PUSH's load balancing may not lose a
//! message: the sink must see each of 0..N-1 exactly once. Meanwhile the resident set size
//! (VmRSS, and VmHWM at the end) is held against a bound worked out from the HWMs and the
//! message sizes (see [`MemoryBound`]).
//!
//! Phase B, churn: `--cycles` times, a fresh client socket (DEALER to a ROUTER, or REQ to a
//! REP; over tcp or ipc, in turn) connects, does one request and reply, and disconnects or
//! just closes. RSS and the number of open descriptors must stay flat: the RSS at the end may
//! exceed the RSS after a warm-up only by a tolerance (see [`churn`]), and the descriptors
//! must come back to what they were before the first cycle.
//!
//! Progress goes to stderr as one line every `--report-secs`; the summary goes to stdout, as
//! text or `--json`. Exit 0 only if every check passed, else [`CHECK_FAILED`] with the
//! reasons.

use super::{CmdResult, Exit, setup_err};
use clap::{Args, ValueEnum};
use oxmq::{Bytes, Context, Error, Socket, SocketType};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};
use std::time::{Duration, Instant};

/// Exit code: the soak ran, and a check failed (messages lost, duplicated or corrupt, memory
/// over its bound or growing, descriptors leaking, a request without its reply).
pub const CHECK_FAILED: u8 = 4;

/// Which phases to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Phase {
    Both,
    Pipeline,
    Churn,
}

/// The pipeline's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    Tcp,
    Ipc,
    Inproc,
}

/// Options of `oxmq soak`.
#[derive(Debug, Args)]
pub struct SoakArgs {
    /// Which phases to run: the pipeline (A), the connect/disconnect churn (B), or both.
    #[arg(long, value_enum, default_value_t = Phase::Both)]
    pub phase: Phase,
    /// The pipeline's transport.
    #[arg(long, value_enum, default_value_t = Transport::Tcp)]
    pub transport: Transport,
    /// Send N messages through the pipeline [default: 1000000, unless --duration].
    #[arg(short = 'n', long, value_name = "N")]
    pub messages: Option<u64>,
    /// Send for this long instead of a count: 90s, 30m, 2h, 500ms (a bare number: seconds).
    #[arg(short = 'd', long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Workers between producer and sink.
    #[arg(short = 'w', long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub workers: u32,
    /// Smallest message body in bytes.
    #[arg(long, default_value_t = 0)]
    pub min_size: usize,
    /// Largest message body in bytes (sizes are uniform in min..=max).
    #[arg(long, default_value_t = 1024)]
    pub max_size: usize,
    /// SNDHWM of the producer's PUSH (per worker).
    #[arg(long, default_value_t = 1000, value_name = "MSGS")]
    pub producer_sndhwm: u32,
    /// RCVHWM of each worker's PULL.
    #[arg(long, default_value_t = 1000, value_name = "MSGS")]
    pub worker_rcvhwm: u32,
    /// SNDHWM of each worker's PUSH.
    #[arg(long, default_value_t = 1000, value_name = "MSGS")]
    pub worker_sndhwm: u32,
    /// RCVHWM of the sink's PULL (per worker).
    #[arg(long, default_value_t = 1000, value_name = "MSGS")]
    pub sink_rcvhwm: u32,
    /// Longest random pause of a worker or the sink, in milliseconds (0: never pause).
    #[arg(long, default_value_t = 20, value_name = "MS")]
    pub stall_ms: u64,
    /// Chance that a worker or the sink pauses after a message (0 to 1).
    #[arg(long, default_value_t = 0.0001, value_name = "P", value_parser = parse_probability)]
    pub stall_prob: f64,
    /// After the producer is done, how long the sink waits for a missing message before
    /// counting it lost.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// Replace the computed memory bound of the pipeline with this many MiB (VmHWM must stay
    /// at or under it).
    #[arg(long, value_name = "MIB")]
    pub rss_bound_mib: Option<f64>,
    /// Connect/disconnect cycles of the churn phase.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub cycles: u64,
    /// Cycles before the churn's reference RSS is taken [default: a tenth of --cycles, at
    /// most 1000].
    #[arg(long, value_name = "N")]
    pub warmup: Option<u64>,
    /// How much the churn's RSS may grow from the warm-up to the end, in KiB [default:
    /// 2048].
    #[arg(long, value_name = "KIB")]
    pub rss_tolerance_kib: Option<u64>,
    /// Seconds between progress lines on stderr.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub report_secs: f64,
    /// Seed of the random sizes and pauses [default: from the clock; printed in the summary].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Parses `90s`, `30m`, `2h`, `500ms`, `1d` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a duration like 90s, 30m, 2h, 500ms"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?} (ms, s, m, h, d)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

fn parse_probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{s:?} is not a probability between 0 and 1")),
    }
}

/// xorshift64*: enough randomness for sizes and pauses, and repeatable from `--seed`.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Spread the seed (splitmix64) so that small and related seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo { lo } else { lo + self.next() % (hi - lo + 1) }
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// A 32-bit checksum of a body, eight bytes at a time (fast enough not to be the bottleneck;
/// it only has to catch a body that is not the one sent).
pub fn checksum(body: &[u8]) -> u32 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325 ^ body.len() as u64;
    let mut words = body.chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().expect("8 bytes")))
            .wrapping_mul(0x0000_0100_0000_01B3)
            .rotate_left(29);
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
    }
    (h ^ (h >> 32)) as u32
}

/// The 16-byte header frame: sequence number, body length, body checksum (little-endian).
fn header(seq: u64, body: &[u8]) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..8].copy_from_slice(&seq.to_le_bytes());
    h[8..12].copy_from_slice(&(body.len() as u32).to_le_bytes());
    h[12..].copy_from_slice(&checksum(body).to_le_bytes());
    h
}

/// The sequence number of a well-formed `[header, body]` message, or None if it is corrupt.
fn check(frames: &[Bytes]) -> Option<u64> {
    let [h, body] = frames else { return None };
    let h: &[u8; 16] = h.as_ref().try_into().ok()?;
    let seq = u64::from_le_bytes(h[..8].try_into().ok()?);
    let len = u32::from_le_bytes(h[8..12].try_into().ok()?) as usize;
    let sum = u32::from_le_bytes(h[12..].try_into().ok()?);
    (len == body.len() && sum == checksum(body)).then_some(seq)
}

/// Which sequence numbers have arrived: everything below `base` has, and a ring of `W` bits
/// holds `base..base+W`. A message is reordered by at most what the queues hold plus what the
/// other workers pass while one pauses, far less than `W` (16 Mi); one further out than that
/// pushes the window on and counts whatever it skips over as lost.
pub struct Window {
    bits: Vec<u64>,
    base: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub received: u64,
    /// The first few sequence numbers counted lost (what to look for when debugging).
    pub first_lost: Vec<u64>,
}

impl Window {
    const W: u64 = 1 << 24;

    pub fn new() -> Window {
        Window {
            bits: vec![0; (Self::W / 64) as usize],
            base: 0,
            lost: 0,
            duplicated: 0,
            received: 0,
            first_lost: Vec::new(),
        }
    }
    fn bit(&self, s: u64) -> bool {
        let i = (s % Self::W) as usize;
        self.bits[i / 64] >> (i % 64) & 1 == 1
    }
    fn flip(&mut self, s: u64) {
        let i = (s % Self::W) as usize;
        self.bits[i / 64] ^= 1 << (i % 64);
    }
    /// Every sequence number below this has been seen (or counted lost).
    pub fn base(&self) -> u64 {
        self.base
    }
    pub fn record(&mut self, s: u64) {
        self.received += 1;
        if s < self.base || (s < self.base + Self::W && self.bit(s)) {
            self.duplicated += 1;
            return;
        }
        while s >= self.base + Self::W {
            if self.bit(self.base) {
                self.flip(self.base);
            } else {
                self.lose(self.base);
            }
            self.base += 1;
        }
        self.flip(s);
        while self.bit(self.base) {
            self.flip(self.base);
            self.base += 1;
        }
    }
    fn lose(&mut self, s: u64) {
        self.lost += 1;
        if self.first_lost.len() < 10 {
            self.first_lost.push(s);
        }
    }
    /// Counts as lost whatever of `0..sent` has not arrived.
    pub fn finish(&mut self, sent: u64) {
        for s in self.base..sent.min(self.base + Self::W) {
            if self.first_lost.len() >= 10 {
                break;
            }
            if !self.bit(s) {
                self.first_lost.push(s);
            }
        }
        let seen_ahead: u64 = self.bits.iter().map(|w| u64::from(w.count_ones())).sum();
        self.lost += sent.saturating_sub(self.base).saturating_sub(seen_ahead);
    }
}

impl Default for Window {
    fn default() -> Self {
        Window::new()
    }
}

/// A field of /proc/self/status in KiB (VmRSS, VmHWM); 0 where there is no /proc.
pub fn status_kib(field: &str) -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else { return 0 };
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Open file descriptors (entries of /proc/self/fd, less the one reading it).
pub fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64).saturating_sub(1)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The most memory the pipeline may use, and what it is made of.
///
/// Messages: every queue is bounded by its HWM, so at most
/// `Q = workers * (producer SNDHWM + worker RCVHWM + worker SNDHWM + sink RCVHWM) + workers + 1`
/// messages exist at once (the `+ workers + 1` are the ones in the workers' and the sink's
/// hands). Each costs at most `max_size + 16` bytes of frames plus `PER_MSG` of bookkeeping
/// (two `Msg`s in a queue, the header frame's allocation), and `FACTOR` covers a tcp/ipc
/// body pinning the rest of the 64 KiB read buffer it was decoded from and the allocator
/// keeping freed memory for reuse.
/// Connections: a tcp or ipc engine may hold one write batch (512 KiB) and a read buffer
/// (64 KiB, up to twice while the old one is still referenced) beyond its pipe: `PER_ENGINE`
/// each, and both ends of each of the `2 * workers` connections are in this process.
/// Slack: the runtime's and allocator's own growth once traffic starts (thread arenas).
/// All on top of the RSS measured just before the first message is sent.
pub struct MemoryBound {
    pub queued_msgs: u64,
    pub bound_kib: u64,
}

const PER_MSG: u64 = 256;
const FACTOR: u64 = 2;
const PER_ENGINE_KIB: u64 = 1024;
const SLACK_KIB: u64 = 16 * 1024;

impl MemoryBound {
    fn new(a: &SoakArgs, baseline_kib: u64) -> MemoryBound {
        let w = u64::from(a.workers);
        let hwms = [a.producer_sndhwm, a.worker_rcvhwm, a.worker_sndhwm, a.sink_rcvhwm];
        let queued_msgs = w * hwms.iter().map(|&h| u64::from(h)).sum::<u64>() + w + 1;
        let per_msg = a.max_size as u64 + 16 + PER_MSG;
        let engines = if a.transport == Transport::Inproc { 0 } else { 4 * w };
        let bound_kib =
            baseline_kib + (FACTOR * queued_msgs * per_msg).div_ceil(1024) + engines * PER_ENGINE_KIB + SLACK_KIB;
        MemoryBound { queued_msgs, bound_kib }
    }
}

/// What the pipeline phase measured.
pub struct PipelineReport {
    pub transport: Transport,
    pub workers: u32,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub corrupt: u64,
    pub stalls: u64,
    pub body_bytes: u64,
    pub elapsed: Duration,
    pub rss_baseline_kib: u64,
    pub rss_peak_sampled_kib: u64,
    pub vm_hwm_kib: u64,
    pub rss_bound_kib: u64,
    pub queued_msgs_bound: u64,
    pub bound_overridden: bool,
    pub first_lost: Vec<u64>,
    /// Nothing reached the sink for --drain-timeout while the producer was still sending.
    pub stuck: bool,
}

/// What the churn phase measured.
pub struct ChurnReport {
    pub cycles: u64,
    pub warmup: u64,
    pub failed: u64,
    pub first_failure: Option<String>,
    pub elapsed: Duration,
    pub rss_start_kib: u64,
    pub rss_warmup_kib: u64,
    pub rss_end_kib: u64,
    pub rss_max_kib: u64,
    pub rss_tolerance_kib: u64,
    pub fds_start: u64,
    pub fds_warmup: u64,
    pub fds_end: u64,
    pub fds_max: u64,
}

/// Samples VmRSS every 50 ms on a thread of its own, keeping the largest value.
struct Sampler {
    peak: Arc<AtomicU64>,
    last: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start() -> Sampler {
        let (peak, last, stop) =
            (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (p, l, s) = (peak.clone(), last.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Relaxed) {
                let rss = status_kib("VmRSS");
                l.store(rss, Relaxed);
                p.fetch_max(rss, Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Sampler { peak, last, stop, thread: Some(thread) }
    }
    fn peak(&self) -> u64 {
        self.peak.load(Relaxed)
    }
    fn last(&self) -> u64 {
        self.last.load(Relaxed)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Rate-limits the progress lines.
struct Progress {
    every: Duration,
    next: Instant,
}

impl Progress {
    fn new(secs: f64) -> Progress {
        let every = Duration::try_from_secs_f64(secs.max(0.05)).unwrap_or(Duration::from_secs(10));
        Progress { every, next: Instant::now() + every }
    }
    fn due(&mut self) -> bool {
        let now = Instant::now();
        if now < self.next {
            return false;
        }
        self.next = now + self.every;
        true
    }
}

/// Sleeps a random while with probability `p`; returns whether it did.
fn maybe_stall(rng: &mut Rng, p: f64, max_ms: u64) -> bool {
    if max_ms == 0 || !rng.chance(p) {
        return false;
    }
    std::thread::sleep(Duration::from_micros(rng.range(100, max_ms * 1000)));
    true
}

fn endpoints(t: Transport) -> [String; 2] {
    let tag = format!("oxmq-soak-{}", std::process::id());
    match t {
        Transport::Tcp => ["tcp://127.0.0.1:*".into(), "tcp://127.0.0.1:*".into()],
        Transport::Ipc => {
            let dir = std::env::temp_dir();
            [format!("ipc://{}/{tag}-front.sock", dir.display()), format!("ipc://{}/{tag}-back.sock", dir.display())]
        }
        Transport::Inproc => [format!("inproc://{tag}-front"), format!("inproc://{tag}-back")],
    }
}

fn bound_socket(
    ctx: &Context,
    ty: SocketType,
    ep: &str,
    configure: impl FnOnce(&Socket) -> oxmq::Result<()>,
) -> Result<(Socket, String), Exit> {
    let s = ctx.socket(ty).map_err(setup_err(format_args!("cannot create a {ty} socket")))?;
    configure(&s).map_err(setup_err("bad socket option"))?;
    s.bind(ep).map_err(setup_err(format_args!("cannot bind to {ep:?}")))?;
    let resolved = s.last_endpoint().map_err(setup_err("no last endpoint"))?;
    Ok((s, resolved))
}

/// How far the producer has got, as the sink reads it. The producer always leaves DONE or
/// FAILED behind (FAILED also when it panics), so the sink never has to guess from the
/// thread having ended: a thread that has just said DONE and returned is not a failure.
const RUNNING: u8 = 0;
const DONE: u8 = 1;
const FAILED: u8 = 2;

/// Sets the producer's state to FAILED if it is still RUNNING when the thread unwinds.
struct FailedUnlessDone(Arc<AtomicU8>);

impl Drop for FailedUnlessDone {
    fn drop(&mut self) {
        let _ = self.0.compare_exchange(RUNNING, FAILED, Release, Relaxed);
    }
}

/// Phase A.
pub fn pipeline(a: &SoakArgs, seed: u64) -> Result<PipelineReport, Exit> {
    let ctx = Context::new();
    let [front, back] = endpoints(a.transport);
    let (sink, back) = bound_socket(&ctx, SocketType::Pull, &back, |s| {
        s.set_rcvhwm(a.sink_rcvhwm as i32)?;
        s.set_rcvtimeo(100)?;
        s.set_linger(0)
    })?;
    let (producer, front) = bound_socket(&ctx, SocketType::Push, &front, |s| {
        s.set_sndhwm(a.producer_sndhwm as i32)?;
        s.set_sndtimeo(100)?;
        s.set_linger(0)
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let stalls = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for i in 0..a.workers {
        let pull = ctx.socket(SocketType::Pull).map_err(setup_err("cannot create a PULL socket"))?;
        let push = ctx.socket(SocketType::Push).map_err(setup_err("cannot create a PUSH socket"))?;
        (|| {
            pull.set_rcvhwm(a.worker_rcvhwm as i32)?;
            pull.set_rcvtimeo(100)?;
            pull.set_linger(0)?;
            push.set_sndhwm(a.worker_sndhwm as i32)?;
            push.set_sndtimeo(100)?;
            push.set_linger(0)?;
            pull.connect(&front)?;
            push.connect(&back)
        })()
        .map_err(setup_err(format_args!("cannot set up worker {i}")))?;
        let (stop, stalls) = (stop.clone(), stalls.clone());
        let (p, ms) = (a.stall_prob, a.stall_ms);
        let mut rng = Rng::new(seed ^ (u64::from(i) + 1).wrapping_mul(0x1000_0000_01B3));
        workers.push(std::thread::spawn(move || -> Result<(), String> {
            while !stop.load(Relaxed) {
                let frames = match pull.recv_multipart() {
                    Ok(f) => f,
                    Err(Error::Again) => continue,
                    Err(e) => return Err(format!("worker {i}: receive failed: {e}")),
                };
                if maybe_stall(&mut rng, p, ms) {
                    stalls.fetch_add(1, Relaxed);
                }
                loop {
                    match push.send_multipart(frames.iter().cloned()) {
                        Ok(()) => break,
                        Err(Error::Again) if !stop.load(Relaxed) => continue,
                        Err(Error::Again) => return Ok(()),
                        Err(e) => return Err(format!("worker {i}: send failed: {e}")),
                    }
                }
            }
            Ok(())
        }));
    }

    // Random bodies are slices of one pool (no per-message fill); sizes and offsets vary.
    let mut rng = Rng::new(seed);
    let pool_len = (1 << 20) + a.max_size;
    let pool: Bytes = (0..pool_len).map(|_| rng.next() as u8).collect::<Vec<u8>>().into();
    let mut window = Window::new();
    let sent = Arc::new(AtomicU64::new(0));
    let state = Arc::new(AtomicU8::new(RUNNING));
    let sampler = Sampler::start();
    let baseline_kib = status_kib("VmRSS");
    let computed = MemoryBound::new(a, baseline_kib);
    let bound_kib = a.rss_bound_mib.map_or(computed.bound_kib, |m| (m * 1024.0) as u64);

    let start = Instant::now();
    let count = a.messages.or(if a.duration.is_some() { None } else { Some(1_000_000) });
    let deadline = a.duration.map(|d| start + d);
    let (min, max) = (a.min_size as u64, a.max_size as u64);
    let body_bytes = Arc::new(AtomicU64::new(0));
    let producer_thread = {
        let (sent, state, stop, body_bytes) = (sent.clone(), state.clone(), stop.clone(), body_bytes.clone());
        let mut rng = rng.clone();
        // The thread hands its socket back: closing it here would drop what is still queued
        // (LINGER 0) before the sink has it.
        std::thread::spawn(move || -> (Result<(), String>, Socket) {
            let _on_panic = FailedUnlessDone(state.clone());
            let mut seq = 0u64;
            let mut bytes = 0u64;
            let result = 'send: loop {
                if count.is_some_and(|n| seq >= n) || (seq % 1024 == 0 && deadline.is_some_and(|d| Instant::now() >= d))
                {
                    break Ok(());
                }
                let len = rng.range(min, max) as usize;
                let off = rng.range(0, (pool.len() - len) as u64) as usize;
                let body = pool.slice(off..off + len);
                let head = Bytes::copy_from_slice(&header(seq, &body));
                loop {
                    match producer.send_multipart([head.clone(), body.clone()]) {
                        Ok(()) => break,
                        Err(Error::Again) if !stop.load(Relaxed) => continue,
                        Err(Error::Again) => break 'send Err("stopped while sending".into()),
                        Err(e) => break 'send Err(format!("producer: send failed: {e}")),
                    }
                }
                seq += 1;
                bytes += len as u64;
                if seq % 256 == 0 {
                    sent.store(seq, Relaxed);
                    body_bytes.store(bytes, Relaxed);
                }
            };
            sent.store(seq, Relaxed);
            body_bytes.store(bytes, Relaxed);
            state.store(if result.is_ok() { DONE } else { FAILED }, Release);
            (result, producer)
        })
    };

    let mut sink_rng = Rng::new(seed ^ 0x5EED_51C4);
    let mut corrupt = 0u64;
    let mut progress = Progress::new(a.report_secs);
    let mut last_arrival = Instant::now();
    let mut failure = None;
    let mut stuck = false;
    loop {
        match sink.recv_multipart() {
            Ok(frames) => {
                last_arrival = Instant::now();
                match check(&frames) {
                    Some(seq) => window.record(seq),
                    None => corrupt += 1,
                }
                if maybe_stall(&mut sink_rng, a.stall_prob, a.stall_ms) {
                    stalls.fetch_add(1, Relaxed);
                }
            }
            Err(Error::Again) => {}
            Err(e) => {
                failure = Some(format!("sink: receive failed: {e}"));
                break;
            }
        }
        match state.load(Acquire) {
            DONE => {
                let total = sent.load(Relaxed);
                if window.base() >= total || last_arrival.elapsed() >= a.drain_timeout {
                    break;
                }
            }
            // Its error (or panic) is collected below.
            FAILED => break,
            _ if last_arrival.elapsed() >= a.drain_timeout => {
                // The producer is still trying, and nothing gets through.
                stuck = true;
                break;
            }
            _ => {}
        }
        if progress.due() {
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "oxmq soak: pipeline {secs:.0}s: sent {}, received {} ({:.0}/s), lost {}, duplicated {}, corrupt {corrupt}, rss {} (peak {}, bound {})",
                sent.load(Relaxed),
                window.received,
                window.received as f64 / secs,
                window.lost,
                window.duplicated,
                mib(sampler.last()),
                mib(sampler.peak()),
                mib(bound_kib),
            );
        }
    }
    let elapsed = start.elapsed();
    stop.store(true, Relaxed);
    let mut errors: Vec<String> = failure.into_iter().collect();
    let producer = producer_thread.join().map_err(|_| "producer panicked".to_string());
    let producer = match producer {
        Ok((result, socket)) => {
            errors.extend(result.err());
            Some(socket)
        }
        Err(e) => {
            errors.push(e);
            None
        }
    };
    for w in workers {
        errors.extend(w.join().map_err(|_| "a worker panicked".to_string()).and_then(|r| r).err());
    }
    let total = sent.load(Relaxed);
    window.finish(total);
    let vm_hwm_kib = status_kib("VmHWM");
    let rss_peak_sampled_kib = sampler.peak();
    drop(sampler);
    drop((sink, producer));
    ctx.term();
    if let Some(e) = errors.into_iter().next() {
        return Err(Exit::failed(e));
    }
    if a.transport == Transport::Ipc {
        for ep in [&front, &back] {
            let _ = std::fs::remove_file(ep.trim_start_matches("ipc://"));
        }
    }
    Ok(PipelineReport {
        transport: a.transport,
        workers: a.workers,
        sent: total,
        received: window.received,
        lost: window.lost,
        duplicated: window.duplicated,
        corrupt,
        stalls: stalls.load(Relaxed),
        body_bytes: body_bytes.load(Relaxed),
        elapsed,
        rss_baseline_kib: baseline_kib,
        rss_peak_sampled_kib,
        vm_hwm_kib,
        rss_bound_kib: bound_kib,
        queued_msgs_bound: computed.queued_msgs,
        bound_overridden: a.rss_bound_mib.is_some(),
        stuck,
        first_lost: window.first_lost.clone(),
    })
}

/// Waits (at most 5 s) for the open descriptors to come down to `target`: a closed
/// connection's descriptor is closed by its engine a moment after the socket is. Returns the
/// count seen last.
fn settled_fds(target: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = open_fds();
        if n <= target || Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The default growth the churn's RSS may show from the warm-up to the end.
///
/// Measured on a loaded 2-core machine (glibc malloc, release build): over 100,000 cycles
/// the RSS went from 4648 KiB after 1000 warm-up cycles to 4680 KiB at the end (+32 KiB; the
/// 5000-cycle test in crates/oxmq/tests/load.rs sees +12 to +24 KiB). 2 MiB is far above
/// that noise and far below what a leak of a socket's or connection's state shows (hundreds
/// of bytes to kilobytes per cycle, i.e. tens of megabytes over 100,000 cycles); a long run
/// may pass a tighter `--rss-tolerance-kib`.
pub const DEFAULT_RSS_TOLERANCE_KIB: u64 = 2048;

/// Phase B.
pub fn churn(a: &SoakArgs) -> Result<ChurnReport, Exit> {
    let ctx = Context::new();
    let tag = format!("oxmq-soak-{}", std::process::id());
    let dir = std::env::temp_dir();
    let router_ipc = format!("ipc://{}/{tag}-router.sock", dir.display());
    let rep_ipc = format!("ipc://{}/{tag}-rep.sock", dir.display());
    let server_opts = |s: &Socket| -> oxmq::Result<()> {
        s.set_rcvtimeo(100)?;
        s.set_sndtimeo(1000)?;
        s.set_linger(0)
    };
    let (router, router_tcp) = bound_socket(&ctx, SocketType::Router, "tcp://127.0.0.1:*", server_opts)?;
    router.bind(&router_ipc).map_err(setup_err(format_args!("cannot bind to {router_ipc:?}")))?;
    let (rep, rep_tcp) = bound_socket(&ctx, SocketType::Rep, "tcp://127.0.0.1:*", server_opts)?;
    rep.bind(&rep_ipc).map_err(setup_err(format_args!("cannot bind to {rep_ipc:?}")))?;
    let stop = Arc::new(AtomicBool::new(false));
    let servers: Vec<_> = [router, rep]
        .into_iter()
        .map(|s| {
            let stop = stop.clone();
            std::thread::spawn(move || -> Result<(), String> {
                while !stop.load(Relaxed) {
                    match s.recv_multipart() {
                        Ok(m) => match s.send_multipart(m) {
                            // A peer that is gone by now is not this server's failure; the
                            // client counts its missing reply.
                            Ok(()) | Err(Error::Again) | Err(Error::HostUnreachable) => {}
                            Err(e) => return Err(format!("{} server: send failed: {e}", s.socket_type())),
                        },
                        Err(Error::Again) => {}
                        Err(e) => return Err(format!("{} server: receive failed: {e}", s.socket_type())),
                    }
                }
                Ok(())
            })
        })
        .collect();

    let warmup = a.warmup.unwrap_or((a.cycles / 10).min(1000)).min(a.cycles);
    let tolerance = a.rss_tolerance_kib.unwrap_or(DEFAULT_RSS_TOLERANCE_KIB);
    let fds_start = open_fds();
    let rss_start = status_kib("VmRSS");
    let (mut rss_warmup, mut fds_warmup) = (rss_start, fds_start);
    let mut rss_max = rss_start;
    let mut fds_max = fds_start;
    let mut failed = 0u64;
    let mut first_failure = None;
    let mut progress = Progress::new(a.report_secs);
    let start = Instant::now();
    for i in 0..a.cycles {
        if i == warmup && warmup > 0 {
            fds_warmup = settled_fds(fds_start);
            rss_warmup = status_kib("VmRSS");
        }
        // Four kinds in turn: DEALER/ROUTER and REQ/REP, each over tcp and ipc; and every
        // other pair of cycles disconnects before closing.
        let (ty, ep) = match i % 4 {
            0 => (SocketType::Dealer, &router_tcp),
            1 => (SocketType::Req, &rep_ipc),
            2 => (SocketType::Dealer, &router_ipc),
            _ => (SocketType::Req, &rep_tcp),
        };
        let disconnect = (i / 4) % 2 == 0;
        if let Err(e) = one_cycle(&ctx, ty, ep, i, disconnect) {
            failed += 1;
            first_failure.get_or_insert_with(|| format!("cycle {i} ({ty} to {ep}): {e}"));
        }
        if i % 64 == 0 {
            rss_max = rss_max.max(status_kib("VmRSS"));
            fds_max = fds_max.max(open_fds());
        }
        if progress.due() {
            eprintln!(
                "oxmq soak: churn {:.0}s: cycle {i} of {}, failed {failed}, rss {} (after warm-up {}), fds {}",
                start.elapsed().as_secs_f64(),
                a.cycles,
                mib(status_kib("VmRSS")),
                mib(rss_warmup),
                open_fds()
            );
        }
    }
    let elapsed = start.elapsed();
    let fds_end = settled_fds(fds_start);
    let rss_end = status_kib("VmRSS");
    rss_max = rss_max.max(rss_end);
    stop.store(true, Relaxed);
    let mut errors = Vec::new();
    for s in servers {
        errors.extend(s.join().map_err(|_| "a server panicked".to_string()).and_then(|r| r).err());
    }
    ctx.term();
    for ep in [&router_ipc, &rep_ipc] {
        let _ = std::fs::remove_file(ep.trim_start_matches("ipc://"));
    }
    if let Some(e) = errors.into_iter().next() {
        return Err(Exit::failed(e));
    }
    Ok(ChurnReport {
        cycles: a.cycles,
        warmup,
        failed,
        first_failure,
        elapsed,
        rss_start_kib: rss_start,
        rss_warmup_kib: rss_warmup,
        rss_end_kib: rss_end,
        rss_max_kib: rss_max,
        rss_tolerance_kib: tolerance,
        fds_start,
        fds_warmup,
        fds_end,
        fds_max,
    })
}

/// One client: connect, one request and its reply (5 s at most), then disconnect and close,
/// or just close.
fn one_cycle(ctx: &Context, ty: SocketType, ep: &str, i: u64, disconnect: bool) -> Result<(), String> {
    let s = ctx.socket(ty).map_err(|e| format!("socket: {e}"))?;
    s.set_rcvtimeo(5000).map_err(|e| e.to_string())?;
    s.set_sndtimeo(5000).map_err(|e| e.to_string())?;
    s.set_linger(0).map_err(|e| e.to_string())?;
    s.connect(ep).map_err(|e| format!("connect: {e}"))?;
    let body = i.to_le_bytes();
    let reply = if ty == SocketType::Dealer {
        // DEALER talks to the ROUTER with an empty delimiter, as REQ would.
        s.send_multipart([&b""[..], &body[..]]).map_err(|e| format!("send: {e}"))?;
        s.recv_multipart().map_err(|e| format!("no reply: {e}"))?
    } else {
        s.send(&body[..]).map_err(|e| format!("send: {e}"))?;
        s.recv_multipart().map_err(|e| format!("no reply: {e}"))?
    };
    let want: &[&[u8]] = if ty == SocketType::Dealer { &[b"", &body] } else { &[&body] };
    if reply.len() != want.len() || reply.iter().zip(want).any(|(r, w)| r.as_ref() != *w) {
        return Err(format!("wrong reply {reply:?}"));
    }
    if disconnect {
        s.disconnect(ep).map_err(|e| format!("disconnect: {e}"))?;
    }
    drop(s);
    Ok(())
}

/// The checks; each failed one is a reason.
fn verdict(p: Option<&PipelineReport>, c: Option<&ChurnReport>) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(p) = p {
        if p.stuck {
            reasons.push(format!(
                "pipeline: stuck, nothing arrived for the drain timeout after {} of {} messages",
                p.received, p.sent
            ));
        }
        if p.lost > 0 {
            reasons.push(format!("pipeline: {} of {} messages lost (the first: {:?})", p.lost, p.sent, p.first_lost));
        }
        if p.duplicated > 0 {
            reasons.push(format!("pipeline: {} messages duplicated", p.duplicated));
        }
        if p.corrupt > 0 {
            reasons.push(format!("pipeline: {} messages corrupt (bad header, length or checksum)", p.corrupt));
        }
        let peak = p.vm_hwm_kib.max(p.rss_peak_sampled_kib);
        if peak > p.rss_bound_kib {
            reasons.push(format!("pipeline: peak RSS {} over the bound {}", mib(peak), mib(p.rss_bound_kib)));
        }
    }
    if let Some(c) = c {
        if c.failed > 0 {
            reasons.push(format!(
                "churn: {} of {} cycles failed, first: {}",
                c.failed,
                c.cycles,
                c.first_failure.as_deref().unwrap_or("?")
            ));
        }
        if c.rss_end_kib > c.rss_warmup_kib + c.rss_tolerance_kib {
            reasons.push(format!(
                "churn: RSS grew from {} after warm-up to {} at the end (tolerance {} KiB)",
                mib(c.rss_warmup_kib),
                mib(c.rss_end_kib),
                c.rss_tolerance_kib
            ));
        }
        if c.fds_end > c.fds_start {
            reasons.push(format!(
                "churn: {} descriptors open at the end, {} before the first cycle",
                c.fds_end, c.fds_start
            ));
        }
    }
    reasons
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn summary_json(seed: u64, p: Option<&PipelineReport>, c: Option<&ChurnReport>, reasons: &[String]) -> String {
    let mut o = format!("{{\"ok\":{},\"seed\":{seed},\"reasons\":[", reasons.is_empty());
    o += &reasons.iter().map(|r| json_str(r)).collect::<Vec<_>>().join(",");
    o += "]";
    if let Some(p) = p {
        let secs = p.elapsed.as_secs_f64();
        let _ = write!(
            o,
            ",\"pipeline\":{{\"transport\":\"{}\",\"workers\":{},\"sent\":{},\"received\":{},\"lost\":{},\"duplicated\":{},\"corrupt\":{},\"stalls\":{},\"body_bytes\":{},\"elapsed_s\":{:.3},\"msgs_per_s\":{:.0},\"rss_baseline_kib\":{},\"rss_peak_sampled_kib\":{},\"vm_hwm_kib\":{},\"rss_bound_kib\":{},\"rss_bound_overridden\":{},\"queued_msgs_bound\":{},\"stuck\":{}}}",
            format!("{:?}", p.transport).to_lowercase(),
            p.workers,
            p.sent,
            p.received,
            p.lost,
            p.duplicated,
            p.corrupt,
            p.stalls,
            p.body_bytes,
            secs,
            p.received as f64 / secs.max(1e-9),
            p.rss_baseline_kib,
            p.rss_peak_sampled_kib,
            p.vm_hwm_kib,
            p.rss_bound_kib,
            p.bound_overridden,
            p.queued_msgs_bound,
            p.stuck
        );
    }
    if let Some(c) = c {
        let _ = write!(
            o,
            ",\"churn\":{{\"cycles\":{},\"warmup\":{},\"failed\":{},\"elapsed_s\":{:.3},\"rss_start_kib\":{},\"rss_warmup_kib\":{},\"rss_end_kib\":{},\"rss_max_kib\":{},\"rss_tolerance_kib\":{},\"fds_start\":{},\"fds_warmup\":{},\"fds_end\":{},\"fds_max\":{}}}",
            c.cycles,
            c.warmup,
            c.failed,
            c.elapsed.as_secs_f64(),
            c.rss_start_kib,
            c.rss_warmup_kib,
            c.rss_end_kib,
            c.rss_max_kib,
            c.rss_tolerance_kib,
            c.fds_start,
            c.fds_warmup,
            c.fds_end,
            c.fds_max
        );
    }
    o + "}"
}

fn summary_text(seed: u64, p: Option<&PipelineReport>, c: Option<&ChurnReport>, reasons: &[String]) -> String {
    let mut o = String::new();
    if let Some(p) = p {
        let secs = p.elapsed.as_secs_f64();
        let _ = writeln!(
            o,
            "pipeline ({}, {} workers): sent {}, received {}, lost {}, duplicated {}, corrupt {}\n  \
             {:.1} s, {:.0} msgs/s, {:.1} MB of bodies, {} stalls\n  \
             RSS before traffic {}, peak {} (VmHWM {}), bound {}{} (queues hold at most {} messages)",
            format!("{:?}", p.transport).to_lowercase(),
            p.workers,
            p.sent,
            p.received,
            p.lost,
            p.duplicated,
            p.corrupt,
            secs,
            p.received as f64 / secs.max(1e-9),
            p.body_bytes as f64 / 1e6,
            p.stalls,
            mib(p.rss_baseline_kib),
            mib(p.rss_peak_sampled_kib),
            mib(p.vm_hwm_kib),
            mib(p.rss_bound_kib),
            if p.bound_overridden { " (--rss-bound-mib)" } else { "" },
            p.queued_msgs_bound,
        );
    }
    if let Some(c) = c {
        let _ = writeln!(
            o,
            "churn: {} connect/disconnect cycles in {:.1} s, {} failed\n  \
             RSS at start {}, after {} warm-up cycles {}, at the end {}, largest {} (tolerance {} KiB)\n  \
             fds at start {}, after warm-up {}, at the end {}, most {}",
            c.cycles,
            c.elapsed.as_secs_f64(),
            c.failed,
            mib(c.rss_start_kib),
            c.warmup,
            mib(c.rss_warmup_kib),
            mib(c.rss_end_kib),
            mib(c.rss_max_kib),
            c.rss_tolerance_kib,
            c.fds_start,
            c.fds_warmup,
            c.fds_end,
            c.fds_max,
        );
    }
    let _ = write!(o, "seed {seed}: ");
    if reasons.is_empty() {
        o += "OK";
    } else {
        o += "FAILED\n  ";
        o += &reasons.join("\n  ");
    }
    o
}

/// `oxmq soak`.
pub fn soak(a: &SoakArgs) -> CmdResult {
    if a.min_size > a.max_size {
        return Err(Exit::setup("--min-size is larger than --max-size"));
    }
    if [a.producer_sndhwm, a.worker_rcvhwm, a.worker_sndhwm, a.sink_rcvhwm].contains(&0) {
        return Err(Exit::setup("an HWM of 0 (no limit) leaves memory unbounded: give every stage a finite HWM"));
    }
    if a.messages.is_some() && a.duration.is_some() {
        return Err(Exit::setup("give --messages or --duration, not both"));
    }
    let seed = a.seed.unwrap_or_else(|| {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        t.as_nanos() as u64 ^ u64::from(std::process::id())
    });
    let p = if a.phase != Phase::Churn { Some(pipeline(a, seed)?) } else { None };
    let c = if a.phase != Phase::Pipeline { Some(churn(a)?) } else { None };
    let reasons = verdict(p.as_ref(), c.as_ref());
    if a.json {
        println!("{}", summary_json(seed, p.as_ref(), c.as_ref(), &reasons));
    } else {
        println!("{}", summary_text(seed, p.as_ref(), c.as_ref(), &reasons));
    }
    if reasons.is_empty() { Ok(()) } else { Err(Exit { code: CHECK_FAILED, message: reasons.join("; ") }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counts_lost_and_duplicated() {
        let mut w = Window::new();
        for s in [0, 2, 1, 1, 4, 0] {
            w.record(s);
        }
        w.finish(6);
        assert_eq!((w.received, w.duplicated, w.lost), (6, 2, 2)); // 3 and 5 missing
    }

    #[test]
    fn window_slides_past_its_size() {
        let mut w = Window::new();
        w.record(1); // 0 never comes
        w.record(Window::W + 5);
        assert_eq!(w.lost, 1 + 4, "0, and W+1..W+4 that the window skipped");
        w.finish(Window::W + 6);
        assert_eq!(w.lost, Window::W + 4, "everything but 1 and W+5 is missing");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("3 weeks").is_err());
    }

    #[test]
    fn checksum_sees_a_changed_byte() {
        let body: Vec<u8> = (0..100u8).collect();
        let h = header(7, &body);
        let ok = [Bytes::copy_from_slice(&h), Bytes::from(body.clone())];
        assert_eq!(check(&ok), Some(7));
        let mut bad = body;
        bad[50] ^= 1;
        assert_eq!(check(&[Bytes::copy_from_slice(&h), Bytes::from(bad)]), None);
    }
}
