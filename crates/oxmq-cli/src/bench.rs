//! `oxmq bench`: runs the oxmq perf tools and libzmq's side by side and
//! prints medians, ratios and CPU cost as a markdown table.
//!
//! Workloads: `thr` (PUSH/PULL throughput), `lat` (REQ/REP latency), `raw` (the plain-TCP
//! loopback ceiling), `pubsub` (PUB/SUB throughput), `scale` (1/10/100 peers), and the
//! memory ones `hwm`, `conns`, `subs` (`mem` selects all three). `baseline` saves and
//! compares oxmq's figures (the regression check).

mod baseline;

use crate::runner::{self, Ready, ToolCmd};
use clap::{Args, ValueEnum};
use oxmq_cli::Pattern;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const AFTER_HELP: &str = "\
Examples:
  oxmq bench --out BENCHMARKS-run.md                 # everything, ~8 min on 2 cores
  oxmq bench --workloads thr,lat                     # the PUSH/PULL and REQ/REP tables, ~3.5 min
  oxmq bench --workloads scale --peers 1,10,100      # how cost grows with peers
  oxmq bench --quick                                 # smoke run of everything, ~15 s

Regression check (oxmq's own figures against an earlier run of the same workloads; build
each side with `cargo build --release -p oxmq-cli -p oxmq-libzmq-perf` before its run;
--vs none skips the libzmq runs and halves the time):
  git switch main       && target/release/oxmq bench --vs none --save-baseline main.json
  git switch my-change  && target/release/oxmq bench --vs none --compare main.json --tolerance 10
  --compare lists every figure (msg/s, µs, CPU s/1M, KiB) with its change and exits with
  status 3 if any is worse than the baseline by more than --tolerance percent (1: a run
  failed, 2: could not start). On a shared 2-core VM, keep the tolerance at 10% or more and
  use the default 5 pairs. For changes to the ZMTP codec alone, the criterion benches are
  the finer check: cargo bench -p oxmq-wire --bench codec -- --save-baseline main / --baseline main.";

/// Options of `oxmq bench`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct BenchArgs {
    /// Runs per implementation and workload, oxmq and libzmq alternating
    /// (the order flips every other pair). Default 5, or 1 with --quick.
    #[arg(long)]
    pub pairs: Option<usize>,
    /// Smoke run: message counts divided by 50, one pair (unless --pairs).
    #[arg(long)]
    pub quick: bool,
    /// Compare with: `libzmq` (needs the oxmq-libzmq-perf tools) or `none`.
    /// Default: libzmq when its tools are found.
    #[arg(long, value_enum)]
    pub vs: Option<Vs>,
    /// Message sizes in bytes for the PUSH/PULL throughput runs.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 1024, 65536])]
    pub sizes: Vec<usize>,
    /// Message sizes in bytes for the REQ/REP latency runs.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize])]
    pub lat_sizes: Vec<usize>,
    /// Transports to measure.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Transport::Tcp, Transport::Ipc, Transport::Inproc])]
    pub transports: Vec<Transport>,
    /// Workloads to measure (time of each in a full run of 5 pairs on the 2-core reference VM;
    /// about 8 min for all of them, 15 s with --quick):
    /// thr: PUSH/PULL throughput (~3 min); lat: REQ/REP latency (~35 s);
    /// raw: plain-TCP loopback ceiling, 1 MiB writes, vs the tcp 64 KiB PUSH/PULL row (~15 s; adds that row, ~40 s, if thr does not);
    /// pubsub: PUB/SUB throughput, 64 B and 1 KiB over tcp, ipc, inproc (~75 s);
    /// scale: 1/10/100 peers for PUSH->PULLs, PUB->SUBs, DEALERs->ROUTER (~95 s);
    /// hwm: messages a PUSH queues to a PULL that stopped reading (~30 s);
    /// conns: ROUTER RSS per idle connection, 10,000 of them (~35 s);
    /// subs: PUB RSS per subscriber, 1,000 of them (~10 s); mem: hwm, conns and subs.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Kind::Thr, Kind::Lat, Kind::Raw, Kind::Pubsub, Kind::Scale, Kind::Mem])]
    pub workloads: Vec<Kind>,
    /// Write and read size in bytes of the raw-TCP ceiling runs.
    #[arg(long, default_value_t = RAW_CHUNK)]
    pub raw_chunk: usize,
    /// Message sizes in bytes for the PUB/SUB throughput runs.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 1024])]
    pub pubsub_sizes: Vec<usize>,
    /// Peer counts of the scale runs.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 10, 100])]
    pub peers: Vec<usize>,
    /// Message size in bytes of the scale runs.
    #[arg(long, default_value_t = 64)]
    pub scale_size: usize,
    /// Message sizes in bytes of the hwm runs (SNDHWM = RCVHWM = 1000).
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 65536])]
    pub hwm_sizes: Vec<usize>,
    /// Idle connections to the ROUTER of the conns runs (default 10000, 500 with --quick).
    #[arg(long)]
    pub conns: Option<usize>,
    /// Subscribers of the PUB of the subs runs (default 1000, 100 with --quick).
    #[arg(long)]
    pub subs: Option<usize>,
    /// Save oxmq's figures of this run (medians) as a baseline for --compare.
    #[arg(long, value_name = "FILE.json")]
    pub save_baseline: Option<PathBuf>,
    /// Compare oxmq's figures of this run with a baseline saved by --save-baseline; the
    /// exit status is 3 if any is worse than the baseline by more than --tolerance.
    /// Run the same workloads as the baseline (figures missing on either side are listed,
    /// not compared).
    #[arg(long, value_name = "FILE.json")]
    pub compare: Option<PathBuf>,
    /// Allowed regression for --compare, in percent of the baseline figure.
    #[arg(long, default_value_t = 10.0)]
    pub tolerance: f64,
    /// Also write the report (markdown) to this file.
    #[arg(long, value_name = "FILE.md")]
    pub out: Option<PathBuf>,
    /// Multiply every message/roundtrip count by this factor.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Kill a run (both processes) after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Also run mixed pairs over tcp and ipc (oxmq binder + libzmq connecter
    /// and the reverse): an interop check under load, in a separate table.
    #[arg(long)]
    pub cross: bool,
    /// Do not pin the tools to CPUs with taskset.
    #[arg(long)]
    pub no_pin: bool,
    /// Directory of the oxmq perf tools (default: next to this executable).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Directory of the zmq_* libzmq perf tools (default: next to this executable).
    #[arg(long, value_name = "DIR")]
    pub libzmq_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Vs {
    Libzmq,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    Tcp,
    Ipc,
    Inproc,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Ipc => "ipc",
            Transport::Inproc => "inproc",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// PUSH/PULL throughput.
    Thr,
    /// REQ/REP latency.
    Lat,
    /// Plain-TCP loopback ceiling.
    Raw,
    /// PUB/SUB throughput.
    Pubsub,
    /// 1/10/100 peers.
    Scale,
    /// PUSH queue to a PULL that stopped reading.
    Hwm,
    /// ROUTER memory per idle connection.
    Conns,
    /// PUB memory per subscriber.
    Subs,
    /// hwm, conns and subs.
    Mem,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Thr => "thr",
            Kind::Lat => "lat",
            Kind::Raw => "raw",
            Kind::Pubsub => "pubsub",
            Kind::Scale => "scale",
            Kind::Hwm => "hwm",
            Kind::Conns => "conns",
            Kind::Subs => "subs",
            Kind::Mem => "mem",
        }
    }
}

fn pattern_name(p: Pattern) -> &'static str {
    match p {
        Pattern::Push => "push",
        Pattern::Pub => "pub",
        Pattern::Router => "router",
    }
}

fn pattern_title(p: Pattern) -> &'static str {
    match p {
        Pattern::Push => "PUSH -> PULLs",
        Pattern::Pub => "PUB -> SUBs",
        Pattern::Router => "DEALERs -> ROUTER",
    }
}

/// The chunk size of the raw-TCP runs.
const RAW_CHUNK: usize = 1 << 20;
/// SNDHWM and RCVHWM of the hwm runs.
const HWM: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impl {
    Oxmq,
    Libzmq,
}

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::Oxmq => "oxmq",
            Impl::Libzmq => "libzmq",
        }
    }
    fn prefix(self) -> &'static str {
        match self {
            Impl::Oxmq => "",
            Impl::Libzmq => "zmq_",
        }
    }
}

/// The tools each implementation has (libzmq's with the `zmq_` prefix).
const TOOLS: [&str; 9] = [
    "local_thr",
    "remote_thr",
    "local_lat",
    "remote_lat",
    "inproc_thr",
    "inproc_lat",
    "scale_thr",
    "hwm_fill",
    "conn_server",
];
/// Tools that are the same for both implementations (plain TCP, raw ZMTP): oxmq-cli's.
const SHARED_TOOLS: [&str; 3] = ["tcp_local_thr", "tcp_remote_thr", "zmtp_peers"];

/// Which implementation runs each side: the binder (`local_*`, or the whole
/// inproc tool) and the connecter (`remote_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Variant {
    local: Impl,
    remote: Impl,
}

impl Variant {
    const OXMQ: Variant = Variant { local: Impl::Oxmq, remote: Impl::Oxmq };
    const LIBZMQ: Variant = Variant { local: Impl::Libzmq, remote: Impl::Libzmq };

    fn name(self) -> String {
        if self.local == self.remote {
            self.local.name().to_string()
        } else {
            format!("{}+{}", self.local.name(), self.remote.name())
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Workload {
    kind: Kind,
    transport: Transport,
    size: usize,
    /// Messages (roundtrips for lat, 1 MiB chunks for raw, connections for conns/subs).
    count: usize,
    /// The pattern of pubsub and scale runs.
    pattern: Option<Pattern>,
    /// Peers of scale runs (1 for pubsub).
    peers: usize,
}

impl Workload {
    fn new(kind: Kind, transport: Transport, size: usize, count: usize) -> Workload {
        Workload { kind, transport, size, count, pattern: None, peers: 1 }
    }

    fn label(&self) -> String {
        match self.kind {
            Kind::Scale => {
                format!("scale {} x{} {}", self.pattern.map_or("?", pattern_name), self.peers, fmt_size(self.size))
            }
            Kind::Conns | Kind::Subs => format!("{} {}", self.kind.name(), self.count),
            Kind::Raw => format!("raw tcp {}", fmt_size(self.size)),
            _ => format!("{} {} {}", self.kind.name(), self.transport.name(), fmt_size(self.size)),
        }
    }

    /// Whether only one implementation runs (the raw-TCP ceiling).
    fn shared(&self) -> bool {
        self.kind == Kind::Raw
    }
}

/// One successful run.
#[derive(Debug, Clone)]
struct Sample {
    /// msg/s for throughput, one-way µs for latency.
    value: f64,
    /// user+sys seconds of all processes of the run.
    cpu: f64,
    /// A second figure of the run: the sender's RSS growth in KiB for hwm.
    extra: Option<f64>,
    /// Set when the run measured fine but something went wrong around it.
    note: Option<String>,
}

#[derive(Debug, Default)]
struct Cell {
    samples: Vec<Sample>,
    failures: Vec<String>,
}

/// Message counts tuned so that one libzmq run lasts ~1.5 s on the 2-core
/// reference VM (measured with the oxmq-libzmq-perf tools).
fn default_count(kind: Kind, transport: Transport, size: usize) -> usize {
    use Kind::*;
    use Transport::*;
    match (kind, transport, size) {
        (Thr, Tcp | Ipc, 64) => 10_000_000,
        (Thr, Tcp | Ipc, 1024) => 2_000_000,
        (Thr, Tcp, 65536) => 75_000,
        (Thr, Ipc, 65536) => 20_000,
        (Thr, Inproc, 64) => 5_000_000,
        (Thr, Inproc, 1024) => 4_000_000,
        (Thr, Inproc, 65536) => 300_000,
        (Lat, Tcp | Ipc, 64) => 75_000,
        (Lat, Inproc, 64) => 500_000,
        (Pubsub, Tcp | Ipc, 64) => 6_000_000,
        (Pubsub, Inproc, 64) => 3_000_000,
        (Pubsub, _, 1024) => 1_500_000,
        (Hwm | Conns | Subs | Mem, _, _) => 1,
        (Scale, _, _) => 5_000_000,
        _ => {
            // A rough cost model for other sizes: fixed cost + bytes / bandwidth.
            let s = size as f64;
            let per = match (kind, transport) {
                (Thr, Tcp) => 150e-9 + s / 2.5e9,
                (Thr, Ipc) => 150e-9 + s / 0.8e9,
                (Thr, Inproc) => 300e-9 + s / 15e9,
                (Lat, Tcp | Ipc) => 19e-6 + 2.0 * s / 1e9,
                (Lat, Inproc) => 4e-6 + 2.0 * s / 5e9,
                (Pubsub, Tcp) => 170e-9 + s / 2.5e9,
                (Pubsub, Ipc) => 170e-9 + s / 0.8e9,
                (Pubsub, Inproc) => 330e-9 + s / 15e9,
                _ => 1e-6,
            };
            round2(1.5 / per).max(1000.0) as usize
        }
    }
}

/// Rounds to two significant digits.
fn round2(x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let m = 10f64.powi(x.log10().floor() as i32 - 1);
    (x / m).round() * m
}

fn fmt_size(size: usize) -> String {
    if size >= 1024 && size % 1024 == 0 { format!("{} KiB", size / 1024) } else { format!("{size} B") }
}

fn fmt_rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn fmt_count(n: usize) -> String {
    if n >= 1_000_000 && n % 100_000 == 0 {
        format!("{}M", n as f64 / 1e6)
    } else if n >= 1000 && n % 100 == 0 {
        format!("{}k", n as f64 / 1e3)
    } else {
        n.to_string()
    }
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// Finds the tools of one implementation, or says what is missing.
fn find_tools(dir: &Path, imp: Impl) -> Result<(), String> {
    let shared: &[&str] = if imp == Impl::Oxmq { &SHARED_TOOLS } else { &[] };
    let missing: Vec<String> = TOOLS
        .iter()
        .map(|t| format!("{}{t}", imp.prefix()))
        .chain(shared.iter().map(|t| t.to_string()))
        .filter(|t| !dir.join(t).is_file())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("{} perf tools not found in {} (missing: {})", imp.name(), dir.display(), missing.join(", ")))
    }
}

const BUILD_OXMQ: &str = "build them with: cargo build --release -p oxmq-cli";
const BUILD_LIBZMQ: &str = "build them with: cargo build --release -p oxmq-libzmq-perf \
     (needs the system libzmq: apt-get install libzmq3-dev pkg-config)";

struct Plan {
    oxmq_dir: PathBuf,
    libzmq_dir: Option<PathBuf>,
    pairs: usize,
    pin: bool,
    pin_note: String,
    cross: bool,
    timeout: Duration,
    workloads: Vec<Workload>,
}

/// The workloads of a run, in order, from the options.
fn plan_workloads(args: &BenchArgs) -> Vec<Workload> {
    let scale = if args.quick { args.scale / 50.0 } else { args.scale };
    let count =
        |kind, transport, size| ((default_count(kind, transport, size) as f64 * scale).round() as usize).max(1000);
    let mut kinds: Vec<Kind> = Vec::new();
    for &k in &args.workloads {
        let expanded: &[Kind] = if k == Kind::Mem { &[Kind::Hwm, Kind::Conns, Kind::Subs] } else { &[k] };
        for &k in expanded {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
    }
    // The raw ceiling is read against oxmq's tcp 64 KiB throughput.
    let needs_thr_64k = kinds.contains(&Kind::Raw)
        && !(kinds.contains(&Kind::Thr) && args.sizes.contains(&65536) && args.transports.contains(&Transport::Tcp));
    let mut workloads = Vec::new();
    for kind in kinds {
        match kind {
            Kind::Thr | Kind::Lat => {
                let sizes = if kind == Kind::Thr { &args.sizes } else { &args.lat_sizes };
                for &transport in &args.transports {
                    for &size in sizes {
                        workloads.push(Workload::new(kind, transport, size, count(kind, transport, size)));
                    }
                }
            }
            Kind::Raw => {
                if needs_thr_64k {
                    workloads.push(Workload::new(
                        Kind::Thr,
                        Transport::Tcp,
                        65536,
                        count(Kind::Thr, Transport::Tcp, 65536),
                    ));
                }
                // About 3 GiB at the default 1 MiB.
                let chunk = args.raw_chunk.max(1);
                let n = ((3000.0 * RAW_CHUNK as f64 / chunk as f64 * scale).round() as usize).max(50);
                workloads.push(Workload::new(kind, Transport::Tcp, chunk, n));
            }
            Kind::Pubsub => {
                for &transport in &args.transports {
                    for &size in &args.pubsub_sizes {
                        let mut w = Workload::new(kind, transport, size, count(kind, transport, size));
                        w.pattern = Some(Pattern::Pub);
                        workloads.push(w);
                    }
                }
            }
            Kind::Scale => {
                for pattern in [Pattern::Push, Pattern::Pub, Pattern::Router] {
                    for &peers in &args.peers {
                        let peers = peers.max(1);
                        // A multiple of the peers, so that every sender has the same share.
                        // More peers, fewer messages (100 peers run at about half the rate of 1).
                        let base = count(kind, Transport::Tcp, args.scale_size);
                        let base = if peers > 10 { base / 2 } else { base };
                        let n = base.div_ceil(peers) * peers;
                        let mut w = Workload::new(kind, Transport::Tcp, args.scale_size, n);
                        w.pattern = Some(pattern);
                        w.peers = peers;
                        workloads.push(w);
                    }
                }
            }
            Kind::Hwm => {
                for &size in &args.hwm_sizes {
                    workloads.push(Workload::new(kind, Transport::Tcp, size, HWM));
                }
            }
            Kind::Conns => {
                let n = args.conns.unwrap_or(if args.quick { 500 } else { 10_000 }).max(1);
                workloads.push(Workload::new(kind, Transport::Tcp, 0, n));
            }
            Kind::Subs => {
                let n = args.subs.unwrap_or(if args.quick { 100 } else { 1000 }).max(1);
                workloads.push(Workload::new(kind, Transport::Tcp, 0, n));
            }
            Kind::Mem => {}
        }
    }
    workloads
}

/// Entry point of `oxmq bench`. Returns the process exit code.
pub fn run(args: &BenchArgs) -> Result<i32, String> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let oxmq_dir = args.bin_dir.clone().unwrap_or_else(|| exe_dir.clone());
    find_tools(&oxmq_dir, Impl::Oxmq).map_err(|e| format!("{e}\n{BUILD_OXMQ}"))?;
    let zdir = args.libzmq_dir.clone().unwrap_or_else(|| exe_dir.clone());
    if args.cross && args.vs == Some(Vs::None) {
        return Err("--cross needs libzmq (drop --vs none)".into());
    }
    let vs = if args.cross { Some(Vs::Libzmq) } else { args.vs };
    let libzmq_dir = match (vs, find_tools(&zdir, Impl::Libzmq)) {
        (Some(Vs::None), _) => None,
        (_, Ok(())) => Some(zdir),
        (Some(Vs::Libzmq), Err(e)) => return Err(format!("{e}\n{BUILD_LIBZMQ}")),
        (None, Err(e)) => {
            eprintln!("note: {e}; measuring oxmq alone.\nnote: {BUILD_LIBZMQ}");
            None
        }
    };
    if exe_dir.ends_with("debug") {
        eprintln!("warning: these are debug builds; use `cargo build --release` for real figures");
    }

    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (pin, pin_note) = if args.no_pin {
        (false, "unpinned (--no-pin)".to_string())
    } else if cpus < 2 {
        (false, format!("unpinned: only {cpus} CPU available"))
    } else if !runner::taskset_works() {
        (false, "unpinned: `taskset` not found or not working".to_string())
    } else {
        (
            true,
            "throughput: binder (local_thr) on core 0, connecter (remote_thr) on core 1; \
             latency: both on core 0; inproc_thr and scale_thr (inproc): receiving thread on core 0, sending thread on core 1; inproc_lat on core 0"
                .to_string(),
        )
    };
    if !pin {
        eprintln!("note: running {pin_note}");
    }

    let pairs = args.pairs.unwrap_or(if args.quick { 1 } else { 5 }).max(1);
    let workloads = plan_workloads(args);
    let base = match &args.compare {
        Some(path) => Some(baseline::load(path)?),
        None => None,
    };
    if workloads.is_empty() {
        return Err("nothing to run: check --workloads, --sizes and --transports".into());
    }

    let plan = Plan {
        oxmq_dir,
        libzmq_dir,
        pairs,
        pin,
        pin_note,
        cross: args.cross,
        timeout: Duration::from_secs(args.timeout.max(1)),
        workloads,
    };
    let (results, durations) = execute(&plan);
    let mut report = render(&plan, &results, &durations);
    let figures = oxmq_figures(&results);
    let mut regressed = false;
    if let Some(base) = &base {
        let cmp = baseline::compare(base, &figures, args.tolerance);
        regressed = cmp.regressions > 0;
        report.push_str(&cmp.report);
    }
    println!("{report}");
    if let Some(path) = &args.out {
        std::fs::write(path, &report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if let Some(path) = &args.save_baseline {
        baseline::save(path, &figures)?;
        eprintln!("baseline ({} figures) written to {}", figures.len(), path.display());
    }
    let failed = results.iter().flat_map(|(_, cells)| cells.iter()).any(|c| !c.failures.is_empty());
    Ok(if regressed {
        3
    } else if failed {
        1
    } else {
        0
    })
}

type Results = Vec<(Workload, Vec<Cell>)>;

/// oxmq's figures of a run, named for the baseline: medians of every workload.
fn oxmq_figures(results: &Results) -> Vec<baseline::Figure> {
    let mut v = Vec::new();
    for (w, cells) in results {
        if w.shared() {
            continue;
        }
        let Some(cell) = cells.first() else { continue };
        let s = summarize(cell, w.count);
        let label = w.label();
        let mut push = |what: &str, value: Option<f64>, higher_is_better: bool| {
            if let Some(value) = value {
                v.push(baseline::Figure { name: format!("{label} {what}"), value, higher_is_better });
            }
        };
        match w.kind {
            Kind::Lat => {
                push("us", s.value, false);
                push("cpu s/1M", s.cpu_per_m, false);
            }
            Kind::Hwm => {
                let mut rss: Vec<f64> = cell.samples.iter().filter_map(|s| s.extra).collect();
                push("sender rss KiB", median(&mut rss), false);
            }
            Kind::Conns | Kind::Subs => push("KiB/conn", s.value, false),
            _ => {
                push("msg/s", s.value, true);
                push("cpu s/1M", s.cpu_per_m, false);
            }
        }
    }
    v
}

/// The variants run for a workload; cells are indexed like this list:
/// oxmq first, then libzmq, then the mixed pairs.
fn variants(plan: &Plan, w: &Workload) -> Vec<Variant> {
    let mut v = vec![Variant::OXMQ];
    if plan.libzmq_dir.is_some() && !w.shared() {
        v.push(Variant::LIBZMQ);
        if plan.cross && w.transport != Transport::Inproc && matches!(w.kind, Kind::Thr | Kind::Lat) {
            v.push(Variant { local: Impl::Oxmq, remote: Impl::Libzmq });
            v.push(Variant { local: Impl::Libzmq, remote: Impl::Oxmq });
        }
    }
    v
}

/// The name of who runs `w`: an implementation, a mixed pair, or neither (raw TCP).
fn variant_name(w: &Workload, var: Variant) -> String {
    if w.shared() { "plain TCP".into() } else { var.name() }
}

/// A progress bar for run `n` of `total` (1-based), with the time left estimated from the
/// runs done so far: `[######..............]  12/60  eta 2m10s`.
fn progress(n: usize, total: usize, elapsed: Duration) -> String {
    const WIDTH: usize = 20;
    let done = n.saturating_sub(1);
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    let bar: String = "#".repeat(filled) + &".".repeat(WIDTH - filled);
    let eta = if done == 0 {
        "eta ?".to_string()
    } else {
        let left = elapsed.as_secs_f64() / done as f64 * (total - done) as f64;
        format!("eta {}m{:02}s", left as u64 / 60, left as u64 % 60)
    };
    format!("[{bar}] {n:>3}/{total} {eta:>10}")
}

/// Wall time spent on each kind of workload.
type Durations = Vec<(Kind, Duration)>;

fn execute(plan: &Plan) -> (Results, Durations) {
    let total: usize = plan.workloads.iter().map(|w| variants(plan, w).len() * plan.pairs).sum();
    let mut n = 0;
    let started = Instant::now();
    let mut results = Vec::new();
    let mut durations: Durations = Vec::new();
    for w in &plan.workloads {
        let w_started = Instant::now();
        let vars = variants(plan, w);
        let mut cells: Vec<Cell> = vars.iter().map(|_| Cell::default()).collect();
        for pair in 0..plan.pairs {
            let mut order: Vec<usize> = (0..vars.len()).collect();
            if pair % 2 == 1 {
                order.reverse();
            }
            for i in order {
                n += 1;
                let var = vars[i];
                eprint!(
                    "{} {:<18} {:<13} pair {}/{} ... ",
                    progress(n, total, started.elapsed()),
                    w.label(),
                    variant_name(w, var),
                    pair + 1,
                    plan.pairs
                );
                match run_once(plan, w, var) {
                    Ok(s) => {
                        let v = match w.kind {
                            Kind::Lat => format!("{:.2} us", s.value),
                            Kind::Hwm => format!("{} queued, rss +{} KiB", s.value, s.extra.unwrap_or(0.0)),
                            Kind::Conns | Kind::Subs => format!("{:.2} KiB/conn", s.value),
                            Kind::Raw => format!("{} Gb/s", gbits(s.value * w.size as f64)),
                            _ => format!("{} msg/s", fmt_rate(s.value)),
                        };
                        eprintln!(
                            "{v}, cpu {:.2} s{}",
                            s.cpu,
                            s.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
                        );
                        cells[i].samples.push(s);
                    }
                    Err(e) => {
                        eprintln!("FAILED");
                        for line in e.lines() {
                            eprintln!("        {line}");
                        }
                        cells[i].failures.push(e);
                    }
                }
            }
        }
        results.push((*w, cells));
        match durations.iter_mut().find(|(k, _)| *k == w.kind) {
            Some((_, d)) => *d += w_started.elapsed(),
            None => durations.push((w.kind, w_started.elapsed())),
        }
    }
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());
    (results, durations)
}

fn tool(plan: &Plan, imp: Impl, name: &str, args: Vec<String>, cpus: Option<&'static str>) -> ToolCmd {
    let dir = match imp {
        Impl::Oxmq => &plan.oxmq_dir,
        Impl::Libzmq => plan.libzmq_dir.as_ref().unwrap_or(&plan.oxmq_dir),
    };
    let file = format!("{}{name}", imp.prefix());
    ToolCmd { name: file.clone(), program: dir.join(file), args, cpus: if plan.pin { cpus } else { None }, env: vec![] }
}

/// A tool that is the same for both implementations (in the oxmq directory).
fn shared_tool(plan: &Plan, name: &str, args: Vec<String>, cpus: Option<&'static str>) -> ToolCmd {
    ToolCmd {
        name: name.to_string(),
        program: plan.oxmq_dir.join(name),
        args,
        cpus: if plan.pin { cpus } else { None },
        env: vec![],
    }
}

/// Removes an ipc socket file when dropped.
struct IpcFile(Option<PathBuf>);

impl Drop for IpcFile {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// What to read from a run's output, and how to end it.
struct OutputSpec {
    /// The figure: `<key> <number> <unit>`.
    key: &'static str,
    unit: &'static str,
    /// A second figure.
    extra: Option<(&'static str, &'static str)>,
    /// The line that says the measurement is done (the last one printed).
    marker: &'static str,
    /// How long the other processes may run once one has finished or printed the marker.
    after_success: Duration,
    /// One tool (a sink or a client holding connections) only ends when killed.
    killed_at_end: bool,
}

const THR_SPEC: OutputSpec = OutputSpec {
    key: "mean throughput:",
    unit: "[msg/s]",
    extra: None,
    marker: "mean throughput:",
    after_success: runner::AFTER_SUCCESS,
    killed_at_end: false,
};

/// The two threads of an inproc tool (`inproc_thr`, `scale_thr both`), pinned like the
/// process pairs: receiving on core 0, sending on core 1 (taskset pins whole processes).
const INPROC_PIN: [(&str, &str); 2] = [("PERF_PIN_RECV", "0"), ("PERF_PIN_SEND", "1")];

/// The processes of one run of `w` by `var`, and how to read them.
fn commands(plan: &Plan, w: &Workload, var: Variant, endpoint: String) -> (Vec<ToolCmd>, OutputSpec) {
    let (imp, remote) = (var.local, var.remote);
    let size = w.size.to_string();
    let count = w.count.to_string();
    let quick_end = Duration::from_millis(300);
    match (w.kind, w.transport) {
        (Kind::Thr, Transport::Inproc) => {
            let mut cmd = tool(plan, imp, "inproc_thr", vec![size, count], None);
            if plan.pin {
                // Unpinned, single runs varied by up to 4x.
                cmd.env = INPROC_PIN.to_vec();
            }
            (vec![cmd], THR_SPEC)
        }
        (Kind::Lat, Transport::Inproc) => (vec![tool(plan, imp, "inproc_lat", vec![size, count], Some("0"))], LAT_SPEC),
        (Kind::Thr, _) => (
            vec![
                tool(plan, imp, "local_thr", vec![endpoint.clone(), size.clone(), count.clone()], Some("0")),
                tool(plan, remote, "remote_thr", vec![endpoint, size, count], Some("1")),
            ],
            THR_SPEC,
        ),
        (Kind::Lat, _) => (
            vec![
                tool(plan, imp, "local_lat", vec![endpoint.clone(), size.clone(), count.clone()], Some("0")),
                tool(plan, remote, "remote_lat", vec![endpoint, size, count], Some("0")),
            ],
            LAT_SPEC,
        ),
        (Kind::Raw, _) => (
            vec![
                shared_tool(plan, "tcp_local_thr", vec![endpoint.clone(), size.clone(), count.clone()], Some("0")),
                shared_tool(plan, "tcp_remote_thr", vec![endpoint, size, count], Some("1")),
            ],
            THR_SPEC,
        ),
        (Kind::Pubsub | Kind::Scale, transport) => {
            let pattern = pattern_name(w.pattern.unwrap_or(Pattern::Pub)).to_string();
            let peers = w.peers.to_string();
            let args = |role: &str, endpoint: String| {
                vec![role.to_string(), pattern.clone(), endpoint, peers.clone(), size.clone(), count.clone()]
            };
            let cmds = if transport == Transport::Inproc {
                let mut cmd = tool(plan, imp, "scale_thr", args("both", "inproc://scale_thr".into()), None);
                if plan.pin {
                    cmd.env = INPROC_PIN.to_vec();
                }
                vec![cmd]
            } else {
                vec![
                    tool(plan, imp, "scale_thr", args("one", endpoint.clone()), Some("0")),
                    tool(plan, imp, "scale_thr", args("many", endpoint), Some("1")),
                ]
            };
            (cmds, THR_SPEC)
        }
        (Kind::Hwm, _) => {
            let args = |role: &str| vec![role.to_string(), endpoint.clone(), HWM.to_string(), size.clone()];
            (
                vec![
                    tool(plan, imp, "hwm_fill", args("pull"), Some("0")),
                    tool(plan, imp, "hwm_fill", args("push"), Some("1")),
                ],
                OutputSpec {
                    key: "queued:",
                    unit: "[msg]",
                    extra: Some(("sender rss growth:", "[KiB]")),
                    marker: "sender rss growth:",
                    after_success: quick_end,
                    killed_at_end: true,
                },
            )
        }
        (Kind::Conns | Kind::Subs | Kind::Mem, _) => {
            let (server, client) = if w.kind == Kind::Subs { ("pub", "sub") } else { ("router", "dealer") };
            (
                vec![
                    tool(plan, imp, "conn_server", vec![server.into(), endpoint.clone(), count.clone()], Some("0")),
                    shared_tool(plan, "zmtp_peers", vec![endpoint, count, client.into()], Some("1")),
                ],
                OutputSpec {
                    key: "rss per connection:",
                    unit: "[KiB]",
                    extra: None,
                    marker: "rss per connection:",
                    after_success: quick_end,
                    killed_at_end: true,
                },
            )
        }
    }
}

const LAT_SPEC: OutputSpec = OutputSpec {
    key: "average latency:",
    unit: "[us]",
    extra: None,
    marker: "average latency:",
    after_success: runner::AFTER_SUCCESS,
    killed_at_end: false,
};

fn run_once(plan: &Plan, w: &Workload, var: Variant) -> Result<Sample, String> {
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut ipc = IpcFile(None);
    let (endpoint, ready) = match w.transport {
        Transport::Tcp => {
            let port = runner::free_tcp_port().map_err(|e| format!("no free tcp port: {e}"))?;
            (format!("tcp://127.0.0.1:{port}"), Ready::TcpListen(port))
        }
        Transport::Ipc => {
            let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("oxmq-bench-{}-{seq}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            ipc.0 = Some(path.clone());
            (format!("ipc://{}", path.display()), Ready::IpcPath(path))
        }
        Transport::Inproc => (String::new(), Ready::Now),
    };
    let (cmds, spec) = commands(plan, w, var, endpoint);
    let outcome = runner::run_group(&cmds, &ready, spec.marker, plan.timeout, spec.after_success);
    let (key, unit) = (spec.key, spec.unit);
    let from = |key: &str, unit: &str| {
        outcome.procs.iter().find_map(|p| {
            if !p.success && !p.killed {
                return None;
            }
            oxmq_cli::parse_figure(&p.stdout, key, unit)
        })
    };
    let value = from(key, unit);
    let extra = spec.extra.and_then(|(k, u)| from(k, u));
    let cpu: f64 = outcome.procs.iter().map(|p| p.cpu.as_secs_f64()).sum();
    let failed_procs: Vec<&runner::Finished> = outcome.procs.iter().filter(|p| !p.success).collect();

    match value {
        Some(value) if failed_procs.iter().all(|p| p.killed) => {
            // A tool that holds its side open until killed is killed once the other is done.
            let note = (!outcome.problems.is_empty() && !spec.killed_at_end).then(|| outcome.problems.join("; "));
            Ok(Sample { value, cpu, extra, note })
        }
        _ => {
            let mut msg = String::new();
            for p in &outcome.problems {
                let _ = writeln!(msg, "{p}");
            }
            for p in &outcome.procs {
                if p.success && value.is_some() {
                    continue;
                }
                let _ = writeln!(msg, "{} ({}, after {:.1} s)", p.name, p.status, p.wall.as_secs_f64());
                for (what, text) in [("stdout", &p.stdout), ("stderr", &p.stderr)] {
                    let lines: Vec<&str> = text.lines().collect();
                    let tail = &lines[lines.len().saturating_sub(6)..];
                    for l in tail {
                        let _ = writeln!(msg, "  {what}: {l}");
                    }
                }
            }
            if value.is_none() && msg.is_empty() {
                let _ = writeln!(msg, "no \"{key} ... {unit}\" line in the output");
            }
            let cmdlines: Vec<String> = cmds.iter().map(ToolCmd::display).collect();
            let _ = write!(msg, "command: {}", cmdlines.join("  &  "));
            Err(msg)
        }
    }
}

struct Summary {
    value: Option<f64>,
    spread: Option<f64>,
    cpu_per_m: Option<f64>,
}

fn summarize(cell: &Cell, count: usize) -> Summary {
    let mut values: Vec<f64> = cell.samples.iter().map(|s| s.value).collect();
    let mut cpus: Vec<f64> = cell.samples.iter().map(|s| s.cpu / count as f64 * 1e6).collect();
    let value = median(&mut values);
    let spread = match (value, values.first(), values.last()) {
        (Some(m), Some(lo), Some(hi)) if values.len() > 1 && m > 0.0 => Some((hi - lo) / 2.0 / m * 100.0),
        _ => None,
    };
    Summary { value, spread, cpu_per_m: median(&mut cpus) }
}

fn machine_info(with_libzmq: bool) -> Vec<String> {
    let mut v = Vec::new();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    v.push(format!("machine: {cpus} CPUs, {model}, Linux {kernel}"));
    if !with_libzmq {
        return v;
    }
    let libzmq = std::process::Command::new("pkg-config")
        .args(["--modversion", "libzmq"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(ver) = libzmq {
        v.push(format!("libzmq: {ver} (system library, via rust-zmq)"));
    }
    v
}

fn cell_text(s: &Summary, fmt: impl Fn(f64) -> String) -> String {
    match (s.value, s.spread) {
        (Some(v), Some(sp)) => format!("{} ±{sp:.0}%", fmt(v)),
        (Some(v), None) => fmt(v),
        _ => "FAIL".into(),
    }
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{x:.prec$}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn render(plan: &Plan, results: &Results, durations: &Durations) -> String {
    let vs = plan.libzmq_dir.is_some();
    let mut out = String::new();
    let _ = writeln!(out, "# oxmq bench\n");
    for line in machine_info(vs) {
        let _ = writeln!(out, "- {line}");
    }
    let _ = writeln!(out, "- oxmq {}: tools in {}", env!("CARGO_PKG_VERSION"), plan.oxmq_dir.display());
    let _ = writeln!(
        out,
        "- runs: {} per implementation and workload{}; figures are medians, ±x% is half the min–max spread",
        plan.pairs,
        if vs { ", oxmq and libzmq alternating" } else { "" }
    );
    let _ = writeln!(out, "- pinning: {}", plan.pin_note);
    let _ = writeln!(
        out,
        "- CPU: user+sys seconds of all tool processes of a run (wait4), per million messages (latency: per million roundtrips)"
    );
    let took: Vec<String> = durations.iter().map(|(k, d)| format!("{} {:.0} s", k.name(), d.as_secs_f64())).collect();
    let _ = writeln!(out, "- wall time per workload: {}", took.join(", "));

    let rate: fn(f64) -> String = fmt_rate;
    let us: fn(f64) -> String = |v| format!("{v:.2}");
    render_table(
        &mut out,
        vs,
        results,
        Kind::Thr,
        "Throughput: PUSH/PULL, msg/s (higher is better)",
        &["transport", "size", "msgs"],
        |w| vec![w.transport.name().into(), fmt_size(w.size), fmt_count(w.count)],
        "msg/s",
        rate,
    );
    render_table(
        &mut out,
        vs,
        results,
        Kind::Lat,
        "Latency: REQ/REP one-way, µs (lower is better)",
        &["transport", "size", "roundtrips"],
        |w| vec![w.transport.name().into(), fmt_size(w.size), fmt_count(w.count)],
        "µs",
        us,
    );
    render_raw(&mut out, vs, results);
    render_table(
        &mut out,
        vs,
        results,
        Kind::Pubsub,
        "Throughput: PUB/SUB, one subscriber, msg/s (higher is better)",
        &["transport", "size", "msgs"],
        |w| vec![w.transport.name().into(), fmt_size(w.size), fmt_count(w.count)],
        "msg/s",
        rate,
    );
    if results.iter().any(|(w, _)| w.kind == Kind::Pubsub) {
        let _ = writeln!(
            out,
            "\nThe PUB is an XPUB with XPUB_NODROP (blocks at the HWM instead of dropping, so every message \
             arrives and the count is exact) and XPUB_VERBOSE (it waits for the subscription before sending); \
             the PUB binds, the SUB connects. tcp/ipc: PUB on core 0, SUB on core 1; inproc: SUB's thread on core 0, PUB's on core 1."
        );
    }
    render_table(
        &mut out,
        vs,
        results,
        Kind::Scale,
        "Scale: one socket and N peers, msg/s in all (higher is better)",
        &["pattern", "peers", "size", "msgs"],
        |w| {
            vec![w.pattern.map_or("?", pattern_title).into(), w.peers.to_string(), fmt_size(w.size), fmt_count(w.count)]
        },
        "msg/s",
        rate,
    );
    if results.iter().any(|(w, _)| w.kind == Kind::Scale) {
        let _ = writeln!(
            out,
            "\nThe N peers are sockets of one process (one context) on core 1, the single socket is alone in a \
             process on core 0 and binds; tcp. msgs counts messages received in all: for PUB -> SUBs each of \
             msgs/N messages reaches all N subscribers (XPUB with XPUB_NODROP and XPUB_VERBOSE, sending once all \
             N subscribed); PUSH sends once all N handshakes are done (socket monitor); each DEALER sends msgs/N. \
             The receiving side of N sockets drains each in turn and polls all of them when none has a message. \
             CPU is per message received, both processes."
        );
    }
    render_hwm(&mut out, vs, results);
    render_conns(&mut out, vs, results);

    if plan.cross {
        render_cross(&mut out, results);
    }

    let mut notes = Vec::new();
    for (w, cells) in results {
        for (cell, var) in cells.iter().zip(variants(plan, w)) {
            for f in &cell.failures {
                notes.push(format!("- **FAILED** {} {}:\n```\n{}\n```", w.label(), variant_name(w, var), f.trim_end()));
            }
            for s in &cell.samples {
                if let Some(n) = &s.note {
                    notes.push(format!("- warning, {} {}: {n}", w.label(), variant_name(w, var)));
                }
            }
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "\n## Problems\n");
        for n in notes {
            let _ = writeln!(out, "{n}");
        }
    }
    out
}

/// A table of one kind in the style of the throughput table: the leading columns, oxmq's
/// figure, libzmq's, their ratio, and the CPU cost per million of each.
#[allow(clippy::too_many_arguments)]
fn render_table(
    out: &mut String,
    vs: bool,
    results: &Results,
    kind: Kind,
    title: &str,
    heads: &[&str],
    lead: impl Fn(&Workload) -> Vec<String>,
    unit: &str,
    fmt: fn(f64) -> String,
) {
    let rows: Vec<&(Workload, Vec<Cell>)> = results.iter().filter(|(w, _)| w.kind == kind).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## {title}\n");
    let lead_head = heads.join(" | ");
    let lead_align =
        ["---"].into_iter().chain(std::iter::repeat_n("---:", heads.len() - 1)).collect::<Vec<_>>().join("|");
    if vs {
        let _ = writeln!(
            out,
            "| {lead_head} | oxmq {unit} | libzmq {unit} | oxmq/libzmq | oxmq CPU s/1M | libzmq CPU s/1M | CPU oxmq/libzmq |"
        );
        let _ = writeln!(out, "|{lead_align}|---:|---:|---:|---:|---:|---:|");
    } else {
        let _ = writeln!(out, "| {lead_head} | oxmq {unit} | oxmq CPU s/1M |");
        let _ = writeln!(out, "|{lead_align}|---:|---:|");
    }
    for (w, cells) in rows {
        let ox = summarize(&cells[0], w.count);
        let mut line = format!("| {} | {} ", lead(w).join(" | "), cell_text(&ox, fmt));
        if vs {
            let lz = cells.get(1).map(|c| summarize(c, w.count)).unwrap_or(Summary {
                value: None,
                spread: None,
                cpu_per_m: None,
            });
            let _ = write!(
                line,
                "| {} | {} | {} | {} | {} ",
                cell_text(&lz, fmt),
                opt(ratio(ox.value, lz.value), 2),
                opt(ox.cpu_per_m, 2),
                opt(lz.cpu_per_m, 2),
                opt(ratio(ox.cpu_per_m, lz.cpu_per_m), 2)
            );
        } else {
            let _ = write!(line, "| {} ", opt(ox.cpu_per_m, 2));
        }
        line.push('|');
        let _ = writeln!(out, "{line}");
    }
}

/// Bytes per second as Gb/s.
fn gbits(bytes_per_s: f64) -> String {
    format!("{:.2}", bytes_per_s * 8.0 / 1e9)
}

/// The raw-TCP ceiling, and the tcp 64 KiB PUSH/PULL rows as a share of it.
fn render_raw(out: &mut String, vs: bool, results: &Results) {
    let Some((rw, rcells)) = results.iter().find(|(w, _)| w.kind == Kind::Raw) else { return };
    let raw = summarize(&rcells[0], rw.count);
    let raw_bps = raw.value.map(|v| v * rw.size as f64);
    let thr = results.iter().find(|(w, _)| w.kind == Kind::Thr && w.transport == Transport::Tcp && w.size == 65536);
    let share = |i: usize| -> (String, String) {
        let Some((w, cells)) = thr else { return ("–".into(), "–".into()) };
        let Some(cell) = cells.get(i) else { return ("–".into(), "–".into()) };
        let bps = summarize(cell, w.count).value.map(|v| v * w.size as f64);
        (bps.map_or("–".into(), gbits), opt(ratio(bps, raw_bps).map(|r| r * 100.0), 0) + "%")
    };
    let _ = writeln!(out, "\n## Raw TCP loopback ceiling, Gb/s of payload (higher is better)\n");
    // CPU s per chunk, times chunks per GiB.
    let cpu_per_gib = raw.cpu_per_m.map(|c| c / 1e6 * (1u64 << 30) as f64 / rw.size as f64);
    let raw_text = match (raw_bps, raw.spread) {
        (Some(b), Some(sp)) => format!("{} ±{sp:.0}%", gbits(b)),
        (Some(b), None) => gbits(b),
        _ => "FAIL".into(),
    };
    let (ox_g, ox_p) = share(0);
    if vs {
        let (lz_g, lz_p) = share(1);
        let _ = writeln!(
            out,
            "| raw TCP Gb/s | raw CPU s/GiB | oxmq tcp 64 KiB Gb/s | oxmq % of raw | libzmq tcp 64 KiB Gb/s | libzmq % of raw |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
        let _ = writeln!(out, "| {raw_text} | {} | {ox_g} | {ox_p} | {lz_g} | {lz_p} |", opt(cpu_per_gib, 2));
    } else {
        let _ = writeln!(out, "| raw TCP Gb/s | raw CPU s/GiB | oxmq tcp 64 KiB Gb/s | oxmq % of raw |");
        let _ = writeln!(out, "|---:|---:|---:|---:|");
        let _ = writeln!(out, "| {raw_text} | {} | {ox_g} | {ox_p} |", opt(cpu_per_gib, 2));
    }
    let _ = writeln!(
        out,
        "\nRaw: `tcp_local_thr`/`tcp_remote_thr`, plain std TCP over 127.0.0.1, {} chunks of {} written \
         with one write each and read with reads of that size, reader on core 0, writer on core 1 (as \
         local_thr/remote_thr); the 64 KiB figures are the PUSH/PULL tcp 64 KiB row of this run (payload bytes, \
         frame headers not counted). Above 100% means this chunk size is not the loopback's best \
         (try --raw-chunk).",
        rw.count,
        fmt_size(rw.size)
    );
}

fn median_of(cell: &Cell, f: impl Fn(&Sample) -> Option<f64>) -> Option<f64> {
    let mut v: Vec<f64> = cell.samples.iter().filter_map(f).collect();
    median(&mut v)
}

/// The hwm table: messages queued and the sender's RSS growth.
fn render_hwm(out: &mut String, vs: bool, results: &Results) {
    let rows: Vec<&(Workload, Vec<Cell>)> = results.iter().filter(|(w, _)| w.kind == Kind::Hwm).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## Memory: PUSH to a PULL that stopped reading, SNDHWM = RCVHWM = {HWM}\n");
    if vs {
        let _ = writeln!(
            out,
            "| size | oxmq msgs queued | libzmq msgs queued | oxmq sender RSS +KiB | libzmq sender RSS +KiB | RSS oxmq/libzmq |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    } else {
        let _ = writeln!(out, "| size | oxmq msgs queued | oxmq sender RSS +KiB |");
        let _ = writeln!(out, "|---:|---:|---:|");
    }
    for (w, cells) in rows {
        let q = |i: usize| cells.get(i).and_then(|c| median_of(c, |s| Some(s.value)));
        let r = |i: usize| cells.get(i).and_then(|c| median_of(c, |s| s.extra));
        let mut line = format!("| {} | {} | ", fmt_size(w.size), opt(q(0), 0));
        if vs {
            let _ = write!(
                line,
                "{} | {} | {} | {} |",
                opt(q(1), 0),
                opt(r(0), 0),
                opt(r(1), 0),
                opt(ratio(r(0), r(1)), 2)
            );
        } else {
            let _ = write!(line, "{} |", opt(r(0), 0));
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "\n`hwm_fill`: the PULL (core 0) binds and never reads; the PUSH (core 1, LINGER 0) waits for the \
         handshake, then sends without blocking until EAGAIN persists for 0.5 s. \"Queued\" is every message \
         the PUSH accepted: its own queue, the bytes in the kernel's socket buffers, and the PULL's queue; \
         the bound is SNDHWM + RCVHWM plus what the kernel buffers hold (large for small messages). RSS: the \
         sender's VmRSS after the sends minus before them."
    );
}

/// The memory-per-connection tables (conns: ROUTER, subs: PUB).
fn render_conns(out: &mut String, vs: bool, results: &Results) {
    for (kind, title, server, peer) in [
        (Kind::Conns, "idle connections to one ROUTER", "ROUTER", "DEALER"),
        (Kind::Subs, "subscribers of one PUB", "PUB", "SUB"),
    ] {
        let rows: Vec<&(Workload, Vec<Cell>)> = results.iter().filter(|(w, _)| w.kind == kind).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## Memory: {title}, KiB of {server} process RSS per connection (lower is better)\n");
        if vs {
            let _ = writeln!(out, "| connections | oxmq KiB/conn | libzmq KiB/conn | oxmq/libzmq |");
            let _ = writeln!(out, "|---:|---:|---:|---:|");
        } else {
            let _ = writeln!(out, "| connections | oxmq KiB/conn |");
            let _ = writeln!(out, "|---:|---:|");
        }
        let f: fn(f64) -> String = |v| format!("{v:.2}");
        for (w, cells) in &rows {
            let ox = summarize(&cells[0], w.count);
            let mut line = format!("| {} | {} |", w.count, cell_text(&ox, f));
            if vs {
                let lz = cells.get(1).map(|c| summarize(c, w.count)).unwrap_or(Summary {
                    value: None,
                    spread: None,
                    cpu_per_m: None,
                });
                let _ = write!(line, " {} | {} |", cell_text(&lz, f), opt(ratio(ox.value, lz.value), 2));
            }
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(
            out,
            "\n`conn_server` ({server}, core 0) reads its VmRSS, binds, waits for as many HANDSHAKE_SUCCEEDED \
             monitor events as connections, waits until its VmRSS stops changing, and reports (after - before) / \
             connections. The {} peers are `zmtp_peers` (core 1): one process of raw TCP connections that each \
             complete the ZMTP 3.0 NULL handshake as a {peer}{} — the same client for both.",
            rows[0].0.count,
            if kind == Kind::Subs { " and then subscribe to everything" } else { "" }
        );
    }
}

/// The interop table: every variant of the tcp/ipc workloads side by side.
fn render_cross(out: &mut String, results: &Results) {
    let _ = writeln!(out, "\n## Interop: mixed pairs (binder `local_*` + connecter `remote_*`)\n");
    let _ = writeln!(out, "| workload | transport | size | oxmq+oxmq | libzmq+libzmq | oxmq+libzmq | libzmq+oxmq |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|");
    for (w, cells) in results.iter().filter(|(_, c)| c.len() == 4) {
        let fmt: fn(f64) -> String = match w.kind {
            Kind::Lat => |v| format!("{v:.2} µs"),
            _ => |v| format!("{} msg/s", fmt_rate(v)),
        };
        let mut line = format!(
            "| {} | {} | {} ",
            if w.kind == Kind::Lat { "REQ/REP" } else { "PUSH/PULL" },
            w.transport.name(),
            fmt_size(w.size)
        );
        for c in cells {
            let _ = write!(line, "| {} ", cell_text(&summarize(c, w.count), fmt));
        }
        line.push('|');
        let _ = writeln!(out, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_bar_fills_and_estimates_what_is_left() {
        assert_eq!(progress(1, 4, Duration::ZERO), "[....................]   1/4      eta ?");
        assert_eq!(progress(3, 4, Duration::from_secs(120)), "[##########..........]   3/4  eta 2m00s");
    }

    /// Pinned, the inproc tools get their two threads pinned (by variable: taskset pins a process),
    /// and the command line printed with the results says how; unpinned, nothing is set.
    #[test]
    fn inproc_threads_are_pinned_like_the_process_pairs() {
        let plan = |pin| Plan {
            oxmq_dir: PathBuf::from("/ox"),
            libzmq_dir: Some(PathBuf::from("/lz")),
            pairs: 1,
            pin,
            pin_note: String::new(),
            cross: false,
            timeout: Duration::from_secs(1),
            workloads: vec![],
        };
        let w = Workload::new(Kind::Thr, Transport::Inproc, 64, 1000);
        let (cmds, _) = commands(&plan(true), &w, Variant::LIBZMQ, String::new());
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].env, [("PERF_PIN_RECV", "0"), ("PERF_PIN_SEND", "1")]);
        assert_eq!(cmds[0].display(), "PERF_PIN_RECV=0 PERF_PIN_SEND=1 /lz/zmq_inproc_thr 64 1000");
        let (cmds, _) = commands(&plan(false), &w, Variant::OXMQ, String::new());
        assert!(cmds[0].env.is_empty() && cmds[0].cpus.is_none());
        assert_eq!(cmds[0].display(), "/ox/inproc_thr 64 1000");

        let mut w = Workload::new(Kind::Pubsub, Transport::Inproc, 64, 1000);
        w.pattern = Some(Pattern::Pub);
        let (cmds, _) = commands(&plan(true), &w, Variant::OXMQ, String::new());
        assert_eq!(cmds.len(), 1, "one process, both sides");
        assert_eq!(
            cmds[0].display(),
            "PERF_PIN_RECV=0 PERF_PIN_SEND=1 /ox/scale_thr both pub inproc://scale_thr 1 64 1000"
        );
    }

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn counts_are_reasonable() {
        assert_eq!(default_count(Kind::Thr, Transport::Tcp, 64), 10_000_000);
        let c = default_count(Kind::Thr, Transport::Tcp, 4096);
        assert!((100_000..10_000_000).contains(&c), "{c}");
        assert_eq!(round2(123_456.0), 120_000.0);
    }

    fn args(cli: &[&str]) -> BenchArgs {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            bench: BenchArgs,
        }
        <Cli as clap::Parser>::parse_from(std::iter::once("bench").chain(cli.iter().copied())).bench
    }

    fn labels(ws: &[Workload]) -> Vec<String> {
        ws.iter().map(Workload::label).collect()
    }

    #[test]
    fn mem_selects_the_three_memory_workloads() {
        let ws = plan_workloads(&args(&["--workloads", "mem,hwm", "--hwm-sizes", "64"]));
        assert_eq!(labels(&ws), ["hwm tcp 64 B", "conns 10000", "subs 1000"]);
        let ws = plan_workloads(&args(&["--workloads", "conns,subs", "--quick"]));
        assert_eq!(labels(&ws), ["conns 500", "subs 100"]);
        let ws = plan_workloads(&args(&["--workloads", "conns", "--conns", "7"]));
        assert_eq!(ws[0].count, 7);
    }

    #[test]
    fn raw_brings_the_tcp_64k_row_it_is_read_against() {
        let ws = plan_workloads(&args(&["--workloads", "raw"]));
        assert_eq!(labels(&ws), ["thr tcp 64 KiB", "raw tcp 1024 KiB"]);
        assert_eq!(ws[1].count, 3000);
        // Not twice when thr has it already.
        let ws = plan_workloads(&args(&["--workloads", "thr,raw", "--transports", "tcp", "--sizes", "65536"]));
        assert_eq!(labels(&ws), ["thr tcp 64 KiB", "raw tcp 1024 KiB"]);
    }

    #[test]
    fn scale_counts_are_a_multiple_of_the_peers() {
        let ws = plan_workloads(&args(&["--workloads", "scale", "--peers", "1,7,100", "--scale", "0.001"]));
        assert_eq!(ws.len(), 9);
        for w in &ws {
            assert_eq!(w.count % w.peers, 0, "{}: {}", w.label(), w.count);
            assert!(w.count >= 1000, "{}: {}", w.label(), w.count);
        }
        assert_eq!(labels(&ws)[..3], ["scale push x1 64 B", "scale push x7 64 B", "scale push x100 64 B"]);
        let ws = plan_workloads(&args(&["--workloads", "pubsub", "--transports", "tcp,inproc"]));
        assert_eq!(labels(&ws), ["pubsub tcp 64 B", "pubsub tcp 1 KiB", "pubsub inproc 64 B", "pubsub inproc 1 KiB"]);
        assert!(ws.iter().all(|w| w.pattern == Some(Pattern::Pub) && w.peers == 1));
    }

    #[test]
    fn default_run_has_every_workload() {
        let ws = plan_workloads(&args(&[]));
        for kind in [Kind::Thr, Kind::Lat, Kind::Raw, Kind::Pubsub, Kind::Scale, Kind::Hwm, Kind::Conns, Kind::Subs] {
            assert!(ws.iter().any(|w| w.kind == kind), "{kind:?} missing");
        }
        // The tcp 64 KiB row comes from thr itself.
        assert_eq!(ws.iter().filter(|w| w.label() == "thr tcp 64 KiB").count(), 1);
    }

    fn cell(values: &[(f64, f64)]) -> Cell {
        Cell {
            samples: values
                .iter()
                .map(|&(value, cpu)| Sample { value, cpu, extra: Some(value / 10.0), note: None })
                .collect(),
            failures: Vec::new(),
        }
    }

    #[test]
    fn summaries_are_medians_with_spread_and_cpu_per_million() {
        let s = summarize(&cell(&[(100.0, 2.0), (300.0, 4.0), (200.0, 3.0)]), 2_000_000);
        assert_eq!(s.value, Some(200.0));
        assert_eq!(s.spread, Some(50.0));
        assert_eq!(s.cpu_per_m, Some(1.5));
        let s = summarize(&cell(&[]), 1000);
        assert_eq!((s.value, s.spread, s.cpu_per_m), (None, None, None));
        assert_eq!(median_of(&cell(&[(10.0, 0.0), (30.0, 0.0)]), |s| s.extra), Some(2.0));
    }

    #[test]
    fn baseline_figures_name_workloads_and_directions() {
        let mut thr = Workload::new(Kind::Thr, Transport::Tcp, 64, 1_000_000);
        thr.count = 1_000_000;
        let hwm = Workload::new(Kind::Hwm, Transport::Tcp, 64, HWM);
        let raw = Workload::new(Kind::Raw, Transport::Tcp, RAW_CHUNK, 100);
        let conns = Workload::new(Kind::Conns, Transport::Tcp, 0, 10);
        let results: Results = vec![
            (thr, vec![cell(&[(5e6, 1.0)]), cell(&[(4e6, 1.0)])]),
            (hwm, vec![cell(&[(2000.0, 0.0)])]),
            (raw, vec![cell(&[(2000.0, 1.0)])]),
            (conns, vec![cell(&[(12.5, 0.0)])]),
        ];
        let figs = oxmq_figures(&results);
        let names: Vec<(&str, f64, bool)> =
            figs.iter().map(|f| (f.name.as_str(), f.value, f.higher_is_better)).collect();
        assert_eq!(
            names,
            [
                ("thr tcp 64 B msg/s", 5e6, true),
                ("thr tcp 64 B cpu s/1M", 1.0, false),
                ("hwm tcp 64 B sender rss KiB", 200.0, false),
                ("conns 10 KiB/conn", 12.5, false),
            ]
        );
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_size(65536), "64 KiB");
        assert_eq!(fmt_size(100), "100 B");
        assert_eq!(fmt_rate(6_555_889.0), "6.56M");
        assert_eq!(fmt_rate(45_551.0), "45.6k");
        assert_eq!(fmt_count(10_000_000), "10M");
        assert_eq!(fmt_count(75_000), "75k");
        assert_eq!(fmt_count(1234), "1234");
    }
}
