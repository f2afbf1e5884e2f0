//! End-to-end tests of the `oxmq` tool's security flags: CURVE servers admitting the clients
//! `--curve-allow` and `--curve-allow-dir` name and refusing the others, a PLAIN pair with
//! `--plain-users`, the errors at startup, and a CURVE conversation with pyzmq (libzmq) both
//! ways. Each runs the binary in its own process.

mod common;
use common::*;

/// A key pair, (public, secret), Z85.
fn keypair() -> (String, String) {
    let (public, secret) = oxmq::curve_keypair().unwrap();
    (public, secret.to_string())
}

/// A directory of this test's own, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("oxmq-security-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A public certificate as pyzmq's `zmq.auth.create_certificates` writes it.
fn certificate(public: &str) -> String {
    format!("#   ZeroMQ CURVE Public Certificate\n\nmetadata\ncurve\n    public-key = \"{public}\"\n")
}

/// `oxmq req` as a CURVE client of the server `server_public`, with the secret key `secret`
/// (or a new pair), sending `hello`, giving up after `timeout_ms`.
fn curve_req(ep: &str, server_public: &str, secret: Option<&str>, timeout_ms: &str) -> Outcome {
    let mut args = vec!["req", "-c", ep, "--curve-serverkey", server_public, "--timeout", timeout_ms];
    if let Some(secret) = secret {
        args.extend(["--curve-secretkey", secret]);
    }
    args.push("hello");
    run(&args)
}

#[test]
fn a_curve_rep_admits_the_allowed_client_and_refuses_a_stranger() {
    let (server_public, server_secret) = keypair();
    let (client_public, client_secret) = keypair();
    let (stranger_public, stranger_secret) = keypair();
    let (rep, ep) = start_bound(
        &["rep", "-n", "1", "--curve-server", "--curve-secretkey", &server_secret, "--curve-allow", &client_public],
        "tcp://127.0.0.1:*",
    );
    // The stranger's handshake is refused: no reply, exit 1 after its timeout; -v says why.
    let stranger = run(&[
        "req",
        "-c",
        &ep,
        "--curve-serverkey",
        &server_public,
        "--curve-secretkey",
        &stranger_secret,
        "--timeout",
        "1500",
        "-v",
        "hello",
    ]);
    assert_eq!(stranger.code, Some(1), "{stranger:?}");
    // (Sent before the refusal, as a rule; a refusal that comes first leaves no peer to send to.)
    let timed_out = ["no reply to request 1", "request 1 could not be sent"];
    assert!(timed_out.iter().any(|t| stranger.stderr.contains(t)), "{}", stranger.stderr);
    assert!(stranger.stderr.contains("refused the handshake: 400"), "{}", stranger.stderr);
    // So is a client with a key made for the run.
    let ephemeral = curve_req(&ep, &server_public, None, "1500");
    assert_eq!(ephemeral.code, Some(1), "{ephemeral:?}");
    // The allowed client is served.
    let known = curve_req(&ep, &server_public, Some(&client_secret), "10000");
    assert_success(&known);
    assert_eq!(known.stdout(), "hello\n");
    let rep = rep.finish();
    assert_success(&rep);
    assert_eq!(rep.stdout(), "hello\n", "only the allowed client's request arrived");
    // With -v the server's log names the refused key, for an operator to allow it.
    assert!(rep.stderr.contains(&format!("with key {stranger_public}")), "{}", rep.stderr);
}

#[test]
fn a_curve_server_admits_the_certificates_of_a_directory_and_any_client_without_a_list() {
    let (server_public, server_secret) = keypair();
    let (alice_public, alice_secret) = keypair();
    let (_, stranger_secret) = keypair();
    let certs = TempDir::new("certs");
    certs.write("alice.key", &certificate(&alice_public));
    let (rep, ep) = start_bound(
        &["rep", "-n", "1", "--curve-server", "--curve-secretkey", &server_secret, "--curve-allow-dir", certs.path()],
        &ipc("curve-dir"),
    );
    assert_eq!(curve_req(&ep, &server_public, Some(&stranger_secret), "1500").code, Some(1));
    let alice = curve_req(&ep, &server_public, Some(&alice_secret), "10000");
    assert_success(&alice);
    assert_success(&rep.finish());

    // No list: any client that knows the server's key gets in (a key made for the run too).
    let (rep, ep) =
        start_bound(&["rep", "-n", "1", "--curve-server", "--curve-secretkey", &server_secret], &ipc("any"));
    let client = curve_req(&ep, &server_public, None, "10000");
    assert_success(&client);
    assert_eq!(client.stdout(), "hello\n");
    assert_success(&rep.finish());
    // But one that pins another server key never finishes the handshake.
    let (rep, ep) =
        start_bound(&["rep", "-n", "1", "--curve-server", "--curve-secretkey", &server_secret], &ipc("pin"));
    let (other_public, _) = keypair();
    assert_eq!(curve_req(&ep, &other_public, None, "1500").code, Some(1));
    // Nothing arrived, so the server still waits: stop it (a dropped `Proc` would leave it
    // running after the test).
    rep.signal("TERM");
    assert_eq!(rep.finish().code, Some(143));
}

#[test]
fn a_plain_pair_with_a_users_file() {
    let dir = TempDir::new("plain");
    let users = dir.write("users", "# who may talk\nalice=s3cret\n\nbob=hunter2\n");
    let (a, ep) = start_bound(
        &["pair", "-n", "1", "--timeout", "10000", "--plain-server", "--plain-users", &users, "welcome"],
        "tcp://127.0.0.1:*",
    );
    // The wrong password: refused, nothing arrives in time.
    let wrong = run(&[
        "pair",
        "-c",
        &ep,
        "-n",
        "1",
        "--timeout",
        "1500",
        "--plain-username",
        "alice",
        "--plain-password",
        "wrong",
        "intruder",
    ]);
    assert_eq!(wrong.code, Some(1), "{wrong:?}");
    let b = run(&[
        "pair",
        "-c",
        &ep,
        "-n",
        "1",
        "--timeout",
        "10000",
        "--plain-username",
        "alice",
        "--plain-password",
        "s3cret",
        "hi from alice",
    ]);
    assert_success(&b);
    assert_eq!(b.stdout(), "welcome\n");
    let a = a.finish();
    assert_success(&a);
    assert_eq!(a.stdout(), "hi from alice\n", "the intruder's message never arrived");
}

#[test]
fn security_flags_fail_clearly_at_startup() {
    let (_, secret) = keypair();
    let dir = TempDir::new("errors");
    let bad_users = dir.write("users", "alice=x\njust a name\n");
    let cases: [(&[&str], &str); 7] = [
        (&["rep", "-b", "tcp://127.0.0.1:*", "--plain-server"], "--plain-users <FILE>"),
        (&["rep", "-b", "tcp://127.0.0.1:*", "--curve-server"], "--curve-server needs --curve-secretkey"),
        (&["req", "-c", "tcp://127.0.0.1:1", "--curve-secretkey", &secret, "x"], "--curve-serverkey KEY"),
        (
            &[
                "rep",
                "-b",
                "tcp://127.0.0.1:*",
                "--curve-server",
                "--curve-secretkey",
                &secret,
                "--curve-allow",
                "short",
            ],
            "bad --curve-allow \"short\": a key is 40 Z85 characters",
        ),
        (
            &["rep", "-b", "tcp://127.0.0.1:*", "--plain-server", "--plain-users", &bad_users],
            &format!("bad --plain-users: invalid argument: {bad_users}:2:"),
        ),
        (
            &[
                "rep",
                "-b",
                "tcp://127.0.0.1:*",
                "--curve-server",
                "--curve-secretkey",
                &secret,
                "--curve-allow-dir",
                "/nonexistent-oxmq",
            ],
            "bad --curve-allow-dir /nonexistent-oxmq",
        ),
        (
            &["rep", "-b", "tcp://127.0.0.1:*", "--curve-server", "--curve-secretkey", "not a key"],
            "bad --curve-secretkey",
        ),
    ];
    for (args, want) in cases {
        let o = run(args);
        assert_eq!(o.code, Some(2), "{args:?}: {o:?}");
        assert!(o.stderr.contains(want), "{args:?}: stderr lacks {want:?}:\n{}", o.stderr);
    }
}

#[test]
fn help_lists_the_security_flags_with_examples() {
    let o = run(&["--help"]);
    assert_success(&o);
    assert!(o.stdout().contains("--curve-server --curve-secretkey KEY"), "{}", o.stdout());
    for cmd in ["send", "recv", "req", "rep", "pair", "dealer", "monitor", "proxy"] {
        let o = run(&[cmd, "--help"]);
        assert_success(&o);
        for flag in
            ["--curve-server", "--curve-allow <KEY>", "--curve-allow-dir <DIR>", "--plain-users <FILE>", "--zap-domain"]
        {
            assert!(o.stdout().contains(flag), "oxmq {cmd} --help lacks {flag}:\n{}", o.stdout());
        }
    }
    let o = run(&["rep", "--help"]);
    assert!(o.stdout().contains("--curve-allow \"$CLIENT_PUBLIC\""), "{}", o.stdout());
}

/// The tool's CURVE REQ against a pyzmq CURVE REP whose ThreadAuthenticator knows the tool's
/// key, and the tool's CURVE REP (admitting pyzmq's key) against a pyzmq REQ.
#[test]
fn curve_with_pyzmq_peers_both_ways() {
    if !have_pyzmq("curve_with_pyzmq_peers_both_ways") {
        return;
    }
    let (server_public, server_secret) = keypair();
    let (client_public, client_secret) = keypair();
    let certs = TempDir::new("pyzmq-certs");
    certs.write("tool.key", &certificate(&client_public));
    let script = format!(
        r#"{PY_PRELUDE}
from zmq.auth.thread import ThreadAuthenticator
auth = ThreadAuthenticator(ctx); auth.start()
auth.configure_curve(domain="*", location=sys.argv[2])
s = ctx.socket(zmq.REP)
s.curve_server = True; s.curve_secretkey = sys.argv[1].encode()
s.bind("tcp://127.0.0.1:*"); bound(s)
m = s.recv(copy=False)
s.send(b"user " + m.get("User-Id").encode() + b" said " + m.bytes)
auth.stop()
"#
    );
    let (peer, eps) = Proc::python(&script, &[&server_secret, certs.path()], 1);
    let o = curve_req(&eps[0], &server_public, Some(&client_secret), "10000");
    assert_success(&o);
    assert_success(&peer.finish());
    assert_eq!(o.stdout(), format!("user {client_public} said hello\n"));

    // The other way: the tool serves, pyzmq's client is on its --curve-allow list.
    let (rep, ep) = start_bound(
        &["rep", "-n", "1", "--curve-server", "--curve-secretkey", &server_secret, "--curve-allow", &client_public],
        "tcp://127.0.0.1:*",
    );
    let script = format!(
        r#"{PY_PRELUDE}
s = ctx.socket(zmq.REQ)
s.curve_serverkey = sys.argv[2].encode(); s.curve_publickey = sys.argv[3].encode(); s.curve_secretkey = sys.argv[4].encode()
s.rcvtimeo = 10000
s.connect(sys.argv[1])
s.send(b"from pyzmq")
print(s.recv().decode())
"#
    );
    let (peer, _) = Proc::python(&script, &[&ep, &server_public, &client_public, &client_secret], 0);
    let peer = peer.finish();
    assert_success(&peer);
    assert_eq!(peer.stdout(), "from pyzmq\n");
    let rep = rep.finish();
    assert_success(&rep);
    assert_eq!(rep.stdout(), "from pyzmq\n");
}

/// `proxy` secures its frontend: CURVE clients allowed by key reach a NULL worker behind it.
#[test]
fn a_proxy_with_a_curve_frontend() {
    let (server_public, server_secret) = keypair();
    let (client_public, client_secret) = keypair();
    let (proxy, eps) = Proc::start(
        &[
            "proxy",
            "router@tcp://127.0.0.1:*",
            "dealer@tcp://127.0.0.1:*",
            "-v",
            "--curve-server",
            "--curve-secretkey",
            &server_secret,
            "--curve-allow",
            &client_public,
        ],
        None,
        2,
    );
    let (worker, _) = Proc::start(&["rep", "-c", &eps[1], "-n", "1", "-q", "--exec", "tr a-z A-Z"], None, 0);
    assert_eq!(curve_req(&eps[0], &server_public, None, "1500").code, Some(1), "a stranger is refused");
    let o = curve_req(&eps[0], &server_public, Some(&client_secret), "10000");
    assert_success(&o);
    assert_eq!(o.stdout(), "HELLO\n");
    assert_success(&worker.finish());
    proxy.signal("INT");
    assert_eq!(proxy.finish().code, Some(130));
}
