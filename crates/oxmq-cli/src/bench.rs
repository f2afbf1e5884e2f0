//! `oxmq bench`: runs the oxmq perf tools and libzmq's side by side and
//! prints medians, ratios and CPU cost as a markdown table.

use crate::runner::{self, Ready, ToolCmd};
use clap::{Args, ValueEnum};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Options of `oxmq bench`.
#[derive(Debug, Args)]
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
    /// Workloads to measure: thr (PUSH/PULL throughput), lat (REQ/REP latency).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Kind::Thr, Kind::Lat])]
    pub workloads: Vec<Kind>,
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
    Thr,
    Lat,
}

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

const TOOLS: [&str; 6] = ["local_thr", "remote_thr", "local_lat", "remote_lat", "inproc_thr", "inproc_lat"];

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
    count: usize,
}

impl Workload {
    fn label(&self) -> String {
        format!(
            "{} {} {}",
            match self.kind {
                Kind::Thr => "thr",
                Kind::Lat => "lat",
            },
            self.transport.name(),
            fmt_size(self.size)
        )
    }
}

/// One successful run.
#[derive(Debug, Clone)]
struct Sample {
    /// msg/s for throughput, one-way µs for latency.
    value: f64,
    /// user+sys seconds of all processes of the run.
    cpu: f64,
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
        _ => {
            // A rough cost model for other sizes: fixed cost + bytes / bandwidth.
            let s = size as f64;
            let per = match (kind, transport) {
                (Thr, Tcp) => 150e-9 + s / 2.5e9,
                (Thr, Ipc) => 150e-9 + s / 0.8e9,
                (Thr, Inproc) => 300e-9 + s / 15e9,
                (Lat, Tcp | Ipc) => 19e-6 + 2.0 * s / 1e9,
                (Lat, Inproc) => 4e-6 + 2.0 * s / 5e9,
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
    let missing: Vec<String> =
        TOOLS.iter().map(|t| format!("{}{t}", imp.prefix())).filter(|t| !dir.join(t).is_file()).collect();
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
             latency: both on core 0; inproc_thr unpinned, inproc_lat on core 0"
                .to_string(),
        )
    };
    if !pin {
        eprintln!("note: running {pin_note}");
    }

    let scale = if args.quick { args.scale / 50.0 } else { args.scale };
    let pairs = args.pairs.unwrap_or(if args.quick { 1 } else { 5 }).max(1);
    let mut workloads = Vec::new();
    for &kind in &args.workloads {
        let sizes = match kind {
            Kind::Thr => &args.sizes,
            Kind::Lat => &args.lat_sizes,
        };
        for &transport in &args.transports {
            for &size in sizes {
                let base = default_count(kind, transport, size) as f64;
                let count = (base * scale).round().max(1000.0) as usize;
                workloads.push(Workload { kind, transport, size, count });
            }
        }
    }
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
    let results = execute(&plan);
    let report = render(&plan, &results);
    println!("{report}");
    if let Some(path) = &args.out {
        std::fs::write(path, &report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    let failed = results.iter().flat_map(|(_, cells)| cells.iter()).any(|c| !c.failures.is_empty());
    Ok(if failed { 1 } else { 0 })
}

type Results = Vec<(Workload, Vec<Cell>)>;

/// The variants run for a workload; cells are indexed like this list:
/// oxmq first, then libzmq, then the mixed pairs.
fn variants(plan: &Plan, w: &Workload) -> Vec<Variant> {
    let mut v = vec![Variant::OXMQ];
    if plan.libzmq_dir.is_some() {
        v.push(Variant::LIBZMQ);
        if plan.cross && w.transport != Transport::Inproc {
            v.push(Variant { local: Impl::Oxmq, remote: Impl::Libzmq });
            v.push(Variant { local: Impl::Libzmq, remote: Impl::Oxmq });
        }
    }
    v
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

fn execute(plan: &Plan) -> Results {
    let total: usize = plan.workloads.iter().map(|w| variants(plan, w).len() * plan.pairs).sum();
    let mut n = 0;
    let started = Instant::now();
    let mut results = Vec::new();
    for w in &plan.workloads {
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
                    var.name(),
                    pair + 1,
                    plan.pairs
                );
                match run_once(plan, w, var) {
                    Ok(s) => {
                        let v = match w.kind {
                            Kind::Thr => format!("{} msg/s", fmt_rate(s.value)),
                            Kind::Lat => format!("{:.2} us", s.value),
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
    }
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());
    results
}

fn tool(plan: &Plan, imp: Impl, name: &str, args: Vec<String>, cpus: Option<&'static str>) -> ToolCmd {
    let dir = match imp {
        Impl::Oxmq => &plan.oxmq_dir,
        Impl::Libzmq => plan.libzmq_dir.as_ref().unwrap_or(&plan.oxmq_dir),
    };
    let file = format!("{}{name}", imp.prefix());
    ToolCmd { name: file.clone(), program: dir.join(file), args, cpus: if plan.pin { cpus } else { None } }
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

fn run_once(plan: &Plan, w: &Workload, var: Variant) -> Result<Sample, String> {
    let (imp, remote) = (var.local, var.remote);
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let size = w.size.to_string();
    let count = w.count.to_string();
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
    let cmds = match (w.kind, w.transport) {
        (Kind::Thr, Transport::Inproc) => {
            vec![tool(plan, imp, "inproc_thr", vec![size, count], None)]
        }
        (Kind::Lat, Transport::Inproc) => {
            vec![tool(plan, imp, "inproc_lat", vec![size, count], Some("0"))]
        }
        (Kind::Thr, _) => vec![
            tool(plan, imp, "local_thr", vec![endpoint.clone(), size.clone(), count.clone()], Some("0")),
            tool(plan, remote, "remote_thr", vec![endpoint, size, count], Some("1")),
        ],
        (Kind::Lat, _) => vec![
            tool(plan, imp, "local_lat", vec![endpoint.clone(), size.clone(), count.clone()], Some("0")),
            tool(plan, remote, "remote_lat", vec![endpoint, size, count], Some("0")),
        ],
    };

    let key = match w.kind {
        Kind::Thr => "mean throughput:",
        Kind::Lat => "average latency:",
    };
    let outcome = runner::run_group(&cmds, &ready, key, plan.timeout);
    let unit = match w.kind {
        Kind::Thr => "[msg/s]",
        Kind::Lat => "[us]",
    };
    let value = outcome.procs.iter().find_map(|p| {
        if !p.success && !p.killed {
            return None;
        }
        p.stdout.lines().find_map(|l| {
            let rest = l.trim().strip_prefix(key)?.trim();
            let num = rest.strip_suffix(unit)?.trim();
            num.parse::<f64>().ok()
        })
    });
    let cpu: f64 = outcome.procs.iter().map(|p| p.cpu.as_secs_f64()).sum();
    let failed_procs: Vec<&runner::Finished> = outcome.procs.iter().filter(|p| !p.success).collect();

    match value {
        Some(value) if failed_procs.iter().all(|p| p.killed) => {
            let note = (!outcome.problems.is_empty()).then(|| outcome.problems.join("; "));
            Ok(Sample { value, cpu, note })
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

fn render(plan: &Plan, results: &Results) -> String {
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

    for kind in [Kind::Thr, Kind::Lat] {
        let rows: Vec<&(Workload, Vec<Cell>)> = results.iter().filter(|(w, _)| w.kind == kind).collect();
        if rows.is_empty() {
            continue;
        }
        let (title, unit, fmt): (&str, &str, fn(f64) -> String) = match kind {
            Kind::Thr => ("Throughput: PUSH/PULL, msg/s (higher is better)", "msg/s", fmt_rate),
            Kind::Lat => ("Latency: REQ/REP one-way, µs (lower is better)", "µs", |v| format!("{v:.2}")),
        };
        let what = if kind == Kind::Thr { "msgs" } else { "roundtrips" };
        let _ = writeln!(out, "\n## {title}\n");
        if vs {
            let _ = writeln!(
                out,
                "| transport | size | {what} | oxmq {unit} | libzmq {unit} | oxmq/libzmq | oxmq CPU s/1M | libzmq CPU s/1M | CPU oxmq/libzmq |"
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        } else {
            let _ = writeln!(out, "| transport | size | {what} | oxmq {unit} | oxmq CPU s/1M |");
            let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        }
        for (w, cells) in rows {
            let ox = summarize(&cells[0], w.count);
            let mut line = format!(
                "| {} | {} | {} | {} ",
                w.transport.name(),
                fmt_size(w.size),
                fmt_count(w.count),
                cell_text(&ox, fmt)
            );
            if vs {
                let lz = summarize(&cells[1], w.count);
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

    if plan.cross {
        render_cross(&mut out, results);
    }

    let mut notes = Vec::new();
    for (w, cells) in results {
        for (cell, var) in cells.iter().zip(variants(plan, w)) {
            for f in &cell.failures {
                notes.push(format!("- **FAILED** {} {}:\n```\n{}\n```", w.label(), var.name(), f.trim_end()));
            }
            for s in &cell.samples {
                if let Some(n) = &s.note {
                    notes.push(format!("- warning, {} {}: {n}", w.label(), var.name()));
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

/// The interop table: every variant of the tcp/ipc workloads side by side.
fn render_cross(out: &mut String, results: &Results) {
    let _ = writeln!(out, "\n## Interop: mixed pairs (binder `local_*` + connecter `remote_*`)\n");
    let _ = writeln!(out, "| workload | transport | size | oxmq+oxmq | libzmq+libzmq | oxmq+libzmq | libzmq+oxmq |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|");
    for (w, cells) in results.iter().filter(|(_, c)| c.len() == 4) {
        let fmt: fn(f64) -> String = match w.kind {
            Kind::Thr => |v| format!("{} msg/s", fmt_rate(v)),
            Kind::Lat => |v| format!("{v:.2} µs"),
        };
        let mut line = format!(
            "| {} | {} | {} ",
            match w.kind {
                Kind::Thr => "PUSH/PULL",
                Kind::Lat => "REQ/REP",
            },
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
