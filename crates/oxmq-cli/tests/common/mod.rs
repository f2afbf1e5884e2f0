//! What the end-to-end tests of the `oxmq` binary share: running it (and pyzmq peers) in
//! separate processes, the way a user would, with every wait under a deadline.
//!
//! Ports: a binding process binds `tcp://127.0.0.1:*` (or an `ipc://@` name unique to the
//! test) with `-v`, and its `oxmq: bound ENDPOINT` line on stderr tells both where it is and
//! that it is listening, so the connecting process starts only then.
#![allow(dead_code, reason = "each test binary uses its own part of these helpers")]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long any one process may run before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub fn oxmq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oxmq"))
}

/// An abstract-namespace ipc endpoint unique to this test run.
pub fn ipc(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("ipc://@oxmq-cli-test-{}-{name}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// What a finished process left.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Outcome {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// A running `oxmq` whose stdout and stderr are collected in the background.
pub struct Proc {
    pub child: Child,
    stdout: JoinHandle<Vec<u8>>,
    stderr: Arc<Mutex<String>>,
    stderr_done: JoinHandle<()>,
}

impl Proc {
    /// Starts `oxmq ARGS`; waits for `binds` lines `oxmq: bound ENDPOINT` on its stderr and
    /// returns those endpoints too.
    pub fn start(args: &[&str], stdin: Option<&[u8]>, binds: usize) -> (Proc, Vec<String>) {
        let mut cmd = oxmq();
        cmd.args(args);
        Proc::spawn(cmd, &format!("oxmq {args:?}"), stdin, binds)
    }

    /// Starts `python3 -c SCRIPT ARGS` (a pyzmq peer); as [`Proc::start`], it tells its binds
    /// by printing `oxmq: bound ENDPOINT` on stderr.
    pub fn python(script: &str, args: &[&str], binds: usize) -> (Proc, Vec<String>) {
        let mut cmd = Command::new("python3");
        cmd.arg("-u").arg("-c").arg(script).args(args);
        Proc::spawn(cmd, "the pyzmq peer", None, binds)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`INT`, `TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status().unwrap();
        assert!(ok.success(), "kill -{signal} failed");
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// What the process has printed on stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Starts `cmd` as [`Proc::start`] does (`what` names it in failures).
    pub fn spawn(mut cmd: Command, what: &str, stdin: Option<&[u8]>, binds: usize) -> (Proc, Vec<String>) {
        let mut child = cmd
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        if let Some(input) = stdin {
            // From a thread: a process that reads its input slowly must not block the test.
            let mut pipe = child.stdin.take().unwrap();
            let input = input.to_vec();
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut v = Vec::new();
            out.read_to_end(&mut v).unwrap();
            v
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let collected = stderr.clone();
        let stderr_done = std::thread::spawn(move || {
            let mut line = String::new();
            while err.read_line(&mut line).unwrap_or(0) > 0 {
                if let Some(ep) = line.trim_end().strip_prefix("oxmq: bound ") {
                    let _ = tx.send(ep.to_string());
                }
                collected.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let proc = Proc { child, stdout, stderr, stderr_done };
        let mut endpoints = Vec::new();
        while endpoints.len() < binds {
            match rx.recv_timeout(DEADLINE) {
                Ok(ep) => endpoints.push(ep),
                Err(_) => {
                    let o = proc.finish();
                    panic!("{what} did not bind: {o:?}");
                }
            }
        }
        (proc, endpoints)
    }

    /// Waits for the process to exit (killing it and failing after [`DEADLINE`]).
    pub fn finish(mut self) -> Outcome {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the process did not finish in {DEADLINE:?}; stderr: {}", self.stderr.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stdout = self.stdout.join().unwrap();
        self.stderr_done.join().unwrap();
        let stderr = self.stderr.lock().unwrap().clone();
        Outcome { code: status.code(), stdout, stderr }
    }
}

/// Runs `oxmq ARGS` to its end.
pub fn run(args: &[&str]) -> Outcome {
    Proc::start(args, None, 0).0.finish()
}

/// Runs `oxmq ARGS` with `input` on stdin to its end.
pub fn run_with_stdin(args: &[&str], input: &[u8]) -> Outcome {
    Proc::start(args, Some(input), 0).0.finish()
}

/// Starts a binding `oxmq ARGS --bind ENDPOINT -v`; returns it and the endpoint it bound.
pub fn start_bound(args: &[&str], endpoint: &str) -> (Proc, String) {
    let mut all = args.to_vec();
    all.extend(["--bind", endpoint, "-v"]);
    let (proc, mut endpoints) = Proc::start(&all, None, 1);
    (proc, endpoints.remove(0))
}

pub fn assert_success(o: &Outcome) {
    assert_eq!(o.code, Some(0), "{o:?}");
}

/// Whether pyzmq can be imported. Without it the pyzmq tests are skipped, saying so; in CI
/// (`CI` set), where .ci/run installs it, its absence fails them instead.
pub fn have_pyzmq(test: &str) -> bool {
    let ok = Command::new("python3").args(["-c", "import zmq"]).status().is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "{test}: pyzmq is missing in CI");
        eprintln!("{test}: SKIPPED: python3 with pyzmq is not installed (pip install pyzmq)");
    }
    ok
}

/// The prelude of every pyzmq peer: `bound(socket)` tells the test where it bound.
pub const PY_PRELUDE: &str = r#"
import sys, zmq
ctx = zmq.Context()
def bound(s):
    print("oxmq: bound " + s.getsockopt(zmq.LAST_ENDPOINT).decode(), file=sys.stderr, flush=True)
"#;
