//! include/zmq.h against libzmq's own header: every numeric macro ours defines must have
//! libzmq's value, and the structs libzmq's layout. Two references:
//!
//! - Debian's /usr/include/zmq.h (libzmq 4.3.4, package libzmq3-dev), compiled with gcc;
//!   4.3.5 differs from it only in ZMQ_VERSION_PATCH (and so ZMQ_VERSION), listed in
//!   `DIFFERS_FROM_4_3_4`;
//! - pyzmq's constants (`python3 -c 'import zmq'`), which pyzmq takes from the libzmq 4.3.5
//!   it is built with: where pyzmq has a name, the value must be ours.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where 4.3.5 (and so our header) differs from Debian's 4.3.4, with 4.3.4's value.
const DIFFERS_FROM_4_3_4: &[(&str, i64)] = &[("ZMQ_VERSION_PATCH", 4), ("ZMQ_VERSION", 40304)];

fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

/// The numeric object-like macros of our header (and whether each is in the draft section).
fn our_macros() -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(include_dir().join("zmq.h")).unwrap();
    let mut draft = false;
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("#ifdef ZMQ_BUILD_DRAFT_API") {
            draft = true;
        }
        if line.starts_with("#endif /* ZMQ_BUILD_DRAFT_API") {
            draft = false;
        }
        let Some(rest) = line.strip_prefix("#define ") else { continue };
        let mut parts = rest.splitn(2, ' ');
        let name = parts.next().unwrap();
        let value = parts.next().unwrap_or("").trim();
        if name.contains('(') || value.is_empty() || value.starts_with('"') || value.starts_with("__attribute__") {
            continue; // function-like, empty (guards, ZMQ_HAVE_*), strings, ZMQ_EXPORT
        }
        names.push((name.to_string(), draft));
    }
    names
}

/// Compile and run a program printing each macro's value and the struct layouts, against the
/// header found through `include` (None: the system's).
fn values(names: &[(String, bool)], include: Option<&Path>, tag: &str) -> BTreeMap<String, i64> {
    let dir = std::env::temp_dir().join(format!("oxmq-ffi-header-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = String::from(
        "#define ZMQ_BUILD_DRAFT_API 1\n#include <zmq.h>\n#include <stdio.h>\n#include <stddef.h>\n\
         int main(void) {\n",
    );
    for (n, _) in names {
        c += &format!("#ifdef {n}\n  printf(\"{n} %lld\\n\", (long long) ({n}));\n#endif\n");
    }
    c += "  printf(\"sizeof(zmq_msg_t) %zu\\n\", sizeof (zmq_msg_t));\n\
          printf(\"alignof(zmq_msg_t) %zu\\n\", _Alignof (zmq_msg_t));\n\
          printf(\"sizeof(zmq_pollitem_t) %zu\\n\", sizeof (zmq_pollitem_t));\n\
          printf(\"offsetof(zmq_pollitem_t,fd) %zu\\n\", offsetof (zmq_pollitem_t, fd));\n\
          printf(\"offsetof(zmq_pollitem_t,events) %zu\\n\", offsetof (zmq_pollitem_t, events));\n\
          printf(\"offsetof(zmq_pollitem_t,revents) %zu\\n\", offsetof (zmq_pollitem_t, revents));\n\
          return 0;\n}\n";
    let src = dir.join("values.c");
    std::fs::write(&src, c).unwrap();
    let exe = dir.join("values");
    let mut cc = Command::new("gcc");
    // Strict C11, plus POSIX for the draft section's sigset_t (zmq_ppoll), as any strict C
    // program including libzmq 4.3.5's header with ZMQ_BUILD_DRAFT_API needs.
    cc.args(["-std=c11", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Werror", "-o"]).arg(&exe).arg(&src);
    if let Some(inc) = include {
        cc.arg("-I").arg(inc);
    }
    let out = cc.output().expect("gcc");
    assert!(out.status.success(), "gcc ({tag}): {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (n, v) = l.rsplit_once(' ').unwrap();
            (n.to_string(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn macros_and_layouts_match_libzmq_4_3_4_except_the_version() {
    assert!(
        Path::new("/usr/include/zmq.h").exists(),
        "the reference header /usr/include/zmq.h is missing: install libzmq3-dev"
    );
    let names = our_macros();
    assert!(names.len() > 200, "only {} macros found in our zmq.h", names.len());
    let ours = values(&names, Some(&include_dir()), "ours");
    let theirs = values(&names, None, "system");
    assert_eq!(ours.len(), names.len() + 6, "a macro of ours did not print");
    let mut wrong = Vec::new();
    for (name, v) in &ours {
        let expected = DIFFERS_FROM_4_3_4.iter().find(|(n, _)| n == name).map(|&(_, v4)| v4);
        match (theirs.get(name), expected) {
            (Some(t), Some(v4)) if *t == v4 => {}
            (Some(t), None) if t == v => {}
            (t, _) => wrong.push(format!("{name}: ours {v}, libzmq 4.3.4 {t:?}")),
        }
    }
    assert!(wrong.is_empty(), "differences from libzmq's zmq.h:\n{}", wrong.join("\n"));
    assert_eq!(ours["ZMQ_VERSION_PATCH"], 5);
    assert_eq!(ours["sizeof(zmq_msg_t)"], 64);
}

#[test]
fn the_header_compiles_as_cpp_and_zmq_utils_h_includes_it() {
    let dir = std::env::temp_dir().join(format!("oxmq-ffi-cpp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("t.cpp");
    std::fs::write(&src, "#include <zmq_utils.h>\nint main() { zmq_msg_t m; return zmq_msg_init (&m); }\n").unwrap();
    // With and without the draft API's declarations.
    for draft in [&[][..], &["-DZMQ_BUILD_DRAFT_API"][..]] {
        let out = Command::new("g++")
            .args(draft)
            .args(["-std=c++11", "-Wall", "-Werror", "-fsyntax-only", "-I"])
            .arg(include_dir())
            .arg(&src)
            .output()
            .expect("g++");
        assert!(out.status.success(), "g++ {draft:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// pyzmq's name for a macro of ours (`ZMQ_PUSH` is `zmq.PUSH`, `EFSM` is `zmq.EFSM`).
fn pyzmq_name(n: &str) -> &str {
    n.strip_prefix("ZMQ_").unwrap_or(n)
}

#[test]
fn macros_match_pyzmqs_libzmq_4_3_5_constants() {
    let names = our_macros();
    let ours = values(&names, Some(&include_dir()), "ours-py");
    let list: Vec<String> = names.iter().map(|(n, _)| format!("{:?}", pyzmq_name(n))).collect();
    let script = format!(
        "import zmq\nfor n in [{}]:\n    v = getattr(zmq, n, None)\n    if isinstance(v, int): print(n, int(v))\n",
        list.join(",")
    );
    let out = Command::new("python3").args(["-c", &script]).output().expect("python3");
    assert!(out.status.success(), "python3 with pyzmq: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut compared = 0;
    let mut wrong = Vec::new();
    for line in text.lines() {
        let (n, v) = line.rsplit_once(' ').unwrap();
        let v: i64 = v.parse().unwrap();
        let ours_name = names.iter().map(|(m, _)| m).find(|m| pyzmq_name(m) == n).unwrap();
        compared += 1;
        if ours[ours_name.as_str()] != v {
            wrong.push(format!("{ours_name}: ours {}, pyzmq {v}", ours[ours_name.as_str()]));
        }
    }
    assert!(compared > 150, "pyzmq knew only {compared} of our names");
    assert!(wrong.is_empty(), "differences from pyzmq (libzmq 4.3.5):\n{}", wrong.join("\n"));
}
