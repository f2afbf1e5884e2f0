//! Runs the examples (`crates/oxmq/examples/*.rs`) as a user would: the real example
//! binaries, as separate processes talking over tcp and ipc, with the arguments each one takes
//! (servers bind `tcp://127.0.0.1:*` and print the endpoint they got, which the test hands to
//! the clients, so no port is guessed). Each test checks exit statuses and the key lines of the
//! output, and kills whatever is still running after a generous deadline.
//!
//! Where the binaries come from: cargo puts examples in `<target>/<profile>/examples/`, next to
//! the `deps/` directory holding this test binary. A plain `cargo test -p oxmq` builds them
//! (to check they compile), but `cargo test -p oxmq --test examples` does not, so the first
//! test to need them runs `cargo build --examples` once, for the same profile and target
//! directory as this test binary: a no-op taking a fraction of a second when they are up to
//! date, and never a stale binary after an example was edited. (Cargo holds no lock while
//! tests run, so this nested build does not wait on the outer one.)

mod build_examples;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use build_examples::examples_dir;
use oxmq::{Bytes, Context, Req};

/// How long any one step may take before the test gives up (kills the processes and fails):
/// far more than any of them needs, even on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------- running the examples

/// A running example, its output collected line by line (stdout and stderr, in arrival
/// order). Killed when dropped, so that a failing test leaves nothing behind.
struct Example {
    name: String,
    child: Child,
    output: Arc<(Mutex<Vec<String>>, Condvar)>,
    readers: Vec<JoinHandle<()>>,
}

impl Example {
    fn start(name: &str, args: &[&str]) -> Example {
        let path = examples_dir().join(name);
        let mut child = Command::new(&path)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        let output = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let readers = vec![
            read_lines(child.stdout.take().unwrap(), output.clone(), ""),
            read_lines(child.stderr.take().unwrap(), output.clone(), "stderr: "),
        ];
        Example { name: format!("{name} {}", args.join(" ")), child, output, readers }
    }

    /// Everything it printed so far.
    fn output(&self) -> String {
        self.output.0.lock().unwrap().join("\n")
    }

    /// Wait until it prints a line containing `text`; returns that line.
    fn wait_for_line(&self, text: &str) -> String {
        let (lines, changed) = &*self.output;
        let deadline = Instant::now() + DEADLINE;
        let mut lines = lines.lock().unwrap();
        loop {
            if let Some(line) = lines.iter().find(|l| l.contains(text)) {
                return line.clone();
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "`{}` did not print {text:?} within {DEADLINE:?}; it printed:\n{}",
                self.name,
                lines.join("\n")
            );
            lines = changed.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }

    /// The endpoint at the end of the line it prints containing `text` (e.g.
    /// "hwserver listening on tcp://127.0.0.1:41234").
    fn endpoint(&self, text: &str) -> String {
        self.wait_for_line(text).rsplit(' ').next().unwrap().to_string()
    }

    /// Wait for it to exit (killing it after [`DEADLINE`]); returns its whole output.
    fn wait(&mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("`{}` did not exit within {DEADLINE:?}; it printed:\n{}", self.name, self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        (status, self.output())
    }

    /// Wait for it to exit with status 0; returns its whole output.
    fn success(&mut self) -> String {
        let (status, output) = self.wait();
        assert!(status.success(), "`{}` failed ({status}); it printed:\n{output}", self.name);
        output
    }

    /// SIGKILL, and reap it: its sockets are closed once this returns.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read_lines(
    from: impl Read + Send + 'static,
    to: Arc<(Mutex<Vec<String>>, Condvar)>,
    tag: &'static str,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            let (lines, changed) = &*to;
            lines.lock().unwrap().push(format!("{tag}{line}"));
            changed.notify_all();
        }
    })
}

fn count(output: &str, text: &str) -> usize {
    output.lines().filter(|l| l.contains(text)).count()
}

// ---------------------------------------------------------------- 1. hello world

#[test]
fn hello_world_req_rep() {
    let mut server = Example::start("hwserver", &["tcp://127.0.0.1:*", "5"]);
    let endpoint = server.endpoint("hwserver listening on");
    let out = Example::start("hwclient", &[&endpoint, "5"]).success();
    assert_eq!(count(&out, ": World"), 5, "{out}");
    assert!(out.contains("Received reply 4: World"), "{out}");
    let out = server.success();
    assert_eq!(count(&out, "Received request: Hello"), 5, "{out}");
    assert!(out.contains("hwserver done after 5 requests"), "{out}");
}

// ---------------------------------------------------------------- 2. weather updates

#[test]
fn weather_updates_pub_sub_with_a_topic_filter() {
    // Ten zip codes, so that one in ten updates is for the client's.
    let _server = Example::start("wuserver", &["tcp://127.0.0.1:*", "10000-10009"]);
    let endpoint = _server.endpoint("wuserver publishing on");
    // The client checks that every update it gets is for its zip code.
    let out = Example::start("wuclient", &[&endpoint, "10003", "20"]).success();
    assert!(out.contains("Average temperature for zipcode '10003' was"), "{out}");
    assert!(out.contains("over 20 updates"), "{out}");
}

// ---------------------------------------------------------------- 3. pipeline

#[test]
fn pipeline_push_pull_ventilator_workers_sink() {
    let mut sink = Example::start("tasksink", &["tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "30"]);
    let line = sink.wait_for_line("tasksink listening on");
    let words: Vec<&str> = line.split(' ').collect();
    let (sink_endpoint, control_endpoint) = (words[3].to_string(), words[5].to_string());
    // 30 tasks of up to 20 ms, once 3 workers are connected.
    let mut vent = Example::start("taskvent", &["tcp://127.0.0.1:*", &sink_endpoint, "30", "3", "20"]);
    let vent_endpoint = vent.endpoint("taskvent listening on");
    let mut workers: Vec<Example> = ["w1", "w2", "w3"]
        .iter()
        .map(|name| Example::start("taskwork", &[&vent_endpoint, &sink_endpoint, &control_endpoint, name]))
        .collect();

    let out = vent.success();
    let cost = out.lines().find(|l| l.starts_with("Sent 30 tasks, Total expected cost:")).expect(&out);
    let cost = cost.split(' ').nth(6).expect(&out).to_string();
    // Each worker sends back its task, the workload: the sink adds them up.
    let out = sink.success();
    assert!(out.contains(&format!("30 results received, total workload {cost} msec")), "{out}");
    // Its KILL stops every worker; together they did the 30 tasks.
    let mut done = 0;
    for worker in &mut workers {
        let out = worker.success();
        let line = out.lines().find(|l| l.contains("killed after")).unwrap_or_else(|| panic!("{out}"));
        done += line.split(' ').nth(4).and_then(|n| n.parse::<u32>().ok()).expect(&out);
    }
    assert_eq!(done, 30);
}

// ---------------------------------------------------------------- 4. broker

#[test]
fn request_reply_broker_with_proxy() {
    let _broker = Example::start("rrbroker", &["tcp://127.0.0.1:*", "tcp://127.0.0.1:*"]);
    let line = _broker.wait_for_line("rrbroker frontend");
    let words: Vec<&str> = line.split(' ').collect();
    let (frontend, backend) = (words[2].to_string(), words[4].to_string());
    let workers = [Example::start("rrworker", &[&backend, "w1"]), Example::start("rrworker", &[&backend, "w2"])];
    let mut clients = [Example::start("rrclient", &[&frontend, "10"]), Example::start("rrclient", &[&frontend, "10"])];
    for client in &mut clients {
        let out = client.success();
        assert_eq!(count(&out, "[World]"), 10, "{out}");
        assert!(out.contains("rrclient done: 10 replies"), "{out}");
    }
    // The workers served the 20 requests between them.
    let served: usize = workers.iter().map(|w| count(&w.output(), ": Received request: Hello")).sum();
    assert_eq!(served, 20, "{}\n{}", workers[0].output(), workers[1].output());
}

// ---------------------------------------------------------------- 5. pair over ipc

#[test]
fn pair_over_ipc_between_two_processes() {
    let endpoint = format!("ipc://@oxmq-example-pair-{}", std::process::id());
    // The connecting side first: it retries until the binding side is there.
    let mut connecter = Example::start("pair_ipc", &["--role", "connect", &endpoint, "5"]);
    let mut binder = Example::start("pair_ipc", &["--role", "bind", &endpoint, "5"]);
    let out = connecter.success();
    assert_eq!(count(&out, "received: Hello from A"), 5, "{out}");
    assert!(out.contains("pair_ipc connect: 5 rounds done"), "{out}");
    let out = binder.success();
    assert_eq!(count(&out, "received: Hello from B"), 5, "{out}");
    assert!(out.contains("pair_ipc bind: 5 rounds done"), "{out}");
}

// ---------------------------------------------------------------- 6. async

#[test]
fn async_req_rep_in_one_tokio_runtime() {
    let out = Example::start("async_reqrep", &[]).success();
    assert!(out.contains("async_reqrep: 4 clients, 20 requests answered"), "{out}");
    let out = Example::start("async_reqrep", &["tcp://127.0.0.1:*", "3", "10"]).success();
    assert!(out.contains("async_reqrep: 3 clients, 30 requests answered"), "{out}");
}

// ---------------------------------------------------------------- 7. zero-copy images

const IMAGE: usize = 640 * 480 * 4;

#[test]
fn image_server_replies_255_minus_the_image() {
    let mut server = Example::start("image_server", &["tcp://127.0.0.1:*", "4"]);
    let endpoint = server.endpoint("image_server listening on");

    // The example client checks each reply itself (3 round trips).
    let out = Example::start("image_client", &[&endpoint]).success();
    assert!(out.contains("image_client: 3 round trips verified"), "{out}");

    // And so does this test, as one more client: the image and its box in one frame, as
    // the pyzmq notes send them.
    let mut msg = vec![0u8; IMAGE + 8];
    let mut state = 1u32;
    for b in &mut msg[..IMAGE] {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *b = (state >> 24) as u8;
    }
    let msg = Bytes::from(msg);
    let ctx = Context::new();
    let req = Req::new(&ctx).unwrap();
    req.set_rcvtimeo(DEADLINE.as_millis() as i32).unwrap();
    req.connect(&endpoint).unwrap();
    req.send(msg.clone()).unwrap();
    let reply = req.recv().unwrap();
    assert_eq!(reply.len(), IMAGE);
    assert!(msg[..IMAGE].iter().zip(reply.iter()).all(|(m, r)| *r == 255 - m), "the reply is not 255 - image");

    let out = server.success();
    assert_eq!(count(&out, "processing in place") + count(&out, "one copy to edit it"), 4, "{out}");
    assert!(out.contains("image_server done after 4 requests"), "{out}");
}

// ---------------------------------------------------------------- 8. lazy pirate

/// lpserver "crashes" on every 5th request and answers every 7th after 2 s; lpclient waits
/// 800 ms for a reply, and tries each request up to 7 times.
fn lazy_pirate(client_flags: &[&str]) {
    let server = Example::start(
        "lpserver",
        &["tcp://127.0.0.1:*", "--drop-every", "5", "--slow-every", "7", "--slow-ms", "2000"],
    );
    let endpoint = server.endpoint("lpserver listening on");
    let mut args = vec![endpoint.as_str(), "10", "--timeout", "800", "--retries", "6"];
    args.extend(client_flags);
    let out = Example::start("lpclient", &args).success();
    assert!(out.contains("I: all 10 replies received"), "{out}");
    assert_eq!(count(&out, "I: server replied OK"), 10, "{out}");
    assert!(!out.contains("malformed"), "{out}");
    // Requests were lost and sent again.
    assert!(count(&out, "W: no response from server, retrying") >= 2, "{out}");
    let out = server.output();
    assert!(out.contains("simulating a crash") && out.contains("simulating CPU overload"), "{out}");
}

#[test]
fn lazy_pirate_reopening_the_socket() {
    lazy_pirate(&[]);
}

#[test]
fn lazy_pirate_with_req_relaxed_and_correlate() {
    lazy_pirate(&["--relaxed"]);
}

// ---------------------------------------------------------------- 9. shutdown and reconnection

#[test]
fn shutdown_with_linger_and_term() {
    // A port nobody listens on, for the PUSH whose messages linger.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = Example::start("shutdown", &[&format!("tcp://127.0.0.1:{port}")]).success();
    let ms = |linger: &str| -> u64 {
        let line = out.lines().find(|l| l.starts_with(&format!("LINGER {linger} ms"))).expect(&out);
        line.split(' ').nth(6).and_then(|n| n.parse().ok()).expect(&out)
    };
    // LINGER 300: term waits for the messages that can never be delivered, 300 ms.
    assert!(ms("300") >= 290, "{out}");
    assert!(ms("0") < 5000, "{out}");
    assert!(out.contains("worker: recv woken by term"), "{out}");
    assert!(out.contains("shutdown: done"), "{out}");
}

#[test]
fn client_keeps_working_across_a_server_restart() {
    let mut server = Example::start("hwserver", &["tcp://127.0.0.1:*"]);
    let endpoint = server.endpoint("hwserver listening on");
    let mut client = Example::start("reconnect_client", &[&endpoint, "15", "100"]);
    client.wait_for_line("reply 3:");
    server.kill();
    client.wait_for_line("event: DISCONNECTED");
    // The same endpoint, now that the old process is gone.
    let server = Example::start("hwserver", &[&endpoint]);
    server.wait_for_line("hwserver listening on");
    let out = client.success();
    assert!(out.contains("reconnect_client: all 15 replies received"), "{out}");
    assert_eq!(count(&out, "event: HANDSHAKE_SUCCEEDED"), 2, "{out}");
    assert!(server.output().contains("Received request: Hello"), "{}", server.output());
}

// ---------------------------------------------------------------- 10. CURVE with known clients

#[test]
fn curve_server_admits_known_clients_only() {
    let (alice, alice_secret) = oxmq::curve_keypair().unwrap();
    let (bob, bob_secret) = oxmq::curve_keypair().unwrap();
    // Alice is known by her certificate in a directory, Bob by his key on the command line.
    let certs = std::env::temp_dir().join(format!("oxmq-example-certs-{}", std::process::id()));
    std::fs::create_dir_all(&certs).unwrap();
    let certificate = format!("metadata\ncurve\n    public-key = \"{alice}\"\n");
    std::fs::write(certs.join("alice.key"), certificate).unwrap();

    let mut server = Example::start("curve_server", &["tcp://127.0.0.1:*", "4", certs.to_str().unwrap(), &bob]);
    let server_key = server.endpoint("curve_server public key");
    let endpoint = server.endpoint("curve_server listening on");
    std::fs::remove_dir_all(&certs).unwrap();
    assert!(server.output().contains("curve_server admits 2 client keys"), "{}", server.output());

    // A client with a key of its own making: refused, and it says so.
    let mut stranger = Example::start("curve_client", &[&endpoint, &server_key, "2"]);
    let (status, out) = stranger.wait();
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("the server refused this client (status 400)"), "{out}");
    // A client that pins another server key cannot even finish the handshake.
    let (wrong_key, _) = oxmq::curve_keypair().unwrap();
    let (status, out) = Example::start("curve_client", &[&endpoint, &wrong_key, "2", &alice_secret]).wait();
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("curve_client: the handshake failed"), "{out}");

    for (public, secret) in [(&alice, &alice_secret), (&bob, &bob_secret)] {
        let out = Example::start("curve_client", &[&endpoint, &server_key, "2", secret]).success();
        assert!(out.contains(&format!("curve_client public key {public}")), "{out}");
        assert_eq!(count(&out, ": World"), 2, "{out}");
    }
    let out = server.success();
    assert_eq!(count(&out, &format!("Received Hello from {alice}")), 2, "{out}");
    assert_eq!(count(&out, &format!("Received Hello from {bob}")), 2, "{out}");
    assert!(out.contains("curve_server done after 4 requests"), "{out}");
}
