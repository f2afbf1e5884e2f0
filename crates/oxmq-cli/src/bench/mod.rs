//! `oxmq bench`: runs the oxmq perf tools and libzmq's side by side and
//! prints medians, ratios and CPU cost as a markdown table.
//!
//! Workloads: `thr` (PUSH/PULL throughput), `lat` (REQ/REP latency), `raw` (the plain-TCP
//! loopback ceiling), `pubsub` (PUB/SUB throughput), `scale` (1/10/100 peers), and the
//! memory ones `hwm`, `conns`, `subs` (`mem` selects all three). `baseline` saves and
//! compares oxmq's figures (the regression check).
//!
//! This file holds the options and the entry point; `plan` chooses the workloads, `run`
//! runs the perf tools, `results` sums up what they measured and `render` writes the report
//! (`units` formats its figures).

mod baseline;
mod plan;
mod render;
mod results;
mod run;
mod units;

use crate::runner;
use clap::{Args, ValueEnum};
use plan::{Abi, Impl, Plan, RAW_CHUNK, plan_workloads};
use render::render;
use results::oxmq_figures;
use run::{AbiLibDir, BUILD_LIBZMQ, BUILD_OXMQ, BUILD_PEERS, execute, find_tools};
use std::path::{Path, PathBuf};
use std::time::Duration;

const AFTER_HELP: &str = "\
Examples:
  oxmq bench --out BENCHMARKS-run.md                 # everything, ~8 min on 2 cores
  oxmq bench --workloads thr,lat                     # the PUSH/PULL and REQ/REP tables, ~3.5 min
  oxmq bench --workloads scale --scale-peers 1,10,100   # how cost grows with peers
  oxmq bench --quick                                 # smoke run of everything, ~15 s
  oxmq bench --workloads thr,lat --abi               # adds oxmq through its libzmq ABI (oxmq-ffi)
  oxmq bench --workloads thr,lat --peers omq,zeromq,rzmq,monocoque   # the other Rust implementations

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
    /// Also run libzmq's tools (the zmq_* of oxmq-libzmq-perf) on oxmq's libzmq.so.5
    /// (crates/oxmq-ffi) for the thr and lat workloads: rows "oxmq (libzmq ABI)", against
    /// libzmq and against oxmq's own tools. Each tool checks that it loaded oxmq's library.
    #[arg(long)]
    pub abi: bool,
    /// oxmq's libzmq.so for --abi (default: libzmq.so next to this executable, as
    /// `cargo build --release -p oxmq-ffi` leaves it in target/release).
    #[arg(long, value_name = "FILE", requires = "abi")]
    pub abi_lib: Option<PathBuf>,
    /// Message sizes in bytes for the PUSH/PULL throughput runs.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 1024, 65536])]
    pub sizes: Vec<usize>,
    /// Message sizes in bytes for the REQ/REP latency runs.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize])]
    pub lat_sizes: Vec<usize>,
    /// Security mechanisms of the tcp and ipc PUSH/PULL and REQ/REP runs (thr, lat): each adds
    /// its rows, both implementations configured alike (CURVE: a server key pair per bench
    /// run, the client's own; PLAIN: a ZAP handler in the server admitting one user).
    /// inproc runs are NULL only (no mechanism runs over inproc, in libzmq either).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Mech::Null])]
    pub mechanisms: Vec<Mech>,
    /// Transports to measure.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Transport::Tcp, Transport::Ipc, Transport::Inproc])]
    pub transports: Vec<Transport>,
    /// Workloads to measure (time of each in a full run of 5 pairs on the 2-core reference VM;
    /// about 8 min for all of them, 15 s with --quick):
    /// thr: PUSH/PULL throughput (~3 min); lat: REQ/REP latency, with a plain-TCP ping-pong
    /// of each tcp size as its floor (~40 s);
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
    pub scale_peers: Vec<usize>,
    /// Also run the other Rust ZeroMQ implementations' perf tools (crates/oxmq-peers-perf,
    /// not in the default build) for the thr and lat workloads over tcp and ipc, NULL
    /// mechanism: omq (omq.rs), zeromq (zmq.rs), rzmq, monocoque.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub peers: Vec<Peer>,
    /// Directory of the --peers tools (omq_local_thr, ...; default: next to this executable).
    #[arg(long, value_name = "DIR")]
    pub peers_dir: Option<PathBuf>,
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

/// Another Rust ZeroMQ implementation (`--peers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Peer {
    /// omq.rs (crate omq-tokio).
    Omq,
    /// zmq.rs (crate zeromq).
    Zeromq,
    /// rzmq.
    Rzmq,
    /// monocoque (crate monocoque-rs).
    Monocoque,
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

/// The security mechanism of a run (`PERF_MECHANISM` of the perf tools).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mech {
    Null,
    Plain,
    Curve,
}

impl Mech {
    fn name(self) -> &'static str {
        match self {
            Mech::Null => "null",
            Mech::Plain => "plain",
            Mech::Curve => "curve",
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
    /// Plain-TCP ping-pong floor under the tcp REQ/REP rows (comes with `lat`).
    #[value(skip)]
    RawLat,
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
            Kind::RawLat => "rawlat",
            Kind::Pubsub => "pubsub",
            Kind::Scale => "scale",
            Kind::Hwm => "hwm",
            Kind::Conns => "conns",
            Kind::Subs => "subs",
            Kind::Mem => "mem",
        }
    }
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
    let abi_lib = match args.abi {
        true => {
            find_tools(&zdir, Impl::OxmqAbi).map_err(|e| format!("--abi: {e}\n{BUILD_LIBZMQ}"))?;
            let lib = args.abi_lib.clone().unwrap_or_else(|| exe_dir.join("libzmq.so"));
            Some(AbiLibDir::new(&lib)?)
        }
        false => None,
    };
    let abi = abi_lib.as_ref().map(|l| Abi { tools_dir: zdir.clone(), lib_dir: l.dir.clone() });
    let peers_dir = args.peers_dir.clone().unwrap_or_else(|| exe_dir.clone());
    let mut peers: Vec<Impl> = Vec::new();
    for &p in &args.peers {
        let imp = Impl::peer(p);
        if !peers.contains(&imp) {
            find_tools(&peers_dir, imp).map_err(|e| format!("--peers: {e}\n{BUILD_PEERS}"))?;
            peers.push(imp);
        }
    }
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

    // One CURVE server key pair for the whole run, made here and passed to both tools.
    let curve_server = if workloads.iter().any(|w| w.mechanism == Mech::Curve) {
        let (public, secret) = oxmq::curve_keypair().map_err(|e| format!("CURVE key pair: {e}"))?;
        Some((public, secret.to_string()))
    } else {
        None
    };
    let plan = Plan {
        curve_server,
        oxmq_dir,
        libzmq_dir,
        abi,
        peers,
        peers_dir,
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
