//! The C test programs in tests/c, compiled with gcc against include/zmq.h and linked to the
//! libzmq.so (and, for some, the libzmq.a) cargo built for this test run, then run. Each
//! program checks its own results and exits non-zero on the first failure; each also calls
//! `oxmq_ffi_version`, a symbol only oxmq's library has, so a program that somehow loaded the
//! system's libzmq would fail to start instead of passing.
//!
//! cargo builds the cdylib and staticlib of this crate along with the rlib the tests link,
//! into the directory the test executable runs from (target/<profile>/deps).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding the libzmq.so and libzmq.a of this build.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap().to_path_buf();
    assert!(deps.join("libzmq.so").exists(), "no libzmq.so next to {}", exe.display());
    deps
}

/// A directory where the library is also found under its soname, libzmq.so.5 (the name a
/// program linked against it asks the loader for), so that the loader takes ours from there
/// (rpath) rather than the system's libzmq.so.5.
fn soname_dir(work: &Path) -> PathBuf {
    let dir = work.join("lib");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["libzmq.so", "libzmq.so.5"] {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(lib_dir().join("libzmq.so"), &link).unwrap();
    }
    dir
}

fn work_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oxmq-ffi-c-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compile tests/c/<name>.c, linked dynamically or statically, and run it (60 s at most).
fn compile_and_run(name: &str, link_static: bool) {
    compile_and_run_with(name, link_static, &[]);
}

/// [`compile_and_run`] with more compiler flags.
fn compile_and_run_with(name: &str, link_static: bool, cflags: &[&str]) {
    let work = work_dir(&format!("{name}-{}", if link_static { "static" } else { "shared" }));
    let exe = work.join(name);
    let mut cc = Command::new("gcc");
    cc.args(cflags);
    cc.args(["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-pthread", "-o"])
        .arg(&exe)
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(crate_dir().join("tests/c").join(format!("{name}.c")));
    if link_static {
        cc.arg(lib_dir().join("libzmq.a"));
        // What a Rust staticlib needs from the system (rustc --print native-static-libs).
        cc.args(["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"]);
    } else {
        let lib = soname_dir(&work);
        cc.arg("-L").arg(&lib).arg("-lzmq").arg(format!("-Wl,-rpath,{}", lib.display()));
    }
    let out = cc.output().expect("gcc");
    assert!(out.status.success(), "gcc {name}:\n{}", String::from_utf8_lossy(&out.stderr));

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
    assert!(
        status.success(),
        "{name} failed ({status}):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("{name} ok")), "{name} did not report success: {stdout}");
}

#[test]
fn reqrep_tcp() {
    compile_and_run("reqrep_tcp", false);
}

#[test]
fn reqrep_tcp_linked_statically() {
    compile_and_run("reqrep_tcp", true);
}

#[test]
fn pushpull_multipart() {
    compile_and_run("pushpull_multipart", false);
}

#[test]
fn pubsub_filter() {
    compile_and_run("pubsub_filter", false);
}

#[test]
fn poll() {
    compile_and_run("poll", false);
}

#[test]
fn msg_zerocopy() {
    compile_and_run("msg_zerocopy", false);
}

#[test]
fn msg_zerocopy_linked_statically() {
    compile_and_run("msg_zerocopy", true);
}

#[test]
fn fork_child_closes_what_it_inherited() {
    compile_and_run("fork", false);
}

/// 200 children forked while two parent threads allocate through the library; a longer run
/// by hand: the program takes the number of forks (tests/c/fork_allocating.c).
#[test]
fn children_forked_while_the_parent_allocates_do_not_hang() {
    compile_and_run("fork_allocating", false);
}

/// The draft API, as a program built with ZMQ_BUILD_DRAFT_API uses it (the library built with
/// `--features draft`).
#[cfg(feature = "draft")]
#[test]
fn draft_api() {
    compile_and_run_with("draft", false, &["-DZMQ_BUILD_DRAFT_API"]);
}

/// The shared library a program linked with -lzmq asks for, and what it exports.
#[test]
fn the_shared_library_has_libzmqs_soname_and_only_the_c_api_exported() {
    let so = lib_dir().join("libzmq.so");
    let out = Command::new("readelf").arg("-d").arg(&so).output().expect("readelf");
    let dynamic = String::from_utf8_lossy(&out.stdout);
    assert!(dynamic.contains("Library soname: [libzmq.so.5]"), "{dynamic}");
    let out = Command::new("nm").args(["-D", "--defined-only"]).arg(&so).output().expect("nm");
    let symbols: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(" T "))
        .map(|l| l.rsplit(' ').next().unwrap().to_string())
        .collect();
    let others: Vec<&String> = symbols.iter().filter(|s| !s.starts_with("zmq_") && *s != "oxmq_ffi_version").collect();
    assert!(others.is_empty(), "exported beyond the C API: {others:?}");
    for f in [
        "zmq_ctx_new",
        "zmq_socket",
        "zmq_msg_init_data",
        "zmq_poll",
        "zmq_proxy_steerable",
        "zmq_curve_keypair",
        "zmq_timers_execute",
    ] {
        assert!(symbols.iter().any(|s| s == f), "{f} not exported");
    }
}

/// Declared in zmq.h and not exported yet, as COMPATIBILITY.md lists them (none today).
const NOT_EXPORTED: &[&str] = &[];

/// Every function zmq.h declares (outside the draft section) is exported, except the ones
/// COMPATIBILITY.md lists; and those are really not (so the list is kept true both ways).
#[test]
fn every_function_zmq_h_declares_is_exported_but_the_listed_ones() {
    let header = std::fs::read_to_string(crate_dir().join("include/zmq.h")).unwrap();
    let stable = &header[..header.find("#ifdef ZMQ_BUILD_DRAFT_API").unwrap()];
    let declared: Vec<String> = stable
        .split("ZMQ_EXPORT")
        .skip(1)
        .filter_map(|decl| {
            let before_paren = &decl[..decl.find('(')?];
            let name = before_paren.trim().rsplit([' ', '*', '\n']).next()?;
            name.starts_with("zmq_").then(|| name.to_string())
        })
        .collect();
    assert!(declared.len() >= 70, "only {} declarations found", declared.len());
    let out = Command::new("nm").args(["-D", "--defined-only"]).arg(lib_dir().join("libzmq.so")).output().unwrap();
    let exported = String::from_utf8_lossy(&out.stdout);
    let is_exported = |f: &str| exported.lines().any(|l| l.ends_with(&format!(" {f}")));
    let missing: Vec<&String> =
        declared.iter().filter(|f| !is_exported(f) && !NOT_EXPORTED.contains(&f.as_str())).collect();
    assert!(missing.is_empty(), "declared in zmq.h but not exported: {missing:?}");
    for f in NOT_EXPORTED {
        assert!(declared.iter().any(|d| d == f), "{f} is not declared in zmq.h");
        assert!(!is_exported(f), "{f} is exported now: take it off NOT_EXPORTED and COMPATIBILITY.md");
    }
}

/// The functions declared in zmq.h's text `section`.
fn declared_in(section: &str) -> Vec<String> {
    section
        .split("ZMQ_EXPORT")
        .skip(1)
        .filter_map(|decl| {
            let before_paren = &decl[..decl.find('(')?];
            let name = before_paren.trim().rsplit([' ', '*', '\n']).next()?;
            name.starts_with("zmq_").then(|| name.to_string())
        })
        .collect()
}

/// Every function of zmq.h's draft section is exported by a build with the feature `draft`,
/// and none by a build without it (as libzmq's stable builds).
#[test]
fn draft_functions_are_exported_with_the_feature_only() {
    let header = std::fs::read_to_string(crate_dir().join("include/zmq.h")).unwrap();
    let start = header.find("#ifdef ZMQ_BUILD_DRAFT_API").unwrap();
    let end = header.find("#endif /* ZMQ_BUILD_DRAFT_API").unwrap();
    let draft = declared_in(&header[start..end]);
    assert!(draft.len() >= 20, "only {} draft declarations found", draft.len());
    let out = Command::new("nm").args(["-D", "--defined-only"]).arg(lib_dir().join("libzmq.so")).output().unwrap();
    let exported = String::from_utf8_lossy(&out.stdout);
    let is_exported = |f: &str| exported.lines().any(|l| l.ends_with(&format!(" {f}")));
    let wrong: Vec<&String> = draft.iter().filter(|f| is_exported(f) != cfg!(feature = "draft")).collect();
    assert!(wrong.is_empty(), "draft functions exported (feature draft: {}): {wrong:?}", cfg!(feature = "draft"));
}
