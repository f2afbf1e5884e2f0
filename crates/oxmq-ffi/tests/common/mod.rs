//! What several test files of this crate share: recording a check this machine cannot run,
//! and the checks for the tools the tests need (python3 with pyzmq and numpy, g++ with
//! cppzmq). Not every test file uses every item.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// Where [`skip`] appends its lines: `skipped.txt` in cargo's scratch directory for integration
/// tests (`<target dir>/tmp`), the file crates/oxmq/tests/common/mod.rs writes too and `.ci/run`
/// prints after `cargo test`.
pub fn skipped_file() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("skipped.txt")
}

/// Say that the calling test checks nothing because this machine lacks something (`reason`),
/// as `SKIPPED <binary>::<test>: <reason>`, on stderr and appended to [`skipped_file`] (cargo
/// test hides what a passing test prints). In CI (`CI` set), where `.ci/run` installs what the
/// tests need, a missing tool fails the test instead.
pub fn skip(reason: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("?").to_string();
    assert!(std::env::var_os("CI").is_none(), "{test}: {reason} (in CI, .ci/run installs it)");
    let exe = std::env::current_exe().ok();
    let binary = exe.as_ref().and_then(|p| p.file_stem()).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    // cargo names a test binary `<file>-<hash>`.
    let binary = binary.rsplit_once('-').map_or(binary.as_str(), |(name, _)| name).to_string();
    let line = format!("SKIPPED {binary}::{test}: {reason}\n");
    eprint!("{line}");
    let file = std::fs::OpenOptions::new().create(true).append(true).open(skipped_file());
    if let Err(e) = file.and_then(|mut f| f.write_all(line.as_bytes())) {
        eprintln!("(cannot record the skip in {}: {e})", skipped_file().display());
    }
}

/// Whether python3 can import `modules` (e.g. `zmq, numpy`); if not, the test is skipped.
pub fn have_python(modules: &str) -> bool {
    let ok = Command::new("python3").args(["-c", &format!("import {modules}")]).status().is_ok_and(|s| s.success());
    if !ok {
        skip(&format!("python3 cannot import {modules} (pip install pyzmq numpy)"));
    }
    ok
}
