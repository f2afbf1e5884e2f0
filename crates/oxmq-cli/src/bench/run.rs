//! Running the perf tools: finding them, the processes of one run of a workload and how to
//! read their output, and every run of a plan with its progress on stderr.

use super::plan::{HWM, Impl, Plan, Variant, Workload, pattern_name, variant_name, variants};
use super::results::{Cell, Durations, Results, Sample};
use super::units::{fmt_rate, gbits};
use super::{Kind, Mech, Transport};
use crate::runner::{self, Ready, ToolCmd};
use oxmq_cli::Pattern;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
const SHARED_TOOLS: [&str; 5] = ["tcp_local_thr", "tcp_remote_thr", "tcp_local_lat", "tcp_remote_lat", "zmtp_peers"];

/// The tools of the other Rust implementations (`--peers`), each with its prefix.
const PEER_TOOLS: [&str; 4] = ["local_thr", "remote_thr", "local_lat", "remote_lat"];

/// Finds the tools of one implementation, or says what is missing.
pub(super) fn find_tools(dir: &Path, imp: Impl) -> Result<(), String> {
    let shared: &[&str] = if imp == Impl::Oxmq { &SHARED_TOOLS } else { &[] };
    let tools: &[&str] = if imp.is_peer() { &PEER_TOOLS } else { &TOOLS };
    let missing: Vec<String> = tools
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

/// A directory of its own whose `libzmq.so.5` is oxmq's library (`--abi`), for the tools'
/// `LD_LIBRARY_PATH`; removed when dropped.
pub(super) struct AbiLibDir {
    pub(super) dir: PathBuf,
}

impl AbiLibDir {
    /// Checks that `lib` is oxmq's libzmq (it exports `oxmq_ffi_version`, which no libzmq
    /// has) and links it as `libzmq.so.5`, the soname the libzmq tools ask the loader for.
    pub(super) fn new(lib: &Path) -> Result<AbiLibDir, String> {
        let lib = lib.canonicalize().map_err(|e| format!("oxmq's libzmq.so: {}: {e}\n{BUILD_ABI}", lib.display()))?;
        let bytes = std::fs::read(&lib).map_err(|e| format!("cannot read {}: {e}", lib.display()))?;
        if !bytes.windows(OXMQ_SYMBOL.len()).any(|w| w == OXMQ_SYMBOL) {
            return Err(format!(
                "{} is not oxmq's libzmq.so (it has no oxmq_ffi_version symbol)\n{BUILD_ABI}",
                lib.display()
            ));
        }
        let dir = std::env::temp_dir().join(format!("oxmq-bench-abi-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let guard = AbiLibDir { dir };
        std::os::unix::fs::symlink(&lib, guard.dir.join("libzmq.so.5"))
            .map_err(|e| format!("cannot link libzmq.so.5 in {}: {e}", guard.dir.display()))?;
        Ok(guard)
    }
}

impl Drop for AbiLibDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const OXMQ_SYMBOL: &[u8] = b"oxmq_ffi_version";

pub(super) const BUILD_ABI: &str = "build it with: cargo build --release -p oxmq-ffi (target/release/libzmq.so), \
     or name it with --abi-lib";

pub(super) const BUILD_PEERS: &str = "build them with: cargo build --release --manifest-path \
     crates/oxmq-peers-perf/Cargo.toml --target-dir target (its own workspace, not in the default build)";

pub(super) const BUILD_OXMQ: &str = "build them with: cargo build --release -p oxmq-cli";
pub(super) const BUILD_LIBZMQ: &str = "build them with: cargo build --release -p oxmq-libzmq-perf \
     (needs the system libzmq: apt-get install libzmq3-dev pkg-config)";

/// The bar of a bench run: `[######..............]  12/60  eta 2m10s  <the run>`, on a
/// terminal only (indicatif hides it elsewhere); each run's result line is printed either way.
fn progress_bar(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("[{bar:20}] {pos:>3}/{len} eta {eta:>6}  {msg}") {
        bar.set_style(style.progress_chars("#>."));
    }
    bar
}

pub(super) fn execute(plan: &Plan) -> (Results, Durations) {
    let total: usize = plan.workloads.iter().map(|w| variants(plan, w).len() * plan.pairs).sum();
    let bar = progress_bar(total);
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
                let var = vars[i];
                let run = format!("{:<18} {:<13} pair {}/{}", w.label(), variant_name(w, var), pair + 1, plan.pairs);
                bar.set_message(run.clone());
                let outcome = run_once(plan, w, var);
                bar.inc(1);
                match outcome {
                    Ok(s) => {
                        let v = match w.kind {
                            Kind::Lat | Kind::RawLat => format!("{:.2} us", s.value),
                            Kind::Hwm => format!("{} queued, rss +{} KiB", s.value, s.extra.unwrap_or(0.0)),
                            Kind::Conns | Kind::Subs => format!("{:.2} KiB/conn", s.value),
                            Kind::Raw => format!("{} Gb/s", gbits(s.value * w.size as f64)),
                            _ => format!("{} msg/s", fmt_rate(s.value)),
                        };
                        let note = s.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
                        bar.suspend(|| eprintln!("{run} ... {v}, cpu {:.2} s{note}", s.cpu));
                        cells[i].samples.push(s);
                    }
                    Err(e) => {
                        bar.suspend(|| {
                            eprintln!("{run} ... FAILED");
                            for line in e.lines() {
                                eprintln!("        {line}");
                            }
                        });
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
    bar.finish_and_clear();
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());
    (results, durations)
}

fn tool(plan: &Plan, imp: Impl, name: &str, args: Vec<String>, cpus: Option<&'static str>) -> ToolCmd {
    let mut env = vec![];
    let dir = match (imp, &plan.abi) {
        (Impl::Oxmq, _) => &plan.oxmq_dir,
        (imp, _) if imp.is_peer() => &plan.peers_dir,
        (Impl::OxmqAbi, Some(abi)) => {
            // libzmq's tool loads oxmq's libzmq.so.5, and exits 1 if it did not (the tool
            // looks for oxmq_ffi_version in the library it loaded).
            env.push(("LD_LIBRARY_PATH", abi.lib_dir.display().to_string()));
            env.push((EXPECT_LIBZMQ_VAR, "oxmq".to_string()));
            &abi.tools_dir
        }
        _ => plan.libzmq_dir.as_ref().unwrap_or(&plan.oxmq_dir),
    };
    let file = format!("{}{name}", imp.prefix());
    ToolCmd { name: file.clone(), program: dir.join(file), args, cpus: if plan.pin { cpus } else { None }, env }
}

/// The variable `oxmq-libzmq-perf`'s tools check the loaded libzmq against (its
/// `EXPECT_LIBZMQ_VAR`).
const EXPECT_LIBZMQ_VAR: &str = "PERF_EXPECT_LIBZMQ";

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
                cmd.env.extend(INPROC_PIN.iter().map(|&(k, v)| (k, v.to_string())));
            }
            (vec![cmd], THR_SPEC)
        }
        (Kind::Lat, Transport::Inproc) => (vec![tool(plan, imp, "inproc_lat", vec![size, count], Some("0"))], LAT_SPEC),
        (Kind::Thr, _) => (
            secured(
                plan,
                w,
                vec![
                    tool(plan, imp, "local_thr", vec![endpoint.clone(), size.clone(), count.clone()], Some("0")),
                    tool(plan, remote, "remote_thr", vec![endpoint, size, count], Some("1")),
                ],
            ),
            THR_SPEC,
        ),
        (Kind::Lat, _) => (
            secured(
                plan,
                w,
                vec![
                    tool(plan, imp, "local_lat", vec![endpoint.clone(), size.clone(), count.clone()], Some("0")),
                    tool(plan, remote, "remote_lat", vec![endpoint, size, count], Some("0")),
                ],
            ),
            LAT_SPEC,
        ),
        (Kind::Raw, _) => (
            vec![
                shared_tool(plan, "tcp_local_thr", vec![endpoint.clone(), size.clone(), count.clone()], Some("0")),
                shared_tool(plan, "tcp_remote_thr", vec![endpoint, size, count], Some("1")),
            ],
            THR_SPEC,
        ),
        (Kind::RawLat, _) => (
            // Pinned as the REQ/REP runs: both on core 0.
            vec![
                shared_tool(plan, "tcp_local_lat", vec![endpoint.clone(), size.clone(), count.clone()], Some("0")),
                shared_tool(plan, "tcp_remote_lat", vec![endpoint, size, count], Some("0")),
            ],
            LAT_SPEC,
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
                    cmd.env.extend(INPROC_PIN.iter().map(|&(k, v)| (k, v.to_string())));
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

/// The environment that gives both tools of a run `w`'s mechanism (`oxmq_cli::perf_security`).
fn secured(plan: &Plan, w: &Workload, mut cmds: Vec<ToolCmd>) -> Vec<ToolCmd> {
    let mut env = vec![("PERF_MECHANISM", w.mechanism.name().to_string())];
    if let (Mech::Curve, Some((public, secret))) = (w.mechanism, &plan.curve_server) {
        env.push(("PERF_CURVE_SERVER_PUBLIC", public.clone()));
        env.push(("PERF_CURVE_SERVER_SECRET", secret.clone()));
    }
    for cmd in &mut cmds {
        cmd.env.extend(env.iter().cloned());
    }
    cmds
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan over /ox (oxmq's tools) and /lz (libzmq's), unpinned, one pair: each test
    /// changes what it is about.
    fn plan() -> Plan {
        Plan {
            curve_server: None,
            oxmq_dir: PathBuf::from("/ox"),
            libzmq_dir: Some(PathBuf::from("/lz")),
            abi: None,
            peers: vec![],
            peers_dir: PathBuf::from("/peers"),
            pairs: 1,
            pin: false,
            pin_note: String::new(),
            cross: false,
            timeout: Duration::from_secs(1),
            workloads: vec![],
        }
    }

    /// Pinned, the inproc tools get their two threads pinned (by variable: taskset pins a process),
    /// and the command line printed with the results says how; unpinned, nothing is set.
    #[test]
    fn inproc_threads_are_pinned_like_the_process_pairs() {
        let plan = |pin| Plan { pin, ..plan() };
        let w = Workload::new(Kind::Thr, Transport::Inproc, 64, 1000);
        let (cmds, _) = commands(&plan(true), &w, Variant::LIBZMQ, String::new());
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].env, [("PERF_PIN_RECV", "0".to_string()), ("PERF_PIN_SEND", "1".to_string())]);
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

    /// Both tools of a CURVE run get the mechanism and the run's server key pair; NULL runs
    /// say NULL (so a PERF_MECHANISM in the bench's own environment cannot leak into them).
    #[test]
    fn both_tools_of_a_run_get_its_mechanism() {
        let plan = Plan { curve_server: Some(("PUB".into(), "SEC".into())), cross: true, ..plan() };
        let mut w = Workload::new(Kind::Lat, Transport::Tcp, 64, 1000);
        w.mechanism = Mech::Curve;
        let var = Variant { local: Impl::Oxmq, remote: Impl::Libzmq };
        let (cmds, _) = commands(&plan, &w, var, "tcp://127.0.0.1:1".into());
        assert_eq!(cmds.len(), 2);
        for cmd in &cmds {
            let env: Vec<(&str, &str)> = cmd.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(
                env,
                [("PERF_MECHANISM", "curve"), ("PERF_CURVE_SERVER_PUBLIC", "PUB"), ("PERF_CURVE_SERVER_SECRET", "SEC")]
            );
        }
        w.mechanism = Mech::Null;
        let (cmds, _) = commands(&plan, &w, var, "tcp://127.0.0.1:1".into());
        assert!(cmds.iter().all(|c| c.env == [("PERF_MECHANISM", "null".to_string())]));
    }

    /// `--abi` runs libzmq's tools with oxmq's library first on the loader's path, and asks
    /// each tool to check that it loaded it; the other variants are left as they were.
    #[test]
    fn abi_runs_libzmqs_tools_on_oxmqs_library() {
        use super::super::plan::Abi;
        let plan = Plan {
            libzmq_dir: None,
            abi: Some(Abi { tools_dir: PathBuf::from("/lz"), lib_dir: PathBuf::from("/abi") }),
            ..plan()
        };
        let w = Workload::new(Kind::Thr, Transport::Tcp, 64, 1000);
        assert_eq!(variants(&plan, &w), [Variant::OXMQ, Variant::ABI]);
        assert!(variants(&plan, &Workload::new(Kind::Hwm, Transport::Tcp, 64, 1000)) == [Variant::OXMQ]);
        let (cmds, _) = commands(&plan, &w, Variant::ABI, "tcp://127.0.0.1:1".into());
        assert_eq!(
            cmds[0].display(),
            "LD_LIBRARY_PATH=/abi PERF_EXPECT_LIBZMQ=oxmq PERF_MECHANISM=null /lz/zmq_local_thr tcp://127.0.0.1:1 64 1000"
        );
        assert!(cmds[1].display().ends_with("/lz/zmq_remote_thr tcp://127.0.0.1:1 64 1000"));
        let w = Workload::new(Kind::Lat, Transport::Inproc, 64, 1000);
        let (cmds, _) = commands(&plan, &w, Variant::ABI, String::new());
        assert_eq!(cmds[0].display(), "LD_LIBRARY_PATH=/abi PERF_EXPECT_LIBZMQ=oxmq /lz/zmq_inproc_lat 64 1000");
        let (cmds, _) = commands(&plan, &w, Variant::OXMQ, String::new());
        assert!(cmds[0].env.is_empty());
    }

    /// `--peers` runs each implementation's own tool pair, from the peers directory, for
    /// thr and lat over tcp and ipc only.
    #[test]
    fn peers_run_their_own_tools_for_thr_and_lat() {
        let plan = Plan { peers: vec![Impl::Omq, Impl::Monocoque], ..plan() };
        let w = Workload::new(Kind::Lat, Transport::Ipc, 64, 1000);
        let vars = variants(&plan, &w);
        assert_eq!(vars.len(), 4);
        assert_eq!(vars[2], Variant { local: Impl::Omq, remote: Impl::Omq });
        let (cmds, _) = commands(&plan, &w, vars[3], "ipc:///tmp/x".into());
        let shown: Vec<String> = cmds.iter().map(ToolCmd::display).collect();
        assert_eq!(
            shown,
            [
                "PERF_MECHANISM=null /peers/monocoque_local_lat ipc:///tmp/x 64 1000",
                "PERF_MECHANISM=null /peers/monocoque_remote_lat ipc:///tmp/x 64 1000"
            ]
        );
        for w in [
            Workload::new(Kind::Thr, Transport::Inproc, 64, 1000),
            Workload::new(Kind::Pubsub, Transport::Tcp, 64, 1000),
            Workload { mechanism: Mech::Curve, ..Workload::new(Kind::Thr, Transport::Tcp, 64, 1000) },
        ] {
            assert_eq!(variants(&plan, &w).len(), 2, "{}", w.label());
        }
    }

    /// --abi takes only a library that exports oxmq_ffi_version, links it as libzmq.so.5 in
    /// a directory of its own, and removes that directory when done.
    #[test]
    fn abi_lib_dir_takes_only_oxmqs_library() {
        let dir = std::env::temp_dir().join(format!("oxmq-bench-abi-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let other = dir.join("libother.so");
        std::fs::write(&other, b"\x7fELF zmq_version zmq_ctx_new").unwrap();
        let err = AbiLibDir::new(&other).err().expect("not oxmq's");
        assert!(err.contains("no oxmq_ffi_version symbol"), "{err}");
        assert!(AbiLibDir::new(&dir.join("missing.so")).is_err());

        let ours = dir.join("libzmq.so");
        std::fs::write(&ours, b"\x7fELF zmq_version oxmq_ffi_version").unwrap();
        let abi = AbiLibDir::new(&ours).expect("oxmq's");
        let link = abi.dir.join("libzmq.so.5");
        assert_eq!(std::fs::canonicalize(&link).unwrap(), std::fs::canonicalize(&ours).unwrap());
        let made = abi.dir.clone();
        drop(abi);
        assert!(!made.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
