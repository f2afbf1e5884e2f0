//! libzmq's perf tools, as built here with rust-zmq 0.9 against the system's libzmq.so.5, run
//! unchanged on oxmq's library: `LD_LIBRARY_PATH` names a directory where oxmq's libzmq.so
//! (built by this same `cargo test`, a dev-dependency; debug or release alike) is found under
//! the soname the tools ask for, libzmq.so.5. Small counts; the output must be the tools' usual
//! lines with figures that parse and are positive, and the dynamic loader's own account
//! (`LD_DEBUG=libs,bindings` on stderr) must show that the one libzmq.so.5 initialised was
//! oxmq's and that every `zmq_*` symbol the tool imports was bound to it. One run pairs an oxmq local side with a remote
//! side on the system's libzmq, over tcp.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A directory holding oxmq's library as libzmq.so.5 (a symlink to the built libzmq.so).
fn oxmq_lib_dir() -> PathBuf {
    let built = std::env::current_exe().unwrap().parent().unwrap().join("libzmq.so");
    assert!(built.exists(), "no libzmq.so at {} (oxmq-ffi is a dev-dependency)", built.display());
    let dir = std::env::temp_dir().join(format!("oxmq-libzmq-perf-on-oxmq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("libzmq.so.5");
    if !link.exists() {
        // Tests run on several threads: another may have made it meanwhile.
        let _ = std::os::unix::fs::symlink(&built, &link);
    }
    assert!(link.exists());
    dir
}

#[derive(Clone, Copy, PartialEq)]
enum Lib {
    Oxmq,
    System,
}

/// A running tool and the file its stderr goes to (the loader's account is long: a pipe
/// nobody reads until the end would fill and stall the tool).
struct Tool {
    child: Child,
    stderr: PathBuf,
}

/// The tool `name` with the loader's account on stderr, on oxmq's library or the system's.
fn tool(name: &str, args: &[&str], lib: Lib) -> Tool {
    let exe = match name {
        "zmq_local_thr" => env!("CARGO_BIN_EXE_zmq_local_thr"),
        "zmq_remote_thr" => env!("CARGO_BIN_EXE_zmq_remote_thr"),
        "zmq_local_lat" => env!("CARGO_BIN_EXE_zmq_local_lat"),
        "zmq_remote_lat" => env!("CARGO_BIN_EXE_zmq_remote_lat"),
        "zmq_inproc_thr" => env!("CARGO_BIN_EXE_zmq_inproc_thr"),
        "zmq_inproc_lat" => env!("CARGO_BIN_EXE_zmq_inproc_lat"),
        _ => panic!("no tool {name}"),
    };
    let mut cmd = Command::new(exe);
    cmd.args(args).env("LD_DEBUG", "libs,bindings").env_remove("LD_PRELOAD");
    match lib {
        Lib::Oxmq => cmd.env("LD_LIBRARY_PATH", oxmq_lib_dir()),
        Lib::System => cmd.env_remove("LD_LIBRARY_PATH"),
    };
    static N: AtomicUsize = AtomicUsize::new(0);
    let stderr = oxmq_lib_dir().join(format!("{name}-{}.stderr", N.fetch_add(1, Ordering::Relaxed)));
    let file = std::fs::File::create(&stderr).unwrap();
    let child = cmd.stdout(Stdio::piped()).stderr(file).spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    Tool { child, stderr }
}

/// Waits (60 s at most) for a tool to exit 0; checks which libzmq it ran on; returns stdout.
fn finish(tool: Tool, name: &str, lib: Lib) -> String {
    let Tool { mut child, stderr: stderr_file } = tool;
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let Output { status, stdout, .. } = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&stdout);
    let stderr = std::fs::read_to_string(&stderr_file).unwrap();
    let _ = std::fs::remove_file(&stderr_file);
    let tail = || stderr.lines().filter(|l| !l.contains("binding file")).collect::<Vec<_>>().join("\n");
    assert!(status.success(), "{name} failed ({status}):\n{stdout}\n{}", tail());
    check_loaded(&stderr, name, lib);
    stdout.into_owned()
}

/// From the loader's account: libzmq.so.5 was initialised from oxmq's directory (or not), and
/// the tool's `zmq_*` imports were bound to that library.
fn check_loaded(stderr: &str, name: &str, lib: Lib) {
    let ours = oxmq_lib_dir().join("libzmq.so.5");
    let ours = ours.to_string_lossy();
    // "calling init: /path/libzmq.so.5"
    let inits: Vec<&str> = stderr.lines().filter(|l| l.contains("calling init:") && l.contains("libzmq.so")).collect();
    assert_eq!(inits.len(), 1, "{name}: one libzmq initialised: {inits:#?}");
    assert_eq!(inits[0].contains(&*ours), lib == Lib::Oxmq, "{name}: {}", inits[0]);
    // "binding file /path/zmq_local_thr [0] to /path/libzmq.so.5 [0]: normal symbol `zmq_bind'"
    let calls: Vec<&str> =
        stderr.lines().filter(|l| l.contains(&format!("/{name} [0] to ")) && l.contains("symbol `zmq_")).collect();
    assert!(calls.len() >= 5, "{name}: too few zmq_* bindings seen: {calls:#?}");
    for call in calls {
        assert_eq!(call.contains(&*ours), lib == Lib::Oxmq, "{name}: {call}");
    }
}

/// `tcp://127.0.0.1:<port>` on a port that was free a moment ago.
fn free_endpoint() -> String {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("tcp://127.0.0.1:{port}")
}

/// The number between `prefix` and `suffix` on the line that has them; positive.
fn figure(out: &str, prefix: &str, suffix: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.starts_with(prefix) && l.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {prefix:?}...{suffix:?} line in:\n{out}"));
    let value: f64 = line[prefix.len()..line.len() - suffix.len()].trim().parse().unwrap_or_else(|_| panic!("{line}"));
    assert!(value > 0.0 && value.is_finite(), "{line}");
    value
}

fn check_thr(out: &str, size: &str, count: &str) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], format!("message size: {size} [B]"));
    assert_eq!(lines[1], format!("message count: {count}"));
    figure(out, "mean throughput: ", " [msg/s]");
    figure(out, "mean throughput: ", " [Mb/s]");
}

fn check_lat(out: &str, size: &str, count: &str) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], format!("message size: {size} [B]"));
    assert_eq!(lines[1], format!("roundtrip count: {count}"));
    figure(out, "average latency: ", " [us]");
}

fn tcp_thr(local: Lib, remote: Lib) {
    let endpoint = free_endpoint();
    let l = tool("zmq_local_thr", &[&endpoint, "100", "20000"], local);
    let r = tool("zmq_remote_thr", &[&endpoint, "100", "20000"], remote);
    assert_eq!(finish(r, "zmq_remote_thr", remote), "");
    check_thr(&finish(l, "zmq_local_thr", local), "100", "20000");
}

#[test]
fn local_thr_and_remote_thr_on_oxmq() {
    tcp_thr(Lib::Oxmq, Lib::Oxmq);
}

#[test]
fn local_thr_on_oxmq_remote_thr_on_the_system_libzmq() {
    tcp_thr(Lib::Oxmq, Lib::System);
}

#[test]
fn local_lat_and_remote_lat_on_oxmq() {
    let endpoint = free_endpoint();
    let l = tool("zmq_local_lat", &[&endpoint, "64", "1000"], Lib::Oxmq);
    let r = tool("zmq_remote_lat", &[&endpoint, "64", "1000"], Lib::Oxmq);
    check_lat(&finish(r, "zmq_remote_lat", Lib::Oxmq), "64", "1000");
    assert_eq!(finish(l, "zmq_local_lat", Lib::Oxmq), "");
}

#[test]
fn inproc_thr_and_inproc_lat_on_oxmq() {
    check_thr(
        &finish(tool("zmq_inproc_thr", &["1000", "20000"], Lib::Oxmq), "zmq_inproc_thr", Lib::Oxmq),
        "1000",
        "20000",
    );
    check_lat(&finish(tool("zmq_inproc_lat", &["64", "1000"], Lib::Oxmq), "zmq_inproc_lat", Lib::Oxmq), "64", "1000");
}

#[test]
fn the_directory_holds_oxmqs_library() {
    // The symbol only oxmq's library exports; the system's has none.
    let out = Command::new("nm").args(["-D", "--defined-only"]).arg(oxmq_lib_dir().join("libzmq.so.5")).output();
    let out = out.expect("nm");
    assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l.ends_with(" oxmq_ffi_version")));
}
