//! A program under test whose stdout lines are read as they come; killed when dropped. The
//! harness of the tests that run whole programs: `examples_pyzmq.rs` here, and oxmq-ffi's
//! `tests/scenarios.rs` (which includes this file by path).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long any one step (a line awaited, a process awaited) may take.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub struct Running {
    pub what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// Start `cmd`: stdout read line by line, stderr passed through, stdin kept open for
    /// [`Running::feed`] until [`Running::close_stdin`].
    pub fn start(mut cmd: Command, what: &str) -> Running {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { what: what.to_string(), child, stdin, lines, seen: Vec::new() }
    }

    /// Write `text` on the program's stdin (a few bytes: the pipe holds them, so this does
    /// not wait for the program to read).
    pub fn feed(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().unwrap_or_else(|| panic!("{}: stdin is closed", self.what));
        stdin.write_all(text.as_bytes()).and_then(|()| stdin.flush()).unwrap_or_else(|e| panic!("{}: {e}", self.what));
    }

    /// Close the program's stdin: it reads the end of it.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Wait for a line containing `text`; return it.
    pub fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!("{} did not print {text:?}; it printed:\n{}", self.what, self.seen.join("\n")),
            }
        }
    }

    /// Wait for the program to exit 0; return all it printed.
    pub fn success(self) -> String {
        let what = self.what.clone();
        let (status, out) = self.finish();
        assert!(status.success(), "{what} failed ({status}); it printed:\n{out}");
        out
    }

    /// Kill a program that would run on (a server); return all it printed.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        self.finish().1
    }

    /// Wait for the program to exit; return its status and all it printed.
    pub fn finish(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "{} did not finish; it printed:\n{}", self.what, self.seen.join("\n"));
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status, self.seen.join("\n"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.child.stdout.take().map(|mut o| o.read_to_end(&mut Vec::new()));
    }
}
