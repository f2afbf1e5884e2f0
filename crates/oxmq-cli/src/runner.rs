//! Spawning the perf tools, optionally pinned with `taskset`, and reaping them
//! with `wait4(2)` so that each child's exact user+sys CPU time is known.

use std::io::{self, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often running children are polled.
const POLL: Duration = Duration::from_millis(10);
/// How long the connecting side is held back while the binder sets up.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a tool may keep running after its peer failed.
const AFTER_FAILURE: Duration = Duration::from_secs(2);
/// How long a tool may keep running after its peer finished successfully.
pub const AFTER_SUCCESS: Duration = Duration::from_secs(15);

/// One tool invocation.
#[derive(Debug, Clone)]
pub struct ToolCmd {
    /// Short name for messages, e.g. `local_thr`.
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// `taskset -c <cpus>` list, or `None` to run unpinned.
    pub cpus: Option<&'static str>,
    /// Environment variables to set (the inproc tools pin each of their two threads by
    /// [`pin_thread_from_env`](crate::pin_thread_from_env), which `taskset` cannot do).
    pub env: Vec<(&'static str, String)>,
}

impl ToolCmd {
    /// The command line as a user would type it.
    pub fn display(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.env {
            s.push_str(&format!("{k}={v} "));
        }
        if let Some(c) = self.cpus {
            s.push_str(&format!("taskset -c {c} "));
        }
        s.push_str(&self.program.display().to_string());
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// What must be true before the second tool of a group is started.
#[derive(Debug, Clone)]
pub enum Ready {
    /// Nothing to wait for.
    Now,
    /// A socket listening on 127.0.0.1:port.
    TcpListen(u16),
    /// A unix socket file at this path.
    IpcPath(PathBuf),
}

impl Ready {
    fn is_ready(&self) -> bool {
        match self {
            Ready::Now => true,
            Ready::TcpListen(port) => tcp_listening(*port),
            Ready::IpcPath(p) => p.exists(),
        }
    }
}

/// Whether something listens on 127.0.0.1:`port` (or any address), from /proc/net/tcp.
fn tcp_listening(port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        // No procfs: fall back on the connect retries of the tools.
        return true;
    };
    let want = format!(":{port:04X}");
    table.lines().skip(1).any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        f.len() > 3 && f[1].ends_with(&want) && f[3] == "0A"
    })
}

/// A tool that has exited (or was killed) and been reaped.
#[derive(Debug, Clone)]
pub struct Finished {
    pub name: String,
    pub success: bool,
    /// "exit 0", "exit 1", "killed by signal 9", ...
    pub status: String,
    /// user + sys CPU time of the process (all its threads).
    pub cpu: Duration,
    pub wall: Duration,
    pub stdout: String,
    pub stderr: String,
    /// Killed by the harness.
    pub killed: bool,
}

/// The outcome of running a group of tools (one or two processes).
#[derive(Debug)]
pub struct GroupOutcome {
    pub procs: Vec<Finished>,
    /// Anything that went wrong with the processes themselves
    /// (timeouts, kills, spawn errors).
    pub problems: Vec<String>,
}

struct Running {
    name: String,
    pid: libc::pid_t,
    child: Child,
    started: Instant,
    /// stdout so far, filled by a reader thread while the child runs.
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
    done: Option<(libc::c_int, Duration, Duration)>,
    killed: bool,
}

/// Copies everything `r` yields into `sink` as it arrives.
fn reader<R: Read + Send + 'static>(r: Option<R>, sink: &Arc<Mutex<Vec<u8>>>) -> Option<JoinHandle<()>> {
    let sink = Arc::clone(sink);
    r.map(|mut r| {
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => sink.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        })
    })
}

fn text(buf: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec.max(0) as u64) + Duration::from_micros(tv.tv_usec.max(0) as u64)
}

/// `wait4(pid, flags)`: `Ok(Some((status, cpu)))` once the child is reaped.
fn wait4(pid: libc::pid_t, flags: libc::c_int) -> io::Result<Option<(libc::c_int, Duration)>> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is a plain C struct for which all-zero bytes is a valid value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: both out-pointers point to live, properly aligned locals.
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut ru) };
        if r == pid {
            return Ok(Some((status, timeval(ru.ru_utime) + timeval(ru.ru_stime))));
        }
        if r == 0 {
            return Ok(None);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn describe(status: libc::c_int) -> (bool, String) {
    if libc::WIFEXITED(status) {
        let code = libc::WEXITSTATUS(status);
        (code == 0, format!("exit {code}"))
    } else if libc::WIFSIGNALED(status) {
        (false, format!("killed by signal {}", libc::WTERMSIG(status)))
    } else {
        (false, format!("wait status {status:#x}"))
    }
}

impl Running {
    fn spawn(cmd: &ToolCmd) -> io::Result<Running> {
        let mut c = match cmd.cpus {
            Some(cpus) => {
                // taskset execs the tool, so the pid (and its rusage) is the tool's.
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpus).arg(&cmd.program);
                c
            }
            None => Command::new(&cmd.program),
        };
        c.envs(cmd.env.iter().map(|(k, v)| (k, v.as_str())))
            .args(&cmd.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn()?;
        let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        let readers =
            [reader(child.stdout.take(), &out), reader(child.stderr.take(), &err)].into_iter().flatten().collect();
        Ok(Running {
            name: cmd.name.clone(),
            pid,
            child,
            started: Instant::now(),
            out,
            err,
            readers,
            done: None,
            killed: false,
        })
    }

    /// Reaps the child if it has exited. Returns whether it is done.
    fn poll(&mut self) -> bool {
        if self.done.is_some() {
            return true;
        }
        match wait4(self.pid, libc::WNOHANG) {
            Ok(Some((status, cpu))) => {
                self.done = Some((status, cpu, self.started.elapsed()));
                true
            }
            Ok(None) => false,
            Err(_) => {
                // Not our child any more (cannot happen unless someone else reaped it).
                self.done = Some((-1, Duration::ZERO, self.started.elapsed()));
                true
            }
        }
    }

    fn succeeded(&self) -> Option<bool> {
        self.done.map(|(status, _, _)| describe(status).0)
    }

    /// SIGKILLs the child if it is still running and reaps it.
    fn kill(&mut self) {
        if self.poll() {
            return;
        }
        // Not yet reaped, so the pid still belongs to our child.
        let _ = self.child.kill();
        self.killed = true;
        if let Ok(Some((status, cpu))) = wait4(self.pid, 0) {
            self.done = Some((status, cpu, self.started.elapsed()));
        } else {
            self.done = Some((-1, Duration::ZERO, self.started.elapsed()));
        }
    }

    fn finish(mut self) -> Finished {
        self.kill();
        let (status, cpu, wall) = self.done.unwrap_or((-1, Duration::ZERO, Duration::ZERO));
        let (success, status) = describe(status);
        for h in self.readers.drain(..) {
            let _ = h.join();
        }
        Finished {
            name: self.name,
            success: success && !self.killed,
            status,
            cpu,
            wall,
            stdout: text(&self.out),
            stderr: text(&self.err),
            killed: self.killed,
        }
    }
}

/// Runs `cmds` together: the first one (the binder) is started, then the rest
/// once `ready` holds (or the binder exited, or 5 s passed). Every process is
/// killed after `timeout`; a process that outlives its failed peer by 2 s, or
/// its successful peer by 15 s, is killed too, and so is every process still
/// running 15 s after one of them printed `result_marker` (the result line):
/// the measurement is done, only the shutdown hangs.
///
/// `after_success` replaces those 15 s (the perf tools use [`AFTER_SUCCESS`]; a tool that
/// only ends when killed, a sink or a client holding connections, gets a short one).
pub fn run_group(
    cmds: &[ToolCmd],
    ready: &Ready,
    result_marker: &str,
    timeout: Duration,
    after_success: Duration,
) -> GroupOutcome {
    let mut problems = Vec::new();
    let mut running: Vec<Running> = Vec::new();
    let start = Instant::now();

    for (i, cmd) in cmds.iter().enumerate() {
        if i == 1 {
            let wait_start = Instant::now();
            while !ready.is_ready() && !running[0].poll() && wait_start.elapsed() < READY_TIMEOUT {
                thread::sleep(Duration::from_millis(2));
            }
        }
        match Running::spawn(cmd) {
            Ok(r) => running.push(r),
            Err(e) => {
                problems.push(format!("cannot start {}: {e}", cmd.display()));
                break;
            }
        }
    }

    let mut first_end: Option<(Instant, bool)> = None;
    loop {
        let mut all_done = true;
        for r in running.iter_mut() {
            if r.poll() {
                if first_end.is_none() {
                    first_end = Some((Instant::now(), r.succeeded().unwrap_or(false)));
                }
            } else {
                all_done = false;
                if first_end.is_none() && text(&r.out).contains(result_marker) {
                    first_end = Some((Instant::now(), true));
                }
            }
        }
        if all_done {
            break;
        }
        if start.elapsed() > timeout {
            let names = kill_rest(&mut running);
            problems.push(format!("timed out after {} s; killed {names}", timeout.as_secs()));
            break;
        }
        if let Some((at, ok)) = first_end {
            let grace = if ok { after_success } else { AFTER_FAILURE };
            if at.elapsed() > grace {
                let names = kill_rest(&mut running);
                problems.push(if ok {
                    format!("{names} still running {:.1} s after the measurement finished; killed", grace.as_secs_f64())
                } else {
                    format!("killed {names} after its peer failed")
                });
                break;
            }
        }
        thread::sleep(POLL);
    }

    if problems.is_empty() && running.len() < cmds.len() {
        problems.push("not every tool was started".into());
    }
    GroupOutcome { procs: running.into_iter().map(Running::finish).collect(), problems }
}

fn kill_rest(running: &mut [Running]) -> String {
    let mut names = Vec::new();
    for r in running.iter_mut() {
        if !r.poll() {
            r.kill();
            names.push(r.name.clone());
        }
    }
    names.join(", ")
}

/// Whether `taskset -c 0 true` works here.
pub fn taskset_works() -> bool {
    Command::new("taskset")
        .args(["-c", "0", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_port() -> io::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
