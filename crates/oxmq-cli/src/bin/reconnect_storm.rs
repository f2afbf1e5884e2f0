//! oxmq `reconnect_storm`: how the clients of a restarted server come back (issue 19).
//!
//! `reconnect_storm <clients> <reconnect-ivl-ms> [down-ms] [reconnect-ivl-max-ms]` binds a
//! ROUTER on tcp://127.0.0.1, starts a second process of this tool holding `clients` DEALERs
//! (each with RECONNECT_IVL and RECONNECT_IVL_MAX as given, all connected to the ROUTER), and
//! waits until every one has handshaken (socket monitor). Then it closes the ROUTER (every
//! connection ends, as when the server dies), waits `down-ms` (default 2000: the clients keep
//! retrying and are refused), binds a new ROUTER on the same port, and records when each
//! reconnection is accepted and handshaken (monitor events, timed as they arrive, relative to
//! that bind): accepts per 10 ms, the busiest 10 ms, and how long until all are back.
//!
//! `STORM_CLIENTS=<program>` runs that program as the client process instead, with the
//! arguments `<endpoint> <clients> <reconnect-ivl-ms> <reconnect-ivl-max-ms>`, holding its
//! clients until its stdin closes: `scripts/reconnect_storm_pyzmq.py` is libzmq's, through
//! pyzmq.
//!
//! Two processes, because each side holds one descriptor per connection (the hard limit on
//! open files is raised to what is allowed). The clients share one process and one I/O
//! thread: they are not 10,000 machines, and how fast that thread gets through their
//! reconnects spreads them too; the same for both builds compared.

use oxmq::{Context, Event, SocketType};
use oxmq_cli as perf;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BUCKET_MS: u64 = 10;
const SETUP_DEADLINE: Duration = Duration::from_secs(300);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--clients") {
        return clients(&args[1..]);
    }
    let usage = "reconnect_storm <clients> <reconnect-ivl-ms> [down-ms] [reconnect-ivl-max-ms]";
    if !(2..=4).contains(&args.len()) {
        println!("usage: {usage}");
        std::process::exit(1);
    }
    let n = perf::number(&args[0], "clients").max(1);
    let ivl = perf::number(&args[1], "reconnect-ivl-ms");
    let down = args.get(2).map_or(2000, |s| perf::number(s, "down-ms"));
    let ivl_max = args.get(3).map_or(0, |s| perf::number(s, "reconnect-ivl-max-ms"));
    perf::raise_nofile_limit();

    let ctx = Context::new();
    let server = ctx.socket(SocketType::Router).unwrap_or_else(|e| perf::fail("socket", e));
    server.set_linger(0).unwrap_or_else(|e| perf::fail("linger", e));
    let mon = server.monitor(Event::HandshakeSucceeded).unwrap_or_else(|e| perf::fail("monitor", e));
    server.bind("tcp://127.0.0.1:*").unwrap_or_else(|e| perf::fail("bind", e));
    let ep = server.last_endpoint().unwrap_or_else(|e| perf::fail("last_endpoint", e));

    // The clients: this tool's own (oxmq), or STORM_CLIENTS, a program taking the same four
    // arguments (scripts/reconnect_storm_pyzmq.py: libzmq's, through pyzmq).
    let mut cmd = match std::env::var_os("STORM_CLIENTS") {
        Some(program) => Command::new(program),
        None => {
            let mut c = Command::new(std::env::current_exe().unwrap_or_else(|e| perf::fail("current_exe", e)));
            c.arg("--clients");
            c
        }
    };
    let mut child = cmd
        .args([ep.as_str(), &n.to_string(), &ivl.to_string(), &ivl_max.to_string()])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| perf::fail("spawn the clients", e));

    // Every client connected and handshaken (dropped monitor events are handshakes too).
    let deadline = Instant::now() + SETUP_DEADLINE;
    let mut seen = 0;
    while seen + (mon.dropped() as usize) < n {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let _ = child.kill();
            perf::fail("setup", format!("only {} of {n} clients handshaken", seen + mon.dropped() as usize));
        }
        if mon.recv_timeout(left.min(Duration::from_millis(100))).is_some() {
            seen += 1;
        }
    }
    eprintln!("{n} clients connected; closing the server");
    std::thread::sleep(Duration::from_secs(1));

    // The server goes away: every connection ends at once.
    drop(mon);
    drop(server);
    std::thread::sleep(Duration::from_millis(down as u64));

    // It comes back on the same port; each accept and handshake is timed as its event arrives.
    let server = ctx.socket(SocketType::Router).unwrap_or_else(|e| perf::fail("socket", e));
    server.set_linger(0).unwrap_or_else(|e| perf::fail("linger", e));
    let mon = server.monitor(Event::Accepted | Event::HandshakeSucceeded).unwrap_or_else(|e| perf::fail("monitor", e));
    let (tx, rx) = mpsc::channel();
    let overflows_before = listen_overflows();
    let up = Instant::now();
    server.bind(&ep).unwrap_or_else(|e| perf::fail("rebind", e));
    let reader = std::thread::spawn(move || {
        let mut accepted = Vec::with_capacity(n);
        let mut handshaken = Vec::with_capacity(n);
        let deadline = Instant::now() + SETUP_DEADLINE;
        while handshaken.len() + (mon.dropped() as usize) < n && Instant::now() < deadline {
            if let Some(ev) = mon.recv_timeout(Duration::from_millis(100)) {
                let at = ev_time(up);
                match ev.event {
                    Event::Accepted => accepted.push(at),
                    Event::HandshakeSucceeded => handshaken.push(at),
                    _ => {}
                }
            }
        }
        let _ = tx.send(mon.dropped());
        (accepted, handshaken)
    });
    let (accepted, handshaken) = reader.join().unwrap_or_else(|_| perf::fail("reader", "panicked"));
    let dropped = rx.recv().unwrap_or(0);
    let overflows = listen_overflows().zip(overflows_before).map(|(a, b)| a.saturating_sub(b));
    drop(child.stdin.take());
    let _ = child.wait();

    report(n, ivl, ivl_max, down, &accepted, &handshaken, dropped);
    if let Some(o) = overflows {
        // Each is a SYN the kernel dropped because the accept queue (BACKLOG) was full: that
        // client retries its SYN after 1 s, then 3 s, ... (machine-wide counter).
        println!("listen queue overflows (SYNs dropped) since the rebind: {o}");
    }
    drop(server);
}

/// The kernel's count of SYNs dropped on full accept queues (TcpExt ListenOverflows in
/// /proc/net/netstat), machine-wide.
fn listen_overflows() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (names, values) = (lines.next()?, lines.next()?);
    let at = names.split_whitespace().position(|n| n == "ListenOverflows")?;
    values.split_whitespace().nth(at)?.parse().ok()
}

/// Milliseconds since `up`, as a float.
fn ev_time(up: Instant) -> f64 {
    up.elapsed().as_secs_f64() * 1000.0
}

fn report(n: usize, ivl: usize, ivl_max: usize, down: usize, accepted: &[f64], handshaken: &[f64], dropped: u64) {
    println!("clients: {n}, RECONNECT_IVL {ivl} ms, RECONNECT_IVL_MAX {ivl_max} ms, server down {down} ms");
    println!("accepted: {}, handshaken: {} (monitor events dropped: {dropped})", accepted.len(), handshaken.len());
    if accepted.is_empty() {
        return;
    }
    let last = accepted.iter().copied().fold(0.0, f64::max);
    let buckets = (last as u64 / BUCKET_MS + 1) as usize;
    let mut per = vec![0usize; buckets];
    for &t in accepted {
        per[(t as u64 / BUCKET_MS) as usize] += 1;
    }
    let (peak_at, peak) = per.iter().enumerate().max_by_key(|&(i, c)| (*c, std::cmp::Reverse(i))).expect("a bucket");
    let busy = per.iter().filter(|&&c| c > 0).count();
    let mut sorted = handshaken.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pct =
        |p: f64| sorted.get(((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(f64::NAN);
    println!("first accept: {:.1} ms after the rebind", accepted.iter().copied().fold(f64::INFINITY, f64::min));
    println!(
        "busiest {BUCKET_MS} ms: {peak} accepts ({:.1}% of the clients), at {}-{} ms; {busy} of {buckets} buckets busy",
        100.0 * *peak as f64 / n as f64,
        peak_at as u64 * BUCKET_MS,
        (peak_at as u64 + 1) * BUCKET_MS
    );
    println!("all accepted: {last:.1} ms after the rebind");
    println!(
        "handshaken: 50% {:.1} ms, 90% {:.1} ms, 99% {:.1} ms, all {:.1} ms after the rebind",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
    println!("accepts per {BUCKET_MS} ms (empty buckets left out):");
    for (i, c) in per.iter().enumerate().filter(|&(_, &c)| c > 0) {
        let bar = "#".repeat((c * 60).div_ceil(*peak));
        println!("{:>7} ms {c:>6} {bar}", i as u64 * BUCKET_MS);
    }
}

/// The client process: `--clients <endpoint> <n> <ivl> <ivl-max>`; holds its DEALERs until
/// its stdin closes.
fn clients(args: &[String]) {
    let [ep, n, ivl, ivl_max] = args else {
        perf::fail("arguments", "--clients <endpoint> <n> <ivl> <ivl-max>");
    };
    let n = perf::number(n, "clients");
    let ivl = perf::number(ivl, "ivl") as i32;
    let ivl_max = perf::number(ivl_max, "ivl-max") as i32;
    perf::raise_nofile_limit();
    let ctx = Context::new();
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let s = ctx.socket(SocketType::Dealer).unwrap_or_else(|e| perf::fail("socket", e));
        s.set_linger(0).unwrap_or_else(|e| perf::fail("linger", e));
        s.set_reconnect_ivl(ivl).unwrap_or_else(|e| perf::fail("reconnect_ivl", e));
        s.set_reconnect_ivl_max(ivl_max).unwrap_or_else(|e| perf::fail("reconnect_ivl_max", e));
        s.connect(ep).unwrap_or_else(|e| perf::fail("connect", e));
        held.push(s);
    }
    // Until the server process is done with us.
    let _ = std::io::stdin().read(&mut [0u8; 1]);
    std::process::exit(0);
}
