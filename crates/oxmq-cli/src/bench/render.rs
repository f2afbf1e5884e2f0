//! The report: a markdown table per kind of workload (throughput, latency, raw TCP, PUB/SUB,
//! scale, memory, interop), the machine it ran on, and the problems of the run.

use super::plan::{HWM, Plan, Variant, Workload, cell_of, peers_run, variant_name, variants};
use super::results::{Cell, Durations, Results, Summary, median_of, summarize};
use super::units::{fmt_count, fmt_rate, fmt_size, gbits};
use super::{Kind, Mech, Transport};
use oxmq_cli::Pattern;
use std::fmt::Write as _;

fn pattern_title(p: Pattern) -> &'static str {
    match p {
        Pattern::Push => "PUSH -> PULLs",
        Pattern::Pub => "PUB -> SUBs",
        Pattern::Router => "DEALERs -> ROUTER",
    }
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
    // The congestion control decides whether tcp's writes are paced (BBR paces each write's
    // packets by a timer, over loopback too), which moves every tcp figure: BENCHMARKS.md.
    let cc = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    v.push(format!("machine: {cpus} CPUs, {model}, Linux {kernel}, tcp congestion control {cc}"));
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

pub(super) fn render(plan: &Plan, results: &Results, durations: &Durations) -> String {
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
        |w| vec![w.transport_label(), fmt_size(w.size), fmt_count(w.count)],
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
        |w| vec![w.transport_label(), fmt_size(w.size), fmt_count(w.count)],
        "µs",
        us,
    );
    render_raw_lat(&mut out, plan, results);
    render_raw(&mut out, vs, results);
    render_table(
        &mut out,
        vs,
        results,
        Kind::Pubsub,
        "Throughput: PUB/SUB, one subscriber, msg/s (higher is better)",
        &["transport", "size", "msgs"],
        |w| vec![w.transport_label(), fmt_size(w.size), fmt_count(w.count)],
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

    if plan.abi.is_some() {
        render_abi(&mut out, plan, results);
    }
    if !plan.peers.is_empty() {
        render_peers(&mut out, plan, results);
    }
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

/// The raw-TCP ceiling, and the tcp 64 KiB PUSH/PULL rows as a share of it.
fn render_raw(out: &mut String, vs: bool, results: &Results) {
    let Some((rw, rcells)) = results.iter().find(|(w, _)| w.kind == Kind::Raw) else { return };
    let raw = summarize(&rcells[0], rw.count);
    let raw_bps = raw.value.map(|v| v * rw.size as f64);
    let thr = results.iter().find(|(w, _)| {
        w.kind == Kind::Thr && w.transport == Transport::Tcp && w.size == 65536 && w.mechanism == Mech::Null
    });
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

/// The plain-TCP ping-pong floor of the tcp REQ/REP rows: what a roundtrip over the loopback
/// costs without ZeroMQ, and what each implementation adds to it.
fn render_raw_lat(out: &mut String, plan: &Plan, results: &Results) {
    let rows: Vec<&(Workload, Vec<Cell>)> = results.iter().filter(|(w, _)| w.kind == Kind::RawLat).collect();
    if rows.is_empty() {
        return;
    }
    let _ =
        writeln!(out, "\n## Latency floor: plain TCP ping-pong against tcp REQ/REP, one-way µs (lower is better)\n");
    let mut imps = vec![Variant::OXMQ];
    if plan.libzmq_dir.is_some() {
        imps.push(Variant::LIBZMQ);
    }
    if plan.abi.is_some() {
        imps.push(Variant::ABI);
    }
    let mut head = "| size | roundtrips | plain TCP µs |".to_string();
    for v in &imps {
        let n = match *v {
            Variant::LIBZMQ => "libzmq",
            Variant::ABI => "ABI",
            _ => "oxmq",
        };
        let _ = write!(head, " {n} µs | {n} − floor µs | {n}/floor |");
    }
    let _ = writeln!(out, "{head}");
    let _ = writeln!(out, "|---:|---:|---:|{}", "---:|---:|---:|".repeat(imps.len()));
    let us: fn(f64) -> String = |v| format!("{v:.2}");
    for (fw, fcells) in rows {
        let floor = summarize(&fcells[0], fw.count);
        let mut line = format!("| {} | {} | {} |", fmt_size(fw.size), fmt_count(fw.count), cell_text(&floor, us));
        let lat = results.iter().find(|(w, _)| {
            w.kind == Kind::Lat && w.transport == Transport::Tcp && w.size == fw.size && w.mechanism == Mech::Null
        });
        for v in &imps {
            let value =
                lat.and_then(|(w, cells)| cell_of(plan, w, cells, *v).and_then(|c| summarize(c, w.count).value));
            let over = match (value, floor.value) {
                (Some(a), Some(b)) => format!("{:.2}", a - b),
                _ => "–".into(),
            };
            let _ = write!(line, " {} | {over} | {} |", opt(value, 2), opt(ratio(value, floor.value), 2));
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "\nPlain TCP: `tcp_local_lat`/`tcp_remote_lat`, std TCP over 127.0.0.1, blocking sockets with TCP_NODELAY, \
         one write of the message and a read of all of it each way, both processes on core 0 as the REQ/REP runs; \
         one-way µs = elapsed / 2 / roundtrips, as `remote_lat`. The REQ/REP figures are the tcp rows of the table \
         above (NULL mechanism)."
    );
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
    // The four pairs come first in a workload's cells (oxmq through the ABI may follow).
    for (w, cells) in results.iter().filter(|(_, c)| c.len() >= 4) {
        let fmt: fn(f64) -> String = match w.kind {
            Kind::Lat => |v| format!("{v:.2} µs"),
            _ => |v| format!("{} msg/s", fmt_rate(v)),
        };
        let mut line = format!(
            "| {} | {} | {} ",
            if w.kind == Kind::Lat { "REQ/REP" } else { "PUSH/PULL" },
            w.transport_label(),
            fmt_size(w.size)
        );
        for c in &cells[..4] {
            let _ = write!(line, "| {} ", cell_text(&summarize(c, w.count), fmt));
        }
        line.push('|');
        let _ = writeln!(out, "{line}");
    }
}

/// oxmq through its libzmq ABI (`--abi`): libzmq's own tools on oxmq's libzmq.so.5, against
/// libzmq (the ratio the tools' users get) and against oxmq's native tools (what the C
/// boundary costs on the same workload).
fn render_abi(out: &mut String, plan: &Plan, results: &Results) {
    let rows: Vec<&(Workload, Vec<Cell>)> =
        results.iter().filter(|(w, c)| cell_of(plan, w, c, Variant::ABI).is_some()).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## oxmq through the libzmq ABI (libzmq's tools on oxmq's libzmq.so.5)\n");
    let _ = writeln!(
        out,
        "| workload | transport | size | oxmq | oxmq (libzmq ABI) | libzmq | ABI/libzmq | ABI cost over oxmq | oxmq CPU s/1M | ABI CPU s/1M |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let empty = Summary { value: None, spread: None, cpu_per_m: None };
    for (w, cells) in rows {
        let get = |var| cell_of(plan, w, cells, var).map_or(Summary { ..empty }, |c| summarize(c, w.count));
        let (ox, abi, lz) = (get(Variant::OXMQ), get(Variant::ABI), get(Variant::LIBZMQ));
        let (name, fmt, cost): (&str, fn(f64) -> String, Option<f64>) = match w.kind {
            // Latency: lower is better; the ABI's cost is the extra time per roundtrip.
            Kind::Lat => ("REQ/REP µs", |v| format!("{v:.2}"), ratio(abi.value, ox.value)),
            // Throughput: the cost is the extra time per message, 1/rate.
            _ => ("PUSH/PULL msg/s", fmt_rate, ratio(ox.value, abi.value)),
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            w.transport_label(),
            fmt_size(w.size),
            cell_text(&ox, fmt),
            cell_text(&abi, fmt),
            if lz.value.is_some() { cell_text(&lz, fmt) } else { "–".into() },
            opt(ratio(abi.value, lz.value), 2),
            cost.map_or_else(|| "–".into(), |c| format!("{:+.0}%", (c - 1.0) * 100.0)),
            opt(ox.cpu_per_m, 2),
            opt(abi.cpu_per_m, 2),
        );
    }
    let _ = writeln!(
        out,
        "\nThe ABI rows run oxmq-libzmq-perf's `zmq_*` tools, built against libzmq, with `LD_LIBRARY_PATH` naming a \
         directory whose `libzmq.so.5` is oxmq's (crates/oxmq-ffi); each tool checks that the library it loaded \
         exports `oxmq_ffi_version` and exits 1 otherwise. ABI/libzmq: throughput higher is better, latency lower \
         is better. ABI cost over oxmq: the extra time per message (throughput: oxmq's rate / the ABI's) or per \
         roundtrip (latency) of the ABI against oxmq's own tools on the same workload. Issue 20's targets: tcp and \
         ipc PUSH/PULL 64 B and 1 KiB at least 1.25x libzmq, REQ/REP latency at most 0.9x, inproc at least 1.0x, \
         the ABI at most 10% over native."
    );
}

/// A cell of the `--peers` tables: its text and the value the ratios to oxmq use (`None`: the
/// variant did not run that workload).
type PeersCell<'a> = dyn Fn(&Workload, &[Cell], Variant) -> Option<(String, Option<f64>)> + 'a;

/// The other Rust implementations (`--peers`) beside oxmq (and libzmq when it ran): each
/// one's figure and oxmq's against it.
fn render_peers(out: &mut String, plan: &Plan, results: &Results) {
    let rows: Vec<&(Workload, Vec<Cell>)> = results.iter().filter(|(w, _)| peers_run(w)).collect();
    let _ = writeln!(out, "\n## Other Rust implementations: thr and lat, each on its own tools\n");
    if rows.is_empty() {
        let _ = writeln!(
            out,
            "Nothing to compare: --peers runs only with the thr or lat workloads over tcp or ipc (NULL mechanism)."
        );
        return;
    }
    let mut cols = vec![Variant::OXMQ];
    if plan.libzmq_dir.is_some() {
        cols.push(Variant::LIBZMQ);
    }
    let peers: Vec<Variant> = plan.peers.iter().map(|&p| Variant { local: p, remote: p }).collect();
    // The figures, then the same runs' CPU (issue 22 asks for less CPU per message than every
    // other implementation).
    let table = |out: &mut String, [thr, lat]: [&str; 2], cell: &PeersCell| {
        let mut head = "| workload | transport | size |".to_string();
        for v in cols.iter().chain(&peers) {
            let _ = write!(head, " {} |", v.local.name());
        }
        for v in &peers {
            let _ = write!(head, " oxmq/{} |", v.local.name());
        }
        let _ = writeln!(out, "{head}");
        let _ = writeln!(out, "|---|---|---:|{}", "---:|".repeat(cols.len() + 2 * peers.len()));
        for (w, cells) in &rows {
            let name = if w.kind == Kind::Lat { lat } else { thr };
            let get = |v: Variant| cell(w, cells, v);
            let mut line = format!("| {name} | {} | {} |", w.transport_label(), fmt_size(w.size));
            for v in cols.iter().chain(&peers) {
                let _ = write!(line, " {} |", get(*v).map_or_else(|| "–".into(), |(text, _)| text));
            }
            let ox = get(Variant::OXMQ).and_then(|(_, x)| x);
            for v in &peers {
                let _ = write!(line, " {} |", opt(ratio(ox, get(*v).and_then(|(_, x)| x)), 2));
            }
            let _ = writeln!(out, "{line}");
        }
    };
    table(out, ["PUSH/PULL msg/s", "REQ/REP µs"], &|w, cells, v| {
        let fmt: fn(f64) -> String = if w.kind == Kind::Lat { |v| format!("{v:.2}") } else { fmt_rate };
        cell_of(plan, w, cells, v).map(|c| summarize(c, w.count)).map(|s| (cell_text(&s, fmt), s.value))
    });
    let _ = writeln!(
        out,
        "\nCPU, user+sys seconds of both processes per million messages (roundtrips), medians (lower is better):\n"
    );
    table(out, ["PUSH/PULL", "REQ/REP"], &|w, cells, v| {
        let cpu = cell_of(plan, w, cells, v).and_then(|c| summarize(c, w.count).cpu_per_m);
        Some((opt(cpu, 2), cpu))
    });
    let _ = writeln!(
        out,
        "\nEach implementation runs its own `<impl>_local_*`/`<impl>_remote_*` pair (crates/oxmq-peers-perf: \
         libzmq's perf arguments and output, pinned as oxmq's tools), on the configuration its documentation \
         gives for speed: omq.rs its blocking API on one I/O thread; zmq.rs tokio, current-thread; rzmq tokio \
         with TCP_CORK on the PUSH over tcp and its adaptive throttle off (not its io_uring backend); monocoque \
         compio (io_uring) with write coalescing on the PUSH. oxmq/<impl>: throughput above 1, latency and CPU \
         below 1 favour oxmq. Not run for the other implementations: inproc (the tools are process pairs), PLAIN and CURVE, \
         and the pubsub, scale and memory workloads. A FAIL cell is a run that did not complete; the Problems \
         section has its output."
    );
}
