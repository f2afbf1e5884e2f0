//! End-to-end smoke tests of the oxmq perf tools and of `oxmq bench`
//! (oxmq only, so that no libzmq is needed).

use oxmq_cli::{Pattern, Role, ScaleArgs};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_local_thr")).parent().expect("binary directory").to_path_buf()
}

#[test]
fn tools_print_usage_on_bad_arguments() {
    for (exe, usage) in [
        (env!("CARGO_BIN_EXE_local_thr"), "usage: local_thr <bind-to>"),
        (env!("CARGO_BIN_EXE_remote_thr"), "usage: remote_thr <connect-to>"),
        (env!("CARGO_BIN_EXE_local_lat"), "usage: local_lat <bind-to>"),
        (env!("CARGO_BIN_EXE_remote_lat"), "usage: remote_lat <connect-to>"),
        (env!("CARGO_BIN_EXE_inproc_thr"), "usage: inproc_thr <message-size>"),
        (env!("CARGO_BIN_EXE_inproc_lat"), "usage: inproc_lat <message-size>"),
        (env!("CARGO_BIN_EXE_inproc_ceiling"), "usage: inproc_ceiling <message-size>"),
        (env!("CARGO_BIN_EXE_scale_thr"), "usage: scale_thr <one|many|both>"),
        (env!("CARGO_BIN_EXE_hwm_fill"), "usage: hwm_fill <pull|push>"),
        (env!("CARGO_BIN_EXE_conn_server"), "usage: conn_server <router|pub>"),
        (env!("CARGO_BIN_EXE_tcp_local_thr"), "usage: tcp_local_thr <tcp://host:port>"),
        (env!("CARGO_BIN_EXE_tcp_remote_thr"), "usage: tcp_remote_thr <tcp://host:port>"),
        (env!("CARGO_BIN_EXE_tcp_local_lat"), "usage: tcp_local_lat <tcp://host:port>"),
        (env!("CARGO_BIN_EXE_tcp_remote_lat"), "usage: tcp_remote_lat <tcp://host:port>"),
        (env!("CARGO_BIN_EXE_zmtp_peers"), "usage: zmtp_peers <tcp://host:port>"),
        (env!("CARGO_BIN_EXE_reconnect_storm"), "usage: reconnect_storm <clients>"),
    ] {
        let out = Command::new(exe).output().expect("run tool");
        assert_eq!(out.status.code(), Some(1), "{exe}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.starts_with(usage), "{exe}: {stdout}");
    }
}

/// A small storm: 50 clients of a server closed and rebound 100 ms later all come back, and
/// the report has its figures (no timing is asserted).
#[test]
fn reconnect_storm_reports_every_client_back() {
    let out = Command::new(env!("CARGO_BIN_EXE_reconnect_storm")).args(["50", "20", "100"]).output().expect("run tool");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("clients: 50, RECONNECT_IVL 20 ms, RECONNECT_IVL_MAX 0 ms, server down 100 ms"),
        "{stdout}"
    );
    assert!(stdout.contains("accepted: 50, handshaken: 50 (monitor events dropped: 0)"), "{stdout}");
    for line in ["busiest 10 ms: ", "all accepted: ", "handshaken: 50% ", "accepts per 10 ms"] {
        assert!(stdout.contains(line), "no {line:?} in {stdout}");
    }
}

#[test]
fn inproc_tools_print_libzmq_format() {
    let out = Command::new(env!("CARGO_BIN_EXE_inproc_thr")).args(["100", "2000"]).output().expect("run inproc_thr");
    assert!(out.status.success(), "{out:?}");
    let s = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 4, "{s}");
    assert_eq!(lines[0], "message size: 100 [B]");
    assert_eq!(lines[1], "message count: 2000");
    assert!(lines[2].starts_with("mean throughput: ") && lines[2].ends_with(" [msg/s]"));
    assert!(lines[3].starts_with("mean throughput: ") && lines[3].ends_with(" [Mb/s]"));

    let out = Command::new(env!("CARGO_BIN_EXE_inproc_lat")).args(["64", "500"]).output().expect("run inproc_lat");
    assert!(out.status.success(), "{out:?}");
    let s = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 3, "{s}");
    assert_eq!(lines[0], "message size: 64 [B]");
    assert_eq!(lines[1], "roundtrip count: 500");
    assert!(lines[2].starts_with("average latency: ") && lines[2].ends_with(" [us]"));
}

/// The inproc tools pin their threads by variable (`oxmq bench` sets them); core 0 exists on
/// every machine. A variable that names no core is an error, not silently unpinned.
#[test]
fn inproc_tools_pin_their_threads_by_variable() {
    let run = |tool: &str, args: &[&str], send_core: &str| {
        Command::new(tool).args(args).env("PERF_PIN_RECV", "0").env("PERF_PIN_SEND", send_core).output().expect("run")
    };
    let ceiling = env!("CARGO_BIN_EXE_inproc_ceiling");
    for (tool, args) in [
        (env!("CARGO_BIN_EXE_inproc_thr"), &["64", "2000"][..]),
        (env!("CARGO_BIN_EXE_scale_thr"), &["both", "pub", "inproc://pin", "2", "64", "2000"][..]),
        (env!("CARGO_BIN_EXE_scale_thr"), &["both", "router", "inproc://pin", "2", "64", "2000"][..]),
        (ceiling, &["64", "2000", "fresh"][..]),
        (ceiling, &["64", "2000", "static"][..]),
    ] {
        let out = run(tool, args, "0");
        assert!(out.status.success(), "{tool} {args:?}: {out:?}");
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(oxmq_cli::parse_figure(&s, "mean throughput:", "[msg/s]").is_some_and(|v| v > 0.0), "{s}");
        let out = run(tool, args, "core one");
        assert!(!out.status.success(), "{tool}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a core number"), "{out:?}");
    }
    let out = Command::new(ceiling).args(["64", "10", "shared"]).output().expect("run");
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("fresh or static"), "{out:?}");
}

#[test]
fn pin_thread_sets_the_threads_affinity() {
    std::thread::spawn(|| {
        oxmq_cli::pin_thread(0).expect("core 0 exists");
        let status = std::fs::read_to_string("/proc/thread-self/status").expect("thread status");
        let allowed = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).expect("affinity line");
        assert_eq!(allowed.trim(), "0");
        assert!(oxmq_cli::pin_thread(1 << 20).is_err(), "no such core");
    })
    .join()
    .unwrap();
}

#[test]
fn bench_quick_runs_every_transport() {
    let md = std::env::temp_dir().join(format!("oxmq-bench-test-{}.md", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_oxmq"))
        .args(["bench", "--quick", "--scale", "0.01", "--vs", "none", "--timeout", "60"])
        .arg("--bin-dir")
        .arg(tools_dir())
        .arg("--out")
        .arg(&md)
        .output()
        .expect("run oxmq bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for row in ["| tcp | 64 B |", "| tcp | 1 KiB |", "| tcp | 64 KiB |", "| ipc | 64 B |", "| inproc | 64 KiB |"] {
        assert!(stdout.contains(row), "missing {row}:\n{stdout}");
    }
    assert!(stdout.contains("## Latency"), "{stdout}");
    assert!(stdout.contains("## Latency floor: plain TCP ping-pong"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    let written = std::fs::read_to_string(&md).expect("report file");
    assert_eq!(written.trim_end(), stdout.trim_end());
    let _ = std::fs::remove_file(&md);
}

#[test]
fn bench_explains_how_to_build_missing_libzmq_tools() {
    let empty = std::env::temp_dir().join(format!("oxmq-bench-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_oxmq"))
        .args(["bench", "--quick", "--vs", "libzmq"])
        .arg("--bin-dir")
        .arg(tools_dir())
        .arg("--libzmq-dir")
        .arg(&empty)
        .output()
        .expect("run oxmq bench");
    let _ = std::fs::remove_dir(&empty);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cargo build --release -p oxmq-libzmq-perf"), "{stderr}");
}

/// The plain TCP ping-pong pair: the echo side binds, the other does the roundtrips and
/// prints remote_lat's lines.
#[test]
fn tcp_lat_tools_ping_pong_and_print_remote_lats_lines() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let mut local =
        Command::new(env!("CARGO_BIN_EXE_tcp_local_lat")).args([&ep, "100", "500"]).spawn().expect("tcp_local_lat");
    let out = Command::new(env!("CARGO_BIN_EXE_tcp_remote_lat")).args([&ep, "100", "500"]).output().expect("remote");
    assert!(local.wait().expect("tcp_local_lat exits").success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.starts_with("message size: 100 [B]\nroundtrip count: 500\n"), "{stdout}");
    assert!(oxmq_cli::parse_figure(&stdout, "average latency:", "[us]").is_some_and(|v| v > 0.0), "{stdout}");
}

#[test]
fn figures_are_read_from_tool_output() {
    let out = "message size: 64 [B]\nmean throughput: 6555889 [msg/s]\nmean throughput: 3356.615 [Mb/s]\n\
               queued: 2074 [msg]\nrss per connection: 10.83 [KiB]\n";
    assert_eq!(oxmq_cli::parse_figure(out, "mean throughput:", "[msg/s]"), Some(6555889.0));
    assert_eq!(oxmq_cli::parse_figure(out, "mean throughput:", "[Mb/s]"), Some(3356.615));
    assert_eq!(oxmq_cli::parse_figure(out, "queued:", "[msg]"), Some(2074.0));
    assert_eq!(oxmq_cli::parse_figure(out, "rss per connection:", "[KiB]"), Some(10.83));
    assert_eq!(oxmq_cli::parse_figure(out, "queued:", "[KiB]"), None);
    assert_eq!(oxmq_cli::parse_figure("queued: many [msg]", "queued:", "[msg]"), None);
}

#[test]
fn vm_rss_is_read_from_proc_status() {
    let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t    3072 kB\nRssAnon:\t 100 kB\n";
    assert_eq!(oxmq_cli::parse_vm_rss(status), Some(3072));
    assert_eq!(oxmq_cli::parse_vm_rss("Name: x\n"), None);
    let own = oxmq_cli::vm_rss_kib(None).expect("VmRSS of this process");
    assert!(own > 100, "{own} KiB");
}

#[test]
fn scale_shares_are_whole_messages_per_sender() {
    let a =
        |pattern, peers, count| ScaleArgs { role: Role::One, pattern, endpoint: String::new(), peers, size: 64, count };
    // PUSH: one sender sends everything, spread over the PULLs.
    assert_eq!(
        (a(Pattern::Push, 10, 1000).sends_per_sender(), a(Pattern::Push, 10, 1000).total_received()),
        (1000, 1000)
    );
    // PUB: count is what the subscribers receive together.
    assert_eq!((a(Pattern::Pub, 10, 1005).sends_per_sender(), a(Pattern::Pub, 10, 1005).total_received()), (100, 1000));
    // DEALERs: each sends its share.
    assert_eq!((a(Pattern::Router, 3, 10).sends_per_sender(), a(Pattern::Router, 3, 10).total_received()), (3, 9));
    assert!(a(Pattern::Router, 3, 10).one_receives() && !a(Pattern::Pub, 3, 10).one_receives());
}

#[test]
fn scale_thr_inproc_counts_every_subscriber() {
    for (pattern, peers) in [("pub", "3"), ("push", "3"), ("router", "3")] {
        let out = Command::new(env!("CARGO_BIN_EXE_scale_thr"))
            .args(["both", pattern, &format!("inproc://scale-{pattern}"), peers, "32", "3000"])
            .output()
            .expect("run scale_thr");
        assert!(out.status.success(), "{pattern}: {out:?}");
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(s.contains("message count: 3000\n"), "{pattern}: {s}");
        assert!(oxmq_cli::parse_figure(&s, "mean throughput:", "[msg/s]").is_some_and(|v| v > 0.0), "{pattern}: {s}");
    }
}

#[test]
fn bench_quick_runs_the_new_workloads() {
    let out = Command::new(env!("CARGO_BIN_EXE_oxmq"))
        .args(["bench", "--quick", "--scale", "0.02", "--vs", "none", "--timeout", "60"])
        .args(["--workloads", "raw,pubsub,scale,mem", "--transports", "tcp,inproc", "--pubsub-sizes", "64"])
        .args(["--scale-peers", "1,3", "--hwm-sizes", "65536", "--conns", "40", "--subs", "20"])
        .arg("--bin-dir")
        .arg(tools_dir())
        .output()
        .expect("run oxmq bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for heading in [
        "## Raw TCP loopback ceiling",
        "## Throughput: PUB/SUB",
        "## Scale:",
        "## Memory: PUSH to a PULL that stopped reading",
        "## Memory: idle connections to one ROUTER",
        "## Memory: subscribers of one PUB",
        "- wall time per workload: thr ",
    ] {
        assert!(stdout.contains(heading), "missing {heading}:\n{stdout}");
    }
    for row in
        ["| tcp | 64 B |", "| inproc | 64 B |", "| PUSH -> PULLs | 3 |", "| DEALERs -> ROUTER | 1 |", "| 64 KiB |"]
    {
        assert!(stdout.contains(row), "missing {row}:\n{stdout}");
    }
    assert!(stdout.contains("| 40 | ") && stdout.contains("| 20 | "), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    // A PUSH towards a stuck PULL queues at least its own HWM of 64 KiB messages, and at
    // most both HWMs plus what the kernel's socket buffers can hold (their maximum sizes,
    // from /proc) plus a few messages in flight in the engines.
    let hwm_row = stdout.lines().find(|l| l.starts_with("| 64 KiB |")).expect("hwm row");
    let queued: u64 = hwm_row.split('|').nth(2).and_then(|c| c.trim().parse().ok()).expect("queued count");
    let buf_max = |f: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/{f}"))
            .ok()
            .and_then(|s| s.split_whitespace().nth(2).and_then(|m| m.parse().ok()))
            .unwrap_or(64 << 20)
    };
    let kernel = (buf_max("tcp_rmem") + buf_max("tcp_wmem")) / 65536;
    assert!((1000..=2000 + kernel + 16).contains(&queued), "{hwm_row} (kernel buffers: {kernel} messages)");
}

#[test]
fn bench_compare_fails_on_a_regression_and_passes_otherwise() {
    let dir = std::env::temp_dir().join(format!("oxmq-bench-baseline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bench = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_oxmq"))
            .args(["bench", "--vs", "none", "--pairs", "1", "--workloads", "pubsub", "--transports", "inproc"])
            .args(["--pubsub-sizes", "64", "--scale", "0.0001", "--timeout", "60"])
            .arg("--bin-dir")
            .arg(tools_dir())
            .args(extra)
            .output()
            .expect("run oxmq bench")
    };
    let saved = dir.join("base.json");
    let out = bench(&["--save-baseline", saved.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{out:?}");
    let json = std::fs::read_to_string(&saved).expect("baseline written");
    assert!(json.contains("\"pubsub inproc 64 B msg/s\""), "{json}");

    // A baseline no run can reach (1e15 msg/s, no CPU at all) must be reported as a regression...
    let v: serde_json::Value = serde_json::from_str(&json).expect("baseline is JSON");
    let mut high = v.clone();
    for (name, f) in high["figures"].as_object_mut().expect("figures").iter_mut() {
        f["value"] = serde_json::json!(if name.ends_with("msg/s") { 1e15 } else { 1e-12 });
    }
    let high_path = dir.join("high.json");
    std::fs::write(&high_path, high.to_string()).expect("write");
    let out = bench(&["--compare", high_path.to_str().expect("utf-8 path"), "--tolerance", "10"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("**REGRESSION**"), "{stdout}");

    // ...and one every run beats (1 msg/s, a CPU cost of 1e12 s per million) must pass.
    let mut low = v;
    for (name, f) in low["figures"].as_object_mut().expect("figures").iter_mut() {
        f["value"] = serde_json::json!(if name.ends_with("msg/s") { 1.0 } else { 1e12 });
    }
    let low_path = dir.join("low.json");
    std::fs::write(&low_path, low.to_string()).expect("write");
    let out = bench(&["--compare", low_path.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("0 figure(s) worse than the baseline"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
