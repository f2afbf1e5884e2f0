//! End-to-end tests of the `oxmq` tool for real work (issue 21): binary-safe input and output,
//! the two-way commands, `--opt`, `req --retries`, signals, logging and help. Each runs the
//! binary in its own process, against pyzmq (libzmq) peers where the other side matters.

mod common;
use common::*;
use std::time::{Duration, Instant};

/// A 640x480x4 image: 1,228,800 bytes holding every byte value, newlines included.
fn image() -> Vec<u8> {
    (0..640 * 480 * 4).map(|i: u32| (i.wrapping_mul(7) ^ (i >> 8)) as u8).collect()
}

/// A file of this test's own, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        let path = std::env::temp_dir().join(format!("oxmq-tool-test-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn py(body: &str) -> String {
    format!("{PY_PRELUDE}\n{body}")
}

#[test]
fn an_image_round_trips_exactly_through_req_in_file_and_rep_exec_raw() {
    let img = image();
    assert_eq!(img.len(), 1_228_800);
    assert!((0..=255u8).all(|b| img.contains(&b)));
    let file = TempFile::new("image.raw", &img);
    let (rep, ep) = start_bound(&["rep", "-q", "-n", "1", "--exec-raw", "cat"], "tcp://127.0.0.1:*");
    let req = run(&["req", "-c", &ep, "--in", "file", file.path(), "-f", "raw"]);
    assert_success(&req);
    assert_success(&rep.finish());
    assert!(req.stdout == img, "the reply differs from the image ({} bytes back)", req.stdout.len());
}

#[test]
fn raw_stdin_reaches_a_pyzmq_rep_byte_for_byte() {
    if !have_pyzmq("raw_stdin_reaches_a_pyzmq_rep_byte_for_byte") {
        return;
    }
    // The REP answers with the SHA-256 of what it got, and the length.
    let script = py(r#"
import hashlib
s = ctx.socket(zmq.REP); s.bind("tcp://127.0.0.1:*"); bound(s)
m = s.recv()
s.send(("%d %s" % (len(m), hashlib.sha256(m).hexdigest())).encode())
"#);
    let (peer, eps) = Proc::python(&script, &[], 1);
    let img = image();
    let req = run_with_stdin(&["req", "-c", &eps[0], "--in", "raw"], &img);
    assert_success(&req);
    assert_success(&peer.finish());
    let want = Python::sha256_line(&img);
    assert_eq!(req.stdout(), want);
}

/// What pyzmq's REP above prints for `bytes`, computed with python's hashlib (no hashing crate).
struct Python;

impl Python {
    fn sha256_line(bytes: &[u8]) -> String {
        let file = TempFile::new("sha-input", bytes);
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import hashlib,sys; d=open(sys.argv[1],'rb').read(); print(len(d), hashlib.sha256(d).hexdigest())",
            ])
            .arg(file.path())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }
}

#[test]
fn hex_and_json_input_make_exact_frames() {
    let (recv, ep) = start_bound(&["recv", "-n", "3", "-f", "json"], &ipc("in-hex-json"));
    assert_success(&run_with_stdin(&["send", "-c", &ep, "--in", "hex", "-s", " "], b"00ff0a 6869\n"));
    assert_success(&run(&["send", "-c", &ep, "--in", "json", r#"["a\nb", {"hex": "000a0d"}, ""]"#]));
    let file = TempFile::new("newline", b"line one\nline two\n");
    assert_success(&run(&["send", "-c", &ep, "--in", "file", file.path()]));
    let got = recv.finish();
    assert_success(&got);
    assert_eq!(
        got.stdout(),
        "[{\"hex\":\"00ff0a\"},\"hi\"]\n[\"a\\nb\",\"\\u0000\\n\\r\",\"\"]\n[\"line one\\nline two\\n\"]\n"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let ep = ipc("bad-input");
    // linger=0: the first message, sent before the bad line, must not wait for a peer.
    let o = run_with_stdin(&["send", "-c", &ep, "--in", "hex", "--opt", "linger=0"], b"00\nxyz1\n");
    assert_eq!(o.code, Some(2), "{o:?}");
    assert!(o.stderr.contains("stdin line 2") && o.stderr.contains("'x' is not a hex digit"), "{}", o.stderr);
    let o = run(&["send", "-c", &ep, "--in", "json", "{\"a\": 1}"]);
    assert_eq!(o.code, Some(2), "{o:?}");
    assert!(o.stderr.contains("argument 1: not an array") && o.stderr.contains("JSON array of frames"), "{}", o.stderr);
    let o = run(&["send", "-c", &ep, "--in", "file", "/nonexistent/oxmq-image"]);
    assert_eq!(o.code, Some(3), "{o:?}");
    assert!(o.stderr.contains("cannot read file \"/nonexistent/oxmq-image\""), "{}", o.stderr);
    let o = run(&["send", "-c", &ep, "--in", "raw", "x"]);
    assert_eq!(o.code, Some(2), "{o:?}");
    assert!(o.stderr.contains("--in raw reads the message from stdin"), "{}", o.stderr);
}

#[test]
fn rep_exec_keeps_its_line_mode() {
    // --exec: the request plus a newline in, the output less one newline back.
    let (rep, ep) = start_bound(&["rep", "-q", "-n", "1", "--exec", "od -An -c | tr -s ' '"], &ipc("exec-lines"));
    let req = run(&["req", "-c", &ep, "ab"]);
    assert_success(&req);
    assert_success(&rep.finish());
    assert_eq!(req.stdout(), " a b \\n\n");
}

#[test]
fn a_pair_conversation_with_pyzmq() {
    if !have_pyzmq("a_pair_conversation_with_pyzmq") {
        return;
    }
    let script = py(r#"
s = ctx.socket(zmq.PAIR); s.bind("tcp://127.0.0.1:*"); bound(s)
s.send(b"Hello from A")
for _ in range(3):
    m = s.recv()
    s.send(b"pong " + m)
"#);
    let (peer, eps) = Proc::python(&script, &[], 1);
    let o = run(&["pair", "-c", &eps[0], "-n", "4", "--timeout", "10000", "ping1", "ping2", "ping3"]);
    assert_success(&o);
    assert_success(&peer.finish());
    assert_eq!(o.stdout(), "Hello from A\npong ping1\npong ping2\npong ping3\n");
}

#[test]
fn pair_with_pair_through_the_tool_both_ways() {
    // One tool PAIR answers (rep-like by --exec is not PAIR's: it just talks); the other
    // sends from stdin and waits for as many messages back as it sent.
    let (a, ep) = start_bound(&["pair", "-n", "2", "--timeout", "10000", "from a 1", "from a 2"], &ipc("pair2"));
    let b = run_with_stdin(&["pair", "-c", &ep, "--timeout", "10000"], b"from b 1\nfrom b 2\n");
    assert_success(&b);
    assert_eq!(b.stdout(), "from a 1\nfrom a 2\n");
    let a = a.finish();
    assert_success(&a);
    assert_eq!(a.stdout(), "from b 1\nfrom b 2\n");
}

#[test]
fn a_dealer_client_of_a_pyzmq_router() {
    if !have_pyzmq("a_dealer_client_of_a_pyzmq_router") {
        return;
    }
    // The notes' ROUTER server: client_id, _, request = router.recv_multipart().
    let script = py(r#"
r = ctx.socket(zmq.ROUTER); r.bind("tcp://127.0.0.1:*"); bound(r)
for _ in range(3):
    client_id, _, request = r.recv_multipart()
    r.send_multipart([client_id, b"", b"Response to " + request])
"#);
    let (peer, eps) = Proc::python(&script, &[], 1);
    let o = run(&["dealer", "-c", &eps[0], "--delimiter", "--timeout", "10000", "a", "b", "c"]);
    assert_success(&o);
    assert_success(&peer.finish());
    assert_eq!(o.stdout(), "Response to a\nResponse to b\nResponse to c\n");
}

#[test]
fn dealer_waits_for_missing_replies_then_times_out() {
    let (rep, ep) = start_bound(&["rep", "-q", "-n", "1"], &ipc("dealer-short"));
    // One REP answers one request of two: the second reply never comes.
    let started = Instant::now();
    let o = run(&["dealer", "-c", &ep, "--delimiter", "--timeout", "700", "one"]);
    assert_success(&o);
    assert_eq!(o.stdout(), "one\n");
    assert_success(&rep.finish());
    let o = run(&["dealer", "-c", &ep, "--delimiter", "--timeout", "700", "two"]);
    assert_eq!(o.code, Some(1), "{o:?}");
    assert!(o.stderr.contains("0 of 1 messages received"), "{}", o.stderr);
    assert!(started.elapsed() >= Duration::from_millis(700));
}

#[test]
fn router_exec_serves_req_and_dealer_clients() {
    if !have_pyzmq("router_exec_serves_req_and_dealer_clients") {
        return;
    }
    let (router, ep) = start_bound(&["router", "-n", "3", "--exec", "tr a-z A-Z"], "tcp://127.0.0.1:*");
    // A pyzmq REQ (envelope: id, ""), a pyzmq DEALER without a delimiter (id only), and the
    // tool's DEALER with one.
    let script = py(r#"
ep = sys.argv[1]
q = ctx.socket(zmq.REQ); q.connect(ep); q.send(b"from req"); print(q.recv_multipart())
d = ctx.socket(zmq.DEALER); d.connect(ep); d.send(b"from dealer"); print(d.recv_multipart())
"#);
    let (peer, _) = Proc::python(&script, &[&ep], 0);
    let py_out = peer.finish();
    assert_success(&py_out);
    assert_eq!(py_out.stdout(), "[b'FROM REQ']\n[b'FROM DEALER']\n");
    let o = run(&["dealer", "-c", &ep, "--delimiter", "--timeout", "10000", "-s", "|", "two|frames"]);
    assert_success(&o);
    assert_eq!(o.stdout(), "TWO\tFRAMES\n");
    let router = router.finish();
    assert_success(&router);
    assert_eq!(router.stdout(), "from req\nfrom dealer\ntwo\tframes\n");
}

/// A CURVE key pair (RFC 26's server keys), Z85.
const PUBLIC_KEY: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const SECRET_KEY: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

/// For each option: the socket type to set it on, and the option and value to set (a value
/// that differs from the default, valid for libzmq and oxmq alike). A read-only option is
/// read after setting another one that changes it.
fn sample(name: &str, kind: &str) -> (&'static str, String, String) {
    let ty = match name {
        "req_relaxed" | "req_correlate" => "REQ",
        "router_mandatory" | "probe_router" | "connect_routing_id" | "router_handover" | "router_raw" => "ROUTER",
        "stream_notify" => "STREAM",
        "subscribe" | "unsubscribe" => "SUB",
        n if n.starts_with("xpub_") => "XPUB",
        _ => "DEALER",
    };
    let value = match (name, kind) {
        ("mechanism", _) => return (ty, "curve_server".into(), "1".into()),
        // Nothing sets it: read it after another option.
        ("thread_safe", _) => return (ty, "linger".into(), "0".into()),
        ("ipv4only", _) => "0".into(),
        ("tcp_accept_filter", _) => "10.0.0.0/8".into(),
        ("stream_notify", _) => "0".into(),
        ("metadata", _) => "X-Sample:value".into(),
        ("curve_secretkey", _) => SECRET_KEY.into(),
        (_, "key") => PUBLIC_KEY.into(),
        (_, "bool") => "1".into(),
        ("tcp_keepalive", _) => "1".into(),
        ("heartbeat_ttl", _) => "1200".into(),
        (_, "int64") => "5000000000".into(),
        (_, "bytes" | "text") => format!("v-{name}"),
        _ => "1234".into(),
    };
    (ty, name.to_string(), value)
}

#[test]
fn opt_names_ids_and_values_match_libzmq() {
    if !have_pyzmq("opt_names_ids_and_values_match_libzmq") {
        return;
    }
    let list = run(&["options"]);
    assert_success(&list);
    let options: Vec<Vec<String>> =
        list.stdout().lines().map(|l| l.split('\t').map(str::to_string).collect()).collect();
    assert!(options.len() >= 46, "{}", list.stdout());
    let kinds: std::collections::HashMap<&str, &str> = options.iter().map(|o| (o[0].as_str(), o[2].as_str())).collect();
    // For each option: the tool sets it on a socket of its type and reads it back; pyzmq
    // does the same on libzmq, by the same name. Ids, accepted values and values read back
    // must agree.
    let mut cases = Vec::new();
    let mut tool = Vec::new();
    for o in &options {
        let (name, id, kind) = (&o[0], &o[1], &o[2]);
        let (ty, set, value) = sample(name, kind);
        let shown = run(&["options", "-t", ty, "--show-secrets", "--opt", &format!("{set}={value}")]);
        assert_success(&shown);
        let line = shown.stdout().lines().find(|l| l.starts_with(&format!("{name}\t"))).unwrap().to_string();
        let got = line.rsplit('\t').next().unwrap().to_string();
        cases.push(format!("{name} {id} {ty} {kind} {set} {} {value}", kinds[set.as_str()]));
        tool.push((name.clone(), value, got));
    }
    // pyzmq prints `NAME VALUE`, or `NAME set` where libzmq's getsockopt does not read the
    // option back (EINVAL: write-only there). A CURVE key is read as zmq_getsockopt gives it
    // to a 41-byte buffer, Z85 and a NUL, through ctypes on the pyzmq socket: pyzmq 26.4's own
    // getsockopt passes 255 bytes, which libzmq 4.3.5 refuses for a key (EINVAL).
    let script = r#"
import ctypes, sys, zmq
path = next(l.split()[-1] for l in open("/proc/self/maps") if "libzmq" in l.split()[-1])
lib = ctypes.CDLL(path)
lib.zmq_getsockopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)]
def get_key(s, o):
    buf, size = ctypes.create_string_buffer(41), ctypes.c_size_t(41)
    if lib.zmq_getsockopt(s.underlying, o, buf, ctypes.byref(size)) != 0:
        raise zmq.ZMQError()
    assert size.value == 41 and buf.raw[40] == 0, size.value
    return buf.raw[:40]
ctx = zmq.Context()
for case in sys.argv[1:]:
    name, oid, ty, kind, set_, set_kind, value = case.split(" ")
    assert getattr(zmq, name.upper()) == int(oid), (name, int(getattr(zmq, name.upper())), oid)
    s = ctx.socket(getattr(zmq, ty))
    v = int(value) if set_kind in ("int", "bool", "int64") else value.encode()
    s.setsockopt(getattr(zmq, set_.upper()), v)
    try:
        got = get_key(s, int(oid)) if kind == "key" else s.getsockopt(getattr(zmq, name.upper()))
        print(name, got.decode() if isinstance(got, bytes) else got)
    except zmq.ZMQError:
        print(name, "set")
    s.close(0)
"#;
    let mut args = vec!["-c", script];
    args.extend(cases.iter().map(String::as_str));
    let out = std::process::Command::new("python3").args(&args).output().unwrap();
    let py_out = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "pyzmq: {py_out}\n{}", String::from_utf8_lossy(&out.stderr));
    let libzmq: Vec<(&str, &str)> = py_out.lines().map(|l| l.split_once(' ').unwrap()).collect();
    assert_eq!(libzmq.len(), tool.len());
    for ((name, set, got), (py_name, py_got)) in tool.iter().zip(libzmq) {
        assert_eq!(name, py_name);
        match (got.as_str(), py_got) {
            // Write-only in both, or readable in oxmq only: it must read back what was set.
            ("-", "set") => {}
            (got, "set") => assert_eq!(got, set, "{name}: oxmq reads back other than it was set"),
            (got, py_got) => assert_eq!(got, py_got, "{name}: oxmq and libzmq read back different values"),
        }
    }
    // The keys were read back by libzmq, not passed over as "set".
    let keys = py_out.lines().filter(|l| l.starts_with("curve_") && l.ends_with(PUBLIC_KEY)).count();
    assert_eq!(keys, 2, "{py_out}");
    assert!(py_out.contains(&format!("curve_secretkey {SECRET_KEY}")), "{py_out}");
    assert!(py_out.contains("mechanism 2"), "{py_out}");
}

#[test]
fn opt_errors_name_the_option() {
    let ep = ipc("opt-errors");
    for (opt, code, says) in [
        ("sndhmw=10", 2, "unknown socket option \"sndhmw\" (did you mean sndhwm?)"),
        ("sndhwm=lots", 2, "bad value \"lots\" for SNDHWM: expected an integer"),
        ("immediate=2", 2, "bad value \"2\" for IMMEDIATE: expected 0 or 1"),
        ("gssapi_server=1", 2, "GSSAPI_SERVER is libzmq's, but oxmq does not support it"),
        ("mechanism=2", 2, "MECHANISM is read-only"),
        ("curve_serverkey=tooshort", 2, "bad value \"tooshort\" for CURVE_SERVERKEY: expected a CURVE key"),
        ("routing_id=hex:0", 2, "bad value \"hex:0\" for ROUTING_ID: odd number of hex digits (1) after hex:"),
        ("rcvmore=1", 2, "RCVMORE is read-only"),
        ("sndhwm=-1", 2, "--opt sndhwm=-1: SNDHWM must be >= 0"),
        ("req_relaxed=1", 2, "--opt req_relaxed=1: REQ_RELAXED does not apply to PUSH sockets"),
    ] {
        let o = run(&["send", "-c", &ep, "--opt", opt, "x"]);
        assert_eq!(o.code, Some(code), "{opt}: {o:?}");
        assert!(o.stderr.contains(says), "{opt}: {}", o.stderr);
    }
}

#[test]
fn opt_takes_effect_and_overrides_timeout() {
    // routing_id reaches the ROUTER; linger=0 overrides --timeout's LINGER, so a send to a
    // peer that is not there exits at once instead of lingering for --timeout.
    let (recv, ep) = start_bound(&["recv", "-t", "router", "-n", "1", "-s", " "], &ipc("opt-effect"));
    assert_success(&run(&["send", "-t", "dealer", "-c", &ep, "--opt", "routing_id=peer-7", "hi"]));
    assert_eq!(recv.finish().stdout(), "peer-7 hi\n");
    let started = Instant::now();
    let o = run(&["send", "-c", &ipc("nobody"), "--timeout", "5000", "--opt", "linger=0", "x"]);
    assert_success(&o);
    assert!(started.elapsed() < Duration::from_secs(4), "lingered {:?}", started.elapsed());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new CURVE key pair from `oxmq keygen`: (public, secret), Z85.
fn keygen() -> (String, String) {
    let o = run(&["keygen"]);
    assert_success(&o);
    let out = o.stdout();
    let mut lines = out.lines();
    (lines.next().unwrap().to_string(), lines.next().unwrap().to_string())
}

#[test]
fn opt_takes_binary_values_in_hex() {
    // A routing id that is not text reaches the ROUTER byte for byte (-f hex prints it).
    let (recv, ep) = start_bound(&["recv", "-t", "router", "-n", "1", "-f", "hex", "-s", " "], &ipc("opt-hex"));
    assert_success(&run(&["send", "-t", "dealer", "-c", &ep, "--opt", "routing_id=hex:ff000a10", "hi"]));
    assert_eq!(recv.finish().stdout(), "ff000a10 6869\n");
    // `oxmq options` prints such a value in the form --opt takes it, and text as text.
    let o = run(&["options", "-t", "dealer", "--opt", "routing_id=hex:ff000a10"]);
    assert!(o.stdout().contains("routing_id\t5\tbytes\thex:ff000a10\n"), "{}", o.stdout());
    let o = run(&["options", "-t", "dealer", "--opt", "routing_id=hex:7065657237"]);
    assert!(o.stdout().contains("routing_id\t5\tbytes\tpeer7\n"), "{}", o.stdout());
    // A CURVE link made with --opt alone, the server's keys in hex, the client's in Z85.
    let (server_public, server_secret) = keygen();
    let (client_public, client_secret) = keygen();
    let server_secret_hex = format!("curve_secretkey=hex:{}", hex(&oxmq::z85_decode(&server_secret).unwrap()));
    let (recv, ep) = start_bound(
        &["recv", "-t", "pull", "-n", "1", "--opt", "curve_server=1", "--opt", &server_secret_hex],
        &ipc("opt-curve"),
    );
    let o = run(&[
        "send",
        "-c",
        &ep,
        "--timeout",
        "10000",
        "--opt",
        &format!("curve_serverkey=hex:{}", hex(&oxmq::z85_decode(&server_public).unwrap())),
        "--opt",
        &format!("curve_publickey={client_public}"),
        "--opt",
        &format!("curve_secretkey={client_secret}"),
        "over curve",
    ]);
    assert_success(&o);
    let recv = recv.finish();
    assert_success(&recv);
    assert_eq!(recv.stdout(), "over curve\n");
    for secret in [&server_secret, &client_secret] {
        assert!(!recv.stderr.contains(secret.as_str()) && !o.stderr.contains(secret.as_str()), "a secret was printed");
    }
}

#[test]
fn opt_never_echoes_a_secret() {
    let ep = ipc("opt-secret");
    let (_, secret) = keygen();
    let short = &secret[1..];
    let long_password = "p".repeat(256);
    let cases = [
        (
            format!("curve_secretkey={short}"),
            short,
            "--opt curve_secretkey: bad value for CURVE_SECRETKEY: expected a CURVE key",
        ),
        (
            format!("curve_secretky={secret}"),
            &secret[..],
            "unknown socket option \"curve_secretky\" (did you mean curve_secretkey?)",
        ),
        (format!("curve_secretkey:{secret}"), &secret[..], "--opt: expected NAME=VALUE"),
        (
            format!("plain_password={long_password}"),
            &long_password[..],
            "--opt plain_password: PLAIN_PASSWORD is at most 255 bytes",
        ),
    ];
    for (opt, value, says) in cases {
        let o = run(&["send", "-c", &ep, "--opt", &opt, "x"]);
        assert_eq!(o.code, Some(2), "{o:?}");
        assert!(o.stderr.contains(says), "{}", o.stderr);
        assert!(!o.stderr.contains(value), "the value was echoed: {}", o.stderr);
    }
    // `oxmq options` hides the secret options' values unless asked.
    let args = ["options", "--opt", &format!("curve_secretkey={secret}"), "--opt", "plain_password=hunter2"];
    let o = run(&args);
    assert_success(&o);
    assert!(!o.stdout().contains(&secret) && !o.stdout().contains("hunter2"), "{}", o.stdout());
    assert!(o.stdout().contains("curve_secretkey\t49\tkey\t(hidden)\n"), "{}", o.stdout());
    let o = run(&[&args[..], &["--show-secrets"]].concat());
    assert!(o.stdout().contains(&format!("curve_secretkey\t49\tkey\t{secret}\n")), "{}", o.stdout());
    assert!(o.stdout().contains("plain_password\t46\ttext\thunter2\n"), "{}", o.stdout());
}

#[test]
fn opt_curve_and_metadata_cross_to_libzmq_as_libzmq_sends_them() {
    if !have_pyzmq("opt_curve_and_metadata_cross_to_libzmq_as_libzmq_sends_them") {
        return;
    }
    // A libzmq CURVE server: first a libzmq client with the same METADATA sets as the tool's
    // shows what libzmq sends (a name set twice keeps its first value), then the tool's.
    let script = py(&format!(
        r#"
s = ctx.socket(zmq.PULL); s.curve_server = True; s.curve_secretkey = b"{SECRET_KEY}"
s.bind("tcp://127.0.0.1:*")
public, secret = zmq.curve_keypair()
c = ctx.socket(zmq.PUSH); c.curve_serverkey = b"{PUBLIC_KEY}"; c.curve_publickey = public; c.curve_secretkey = secret
for m in [b"X-Twice:first", b"X-Twice:second", b"X-Time:12:30"]:
    c.setsockopt(zmq.METADATA, m)
c.connect(s.getsockopt(zmq.LAST_ENDPOINT).decode())
c.send(b"from-libzmq")
for sender in ["libzmq", "oxmq"]:
    if sender == "oxmq":
        bound(s)
    f = s.recv(copy=False)
    print(f.bytes.decode(), f.get("X-Twice"), f.get("X-Time"), f.get("Socket-Type"))
"#
    ));
    let (peer, eps) = Proc::python(&script, &[], 1);
    let (public, secret) = keygen();
    let mut args = vec!["send", "-t", "push", "-c", &eps[0], "--timeout", "10000"];
    let opts = [
        format!("curve_serverkey={PUBLIC_KEY}"),
        format!("curve_publickey={public}"),
        format!("curve_secretkey={secret}"),
        "metadata=X-Twice:first".into(),
        "metadata=X-Twice:second".into(),
        "metadata=X-Time:12:30".into(),
    ];
    for o in &opts {
        args.extend(["--opt", o]);
    }
    args.push("from-oxmq");
    let o = run(&args);
    assert_success(&o);
    let peer = peer.finish();
    assert_success(&peer);
    let lines: Vec<String> = peer.stdout().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "{}", peer.stdout());
    assert_eq!(lines[0], "from-libzmq first 12:30 PUSH", "libzmq's own rule changed?");
    assert_eq!(lines[1], "from-oxmq first 12:30 PUSH");
}

#[test]
fn opt_plain_client_is_admitted_by_a_libzmq_zap_handler() {
    if !have_pyzmq("opt_plain_client_is_admitted_by_a_libzmq_zap_handler") {
        return;
    }
    let script = py(r#"
from zmq.auth.thread import ThreadAuthenticator
auth = ThreadAuthenticator(ctx); auth.start()
auth.configure_plain(domain="tool", passwords={"admin": "s3cret"})
s = ctx.socket(zmq.PULL); s.plain_server = True; s.zap_domain = b"tool"
s.bind("tcp://127.0.0.1:*"); bound(s)
f = s.recv(copy=False)
print(f.bytes.decode(), f.get("User-Id"))
auth.stop()
"#);
    let (peer, eps) = Proc::python(&script, &[], 1);
    let o = run(&[
        "send",
        "-c",
        &eps[0],
        "--timeout",
        "10000",
        "--opt",
        "plain_username=admin",
        "--opt",
        "plain_password=s3cret",
        "over plain",
    ]);
    assert_success(&o);
    let peer = peer.finish();
    assert_success(&peer);
    assert_eq!(peer.stdout(), "over plain admin\n");
}

/// A REP that drops the first `drops` requests (a ROUTER that acts as REP, answering with each
/// request's whole envelope, REQ_CORRELATE's request id included).
fn dropping_rep(drops: u32) -> String {
    py(&format!(
        r#"
r = ctx.socket(zmq.ROUTER); r.bind("tcp://127.0.0.1:*"); bound(r)
n = 0
while True:
    frames = r.recv_multipart()
    n += 1
    if n <= {drops}:
        continue
    i = frames.index(b"")
    r.send_multipart(frames[:i + 1] + [b"reply to " + frames[-1]])
    break
"#
    ))
}

#[test]
fn req_retries_against_a_rep_that_drops_the_first_two_requests() {
    if !have_pyzmq("req_retries_against_a_rep_that_drops_the_first_two_requests") {
        return;
    }
    for relaxed in [false, true] {
        let (peer, eps) = Proc::python(&dropping_rep(2), &[], 1);
        let mut args = vec!["req", "-c", &eps[0], "--timeout", "500", "--retries", "3", "hello"];
        if relaxed {
            args.push("--relaxed");
        }
        let o = run(&args);
        assert_success(&o);
        assert_success(&peer.finish());
        assert_eq!(o.stdout(), "reply to hello\n");
        let what = if relaxed { "resending (" } else { "reopening the socket and resending (" };
        assert_eq!(o.stderr.matches(what).count(), 2, "relaxed {relaxed}: {}", o.stderr);
    }
}

#[test]
fn req_retries_give_up_with_exit_5() {
    if !have_pyzmq("req_retries_give_up_with_exit_5") {
        return;
    }
    let (peer, eps) = Proc::python(&dropping_rep(2), &[], 1);
    let o = run(&["req", "-c", &eps[0], "--timeout", "300", "--retries", "1", "hello"]);
    assert_eq!(o.code, Some(5), "{o:?}");
    assert!(o.stderr.contains("gave up: no reply to request 1 within 300 ms, after 1 retries"), "{}", o.stderr);
    // The third request gets the REP's answer.
    assert_success(&run(&["req", "-c", &eps[0], "--timeout", "5000", "x"]));
    assert_success(&peer.finish());
    let o = run(&["req", "-c", &ipc("no-rep"), "--retries", "1", "x"]);
    assert_eq!(o.code, Some(2), "--retries without --timeout: {o:?}");
    assert!(o.stderr.contains("--timeout"), "{}", o.stderr);
}

#[test]
fn sigint_lets_linger_deliver_every_accepted_message_to_a_slow_pull() {
    if !have_pyzmq("sigint_lets_linger_deliver_every_accepted_message_to_a_slow_pull") {
        return;
    }
    // A slow PULL (5 ms a message) and a sender with small queues: when SIGINT comes, some
    // messages have been accepted (queued in oxmq or the kernel) but not yet read.
    let script = py(r#"
import time
s = ctx.socket(zmq.PULL); s.setsockopt(zmq.RCVHWM, 2); s.bind("tcp://127.0.0.1:*"); bound(s)
s.setsockopt(zmq.RCVTIMEO, 4000)
got = []
try:
    while True:
        got.append(int(s.recv().split(b" ")[0]))
        time.sleep(0.005)
except zmq.Again:
    pass
print(" ".join(map(str, got)))
"#);
    let (peer, eps) = Proc::python(&script, &[], 1);
    let body = "x".repeat(64 * 1024);
    let input: String = (1..=2000).map(|i| format!("{i} {body}\n")).collect();
    let (sender, _) = Proc::start(&["send", "-c", &eps[0], "--opt", "sndhwm=5"], Some(input.as_bytes()), 0);
    std::thread::sleep(Duration::from_millis(1500));
    sender.signal("INT");
    let sent = sender.finish();
    assert_eq!(sent.code, Some(130), "{sent:?}");
    let n: u64 = sent
        .stderr
        .split("the ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of messages sent: {}", sent.stderr));
    assert!(n > 0 && n < 2000, "interrupted after {n} messages: not mid-stream");
    let got = peer.finish();
    assert_success(&got);
    let want: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    assert_eq!(got.stdout().trim(), want.join(" "), "the PULL got other than the {n} messages accepted");
}

#[test]
fn after_sigint_linger_waits_for_a_peer_and_a_second_sigint_exits_at_once() {
    for second_signal in [false, true] {
        let ep = ipc("linger-peer");
        // LINGER is forever by default: the message waits for a peer.
        let (mut sender, _) = Proc::start(&["send", "-c", &ep, "queued"], None, 0);
        std::thread::sleep(Duration::from_millis(300));
        sender.signal("INT");
        std::thread::sleep(Duration::from_millis(500));
        assert!(!sender.exited(), "exited before its message was delivered: {}", sender.stderr_so_far());
        let started = Instant::now();
        if second_signal {
            sender.signal("INT");
            let o = sender.finish();
            assert_eq!(o.code, Some(130), "{o:?}");
            assert!(started.elapsed() < Duration::from_secs(2));
        } else {
            let (recv, _) = start_bound(&["recv", "-n", "1"], &ep);
            let got = recv.finish();
            assert_eq!(got.stdout(), "queued\n");
            let o = sender.finish();
            assert_eq!(o.code, Some(130), "{o:?}");
            assert!(o.stderr.contains("interrupted by SIGINT; the 1 messages sent"), "{}", o.stderr);
        }
    }
}

#[test]
fn sigterm_exits_143_from_every_kind_of_wait() {
    let ep = ipc("sigterm");
    for args in [
        vec!["recv", "-b", ep.as_str(), "-v"],
        vec!["rep", "-b", "tcp://127.0.0.1:*"],
        vec!["router", "-b", "tcp://127.0.0.1:*", "--exec", "cat"],
        vec!["pair", "-b", "tcp://127.0.0.1:*", "-d", "60000", "x"],
        vec!["req", "-b", "tcp://127.0.0.1:*", "x"],
        vec!["monitor", "-t", "pull", "-b", "tcp://127.0.0.1:*"],
        vec!["proxy", "pull@tcp://127.0.0.1:*", "push@tcp://127.0.0.1:*"],
    ] {
        let (p, _) = Proc::start(&args, None, 1);
        p.signal("TERM");
        let o = p.finish();
        assert_eq!(o.code, Some(143), "{args:?}: {o:?}");
        assert!(o.stderr.contains("interrupted by SIGTERM"), "{args:?}: {}", o.stderr);
    }
}

#[test]
fn library_log_lines_with_log_and_rust_log() {
    use std::io::Write;
    // A peer that speaks no ZMTP: the library refuses its handshake and says why, at warn
    // level (without colours: stderr is not a terminal).
    for (args, env, logged) in [
        (vec!["--log", "warn"], None, true),
        (vec![], Some("oxmq=debug"), true),
        (vec!["-v"], None, true),
        (vec![], None, false),
    ] {
        let mut all = vec!["recv", "-b", "tcp://127.0.0.1:*", "--timeout", "1500"];
        all.extend(args.iter().copied());
        let mut cmd = oxmq();
        cmd.args(&all);
        match env {
            Some(v) => cmd.env("RUST_LOG", v),
            None => cmd.env_remove("RUST_LOG"),
        };
        let (p, eps) = Proc::spawn(cmd, "oxmq recv", None, 1);
        let addr = eps[0].strip_prefix("tcp://").unwrap();
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        let _ = tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let o = p.finish();
        assert_eq!(o.code, Some(1), "{o:?}");
        let shown = o.stderr.contains("WARN") && o.stderr.contains("handshake refused");
        assert_eq!(shown, logged, "{args:?} {env:?}: {}", o.stderr);
    }
    let o = run(&["recv", "-c", &ipc("log"), "--timeout", "10", "--log", "loud"]);
    assert_eq!(o.code, Some(2), "{o:?}");
    assert!(o.stderr.contains("bad --log"), "{}", o.stderr);
}

#[test]
fn help_shows_the_new_commands_and_options_with_examples() {
    let o = run(&["--help"]);
    assert_success(&o);
    for want in
        ["pair", "dealer", "router", "options", "--opt sndhwm=10", "--in file", "--retries 3", "--exec-raw", "130"]
    {
        assert!(o.stdout().contains(want), "oxmq --help lacks {want:?}");
    }
    for (cmd, wants) in [
        ("send", &["--in <MODE>", "--opt <NAME=VALUE>", "Examples:"][..]),
        ("req", &["--retries <N>", "--relaxed", "--in <MODE>", "Examples:"]),
        ("rep", &["--exec-raw <CMD>", "Examples:"]),
        ("router", &["--exec <CMD>", "Examples:"]),
        ("pair", &["--delimiter", "Examples:"]),
        ("dealer", &["--delimiter", "Examples:"]),
        ("recv", &["raw", "--opt <NAME=VALUE>"]),
        ("options", &["Examples:"]),
    ] {
        let o = run(&[cmd, "--help"]);
        assert_success(&o);
        for want in wants {
            assert!(o.stdout().contains(want), "oxmq {cmd} --help lacks {want:?}:\n{}", o.stdout());
        }
    }
}

#[test]
fn proxy_sets_opt_on_its_frontend_and_backend() {
    // An option the backend's type does not take names the socket and the option.
    let o = run(&["proxy", "router@tcp://127.0.0.1:*", "dealer@tcp://127.0.0.1:*", "--opt", "router_mandatory=1"]);
    assert_eq!(o.code, Some(2), "{o:?}");
    assert!(
        o.stderr.contains("backend: --opt router_mandatory=1: ROUTER_MANDATORY does not apply to DEALER"),
        "{}",
        o.stderr
    );
}

/// `oxmq keygen` prints a public key and its secret key, Z85, one a line, nothing else; each
/// run a new pair.
#[test]
fn keygen_prints_a_fresh_z85_key_pair() {
    let first = run(&["keygen"]);
    assert_success(&first);
    let lines: Vec<String> = first.stdout().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "{:?}", first.stdout());
    for key in &lines {
        assert_eq!(key.len(), 40, "{key}");
        assert_eq!(oxmq::z85_decode(key).unwrap().len(), 32, "{key}");
    }
    assert_eq!(oxmq::curve_public(&lines[1]).unwrap(), lines[0], "the first line is the second's public key");
    let second = run(&["keygen"]);
    assert_success(&second);
    assert_ne!(first.stdout(), second.stdout(), "a new pair each time");
}
