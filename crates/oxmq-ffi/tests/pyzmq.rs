//! pyzmq on oxmq: pyzmq's wheel (26.x) carries its own libzmq (pyzmq.libs/libzmq-*.so.5),
//! but preloading oxmq's libzmq.so (`LD_PRELOAD`) takes over every `zmq_*` call pyzmq makes:
//! the dynamic loader binds pyzmq's undefined `zmq_*` symbols to the first definition in the
//! global scope, which a preloaded library heads. (The bundled libzmq is still loaded, and
//! even its own calls to exported `zmq_*` functions bind to oxmq's; nothing of it runs as
//! long as every function pyzmq imports is exported here, which the first test checks.)
//!
//! `zmq.zmq_version()` says 4.3.5 either way, so the tests tell the libraries apart by the
//! loader's own account (`LD_DEBUG=bindings`) and by `oxmq_ffi_version`, which only oxmq
//! exports. Then a pyzmq-on-oxmq process and a pyzmq-on-libzmq process talk REQ/REP over
//! tcp, each way round, with multipart messages, zero-copy sends (pyzmq's `copy=False` is
//! `zmq_msg_init_data` with pyzmq's free function) and message properties (`Frame.get`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn our_lib() -> PathBuf {
    let so = std::env::current_exe().unwrap().parent().unwrap().join("libzmq.so");
    assert!(so.exists(), "no libzmq.so at {}", so.display());
    so
}

/// `python3 -c script args...`, with oxmq preloaded or not.
fn python(script: &str, args: &[&str], oxmq: bool) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(script).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    if oxmq {
        cmd.env("LD_PRELOAD", our_lib());
    } else {
        cmd.env_remove("LD_PRELOAD");
    }
    cmd
}

/// Wait for `child` (60 s at most) and return its stdout; panic with its output on failure.
fn finish(mut child: Child, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed ({}):\n{stdout}\n{stderr}", out.status);
    stdout.into_owned()
}

/// Which library the process runs on, checked from inside it.
const WHICH: &str = r#"
import ctypes, sys, zmq
assert zmq.zmq_version() == "4.3.5", zmq.zmq_version()
on_oxmq = hasattr(ctypes.CDLL(None), "oxmq_ffi_version")
assert on_oxmq == (sys.argv[-1] == "oxmq"), (on_oxmq, sys.argv)
"#;

#[test]
fn ld_preload_binds_every_zmq_call_of_pyzmq_to_oxmq() {
    let script = format!(
        "{WHICH}\nctx = zmq.Context()\na = ctx.socket(zmq.PAIR); b = ctx.socket(zmq.PAIR)\n\
         a.bind('inproc://x'); b.connect('inproc://x')\na.send(b'hi'); assert b.recv() == b'hi'\n\
         a.close(); b.close(); ctx.term()\nprint('ok')\n"
    );
    let mut cmd = python(&script, &["oxmq"], true);
    cmd.env("LD_DEBUG", "bindings");
    let out = cmd.output().expect("python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python3 failed:\n{}", stderr.lines().rev().take(30).collect::<Vec<_>>().join("\n"));
    let ours = our_lib().canonicalize().unwrap();
    let ours = ours.to_string_lossy();
    // "binding file <pyzmq's extension> [0] to <library> [0]: normal symbol `zmq_socket'"
    let bindings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("binding file") && l.contains("/zmq/backend/") && l.contains("symbol `zmq_"))
        .collect();
    assert!(bindings.len() >= 10, "too few zmq_* bindings of pyzmq seen:\n{}", bindings.join("\n"));
    let elsewhere: Vec<&&str> = bindings.iter().filter(|l| !l.contains(&*ours) && !l.contains("libzmq.so [")).collect();
    assert!(elsewhere.is_empty(), "pyzmq calls bound to another library:\n{elsewhere:#?}");

    // Every zmq_* function pyzmq's extension imports is one oxmq exports: none can fall
    // through to the bundled libzmq (which would be handed oxmq's objects).
    let ext =
        finish(python("import zmq.backend.cython._zmq as m; print(m.__file__)", &[], false).spawn().unwrap(), "pyzmq");
    let nm = |args: &[&str], file: &str| {
        let out = Command::new("nm").args(args).arg(file).output().expect("nm");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().last().map(str::to_string))
            .filter(|s| s.starts_with("zmq_"))
            .collect::<Vec<_>>()
    };
    let imports = nm(&["-D", "--undefined-only"], ext.trim());
    let exports = nm(&["-D", "--defined-only"], &our_lib().to_string_lossy());
    assert!(imports.len() >= 20, "pyzmq imports only {imports:?}");
    let missing: Vec<&String> = imports.iter().filter(|f| !exports.contains(f)).collect();
    assert!(missing.is_empty(), "pyzmq needs these, which oxmq does not export: {missing:?}");
}

const SERVER: &str = r#"
rep = zmq.Context().socket(zmq.REP)
rep.linger = 0
rep.rcvtimeo = 30000
print(rep.bind_to_random_port("tcp://127.0.0.1"), flush=True)
for i in range(3):
    frames = rep.recv_multipart(copy=False)
    assert frames[0].bytes == b"Hello" and frames[1].bytes == bytes(range(256)) * 400
    rep.send_multipart([b"World", str(i).encode(), frames[0].get("Socket-Type").encode()])
poller = zmq.Poller()
poller.register(rep, zmq.POLLIN)
assert poller.poll(50) == []
rep.close()
rep.context.term()
print("server done", flush=True)
"#;

const CLIENT: &str = r#"
req = zmq.Context().socket(zmq.REQ)
req.linger = 0
req.rcvtimeo = 30000
req.connect("tcp://127.0.0.1:%s" % sys.argv[1])
for i in range(3):
    req.send_multipart([b"Hello", bytes(range(256)) * 400], copy=False)
    assert req.recv_multipart() == [b"World", str(i).encode(), b"REQ"]
req.close()
req.context.term()
print("client done", flush=True)
"#;

fn hello_world(server_on_oxmq: bool) {
    let which = |oxmq: bool| if oxmq { "oxmq" } else { "libzmq" };
    let mut server = python(&format!("{WHICH}{SERVER}"), &[which(server_on_oxmq)], server_on_oxmq).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.as_mut().unwrap()).read_line(&mut first).unwrap();
    let port = first.trim().to_string();
    if port.parse::<u16>().is_err() {
        finish(server, "the server");
        panic!("the server printed no port: {first:?}");
    }
    let client =
        python(&format!("{WHICH}{CLIENT}"), &[&port, which(!server_on_oxmq)], !server_on_oxmq).spawn().unwrap();
    assert!(finish(client, "the client").contains("client done"));
    assert!(finish(server, "the server").contains("server done"));
}

#[test]
fn hello_world_pyzmq_on_oxmq_serves_pyzmq_on_libzmq() {
    hello_world(true);
}

#[test]
fn hello_world_pyzmq_on_libzmq_serves_pyzmq_on_oxmq() {
    hello_world(false);
}

/// pyzmq's asyncio sockets wait on ZMQ_FD (an event loop reader) and read ZMQ_EVENTS: they
/// work only if the descriptor is a real edge-triggered one.
const ASYNCIO: &str = r#"
import asyncio, zmq.asyncio

async def main():
    ctx = zmq.asyncio.Context()
    rep, req = ctx.socket(zmq.REP), ctx.socket(zmq.REQ)
    req.connect("tcp://127.0.0.1:%d" % rep.bind_to_random_port("tcp://127.0.0.1"))

    async def server():
        for i in range(50):
            m = await rep.recv_multipart()
            await rep.send_multipart(m + [b"ok"])

    served = asyncio.ensure_future(server())
    for i in range(50):
        await req.send_multipart([b"n", str(i).encode()])
        assert await asyncio.wait_for(req.recv_multipart(), 30) == [b"n", str(i).encode(), b"ok"]
    await asyncio.wait_for(served, 30)

    # A receive that has to wait for its message.
    pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
    push.connect("tcp://127.0.0.1:%d" % pull.bind_to_random_port("tcp://127.0.0.1"))
    pending = asyncio.ensure_future(pull.recv())
    await asyncio.sleep(0.2)
    assert not pending.done()
    await push.send(b"late")
    assert await asyncio.wait_for(pending, 30) == b"late"
    for s in (rep, req, pull, push):
        s.close(linger=0)
    ctx.term()
    print("asyncio done")

asyncio.run(main())
"#;

#[test]
fn pyzmq_asyncio_runs_on_oxmqs_zmq_fd() {
    let child = python(&format!("{WHICH}{ASYNCIO}"), &["oxmq"], true).spawn().unwrap();
    assert!(finish(child, "pyzmq asyncio").contains("asyncio done"));
}

/// Ctrl-C during a blocking receive or poll: libzmq returns EINTR when a signal handler runs, and
/// pyzmq then runs the Python handler (here raising KeyboardInterrupt, as SIGINT's does).
/// A process-directed SIGALRM must reach the main thread, not one of oxmq's I/O threads
/// (which block signals, as libzmq's).
const INTERRUPT: &str = r#"
import signal, time

def on_alarm(*_):
    raise KeyboardInterrupt

signal.signal(signal.SIGALRM, on_alarm)
ctx = zmq.Context()
pull = ctx.socket(zmq.PULL)
pull.bind("tcp://127.0.0.1:*")
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    pull.recv()
    raise SystemExit("received a message nobody sent")
except KeyboardInterrupt:
    print("interrupted", flush=True)
poller = zmq.Poller()
poller.register(pull, zmq.POLLIN)
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    poller.poll()
    raise SystemExit("poll returned with nothing to read")
except KeyboardInterrupt:
    print("poll interrupted", flush=True)
pull.close(linger=0)
ctx.term()
"#;

#[test]
fn a_signal_interrupts_pyzmqs_blocking_receive_on_oxmq() {
    let child = python(&format!("{WHICH}{INTERRUPT}"), &["oxmq"], true).spawn().unwrap();
    let out = finish(child, "pyzmq interrupted");
    assert!(out.contains("interrupted\npoll interrupted"), "{out}");
}
