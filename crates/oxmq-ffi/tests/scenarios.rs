//! The classic scenarios as pyzmq programs, run unmodified on oxmq: the programs of
//! crates/oxmq/tests/pyzmq_programs/ (the guide's and the notes', which
//! crates/oxmq/tests/examples_pyzmq.rs pairs with oxmq's Rust examples) run here under
//! `LD_PRELOAD` of this build's libzmq.so, each against the same program on pyzmq's own libzmq
//! (no preload) and against itself on oxmq: hello world, weather updates with a topic filter,
//! ventilator/workers/sink, a ROUTER/DEALER broker with zmq.Poller, asyncio REQ/REP (over
//! inproc in one process, and across processes), the notes' 640x480x4 image and bounding box
//! sent with `copy=False`, the lazy pirate (its client reopens its socket while its server is
//! down, then gets every reply from a restarted server), the notes' PAIR over ipc, pyzmq's
//! ironhouse (CURVE with a ThreadAuthenticator), and the shutdown program, which has no peer
//! and must behave on oxmq as on libzmq.
//!
//! A small wrapper runs each program as `__main__` (`runpy`) after printing which library the
//! process is on (`oxmq_ffi_version`, a symbol only oxmq's library has, is in the global scope
//! or not); every run checks that line, then the program's own output (counts, replies, the
//! checks the programs make themselves). Nothing is timed but the deadline (60 s a step) and the
//! lazy pirate's server restart, which has its client's three 1 s retries, seconds, to come back.
//!
//! Needs python3 with pyzmq (and numpy for the image): without them the tests are skipped,
//! saying so (`common::skip`); in CI their absence fails the tests.

mod common;
#[path = "../../oxmq/tests/common/running.rs"]
mod running;

use running::Running;
use std::path::PathBuf;
use std::process::Command;

/// The library a pyzmq process runs on.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lib {
    /// This build's libzmq.so, preloaded.
    Oxmq,
    /// pyzmq's bundled libzmq 4.3.5 (nothing preloaded).
    Libzmq,
}

use Lib::{Libzmq, Oxmq};

fn our_lib() -> PathBuf {
    let so = std::env::current_exe().unwrap().parent().unwrap().join("libzmq.so");
    assert!(so.exists(), "no libzmq.so at {}", so.display());
    so
}

fn program(name: &str) -> PathBuf {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../oxmq/tests/pyzmq_programs")).join(name);
    assert!(path.exists(), "no program {}", path.display());
    path
}

/// Says which library the process is on, then runs the program given as if it were run
/// itself (`python3 program.py args...`).
const WRAPPER: &str = r#"
import ctypes, runpy, sys, zmq
assert zmq.zmq_version() == "4.3.5", zmq.zmq_version()
print("library:", "oxmq" if hasattr(ctypes.CDLL(None), "oxmq_ffi_version") else "libzmq", flush=True)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"#;

/// Starts `python3 <name> args...` on `lib` and waits for it to say it is on `lib`.
fn start(name: &str, args: &[&str], lib: Lib) -> Running {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg("-c").arg(WRAPPER).arg(program(name)).args(args);
    match lib {
        Oxmq => cmd.env("LD_PRELOAD", our_lib()),
        Libzmq => cmd.env_remove("LD_PRELOAD"),
    };
    let mut running = Running::start(cmd, &format!("{name} on {lib:?}"));
    let line = running.wait_for("library: ");
    let expected = match lib {
        Oxmq => "library: oxmq",
        Libzmq => "library: libzmq",
    };
    assert_eq!(line, expected, "{}", running.what);
    running
}

/// The word after `label` in `line` (an endpoint a program printed).
fn word_after(line: &str, label: &str) -> String {
    let mut words = line.split(' ').skip_while(|w| *w != label);
    words.nth(1).unwrap_or_else(|| panic!("no word after {label:?} in {line:?}")).to_string()
}

// ---------------------------------------------------------------- hello world

/// hwserver.py answers two hwclient.py requests ("Hello", "World"; a second of "work" each).
fn hello_world(server: Lib, client: Lib) {
    if !common::have_python("zmq") {
        return;
    }
    let mut s = start("hwserver.py", &["2"], server);
    let endpoint = word_after(&s.wait_for("hwserver.py bound to"), "to");
    let out = start("hwclient.py", &[&endpoint, "2"], client).success();
    assert_eq!(out.matches("[ b'World' ]").count(), 2, "{out}");
    let out = s.success();
    assert_eq!(out.matches("Received request: b'Hello'").count(), 2, "{out}");
}

#[test]
fn hello_world_server_on_oxmq_client_on_libzmq() {
    hello_world(Oxmq, Libzmq);
}

#[test]
fn hello_world_server_on_libzmq_client_on_oxmq() {
    hello_world(Libzmq, Oxmq);
}

#[test]
fn hello_world_both_on_oxmq() {
    hello_world(Oxmq, Oxmq);
}

// ---------------------------------------------------------------- weather updates

/// wuserver.py publishes updates for ten zip codes; wuclient.py subscribes to one and asserts
/// every update it gets is of that zip code.
fn weather(server: Lib, client: Lib) {
    if !common::have_python("zmq") {
        return;
    }
    let mut s = start("wuserver.py", &[], server);
    let endpoint = word_after(&s.wait_for("wuserver.py publishing on"), "on");
    let out = start("wuclient.py", &[&endpoint, "10003"], client).success();
    assert!(out.contains("Average temperature for zipcode '10003' was"), "{out}");
    s.stop();
}

#[test]
fn weather_server_on_oxmq_client_on_libzmq() {
    weather(Oxmq, Libzmq);
}

#[test]
fn weather_server_on_libzmq_client_on_oxmq() {
    weather(Libzmq, Oxmq);
}

#[test]
fn weather_both_on_oxmq() {
    weather(Oxmq, Oxmq);
}

// ---------------------------------------------------------------- pipeline

/// taskvent.py sends 20 tasks to two taskwork2.py workers, which send each back to
/// tasksink2.py; the sink checks the batch's start and adds up the workloads, then its KILL
/// on the control PUB stops both workers (zmq.Poller over their PULL and SUB).
fn pipeline(vent_and_sink: Lib, workers: [Lib; 2]) {
    if !common::have_python("zmq") {
        return;
    }
    let mut sink = start("tasksink2.py", &["20"], vent_and_sink);
    let line = sink.wait_for("tasksink2.py bound to");
    let (sink_endpoint, control_endpoint) = (word_after(&line, "to"), word_after(&line, "control"));
    let mut vent = start("taskvent.py", &[&sink_endpoint, "20"], vent_and_sink);
    let vent_endpoint = word_after(&vent.wait_for("taskvent.py bound to"), "to");
    vent.wait_for("Press Enter when the workers are ready");
    let workers: Vec<Running> = workers
        .iter()
        .map(|&lib| {
            let mut w = start("taskwork2.py", &[&vent_endpoint, &sink_endpoint, &control_endpoint], lib);
            w.wait_for("worker ready");
            w
        })
        .collect();
    vent.feed("\n");
    let out = vent.success();
    let line = out.lines().find(|l| l.contains("Total expected cost:")).unwrap_or_else(|| panic!("{out}"));
    let cost = word_after(line, "cost:");
    let out = sink.success();
    assert!(out.contains(&format!("total workload {cost} msec")), "the sink got every task back: {out}");
    // Between them the workers did the 20 tasks (a dot each), then took the KILL.
    let dots: usize = workers
        .into_iter()
        .map(|w| {
            let out = w.success();
            assert!(out.ends_with(" killed"), "{out}");
            out.matches('.').count()
        })
        .sum();
    assert_eq!(dots, 20);
}

#[test]
fn pipeline_ventilator_and_sink_on_oxmq_workers_on_libzmq_and_oxmq() {
    pipeline(Oxmq, [Libzmq, Oxmq]);
}

#[test]
fn pipeline_ventilator_and_sink_on_libzmq_workers_on_oxmq() {
    pipeline(Libzmq, [Oxmq, Oxmq]);
}

#[test]
fn pipeline_all_on_oxmq() {
    pipeline(Oxmq, [Oxmq, Oxmq]);
}

// ---------------------------------------------------------------- broker

/// rrbroker.py (ROUTER and DEALER under zmq.Poller) between two rrclient.py (5 requests
/// each) and two rrworker.py.
fn broker(broker: Lib, peers: [Lib; 2]) {
    if !common::have_python("zmq") {
        return;
    }
    let mut b = start("rrbroker.py", &[], broker);
    let line = b.wait_for("rrbroker.py frontend");
    let (frontend, backend) = (word_after(&line, "frontend"), word_after(&line, "backend"));
    let workers: Vec<Running> = peers.iter().map(|&lib| start("rrworker.py", &[&backend], lib)).collect();
    let clients: Vec<Running> = peers.iter().map(|&lib| start("rrclient.py", &[&frontend, "5"], lib)).collect();
    for client in clients {
        let out = client.success();
        assert_eq!(out.matches("[b'World']").count(), 5, "{out}");
    }
    let served: usize = workers.into_iter().map(|w| w.stop().matches("Received request: b'Hello'").count()).sum();
    assert_eq!(served, 10, "every request reached a worker as the client sent it");
    b.stop();
}

#[test]
fn broker_on_oxmq_between_clients_and_workers_on_libzmq() {
    broker(Oxmq, [Libzmq, Libzmq]);
}

#[test]
fn broker_on_libzmq_between_clients_and_workers_on_oxmq() {
    broker(Libzmq, [Oxmq, Oxmq]);
}

#[test]
fn broker_on_oxmq_between_clients_and_workers_on_oxmq_and_libzmq() {
    broker(Oxmq, [Oxmq, Libzmq]);
}

// ---------------------------------------------------------------- asyncio

/// Note 001's asyncio program: a REP worker and a REQ client as tasks of one event loop, over
/// inproc, three requests; the worker is cancelled at the end. It prints the same on both.
#[test]
fn asyncio_inproc_reqrep_prints_the_same_on_oxmq_as_on_libzmq() {
    if !common::have_python("zmq") {
        return;
    }
    let run = |lib| {
        let out = start("async_inproc.py", &[], lib).success();
        assert_eq!(out.matches("REQ Client (进程内) 收到应答:").count(), 3, "{lib:?}: {out}");
        assert!(out.contains("REP Worker (进程内) 被取消"), "{lib:?}: {out}");
        assert!(out.ends_with("示例结束 ---"), "{lib:?}: {out}");
        out.lines().skip(1).map(str::to_string).collect::<Vec<_>>()
    };
    let (on_oxmq, on_libzmq) = (run(Oxmq), run(Libzmq));
    assert_eq!(on_oxmq, on_libzmq);
}

/// Note 001's asyncio REP worker and REQ clients (three clients, four requests each, gathered
/// in one event loop) across processes over tcp.
fn asyncio_tcp(worker: Lib, clients: Lib) {
    if !common::have_python("zmq") {
        return;
    }
    let mut w = start("async_rep_worker.py", &["tcp://127.0.0.1:*", "12"], worker);
    let endpoint = word_after(&w.wait_for("REP worker bound to"), "to");
    let out = start("async_req_clients.py", &[&endpoint, "3", "4"], clients).success();
    assert!(out.contains("REQ clients: 12 replies received"), "{out}");
    let out = w.success();
    assert!(out.contains("REP worker answered 12 requests"), "{out}");
}

#[test]
fn asyncio_tcp_worker_on_oxmq_clients_on_libzmq() {
    asyncio_tcp(Oxmq, Libzmq);
}

#[test]
fn asyncio_tcp_worker_on_libzmq_clients_on_oxmq() {
    asyncio_tcp(Libzmq, Oxmq);
}

// ---------------------------------------------------------------- image, zero-copy

/// Note 000's image programs: a 640x480x4 uint8 array and a 4 x uint16 bounding box sent in one
/// message with `copy=False`, the server's `255 - image` back the same way; the client checks
/// each reply, the server reads the box with numpy.
fn image(server: Lib, client: Lib) {
    if !common::have_python("zmq, numpy") {
        return;
    }
    let mut s = start("image_server.py", &["3"], server);
    let endpoint = word_after(&s.wait_for("Server started"), "started");
    let out = start("image_client.py", &[&endpoint, "3"], client).success();
    assert_eq!(out.matches("reply ok 1228800").count(), 3, "{out}");
    assert!(out.contains("client done") && !out.contains("Timeout"), "{out}");
    let out = s.success();
    assert_eq!(out.matches("recerved msg size: 1228808").count(), 3, "{out}");
    assert_eq!(out.matches("[1 2 3 4]").count(), 3, "the box as the client sent it: {out}");
}

#[test]
fn image_server_on_oxmq_client_on_libzmq() {
    image(Oxmq, Libzmq);
}

#[test]
fn image_server_on_libzmq_client_on_oxmq() {
    image(Libzmq, Oxmq);
}

#[test]
fn image_both_on_oxmq() {
    image(Oxmq, Oxmq);
}

// ---------------------------------------------------------------- lazy pirate

/// lpclient.py (1 s timeout, 3 tries, a new REQ socket for each) against lpserver.py: the first
/// server "crashes" on the fourth request (exits), a second one is started on the same endpoint
/// once it has, and the client's resent request and the rest are answered by it.
fn lazy_pirate(client: Lib, servers: Lib) {
    if !common::have_python("zmq") {
        return;
    }
    // Crash at cycle 3 (the fourth request), never slow.
    let mut first = start("lpserver.py", &["3", "-1", "tcp://127.0.0.1:*"], servers);
    let endpoint = word_after(&first.wait_for("lpserver.py bound to"), "to");
    let mut c = start("lpclient.py", &[&endpoint, "6"], client);
    c.wait_for("INFO: Server replied OK (b'3')");
    let out = first.success();
    assert!(out.contains("INFO: Simulating a crash"), "{out}");
    let mut second = start("lpserver.py", &["1000", "-1", &endpoint], servers);
    second.wait_for("lpserver.py bound to");
    let out = c.success();
    if !out.contains("all replies received") {
        panic!("client:\n{out}\nsecond server:\n{}", second.stop());
    }
    for n in 1..=6 {
        assert!(out.contains(&format!("INFO: Server replied OK (b'{n}')")), "{out}");
    }
    assert!(out.contains("WARNING: No response from server"), "{out}");
    assert!(out.contains("INFO: Resending (b'4')"), "{out}");
    assert!(out.contains("all replies received") && !out.contains("Malformed"), "{out}");
    let out = second.stop();
    assert!(out.contains("INFO: Normal request (b'4')") && out.contains("INFO: Normal request (b'6')"), "{out}");
}

#[test]
fn lazy_pirate_client_on_oxmq_servers_on_libzmq() {
    lazy_pirate(Oxmq, Libzmq);
}

#[test]
fn lazy_pirate_client_on_libzmq_servers_on_oxmq() {
    lazy_pirate(Libzmq, Oxmq);
}

#[test]
fn lazy_pirate_both_on_oxmq() {
    lazy_pirate(Oxmq, Oxmq);
}

// ---------------------------------------------------------------- PAIR over ipc

/// Note 000's PAIR processes A (binds, sends first) and B (connects, answers) over an abstract
/// ipc name.
fn pair_ipc(a: Lib, b: Lib) {
    if !common::have_python("zmq") {
        return;
    }
    let endpoint = format!("ipc://@oxmq-ffi-scenarios-pair-{}-{a:?}-{b:?}", std::process::id());
    let mut pa = start("pair_a.py", &[&endpoint], a);
    pa.wait_for("A bound");
    let out = start("pair_b.py", &[&endpoint], b).success();
    assert!(out.contains("B received b'Hello from A'"), "{out}");
    let out = pa.success();
    assert!(out.contains("A received b'Hello from B'"), "{out}");
}

#[test]
fn pair_ipc_a_on_oxmq_b_on_libzmq() {
    pair_ipc(Oxmq, Libzmq);
}

#[test]
fn pair_ipc_a_on_libzmq_b_on_oxmq() {
    pair_ipc(Libzmq, Oxmq);
}

// ---------------------------------------------------------------- shutdown

/// The shutdown program (LINGER on close and term, a blocked receive woken by term) has no
/// peer: it runs on each library and the two must behave alike.
#[test]
fn shutdown_behaves_on_oxmq_as_on_libzmq() {
    if !common::have_python("zmq") {
        return;
    }
    // A port nobody listens on, for the PUSH whose messages linger.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    for lib in [Oxmq, Libzmq] {
        let out = start("shutdown.py", &[&endpoint], lib).success();
        let ms = |linger: &str| -> u64 {
            let line = out.lines().find(|l| l.starts_with(&format!("LINGER {linger} ms"))).expect(&out);
            word_after(line, "after").parse().expect(line)
        };
        // LINGER 300: term waits for messages that can never be delivered, 300 ms; LINGER 0
        // drops them (the bound is only "well before forever").
        assert!(ms("300") >= 290, "{lib:?}: {out}");
        assert!(ms("0") < 5000, "{lib:?}: {out}");
        assert!(out.contains("worker: recv woken by term, closing its socket"), "{lib:?}: {out}");
        assert!(out.ends_with("shutdown: done"), "{lib:?}: {out}");
    }
}

// ---------------------------------------------------------------- CURVE, ironhouse

/// The Z85 public key of a Z85 secret key (pyzmq's zmq.curve_public, on its own libzmq).
fn curve_public(secret: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys, zmq; print(zmq.curve_public(sys.argv[1].encode()).decode())", secret])
        .env_remove("LD_PRELOAD")
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// pyzmq's ironhouse: a CURVE REP server whose ThreadAuthenticator (a ZAP handler on an inproc
/// REP, in a thread of the server's process) admits the client certificates of a directory. A
/// client with a key of its own making is refused (no reply within its RCVTIMEO); the known
/// client is served, and the server sees its key as the messages' User-Id.
fn ironhouse(server: Lib, client: Lib) {
    if !common::have_python("zmq") {
        return;
    }
    let mut s = start("ironhouse_server.py", &["tcp://127.0.0.1:*", "2"], server);
    let line = s.wait_for("bound to");
    let (server_key, client_secret, endpoint) =
        (word_after(&line, "public"), word_after(&line, "secret"), word_after(&line, "to"));
    let (status, out) = start("ironhouse_client.py", &[&endpoint, &server_key, "1"], client).finish();
    assert_eq!(status.code(), Some(1), "an unknown client is refused: {out}");
    assert!(out.contains("no reply: refused"), "{out}");
    let client_public = curve_public(&client_secret);
    let args = [&endpoint[..], &server_key, "2", &client_public, &client_secret];
    let out = start("ironhouse_client.py", &args, client).success();
    assert_eq!(out.matches("World").count(), 2, "{out}");
    let out = s.success();
    assert_eq!(out.matches(&format!("Received Hello from {client_public}")).count(), 2, "{out}");
    assert!(out.contains("ironhouse server done"), "{out}");
}

#[test]
fn ironhouse_server_on_oxmq_client_on_libzmq() {
    ironhouse(Oxmq, Libzmq);
}

#[test]
fn ironhouse_server_on_libzmq_client_on_oxmq() {
    ironhouse(Libzmq, Oxmq);
}
