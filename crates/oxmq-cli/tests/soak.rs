//! `oxmq soak`, briefly: both phases pass with exit 0 and a JSON summary that adds up, and a
//! memory bound the process cannot meet makes it fail with exit 4 and the reason.

use std::process::Command;

fn soak(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oxmq")).arg("soak").args(args).output().expect("run oxmq soak");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().expect("exit code"), text(&out.stdout), text(&out.stderr))
}

/// The number after `"key":` in a flat JSON summary (the keys are unique in it).
fn field(json: &str, key: &str) -> String {
    let at = json.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("no {key} in {json}")) + key.len() + 3;
    json[at..].chars().take_while(|c| !matches!(c, ',' | '}')).collect()
}

fn num(json: &str, key: &str) -> u64 {
    field(json, key).parse().unwrap_or_else(|_| panic!("{key} is not a number in {json}"))
}

#[test]
fn both_phases_pass_and_report_json() {
    let (code, out, err) = soak(&[
        "--messages",
        "100000",
        "--transport",
        "tcp",
        "--workers",
        "3",
        "--stall-prob",
        "0.001",
        "--stall-ms",
        "5",
        "--cycles",
        "1000",
        "--warmup",
        "200",
        "--report-secs",
        "0.5",
        "--seed",
        "7",
        "--json",
    ]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let json = out.trim();
    assert!(json.starts_with('{') && json.ends_with('}') && !json.contains('\n'), "one JSON object: {json}");
    assert_eq!(field(json, "ok"), "true");
    assert_eq!(field(json, "reasons"), "[]");
    assert_eq!(num(json, "seed"), 7);
    assert_eq!(field(json, "transport"), "\"tcp\"");
    assert_eq!((num(json, "sent"), num(json, "received")), (100_000, 100_000));
    assert_eq!((num(json, "lost"), num(json, "duplicated"), num(json, "corrupt")), (0, 0, 0));
    assert!(num(json, "vm_hwm_kib") <= num(json, "rss_bound_kib"), "{json}");
    assert!(num(json, "rss_baseline_kib") > 0, "RSS was read: {json}");
    assert_eq!((num(json, "cycles"), num(json, "failed")), (1000, 0));
    // At most (not exactly) the start: the pipeline phase's connections may still have been
    // closing when the churn phase counted its starting fds.
    assert!(num(json, "fds_end") <= num(json, "fds_start"), "{json}");
    assert!(num(json, "rss_end_kib") <= num(json, "rss_warmup_kib") + num(json, "rss_tolerance_kib"), "{json}");
    // Progress lines went to stderr, not into the summary.
    assert!(err.lines().all(|l| l.starts_with("oxmq soak: ")), "stderr:\n{err}");
}

#[test]
fn every_transport_delivers_every_message() {
    for t in ["ipc", "inproc"] {
        let (code, out, err) =
            soak(&["--phase", "pipeline", "--messages", "50000", "--transport", t, "--max-size", "4096", "--json"]);
        assert_eq!(code, 0, "{t}: stdout:\n{out}\nstderr:\n{err}");
        assert_eq!((num(&out, "received"), num(&out, "lost"), num(&out, "duplicated")), (50_000, 0, 0), "{t}: {out}");
        assert_eq!(field(&out, "transport"), format!("\"{t}\""));
    }
}

#[test]
fn a_memory_bound_the_process_cannot_meet_fails_with_the_reason() {
    // 1 MiB: less than the process's own code and stacks, so the real measurement must be
    // over it.
    let (code, out, err) = soak(&["--phase", "pipeline", "--messages", "20000", "--rss-bound-mib", "1", "--json"]);
    assert_eq!(code, 4, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(field(&out, "ok"), "false");
    assert_eq!(num(&out, "lost"), 0, "only the memory check fails: {out}");
    assert!(out.contains("peak RSS") && out.contains("over the bound 1.0 MiB"), "{out}");
    assert!(err.contains("oxmq soak: pipeline: peak RSS"), "the reason on stderr: {err}");
}

#[test]
fn text_summary_and_bad_arguments() {
    let (code, out, err) = soak(&["--phase", "churn", "--cycles", "200"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("churn: 200 connect/disconnect cycles") && out.trim_end().ends_with("OK"), "{out}");
    let (code, _, err) = soak(&["--worker-rcvhwm", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("HWM of 0"), "{err}");
}
