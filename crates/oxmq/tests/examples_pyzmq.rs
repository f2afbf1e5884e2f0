//! The examples against pyzmq programs of the scenarios they show: each example pairs with its
//! Python counterpart, in both directions where the scenario has two sides. The counterparts
//! are the classic ZeroMQ guide's Python programs (hwserver.py, wuserver.py, taskvent.py,
//! rrbroker.py, lpclient.py, ...) and the programs of the notes in `../shared/seeds/` (the
//! image and PAIR programs of note 000), run as written but for the endpoint (a free port or
//! an abstract ipc name instead of a fixed one), a bounded loop instead of `while True` where
//! the program must end, shorter sleeps where the guide's would only slow the test, and the
//! slips the seeds' README lists: every such change is marked `# test:` in the programs, which
//! live in `tests/pyzmq_programs/` (crates/oxmq-ffi/tests/scenarios.rs runs them on oxmq's
//! libzmq.so too). Some add a check (`assert`, a total printed) so that a format the example got wrong fails
//! the test instead of passing unnoticed.
//!
//! One example has no peer to pair with: `shutdown` (its PUSH needs nobody listening, its
//! blocked PULL is inproc) runs beside a pyzmq program of the same scenario instead, and the two
//! must behave alike. `async_reqrep` runs its server and clients in one process over inproc, as
//! note 001's asyncio program does; with its `server` or `clients` role it pairs with that
//! program's asyncio REP worker or REQ client over tcp.
//!
//! Needs python3 with pyzmq and numpy: without them the tests are skipped, saying so; in CI
//! (`CI` set), where .ci/run installs them, their absence fails the tests instead.

mod build_examples;
mod common;
#[path = "common/running.rs"]
mod running;

use running::Running;
use std::path::PathBuf;
use std::process::Command;

/// Whether python3 can import pyzmq and numpy (see the module's doc); if not, the test is
/// skipped (`common::skip`, which records it in skipped.txt).
fn have_python(test: &str) -> bool {
    let ok = Command::new("python3").args(["-c", "import zmq, numpy"]).status().is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "{test}: pyzmq or numpy is missing in CI");
        common::skip("python3 with pyzmq and numpy is not installed (pip install pyzmq numpy)");
    }
    ok
}

/// The example binary `name`, built on first use.
fn example(name: &str) -> PathBuf {
    build_examples::examples_dir().join(name)
}

fn python(script: &str, args: &[&str], what: &str) -> Running {
    start(python_command(script, args), what, None)
}

/// Start `cmd`, with `input` on its stdin if given; its stdin then closed (read to its end).
fn start(cmd: Command, what: &str, input: Option<&str>) -> Running {
    let mut running = Running::start(cmd, what);
    if let Some(input) = input {
        running.feed(input);
    }
    running.close_stdin();
    running
}

/// A python script with `input` on its stdin.
fn python_fed(script: &str, args: &[&str], what: &str, input: &str) -> Running {
    start(python_command(script, args), what, Some(input))
}

fn python_command(script: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg("-c").arg(script).args(args);
    cmd
}

/// The word after `label` in `line` (an endpoint a program printed).
fn word_after(line: &str, label: &str) -> String {
    let mut words = line.split(' ').skip_while(|w| *w != label);
    words.nth(1).unwrap_or_else(|| panic!("no word after {label:?} in {line:?}")).to_string()
}

fn rust_example(name: &str, args: &[&str]) -> Running {
    let mut cmd = Command::new(example(name));
    cmd.args(args);
    start(cmd, name, None)
}

/// 000's `process_server`.
const NOTE_IMAGE_SERVER: &str = include_str!("pyzmq_programs/image_server.py");

/// 000's `process_client`.
const NOTE_IMAGE_CLIENT: &str = include_str!("pyzmq_programs/image_client.py");

#[test]
fn image_server_serves_the_notes_python_client() {
    if !have_python("image_server_serves_the_notes_python_client") {
        return;
    }
    let mut server = rust_example("image_server", &["tcp://127.0.0.1:*", "3"]);
    let endpoint = server.wait_for("image_server listening on").rsplit(' ').next().unwrap().to_string();
    let client = python(NOTE_IMAGE_CLIENT, &[&endpoint, "3"], "the notes' image client").success();
    assert_eq!(client.matches("reply ok 1228800").count(), 3, "{client}");
    assert!(client.contains("client done") && !client.contains("Timeout"), "{client}");
    let out = server.success();
    assert_eq!(out.matches("received msg size: 1228808").count(), 3, "{out}");
    assert!(out.contains("[1, 2, 3, 4]"), "the box as the client sent it: {out}");
}

#[test]
fn image_client_talks_to_the_notes_python_server() {
    if !have_python("image_client_talks_to_the_notes_python_server") {
        return;
    }
    let mut server = python(NOTE_IMAGE_SERVER, &["3"], "the notes' image server");
    let endpoint = server.wait_for("Server started").rsplit(' ').next().unwrap().to_string();
    let client = rust_example("image_client", &[&endpoint, "3"]).success();
    assert!(client.contains("image_client: 3 round trips verified"), "{client}");
    let out = server.success();
    assert_eq!(out.matches("recerved msg size: 1228808").count(), 3, "{out}");
    assert!(out.contains("[1 2 3 4]"), "the box as numpy reads it: {out}");
}

// ---------------------------------------------------------------- hello world

/// The guide's hwserver.py.
const HWSERVER_PY: &str = include_str!("pyzmq_programs/hwserver.py");

/// The guide's hwclient.py.
const HWCLIENT_PY: &str = include_str!("pyzmq_programs/hwclient.py");

#[test]
fn hwserver_serves_the_python_hwclient() {
    if !have_python("hwserver_serves_the_python_hwclient") {
        return;
    }
    let mut server = rust_example("hwserver", &["tcp://127.0.0.1:*", "3"]);
    let endpoint = word_after(&server.wait_for("hwserver listening on"), "on");
    let client = python(HWCLIENT_PY, &[&endpoint, "3"], "hwclient.py").success();
    assert_eq!(client.matches("[ b'World' ]").count(), 3, "{client}");
    let out = server.success();
    assert_eq!(out.matches("Received request: Hello").count(), 3, "{out}");
}

#[test]
fn hwclient_talks_to_the_python_hwserver() {
    if !have_python("hwclient_talks_to_the_python_hwserver") {
        return;
    }
    let mut server = python(HWSERVER_PY, &["2"], "hwserver.py");
    let endpoint = word_after(&server.wait_for("hwserver.py bound to"), "to");
    let client = rust_example("hwclient", &[&endpoint, "2"]).success();
    assert_eq!(client.matches(": World").count(), 2, "{client}");
    let out = server.success();
    assert_eq!(out.matches("Received request: b'Hello'").count(), 2, "{out}");
}

// ---------------------------------------------------------------- weather updates

/// The guide's wuserver.py.
const WUSERVER_PY: &str = include_str!("pyzmq_programs/wuserver.py");

/// The guide's wuclient.py.
const WUCLIENT_PY: &str = include_str!("pyzmq_programs/wuclient.py");

#[test]
fn wuserver_publishes_to_the_python_wuclient() {
    if !have_python("wuserver_publishes_to_the_python_wuclient") {
        return;
    }
    // Ten zip codes, 10000 to 10009, until killed.
    let mut server = rust_example("wuserver", &["tcp://127.0.0.1:*", "10000-10009"]);
    let endpoint = word_after(&server.wait_for("wuserver publishing on"), "on");
    let client = python(WUCLIENT_PY, &[&endpoint], "wuclient.py").success();
    assert!(client.contains("Average temperature for zipcode '10001' was"), "{client}");
}

#[test]
fn wuclient_subscribes_to_the_python_wuserver() {
    if !have_python("wuclient_subscribes_to_the_python_wuserver") {
        return;
    }
    let mut server = python(WUSERVER_PY, &[], "wuserver.py");
    let endpoint = word_after(&server.wait_for("wuserver.py publishing on"), "on");
    // wuclient fails on an update that is not "<zipcode> <temperature> <relhumidity>".
    let client = rust_example("wuclient", &[&endpoint, "10003", "20"]).success();
    assert!(client.contains("Average temperature for zipcode '10003' was"), "{client}");
    assert!(client.contains("over 20 updates"), "{client}");
}

// ---------------------------------------------------------------- pipeline

/// The guide's taskvent.py.
const TASKVENT_PY: &str = include_str!("pyzmq_programs/taskvent.py");

/// The guide's taskwork2.py (the worker that stops on the sink's kill signal).
const TASKWORK2_PY: &str = include_str!("pyzmq_programs/taskwork2.py");

/// The guide's tasksink2.py (the sink that sends the kill signal).
const TASKSINK2_PY: &str = include_str!("pyzmq_programs/tasksink2.py");

/// The total workload a ventilator printed ("Total expected cost: 1234 msec").
fn expected_cost(vent_output: &str) -> String {
    let line = vent_output.lines().find(|l| l.contains("Total expected cost:"));
    word_after(line.unwrap_or_else(|| panic!("no total cost in:\n{vent_output}")), "cost:")
}

#[test]
fn taskvent_and_tasksink_drive_python_workers() {
    if !have_python("taskvent_and_tasksink_drive_python_workers") {
        return;
    }
    let mut sink = rust_example("tasksink", &["tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "20"]);
    let line = sink.wait_for("tasksink listening on");
    let (sink_endpoint, control_endpoint) = (word_after(&line, "on"), word_after(&line, "control"));
    // 20 tasks of up to 30 ms, once both workers are connected.
    let mut vent = rust_example("taskvent", &["tcp://127.0.0.1:*", &sink_endpoint, "20", "2", "30"]);
    let vent_endpoint = word_after(&vent.wait_for("taskvent listening on"), "on");
    let workers: Vec<Running> = (0..2)
        .map(|_| python(TASKWORK2_PY, &[&vent_endpoint, &sink_endpoint, &control_endpoint], "taskwork2.py"))
        .collect();

    let out = vent.success();
    let cost = expected_cost(&out);
    // The workers sent back each task, its workload: the sink adds them up.
    let out = sink.success();
    assert!(out.contains(&format!("20 results received, total workload {cost} msec")), "{out}");
    // The sink's KILL stopped both; between them they did the 20 tasks (a dot each).
    let dots: usize = workers
        .into_iter()
        .map(|w| {
            let out = w.success();
            assert!(out.contains(" killed"), "{out}");
            out.matches('.').count()
        })
        .sum();
    assert_eq!(dots, 20);
}

#[test]
fn taskwork_works_for_the_python_ventilator_and_sink() {
    if !have_python("taskwork_works_for_the_python_ventilator_and_sink") {
        return;
    }
    let mut sink = python(TASKSINK2_PY, &["20"], "tasksink2.py");
    let line = sink.wait_for("tasksink2.py bound to");
    let (sink_endpoint, control_endpoint) = (word_after(&line, "to"), word_after(&line, "control"));
    let mut vent = python_fed(TASKVENT_PY, &[&sink_endpoint, "20"], "taskvent.py", "\n");
    let vent_endpoint = word_after(&vent.wait_for("taskvent.py bound to"), "to");
    let workers: Vec<Running> = ["w1", "w2"]
        .iter()
        .map(|name| {
            let mut w = rust_example("taskwork", &[&vent_endpoint, &sink_endpoint, &control_endpoint, name]);
            w.wait_for("ready");
            w
        })
        .collect();

    let out = vent.success();
    let cost = expected_cost(&out);
    // The sink checks that the batch starts with "0" and that each result is a workload.
    let out = sink.success();
    assert!(out.contains(&format!("total workload {cost} msec")), "{out}");
    // Its KILL stopped both workers; between them they did the 20 tasks.
    let done: u32 = workers
        .into_iter()
        .map(|w| {
            let out = w.success();
            let line = out.lines().find(|l| l.contains("killed after")).unwrap_or_else(|| panic!("{out}"));
            word_after(line, "after").parse::<u32>().expect(line)
        })
        .sum();
    assert_eq!(done, 20);
}

// ---------------------------------------------------------------- broker

/// The guide's rrclient.py.
const RRCLIENT_PY: &str = include_str!("pyzmq_programs/rrclient.py");

/// The guide's rrworker.py.
const RRWORKER_PY: &str = include_str!("pyzmq_programs/rrworker.py");

/// The guide's rrbroker.py.
const RRBROKER_PY: &str = include_str!("pyzmq_programs/rrbroker.py");

#[test]
fn rrbroker_between_python_clients_and_workers() {
    if !have_python("rrbroker_between_python_clients_and_workers") {
        return;
    }
    let mut broker = rust_example("rrbroker", &["tcp://127.0.0.1:*", "tcp://127.0.0.1:*"]);
    let line = broker.wait_for("rrbroker frontend");
    let (frontend, backend) = (word_after(&line, "frontend"), word_after(&line, "backend"));
    let workers: Vec<Running> = (0..2).map(|_| python(RRWORKER_PY, &[&backend], "rrworker.py")).collect();
    let clients: Vec<Running> = (0..2).map(|_| python(RRCLIENT_PY, &[&frontend, "5"], "rrclient.py")).collect();
    for client in clients {
        let out = client.success();
        assert_eq!(out.matches("[b'World']").count(), 5, "{out}");
    }
    // Every request reached a worker as the client sent it.
    let served: usize = workers.into_iter().map(|w| w.stop().matches("Received request: b'Hello'").count()).sum();
    assert_eq!(served, 10);
}

#[test]
fn rrclient_and_rrworker_through_the_python_rrbroker() {
    if !have_python("rrclient_and_rrworker_through_the_python_rrbroker") {
        return;
    }
    let mut broker = python(RRBROKER_PY, &[], "rrbroker.py");
    let line = broker.wait_for("rrbroker.py frontend");
    let (frontend, backend) = (word_after(&line, "frontend"), word_after(&line, "backend"));
    let workers: Vec<Running> = ["w1", "w2"].iter().map(|name| rust_example("rrworker", &[&backend, name])).collect();
    let clients: Vec<Running> = (0..2).map(|_| rust_example("rrclient", &[&frontend, "5"])).collect();
    for client in clients {
        let out = client.success();
        assert_eq!(out.matches("[World]").count(), 5, "{out}");
    }
    let served: usize = workers.into_iter().map(|w| w.stop().matches(": Received request: Hello").count()).sum();
    assert_eq!(served, 10);
}

// ---------------------------------------------------------------- PAIR

/// Note 000's PAIR, process A (the binding side).
const NOTE_PAIR_A: &str = include_str!("pyzmq_programs/pair_a.py");

/// Note 000's PAIR, process B (the connecting side).
const NOTE_PAIR_B: &str = include_str!("pyzmq_programs/pair_b.py");

fn pair_endpoint(who: &str) -> String {
    format!("ipc://@oxmq-pyzmq-pair-{who}-{}", std::process::id())
}

#[test]
fn pair_ipc_binds_for_the_notes_python_process_b() {
    if !have_python("pair_ipc_binds_for_the_notes_python_process_b") {
        return;
    }
    let endpoint = pair_endpoint("b");
    let mut a = rust_example("pair_ipc", &["--role", "bind", &endpoint]);
    a.wait_for("pair bound to");
    let b = python(NOTE_PAIR_B, &[&endpoint], "the note's PAIR process B").success();
    assert!(b.contains("B received b'Hello from A'"), "{b}");
    let a = a.success();
    assert!(a.contains("received: Hello from B"), "{a}");
}

#[test]
fn pair_ipc_connects_to_the_notes_python_process_a() {
    if !have_python("pair_ipc_connects_to_the_notes_python_process_a") {
        return;
    }
    let endpoint = pair_endpoint("a");
    let mut a = python(NOTE_PAIR_A, &[&endpoint], "the note's PAIR process A");
    a.wait_for("A bound");
    let b = rust_example("pair_ipc", &["--role", "connect", &endpoint]).success();
    assert!(b.contains("received: Hello from A"), "{b}");
    let a = a.success();
    assert!(a.contains("A received b'Hello from B'"), "{a}");
}

// ---------------------------------------------------------------- lazy pirate

/// The guide's lpclient.py.
const LPCLIENT_PY: &str = include_str!("pyzmq_programs/lpclient.py");

/// The guide's lpserver.py.
const LPSERVER_PY: &str = include_str!("pyzmq_programs/lpserver.py");

#[test]
fn lpclient_retries_against_the_python_lpserver() {
    if !have_python("lpclient_retries_against_the_python_lpserver") {
        return;
    }
    // Overloaded at the third request (2 s, twice the client's patience), gone at cycle 6.
    let mut server = python(LPSERVER_PY, &["6", "2"], "lpserver.py");
    let endpoint = word_after(&server.wait_for("lpserver.py bound to"), "to");
    let (status, out) = rust_example("lpclient", &[&endpoint, "10", "--timeout", "1000", "--retries", "3"]).finish();
    // The overloaded request was resent and answered; the crash left the client to give up.
    for n in 1..=3 {
        assert!(out.contains(&format!("I: server replied OK ({n})")), "{out}");
    }
    assert!(out.contains("W: no response from server, retrying (3)"), "{out}");
    assert!(out.contains("E: server seems to be offline, abandoning"), "{out}");
    assert!(!out.contains("malformed"), "{out}");
    assert_eq!(status.code(), Some(1), "lpclient gives up with 1: {out}");
    let out = server.success();
    assert!(out.contains("INFO: Simulating CPU overload") && out.contains("INFO: Simulating a crash"), "{out}");
    assert!(out.contains("INFO: Normal request (b'1')"), "the requests as lpclient.py sends them: {out}");
}

#[test]
fn lpserver_answers_the_python_lpclient() {
    if !have_python("lpserver_answers_the_python_lpclient") {
        return;
    }
    // Every third request is lost with the server's socket ("a crash"), and answered when resent.
    let mut server = rust_example("lpserver", &["tcp://127.0.0.1:*", "--drop-every", "3", "--slow-every", "0"]);
    let endpoint = word_after(&server.wait_for("lpserver listening on"), "on");
    let out = python(LPCLIENT_PY, &[&endpoint, "5"], "lpclient.py").success();
    assert_eq!(out.matches("INFO: Server replied OK").count(), 5, "{out}");
    assert!(out.contains("WARNING: No response from server"), "{out}");
    assert!(out.contains("all replies received") && !out.contains("Malformed"), "{out}");
    let out = server.stop();
    assert!(out.contains("I: simulating a crash"), "{out}");
}

// ---------------------------------------------------------------- reconnection

/// The guide's hwserver.py, binding the endpoint it is given, so that it can be restarted on
/// the same one.
const HWSERVER_RESTARTABLE_PY: &str = include_str!("pyzmq_programs/hwserver_restartable.py");

#[test]
fn reconnect_client_keeps_working_across_a_python_hwserver_restart() {
    if !have_python("reconnect_client_keeps_working_across_a_python_hwserver_restart") {
        return;
    }
    let mut server = python(HWSERVER_RESTARTABLE_PY, &["tcp://127.0.0.1:*"], "hwserver.py");
    let endpoint = word_after(&server.wait_for("hwserver.py bound to"), "to");
    let mut client = rust_example("reconnect_client", &[&endpoint, "10", "100"]);
    // Three requests served, then the server is killed mid-run (the fourth may be lost with it:
    // the client resends it after RCVTIMEO), and started again on the same endpoint.
    for _ in 0..3 {
        server.wait_for("Received request: b'Hello'");
    }
    server.stop();
    client.wait_for("event: DISCONNECTED");
    let mut server = python(HWSERVER_RESTARTABLE_PY, &[&endpoint], "the restarted hwserver.py");
    server.wait_for("hwserver.py bound to");
    let out = client.success();
    assert!(out.contains("reconnect_client: all 10 replies received"), "{out}");
    assert_eq!(out.matches(": World (").count(), 10, "every reply is libzmq's World: {out}");
    assert_eq!(out.matches("event: HANDSHAKE_SUCCEEDED").count(), 2, "one per server: {out}");
    let out = server.stop();
    assert!(out.contains("Received request: b'Hello'"), "the restarted server served the rest: {out}");
}

// ---------------------------------------------------------------- shutdown, side by side

/// The shutdown example's scenario as a pyzmq program, after the notes' way of ending (000:
/// `socket.close()` then `context.term()`; 003: LINGER 0 empties the queue on close). It has
/// no peer to pair with: part 1 needs nobody listening, part 2 is inproc. So it runs beside the
/// example instead, on libzmq, and the two must behave alike.
const SHUTDOWN_PY: &str = include_str!("pyzmq_programs/shutdown.py");

#[test]
fn shutdown_behaves_as_the_same_program_on_libzmq() {
    if !have_python("shutdown_behaves_as_the_same_program_on_libzmq") {
        return;
    }
    // A port nobody listens on, for the PUSH whose messages linger.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let libzmq = python(SHUTDOWN_PY, &[&endpoint], "shutdown.py").success();
    let oxmq = rust_example("shutdown", &[&endpoint]).success();
    for (who, out) in [("libzmq", &libzmq), ("oxmq", &oxmq)] {
        let ms = |linger: &str| -> u64 {
            let line = out.lines().find(|l| l.starts_with(&format!("LINGER {linger} ms"))).expect(out);
            word_after(line, "after").parse().expect(line)
        };
        // LINGER 300: term waits for messages that can never be delivered, 300 ms; LINGER 0
        // drops them (the bound is only "well before forever").
        assert!(ms("300") >= 290, "{who}: {out}");
        assert!(ms("0") < 5000, "{who}: {out}");
        assert!(out.contains("worker: recv woken by term, closing its socket"), "{who}: {out}");
        assert!(out.contains("main: term returned after") && out.ends_with("shutdown: done"), "{who}: {out}");
    }
}

// ---------------------------------------------------------------- async REQ/REP

/// Note 001's asyncio REP worker (`async_rep_worker`), bound to the test's endpoint instead of
/// inproc (inproc cannot cross processes), answering the example's requests (`hello C.N`,
/// upper-cased back) a bounded number of times instead of `while True`.
const NOTE_ASYNC_REP_WORKER: &str = include_str!("pyzmq_programs/async_rep_worker.py");

/// Note 001's asyncio REQ client (`async_req_client`), several of them as the example has,
/// each checking its replies.
const NOTE_ASYNC_REQ_CLIENTS: &str = include_str!("pyzmq_programs/async_req_clients.py");

#[test]
fn async_reqrep_server_answers_python_asyncio_clients() {
    if !have_python("async_reqrep_server_answers_python_asyncio_clients") {
        return;
    }
    let mut server = rust_example("async_reqrep", &["tcp://127.0.0.1:*", "3", "4", "server"]);
    let endpoint = word_after(&server.wait_for("server bound to"), "to");
    let clients = python(NOTE_ASYNC_REQ_CLIENTS, &[&endpoint, "3", "4"], "asyncio REQ clients").success();
    assert!(clients.contains("REQ clients: 12 replies received"), "{clients}");
    let out = server.success();
    assert!(out.contains("async_reqrep: 3 clients, 12 requests answered"), "{out}");
}

#[test]
fn async_reqrep_clients_talk_to_a_python_asyncio_worker() {
    if !have_python("async_reqrep_clients_talk_to_a_python_asyncio_worker") {
        return;
    }
    let mut worker = python(NOTE_ASYNC_REP_WORKER, &["tcp://127.0.0.1:*", "12"], "asyncio REP worker");
    let endpoint = word_after(&worker.wait_for("REP worker bound to"), "to");
    let out = rust_example("async_reqrep", &[&endpoint, "3", "4", "clients"]).success();
    assert!(out.contains("async_reqrep: 3 clients, 12 replies received"), "{out}");
    let out = worker.success();
    assert!(out.contains("REP worker answered 12 requests"), "{out}");
}

// ---------------------------------------------------------------- CURVE, ironhouse

/// pyzmq's examples/security/ironhouse.py server side: certificates made with
/// zmq.auth.create_certificates and sorted into public and private directories (as its
/// generate_certificates.py does), a ThreadAuthenticator admitting the client certificates
/// of the public directory, a CURVE REP socket. It answers "World" to the example's "Hello"
/// a bounded number of times.
const IRONHOUSE_SERVER_PY: &str = include_str!("pyzmq_programs/ironhouse_server.py");

/// The ironhouse client side: its own key pair, the server's public key pinned; sends
/// "Hello" and reads "World" as the example does.
const IRONHOUSE_CLIENT_PY: &str = include_str!("pyzmq_programs/ironhouse_client.py");

#[test]
fn curve_client_talks_to_the_python_ironhouse_server() {
    if !have_python("curve_client_talks_to_the_python_ironhouse_server") {
        return;
    }
    let mut server = python(IRONHOUSE_SERVER_PY, &["tcp://127.0.0.1:*", "3"], "ironhouse server");
    let line = server.wait_for("bound to");
    let (server_key, client_secret, endpoint) =
        (word_after(&line, "public"), word_after(&line, "secret"), word_after(&line, "to"));
    let out = rust_example("curve_client", &[&endpoint, &server_key, "3", &client_secret]).success();
    assert!(out.contains("curve_client admitted by"), "{out}");
    assert_eq!(out.matches(": World").count(), 3, "{out}");
    let client_public = word_after(out.lines().next().unwrap_or_default(), "key");
    let out = server.success();
    // pyzmq's authenticator names the client by its key: the one the oxmq client proved.
    assert_eq!(out.matches(&format!("Received Hello from {client_public}")).count(), 3, "{out}");
    // A client pinning the same server with a key of its own making is refused.
    let mut server = python(IRONHOUSE_SERVER_PY, &["tcp://127.0.0.1:*", "1"], "ironhouse server");
    let line = server.wait_for("bound to");
    let (server_key, endpoint) = (word_after(&line, "public"), word_after(&line, "to"));
    let (status, out) = rust_example("curve_client", &[&endpoint, &server_key, "1"]).finish();
    assert_eq!(status.code(), Some(1), "{out}");
    drop(server);
}

#[test]
fn curve_server_serves_a_python_ironhouse_client_it_knows() {
    if !have_python("curve_server_serves_a_python_ironhouse_client_it_knows") {
        return;
    }
    let (client_public, client_secret) = oxmq::curve_keypair().unwrap();
    let mut server = rust_example("curve_server", &["tcp://127.0.0.1:*", "2", &client_public]);
    let server_key = word_after(&server.wait_for("curve_server public key"), "key");
    let endpoint = word_after(&server.wait_for("curve_server listening on"), "on");
    // A client the server does not know gets no reply (first, while the server runs).
    let (status, out) = python(IRONHOUSE_CLIENT_PY, &[&endpoint, &server_key, "1"], "unknown client").finish();
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("no reply: refused"), "{out}");
    let args = [&endpoint[..], &server_key, "2", &client_public, &client_secret];
    let out = python(IRONHOUSE_CLIENT_PY, &args, "ironhouse client").success();
    assert_eq!(out.matches("Received reply").count(), 2, "{out}");
    assert!(out.lines().all(|l| !l.starts_with("Received reply") || l.ends_with(" World")), "{out}");
    let out = server.success();
    // Only the known client's requests arrived (the server ran all along: it ends after them).
    assert_eq!(out.matches("Received Hello from").count(), 2, "{out}");
    assert_eq!(out.matches(&format!("Received Hello from {client_public}")).count(), 2, "{out}");
}
