//! The example binaries, for the tests that run them (`examples.rs`, `examples_pyzmq.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The directory of the example binaries, built (or brought up to date) on first use.
pub fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        // <target>/<profile dir>/deps/examples-<hash>
        let profile_dir = exe.parent().and_then(Path::parent).expect("the profile directory");
        let target_dir = profile_dir.parent().expect("the target directory");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev",
            Some(other) => other,
            None => panic!("unexpected test binary path {}", exe.display()),
        };
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "oxmq", "--examples", "--profile", profile, "--target-dir"])
            .arg(target_dir)
            .status()
            .expect("cannot run cargo");
        assert!(status.success(), "building the examples failed: {status}");
        profile_dir.join("examples")
    })
}
