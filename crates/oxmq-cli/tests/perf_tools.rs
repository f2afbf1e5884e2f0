//! End-to-end smoke tests of the oxmq perf tools and of `oxmq bench`
//! (oxmq only, so that no libzmq is needed).

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
    ] {
        let out = Command::new(exe).output().expect("run tool");
        assert_eq!(out.status.code(), Some(1), "{exe}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.starts_with(usage), "{exe}: {stdout}");
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
