//! The Authenticator (`oxmq::Authenticator`, pyzmq's `zmq.auth`) between oxmq sockets: PLAIN
//! passwords (given and from a file), CURVE any client, a key list and a certificate
//! directory, IP allow- and deny-lists, domains, the User-Id it gives, the monitor events of
//! its refusals, and its own life (one per context, stop, context termination). Against
//! libzmq: `interop_auth.rs`.

mod common;

use std::net::IpAddr;
use std::path::PathBuf;

use common::{SOON, Transport, bind, socket, within};
use oxmq::{Authenticator, Context, Error, Event, Message, MonitorEvent, Socket, SocketType};

const LOCALHOST: &str = "127.0.0.1";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn keypair() -> (String, String) {
    let (public, secret) = oxmq::curve_keypair().unwrap();
    (public, secret.to_string())
}

fn raw(key: &str) -> [u8; 32] {
    oxmq::z85_decode(key).unwrap().try_into().unwrap()
}

/// A CURVE server's key pair and how its server and clients are set up.
struct Curve {
    public: String,
    secret: String,
}

impl Curve {
    fn new() -> Curve {
        let (public, secret) = keypair();
        Curve { public, secret }
    }

    fn server(&self) -> impl Fn(&Socket) + '_ {
        |s| {
            s.set_curve_server(true).unwrap();
            s.set_curve_secretkey(&self.secret).unwrap();
        }
    }

    /// A client with the key pair (`public`, `secret`).
    fn client<'a>(&'a self, public: &'a str, secret: &'a str) -> impl Fn(&Socket) + 'a {
        move |s| {
            s.set_curve_serverkey(&self.public).unwrap();
            s.set_curve_publickey(public).unwrap();
            s.set_curve_secretkey(secret).unwrap();
        }
    }
}

fn plain_server(s: &Socket) {
    s.set_plain_server(true).unwrap();
}

fn plain_client<'a>(user: &'a str, password: &'a str) -> impl Fn(&Socket) + 'a {
    move |s| {
        s.set_plain_username(user).unwrap();
        s.set_plain_password(password).unwrap();
    }
}

/// How one client's attempt ended.
#[derive(Debug)]
enum Outcome {
    /// Admitted: the message it sent, with its connection's properties.
    Admitted(Message),
    /// Refused: the server's and the client's handshake events.
    Refused(MonitorEvent, MonitorEvent),
}

impl Outcome {
    #[track_caller]
    fn admitted(self) -> Message {
        match self {
            Outcome::Admitted(m) => m,
            Outcome::Refused(s, c) => panic!("expected an admission, the server said {s:?}, the client {c:?}"),
        }
    }

    /// Asserts a refusal by the handler (400), reported on both sides.
    #[track_caller]
    fn refused(self) {
        match self {
            Outcome::Refused(s, c) => {
                assert_eq!((s.event, s.value), (Event::HandshakeFailedAuth, 400), "the server: {s:?}");
                assert_eq!((c.event, c.value), (Event::HandshakeFailedAuth, 400), "the client: {c:?}");
            }
            Outcome::Admitted(m) => panic!("expected a refusal, got {:?} from {:?}", m.frames(), m.properties()),
        }
    }
}

/// A PULL server (set up by `server`, bound over tcp) and a PUSH client (`client`) in `ctx`:
/// the client sends one message; how did its handshake end?
fn attempt(ctx: &Context, server: impl Fn(&Socket), client: impl Fn(&Socket)) -> Outcome {
    let handshake = Event::HandshakeSucceeded | Event::HandshakeFailedAuth | Event::HandshakeFailedNoDetail;
    let pull = socket(ctx, SocketType::Pull);
    server(&pull);
    let smon = pull.monitor(handshake | Event::HandshakeFailedProtocol).unwrap();
    let ep = bind(&pull, Transport::Tcp);
    let push = socket(ctx, SocketType::Push);
    client(&push);
    push.add_metadata("X-Foo", "bar").unwrap();
    let cmon = push.monitor(handshake | Event::HandshakeFailedProtocol).unwrap();
    push.connect(&ep).unwrap();
    // The connect's pipe takes the message at once; but a refusal that came first has
    // removed it (the client gives up), and then there is nothing to send to.
    push.set_sndtimeo(0).unwrap();
    let sent = push.send("hello");
    let s = smon.recv_timeout(SOON).expect("the server reports the handshake's end");
    let c = cmon.recv_timeout(SOON).expect("the client reports the handshake's end");
    if s.event == Event::HandshakeSucceeded {
        assert_eq!(c.event, Event::HandshakeSucceeded, "{c:?}");
        sent.expect("an admitted client's send");
        let m = pull.recv_message().expect("the admitted client's message");
        assert_eq!(m.frames(), ["hello"]);
        assert_eq!(m.property("X-Foo"), Some(&b"bar"[..]), "the client's metadata");
        Outcome::Admitted(m)
    } else {
        assert!(matches!(sent, Ok(()) | Err(Error::Again)), "{sent:?}");
        Outcome::Refused(s, c)
    }
}

/// A temporary directory, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(common::unique_name(tag));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A certificate as pyzmq's `zmq.auth.create_certificates` writes it (a secret one too, if
/// `secret` is given).
fn certificate(public: &str, secret: Option<&str>) -> String {
    let mut text = format!(
        "#   ****  Generated on 2026-01-01 00:00:00 by pyzmq  ****\n\
         #   ZeroMQ CURVE Public Certificate\n\
         \n\
         metadata\n\
         curve\n    public-key = \"{public}\"\n"
    );
    if let Some(secret) = secret {
        text.push_str(&format!("    secret-key = \"{secret}\"\n"));
    }
    text
}

#[test]
fn plain_admits_the_right_password_only() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.configure_plain("*", [("alice".to_string(), "secret".to_string()), ("bob".to_string(), "pw".to_string())]);
    let m = attempt(&ctx, plain_server, plain_client("alice", "secret")).admitted();
    assert_eq!(m.property("User-Id"), Some(&b"alice"[..]), "the user name is the User-Id");
    assert_eq!(
        attempt(&ctx, plain_server, plain_client("bob", "pw")).admitted().property("User-Id"),
        Some(&b"bob"[..])
    );
    attempt(&ctx, plain_server, plain_client("alice", "wrong")).refused();
    attempt(&ctx, plain_server, plain_client("alice", "secre")).refused();
    attempt(&ctx, plain_server, plain_client("mallory", "secret")).refused();
}

#[test]
fn plain_without_passwords_refuses() {
    let ctx = Context::new();
    let _auth = Authenticator::start(&ctx).unwrap();
    attempt(&ctx, plain_server, plain_client("alice", "secret")).refused();
}

#[test]
fn plain_passwords_from_a_file() {
    let dir = TempDir::new("auth-plain");
    let good = dir.write("passwords", "# users\n\nalice=s3cret\n  bob = pass=word  \n");
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.configure_plain_file("*", &good).unwrap();
    attempt(&ctx, plain_server, plain_client("alice", "s3cret")).admitted();
    // The line is trimmed, the user name too; the password is all after the first '='.
    attempt(&ctx, plain_server, plain_client("bob", " pass=word")).admitted();
    attempt(&ctx, plain_server, plain_client("alice", "wrong")).refused();

    let bad = dir.write("bad", "alice=x\n# fine\njust a name\n");
    let e = auth.configure_plain_file("*", &bad).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(e.to_string().contains(&format!("{}:3:", bad.display())), "names the file and line: {e}");
    attempt(&ctx, plain_server, plain_client("alice", "s3cret")).admitted();
    let missing = dir.0.join("missing");
    let e = auth.configure_plain_file("*", &missing).unwrap_err();
    assert!(matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound), "{e:?}");
    assert!(e.to_string().contains(&missing.display().to_string()), "names the file: {e}");
}

#[test]
fn curve_any_admits_every_client_with_its_key_as_user_id() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    let curve = Curve::new();
    // Not configured yet: refused.
    let (public, secret) = keypair();
    attempt(&ctx, curve.server(), curve.client(&public, &secret)).refused();
    auth.configure_curve_any("*");
    let m = attempt(&ctx, curve.server(), curve.client(&public, &secret)).admitted();
    assert_eq!(m.property("User-Id"), Some(public.as_bytes()), "the client's key in Z85");
}

#[test]
fn curve_key_list_admits_known_keys_only() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    let curve = Curve::new();
    let (known, known_secret) = keypair();
    let (stranger, stranger_secret) = keypair();
    auth.configure_curve("*", [raw(&known)]);
    let m = attempt(&ctx, curve.server(), curve.client(&known, &known_secret)).admitted();
    assert_eq!(m.property("User-Id"), Some(known.as_bytes()));
    attempt(&ctx, curve.server(), curve.client(&stranger, &stranger_secret)).refused();
    // A change applies to the next handshake; a new list replaces the old one.
    auth.configure_curve("*", [raw(&stranger)]);
    attempt(&ctx, curve.server(), curve.client(&stranger, &stranger_secret)).admitted();
    attempt(&ctx, curve.server(), curve.client(&known, &known_secret)).refused();
}

#[test]
fn curve_certificate_directory() {
    let dir = TempDir::new("auth-certs");
    let (alice, alice_secret) = keypair();
    let (bob, bob_secret) = keypair();
    let (stranger, stranger_secret) = keypair();
    dir.write("alice.key", &certificate(&alice, None));
    // A secret certificate names its public key too; czmq writes single quotes or none.
    dir.write("bob.key_secret", &certificate(&bob, Some(&bob_secret)).replace('"', "'"));
    dir.write(".hidden", "not a certificate, and skipped");
    std::fs::create_dir(dir.0.join("subdir")).unwrap();

    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.configure_curve_dir("*", &dir.0).unwrap();
    let curve = Curve::new();
    attempt(&ctx, curve.server(), curve.client(&alice, &alice_secret)).admitted();
    attempt(&ctx, curve.server(), curve.client(&bob, &bob_secret)).admitted();
    attempt(&ctx, curve.server(), curve.client(&stranger, &stranger_secret)).refused();

    // A file that is not a certificate: an error naming it, and the keys stay as they were.
    let junk = dir.write("junk.key", "curve\n    public-key = \"tooshort\"\n");
    let e = auth.configure_curve_dir("*", &dir.0).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(e.to_string().contains(&format!("{}:2", junk.display())), "{e}");
    dir.write("junk.key", "metadata\n    public-key = \"x\"\n");
    let e = auth.configure_curve_dir("*", &dir.0).unwrap_err();
    assert!(e.to_string().contains("no `public-key` in a `curve` section"), "{e}");
    attempt(&ctx, curve.server(), curve.client(&alice, &alice_secret)).admitted();
    let e = auth.configure_curve_dir("*", &dir.0.join("missing")).unwrap_err();
    assert!(matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound), "{e:?}");
}

#[test]
fn ip_deny_and_allow_lists() {
    let (public, secret) = keypair();
    let curve = Curve::new();
    {
        let ctx = Context::new();
        let auth = Authenticator::start(&ctx).unwrap();
        auth.configure_curve_any("*");
        auth.deny([ip(LOCALHOST)]);
        attempt(&ctx, curve.server(), curve.client(&public, &secret)).refused();
    }
    {
        let ctx = Context::new();
        let auth = Authenticator::start(&ctx).unwrap();
        auth.configure_curve_any("*");
        auth.allow([ip("10.9.8.7")]);
        attempt(&ctx, curve.server(), curve.client(&public, &secret)).refused();
        auth.allow([ip(LOCALHOST)]);
        attempt(&ctx, curve.server(), curve.client(&public, &secret)).admitted();
    }
    {
        // NULL with a ZAP domain asks too: admitted once its address passes.
        let ctx = Context::new();
        let auth = Authenticator::start(&ctx).unwrap();
        let guarded = |s: &Socket| s.set_zap_domain("guarded").unwrap();
        let m = attempt(&ctx, guarded, |_| ()).admitted();
        assert_eq!(m.property("User-Id"), Some(&b"anonymous"[..]), "pyzmq's User-Id for NULL");
        auth.deny([ip(LOCALHOST)]);
        attempt(&ctx, guarded, |_| ()).refused();
        // A socket without a ZAP domain does not ask.
        attempt(&ctx, |_| (), |_| ()).admitted();
    }
}

/// A domain's own configuration is the one its sockets get; "*" is for every other domain.
#[test]
fn domains_and_the_star() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.configure_plain("*", [("everyone".to_string(), "x".to_string())]);
    auth.configure_plain("admin", [("root".to_string(), "y".to_string())]);
    let in_domain = |domain: &'static str| {
        move |s: &Socket| {
            plain_server(s);
            s.set_zap_domain(domain).unwrap();
        }
    };
    attempt(&ctx, in_domain("admin"), plain_client("root", "y")).admitted();
    attempt(&ctx, in_domain("admin"), plain_client("everyone", "x")).refused();
    attempt(&ctx, in_domain("other"), plain_client("everyone", "x")).admitted();
    attempt(&ctx, in_domain("other"), plain_client("root", "y")).refused();
    attempt(&ctx, plain_server, plain_client("everyone", "x")).admitted();

    let curve = Curve::new();
    let (public, secret) = keypair();
    auth.configure_curve("*", []);
    auth.configure_curve_any("open");
    let curve_in = |domain: &'static str| {
        let server = curve.server();
        move |s: &Socket| {
            server(s);
            s.set_zap_domain(domain).unwrap();
        }
    };
    attempt(&ctx, curve_in("open"), curve.client(&public, &secret)).admitted();
    attempt(&ctx, curve_in("closed"), curve.client(&public, &secret)).refused();
}

/// One handler per context, as libzmq's bind of the ZAP endpoint; a stopped one is gone: a
/// PLAIN server then refuses as it does with no handler, and a new one may start.
#[test]
fn one_authenticator_per_context_and_stop() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    let e = Authenticator::start(&ctx).unwrap_err();
    assert!(matches!(e, Error::AddrInUse(_)), "{e:?}");
    assert_eq!(e.errno(), 98, "EADDRINUSE");
    let other = Context::new();
    let _elsewhere = Authenticator::start(&other).expect("another context has its own");
    auth.configure_plain("*", [("u".to_string(), "p".to_string())]);
    attempt(&ctx, plain_server, plain_client("u", "p")).admitted();
    auth.stop();
    match attempt(&ctx, plain_server, plain_client("u", "p")) {
        Outcome::Refused(s, _) => assert_eq!(s.event, Event::HandshakeFailedNoDetail, "no handler: {s:?}"),
        Outcome::Admitted(_) => panic!("admitted with no handler"),
    }
    let again = Authenticator::start(&ctx).expect("the endpoint is free again");
    again.configure_plain("*", [("u".to_string(), "p".to_string())]);
    attempt(&ctx, plain_server, plain_client("u", "p")).admitted();
}

/// Terminating the context stops the handler's thread (its socket is closed), so `term`
/// returns; dropping the Authenticator afterwards is fine.
#[test]
fn context_term_stops_the_authenticator() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    let ctx2 = ctx.clone();
    within(SOON, move || ctx2.term()).expect("term returns with an Authenticator running");
    drop(auth);
    assert!(matches!(Authenticator::start(&ctx), Err(Error::ContextTerminated)));
}

/// The handler answers a request it cannot read (too few frames) with 500, as RFC 27's
/// "internal error", and keeps serving.
#[test]
fn a_malformed_request_gets_500() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.configure_plain("*", [("u".to_string(), "p".to_string())]);
    let req = socket(&ctx, SocketType::Req);
    req.connect("inproc://zeromq.zap.01").unwrap();
    req.send_multipart(["1.0", "id-1", "domain"]).unwrap();
    let reply = req.recv_multipart().unwrap();
    assert_eq!(common::show(&reply[..4]), ["1.0", "id-1", "500", "Malformed request"]);
    req.send_multipart(["1.0", "id-2", "", "127.0.0.1", "", "PLAIN", "u", "p"]).unwrap();
    let reply = req.recv_multipart().unwrap();
    assert_eq!(common::show(&reply), ["1.0", "id-2", "200", "OK", "u", ""]);
}

/// An asker that goes away before its reply (a handshake that ended first) does not stop the
/// handler: the reply is dropped and the next handshake is served.
#[test]
fn an_asker_gone_before_the_reply_does_not_stop_the_handler() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.configure_plain("*", [("u".to_string(), "p".to_string())]);
    for i in 0..20 {
        let req = socket(&ctx, SocketType::Req);
        req.connect("inproc://zeromq.zap.01").unwrap();
        req.send_multipart(["1.0", &format!("gone-{i}"), "", "127.0.0.1", "", "PLAIN", "u", "p"]).unwrap();
    }
    attempt(&ctx, plain_server, plain_client("u", "p")).admitted();
    attempt(&ctx, plain_server, plain_client("u", "x")).refused();
}
