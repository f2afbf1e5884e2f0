//! scripts/install-libzmq-compat.sh: installs the library this test run built (`--lib-from`,
//! so the test does not start a release build of its own) into a temporary prefix; then a C
//! program is built with nothing but `pkg-config --cflags --libs libzmq` and run, and must
//! find oxmq there (the program calls `oxmq_ffi_version`, which only oxmq exports).

use std::path::Path;
use std::process::Command;

fn pkg_config(prefix: &Path, args: &[&str]) -> String {
    let out = Command::new("pkg-config")
        .args(args)
        .arg("libzmq")
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .env_remove("PKG_CONFIG_LIBDIR")
        .output()
        .expect("pkg-config");
    assert!(out.status.success(), "pkg-config {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn installed_with_pkg_config_a_program_builds_and_runs_on_oxmq() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib_dir = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let work = std::env::temp_dir().join(format!("oxmq-ffi-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let prefix = work.join("prefix");
    let out = Command::new("bash")
        .arg(crate_dir.join("../../scripts/install-libzmq-compat.sh"))
        .arg("--prefix")
        .arg(&prefix)
        .arg("--lib-from")
        .arg(&lib_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "install: {}", String::from_utf8_lossy(&out.stderr));
    for f in [
        "lib/libzmq.so.5.2.5",
        "lib/libzmq.so.5",
        "lib/libzmq.so",
        "lib/libzmq.a",
        "include/zmq.h",
        "include/zmq_utils.h",
    ] {
        assert!(prefix.join(f).exists(), "{f} not installed");
    }
    assert_eq!(pkg_config(&prefix, &["--modversion"]), "4.3.5");
    let flags = pkg_config(&prefix, &["--cflags", "--libs"]);
    assert!(flags.contains(&format!("-I{}", prefix.join("include").display())), "{flags}");

    let exe = work.join("reqrep_tcp");
    let out = Command::new("gcc")
        .args(["-std=gnu11", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(crate_dir.join("tests/c/reqrep_tcp.c"))
        .args(flags.split_whitespace())
        .output()
        .expect("gcc");
    assert!(out.status.success(), "gcc: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(&exe).env("LD_LIBRARY_PATH", prefix.join("lib")).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("reqrep_tcp ok"));
    std::fs::remove_dir_all(&work).unwrap();
}
