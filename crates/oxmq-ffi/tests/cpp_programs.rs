//! C++ programs using cppzmq (Debian's cppzmq-dev, 4.9.0: zmq.hpp and zmq_addon.hpp, stable API
//! only), in tests/cpp: compiled with g++ against oxmq's include/zmq.h (its directory comes
//! first, so that zmq.hpp's `#include <zmq.h>` finds it rather than the system's; each program
//! asserts the header's version is oxmq's 4.3.5, not libzmq3-dev's) and linked to the
//! libzmq.so cargo built for this test run, then run. Each checks its own results, exits
//! non-zero on the first failure, and calls `oxmq_ffi_version`, which only oxmq's library has.
//! The programs: REQ/REP, PUSH/PULL with `zmq::multipart_t` and `send_multipart`, PUB/SUB under
//! `zmq::poll`, `zmq::message_t` zero-copy, and a broker (`zmq::proxy_steerable`, worker threads,
//! a `zmq::monitor_t`).
//!
//! Without g++ or cppzmq's headers the tests are skipped, saying so (`common::skip`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A directory with this build's libzmq.so under its own name and its soname, libzmq.so.5, so
/// that `-lzmq` links it and the loader takes it from there (rpath), not the system's.
fn lib_dir(work: &Path) -> PathBuf {
    let built = std::env::current_exe().unwrap().parent().unwrap().join("libzmq.so");
    assert!(built.exists(), "no libzmq.so at {}", built.display());
    let dir = work.join("lib");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["libzmq.so", "libzmq.so.5"] {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&built, &link).unwrap();
    }
    dir
}

/// Whether g++ is there and finds cppzmq's headers; if not, the test is skipped.
fn have_cppzmq() -> bool {
    let probe = Command::new("g++")
        .args(["-std=c++17", "-x", "c++", "-E", "-o", "/dev/null", "-I"])
        .arg(crate_dir().join("include"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"#include <zmq.hpp>\n#include <zmq_addon.hpp>\n")?;
            child.wait()
        });
    let ok = probe.is_ok_and(|s| s.success());
    if !ok {
        common::skip("g++ with cppzmq's headers is not installed (apt-get install g++ cppzmq-dev)");
    }
    ok
}

/// Compile tests/cpp/<name>.cpp and run it (60 s at most).
fn compile_and_run(name: &str) {
    if !have_cppzmq() {
        return;
    }
    let work = std::env::temp_dir().join(format!("oxmq-ffi-cpp-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let exe = work.join(name);
    let lib = lib_dir(&work);
    let out = Command::new("g++")
        .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pthread", "-o"])
        .arg(&exe)
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(crate_dir().join("tests/cpp").join(format!("{name}.cpp")))
        .arg("-L")
        .arg(&lib)
        .arg("-lzmq")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .output()
        .expect("g++");
    assert!(out.status.success(), "g++ {name}:\n{}", String::from_utf8_lossy(&out.stderr));

    let mut child = Command::new(&exe).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{name} did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(status.success(), "{name} failed ({status}):\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("{name} ok")), "{name} did not report success: {stdout}");
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn reqrep() {
    compile_and_run("reqrep");
}

#[test]
fn pushpull_multipart() {
    compile_and_run("pushpull_multipart");
}

#[test]
fn pubsub_poll() {
    compile_and_run("pubsub_poll");
}

#[test]
fn message_zerocopy() {
    compile_and_run("message_zerocopy");
}

#[test]
fn broker_monitor() {
    compile_and_run("broker_monitor");
}
