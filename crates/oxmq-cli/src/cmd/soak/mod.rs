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
//! message sizes (see [`MemoryBound`](memory::MemoryBound)).
//!
//! Phase B, churn: `--cycles` times, a fresh client socket (DEALER to a ROUTER, or REQ to a
//! REP; over tcp or ipc, in turn) connects, does one request and reply, and disconnects or
//! just closes. RSS and the number of open descriptors must stay flat: the RSS at the end may
//! exceed the RSS after a warm-up only by a tolerance (see [`churn`](churn::churn)), and the descriptors
//! must come back to what they were before the first cycle.
//!
//! Progress goes to stderr as one line every `--report-secs`; the summary goes to stdout, as
//! text or `--json`. Exit 0 only if every check passed, else [`CHECK_FAILED`] with the
//! reasons.
//!
//! This file holds the options, the entry point and what both phases share (progress lines,
//! bound sockets); `pipeline` is phase A (its messages and their accounting in `messages`,
//! its memory bound in `memory`), `churn` phase B, and `report` the checks and the summary.

mod churn;
mod memory;
mod messages;
mod pipeline;
mod report;

use super::{CmdResult, Exit, setup_err};
use churn::churn;
use clap::{Args, ValueEnum};
use oxmq::{Context, Socket, SocketType};
use pipeline::pipeline;
use report::{summary_json, summary_text, verdict};
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

/// The progress of a phase: an indicatif bar on a terminal (its message the latest status
/// line), or, when stderr is not one (a log, CI), the status lines themselves, rate-limited.
struct Progress {
    every: Duration,
    next: Instant,
    bar: indicatif::ProgressBar,
}

impl Progress {
    /// `len`: how far the phase goes (messages, cycles, seconds), as the bar counts it.
    fn new(secs: f64, len: u64, unit: &str) -> Progress {
        let every = Duration::try_from_secs_f64(secs.max(0.05)).unwrap_or(Duration::from_secs(10));
        let bar = indicatif::ProgressBar::new(len);
        let template = format!("[{{bar:20}}] {{pos}}/{{len}} {unit}, eta {{eta}}\n{{msg}}");
        if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("#>."));
        }
        Progress { every, next: Instant::now() + every, bar }
    }
    fn due(&mut self) -> bool {
        let now = Instant::now();
        if now < self.next {
            return false;
        }
        self.next = now + self.every;
        true
    }
    /// Reports reaching `pos` with a status `line`.
    fn report(&self, pos: u64, line: String) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.set_position(pos);
            self.bar.set_message(line);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
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
    fn durations() {
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("3 weeks").is_err());
    }
}
