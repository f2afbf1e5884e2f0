//! Interop tests, publish-subscribe: the subscription bytes on the wire. Hand-written ZMTP 3.0 and
//! 3.1 peers against oxmq PUB, XPUB, SUB and XSUB, with libzmq 4.x (pyzmq) as the control.
//!
//! 23/ZMTP and 37/ZMTP: to a ZMTP 3.0 peer a subscription is a message whose first byte is 1 (0
//! cancels); to a 3.1 peer a SUBSCRIBE / CANCEL command. A 3.1 publisher accepts both forms.

mod common;
#[macro_use]
mod interop;
#[path = "interop/pubsub.rs"]
mod pubsub;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use interop::*;
use oxmq::{Context, SocketType};

use pubsub::*;

/// How a raw subscriber subscribes: ZMTP 3.0 and 3.1 messages, 3.1 commands.
#[derive(Clone, Copy, Debug)]
enum Form {
    Zmtp30Message,
    Zmtp31Message,
    Zmtp31Command,
}

impl Form {
    fn minor(self) -> u8 {
        if matches!(self, Form::Zmtp30Message) { 0 } else { 1 }
    }

    fn send(self, rawp: &mut RawPeer, subscribe: bool, topic: &[u8]) {
        let (flags, body) = match self {
            Form::Zmtp31Command => sub_frame(1, subscribe, topic),
            _ => framed(0, &with_cmd(u8::from(subscribe), topic)),
        };
        rawp.send_frame(flags & !raw::LONG, &body);
    }
}

/// The frame a SUB sends a ZMTP 3.`minor` peer to (un)subscribe `topic`.
fn sub_frame(minor: u8, subscribe: bool, topic: &[u8]) -> raw::Frame {
    if minor == 0 {
        framed(0, &with_cmd(u8::from(subscribe), topic))
    } else {
        let mut body = if subscribe { b"\x09SUBSCRIBE".to_vec() } else { b"\x06CANCEL".to_vec() };
        body.extend_from_slice(topic);
        framed(COMMAND, &body)
    }
}

// ---------------------------------------------------------------------------
// Hand-written ZMTP 3.0 / 3.1 peers: the subscription bytes on the wire
// ---------------------------------------------------------------------------
//
// pyzmq always speaks ZMTP 3.1, so these peers are written here: a greeting
// with the chosen minor version, READY, then raw frames. What they expect
// was checked against libzmq 4.3.5 (and the `*_libzmq_control` tests keep
// checking it): its SUB sends subscriptions to a 3.0 peer as messages
// "\x01topic" / "\x00topic", to a 3.1 peer as SUBSCRIBE / CANCEL commands;
// its XSUB sends them as messages to both; its XPUB accepts every form.

mod raw {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
    use std::time::{Duration, Instant};

    pub const MORE: u8 = 1;
    pub const LONG: u8 = 2;
    pub const COMMAND: u8 = 4;

    /// A frame as it was on the wire: flags (with LONG) and body.
    pub type Frame = (u8, Vec<u8>);

    pub fn encode(flags: u8, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len() + 9);
        if body.len() > 255 {
            out.push(flags | LONG);
            out.extend_from_slice(&(body.len() as u64).to_be_bytes());
        } else {
            out.push(flags);
            out.push(body.len() as u8);
        }
        out.extend_from_slice(body);
        out
    }

    /// `frame` as the wire carries it: LONG set when the body needs it.
    pub fn framed(flags: u8, body: &[u8]) -> Frame {
        (if body.len() > 255 { flags | LONG } else { flags }, body.to_vec())
    }

    pub fn show(frame: &Frame) -> String {
        let body = if frame.1.len() > 40 {
            format!("{}... ({} bytes)", frame.1[..40].escape_ascii(), frame.1.len())
        } else {
            frame.1.escape_ascii().to_string()
        };
        format!("flags {:#04x} \"{body}\"", frame.0)
    }

    fn read_frame(s: &mut TcpStream) -> std::io::Result<Frame> {
        let mut flags = [0u8; 1];
        s.read_exact(&mut flags)?;
        let size = if flags[0] & LONG != 0 {
            let mut n = [0u8; 8];
            s.read_exact(&mut n)?;
            u64::from_be_bytes(n) as usize
        } else {
            let mut n = [0u8; 1];
            s.read_exact(&mut n)?;
            n[0] as usize
        };
        if size > 1 << 26 {
            // Not a size any test sends: the stream is out of step.
            return Err(std::io::Error::other(format!("implausible frame size {size} (flags {:#04x})", flags[0])));
        }
        let mut body = vec![0u8; size];
        s.read_exact(&mut body)?;
        Ok((flags[0], body))
    }

    pub struct RawPeer {
        stream: TcpStream,
        frames: Receiver<Frame>,
        /// The Socket-Type the other side announced in READY.
        pub socket_type: String,
        pub name: String,
    }

    impl RawPeer {
        /// Connects to a tcp endpoint of the socket under test.
        pub fn connect(endpoint: &str, minor: u8, socket_type: &str, name: &str) -> RawPeer {
            let addr = endpoint.strip_prefix("tcp://").expect("a tcp endpoint");
            let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{name}: connect {addr}: {e}"));
            RawPeer::handshake(stream, minor, socket_type, name)
        }

        /// Accepts one connection (the socket under test connects to us).
        pub fn accept(listener: &TcpListener, minor: u8, socket_type: &str, name: &str) -> RawPeer {
            listener.set_nonblocking(true).unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        return RawPeer::handshake(stream, minor, socket_type, name);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5)); // bounded polling
                    }
                    Err(e) => panic!("{name}: no connection to accept within 10 s: {e}"),
                }
            }
        }

        /// Greeting (version 3.`minor`, NULL) and READY both ways.
        fn handshake(mut stream: TcpStream, minor: u8, socket_type: &str, name: &str) -> RawPeer {
            stream.set_nodelay(true).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut greeting = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, minor];
            greeting.extend_from_slice(b"NULL");
            greeting.resize(64, 0);
            let mut ready = b"\x05READY\x0bSocket-Type".to_vec();
            ready.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
            ready.extend_from_slice(socket_type.as_bytes());
            greeting.extend_from_slice(&encode(COMMAND, &ready));
            stream.write_all(&greeting).unwrap_or_else(|e| panic!("{name}: write greeting: {e}"));

            let mut theirs = vec![0u8; 64];
            stream.read_exact(&mut theirs).unwrap_or_else(|e| panic!("{name}: read the greeting: {e}"));
            assert!(theirs[0] == 0xFF && theirs[9] == 0x7F && theirs[10] == 3, "{name}: greeting {theirs:?}");
            let (flags, body) = read_frame(&mut stream).unwrap_or_else(|e| panic!("{name}: read READY: {e}"));
            assert!(flags & COMMAND != 0 && body.starts_with(b"\x05READY"), "{name}: expected READY, got {flags:#x}");
            // Properties: name (1 byte length) and value (4 byte length).
            let mut props = &body[6..];
            let mut socket_type = String::new();
            while !props.is_empty() {
                let n = props[0] as usize;
                let key = String::from_utf8_lossy(&props[1..1 + n]).to_string();
                let len = u32::from_be_bytes(props[1 + n..5 + n].try_into().unwrap()) as usize;
                if key.eq_ignore_ascii_case("Socket-Type") {
                    socket_type = String::from_utf8_lossy(&props[5 + n..5 + n + len]).to_string();
                }
                props = &props[5 + n + len..];
            }

            stream.set_read_timeout(None).unwrap();
            let mut reader = stream.try_clone().unwrap();
            let (tx, frames) = mpsc::channel();
            std::thread::spawn(move || {
                loop {
                    match read_frame(&mut reader) {
                        Ok(frame) => {
                            if tx.send(frame).is_err() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Other => {
                            // Reported as a frame no test expects.
                            let _ = tx.send((0xFF, format!("READ ERROR: {e}").into_bytes()));
                            break;
                        }
                        Err(_) => break,
                    }
                }
            });
            RawPeer { stream, frames, socket_type, name: name.to_string() }
        }

        pub fn send_frame(&mut self, flags: u8, body: &[u8]) {
            self.stream.write_all(&encode(flags, body)).unwrap_or_else(|e| panic!("{}: write: {e}", self.name));
        }

        pub fn send_msg(&mut self, frames: &[&[u8]]) {
            for (i, body) in frames.iter().enumerate() {
                self.send_frame(if i + 1 < frames.len() { MORE } else { 0 }, body);
            }
        }

        /// The next frame within `timeout`, calling `poke` meanwhile (an
        /// oxmq or libzmq socket may only attach a new connection inside a
        /// call on it).
        pub fn next_frame(&mut self, timeout: Duration, mut poke: impl FnMut()) -> Option<Frame> {
            let deadline = Instant::now() + timeout;
            loop {
                poke();
                match self.frames.recv_timeout(Duration::from_millis(10)) {
                    Ok(frame) => return Some(frame),
                    Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                    Err(_) => return None,
                }
            }
        }

        #[track_caller]
        pub fn expect_frame(&mut self, want: Frame, what: &str, poke: impl FnMut()) {
            match self.next_frame(Duration::from_secs(5), poke) {
                Some(got) if got == want => {}
                Some(got) => panic!("{}: {what}: got {}, expected {}", self.name, show(&got), show(&want)),
                None => panic!("{}: {what}: nothing within 5 s, expected {}", self.name, show(&want)),
            }
        }
    }
}

use raw::{COMMAND, MORE, RawPeer, framed};

/// A SUB (oxmq, or libzmq as the control) subscribed to "abc" before
/// connecting, and a raw PUB speaking ZMTP 3.`minor`: the exact
/// subscription frames (short and long), then receive-side filtering (a
/// 3.0 publisher need not filter; libzmq's SUB filters what it receives,
/// zmq_setsockopt(3) ZMQ_SUBSCRIBE).
fn sub_to_raw_publisher(minor: u8, libzmq: bool, side: Side) {
    let who = if libzmq { "libzmq SUB (control)" } else { "oxmq SUB" };
    let name = format!("{who} <-> raw ZMTP 3.{minor} PUB, {side:?}");
    let long_topic = vec![b'L'; 300];
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, SocketType::Sub);
    ox.subscribe("abc").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen_ep = format!("tcp://{}", listener.local_addr().unwrap());
    let mut py;
    let (mut rawp, mut sub) = if libzmq {
        py = Peer::spawn("SUB", &args(&["--connect", &listen_ep, "--subscribe", "abc"]));
        (RawPeer::accept(&listener, minor, "PUB", &name), Subscriber::Pyzmq { peer: &mut py, xsub: false })
    } else if side == Side::OxmqConnects {
        ox.connect(&listen_ep).unwrap();
        (RawPeer::accept(&listener, minor, "PUB", &name), Subscriber::Oxmq(&ox))
    } else {
        ox.bind("tcp://127.0.0.1:*").unwrap();
        (RawPeer::connect(&ox.last_endpoint().unwrap(), minor, "PUB", &name), Subscriber::Oxmq(&ox))
    };
    assert_eq!(rawp.socket_type, "SUB", "{name}: Socket-Type in READY");
    let poke = || {
        if !libzmq {
            assert!(matches!(ox.try_recv(), Err(oxmq::Error::Again)), "nothing to receive yet");
        }
    };
    rawp.expect_frame(sub_frame(minor, true, b"abc"), "subscription made before connecting", poke);
    sub.subscribe(&long_topic);
    rawp.expect_frame(sub_frame(minor, true, &long_topic), "a 300 byte topic (long frame)", poke);
    sub.subscribe(b"");
    rawp.expect_frame(sub_frame(minor, true, b""), "the empty prefix", poke);
    sub.unsubscribe(b"");
    rawp.expect_frame(sub_frame(minor, false, b""), "cancel of the empty prefix", poke);
    sub.unsubscribe(&long_topic);
    rawp.expect_frame(sub_frame(minor, false, &long_topic), "cancel of the 300 byte topic", poke);
    // Around the short/long frame boundary (a body of 255 / 256 bytes):
    // 1 + topic for a message, 10 ("\x09SUBSCRIBE") or 7 ("\x06CANCEL") +
    // topic for a command.
    for len in [245, 246, 248, 249, 254, 255] {
        if libzmq && minor == 0 && len == 255 {
            // libzmq 4.3.5 gets this one wrong: to a 3.0 peer it sends the
            // 256 byte message as flags 0x00 (no LONG bit) followed by an
            // 8 byte size. Its 3.1 commands are framed right.
            continue;
        }
        let topic = vec![b'B'; len];
        sub.subscribe(&topic);
        rawp.expect_frame(sub_frame(minor, true, &topic), &format!("subscribe a {len} byte topic"), poke);
        sub.unsubscribe(&topic);
        rawp.expect_frame(sub_frame(minor, false, &topic), &format!("cancel a {len} byte topic"), poke);
    }

    rawp.send_msg(&[b"abc1"]);
    rawp.send_msg(&[b"zzz"]);
    rawp.send_msg(&[b"abc2", b"more"]);
    rawp.send_msg(&[b"ab"]);
    rawp.send_msg(&[&long_topic]);
    rawp.send_msg(&[b"abc-fence"]);
    let got = sub.collect(b"abc-fence");
    let want = vec![describe_msg(&[b"abc1"]), describe_msg(&[&b"abc2"[..], b"more"])];
    assert_eq!(got, want, "{name}: what the SUB delivers of what the raw PUB sent");
}

#[test]
fn zmtp30_publisher_gets_sub_subscriptions_as_messages() {
    run_without_python(|| {
        sub_to_raw_publisher(0, false, Side::OxmqConnects);
        sub_to_raw_publisher(0, false, Side::OxmqBinds);
    });
}

#[test]
fn zmtp31_publisher_gets_sub_subscriptions_as_commands() {
    run_without_python(|| {
        sub_to_raw_publisher(1, false, Side::OxmqConnects);
        sub_to_raw_publisher(1, false, Side::OxmqBinds);
    });
}

#[test]
fn zmtp_publisher_gets_sub_subscriptions_libzmq_control() {
    run_test(|| {
        sub_to_raw_publisher(0, true, Side::OxmqConnects);
        sub_to_raw_publisher(1, true, Side::OxmqConnects);
    });
}

/// An oxmq XSUB and a raw PUB: "\x01topic" / "\x00topic" messages the
/// application sends go out as messages to a 3.0 peer; to a 3.1 peer as
/// SUBSCRIBE / CANCEL commands (37/ZMTP) or as the same messages (what
/// libzmq 4.3.5's XSUB sends; every libzmq publisher accepts both).
/// Other messages go to the publisher unchanged (29/PUBSUB).
fn xsub_to_raw_publisher(minor: u8) {
    let name = format!("oxmq XSUB -> raw ZMTP 3.{minor} PUB");
    let ctx = Context::new();
    let xsub = oxmq_socket(&ctx, SocketType::XSub);
    xsub.bind("tcp://127.0.0.1:*").unwrap();
    let mut rawp = RawPeer::connect(&xsub.last_endpoint().unwrap(), minor, "PUB", &name);
    assert_eq!(rawp.socket_type, "XSUB", "{name}: Socket-Type in READY");
    let long_topic = vec![b'L'; 300];
    let cases: [(bool, &[u8]); 4] = [(true, b"abc"), (true, &long_topic), (false, b"abc"), (true, b"")];
    // The XSUB may attach the connection only inside a call on it.
    let poke = || assert!(matches!(xsub.try_recv(), Err(oxmq::Error::Again)), "{name}: nothing to receive");
    for (subscribe, topic) in cases {
        oxmq_send(&xsub, &subscription_msg(subscribe, topic));
        let what = format!("{} {:?}", if subscribe { "subscribe" } else { "cancel" }, render(&describe(topic)));
        let got = rawp.next_frame(Duration::from_secs(5), poke).unwrap_or_else(|| panic!("{name}: {what}: nothing"));
        let as_msg = framed(0, &with_cmd(u8::from(subscribe), topic));
        let ok = got == as_msg || (minor == 1 && got == sub_frame(1, subscribe, topic));
        assert!(ok, "{name}: {what}: got {}", raw::show(&got));
        if topic == b"abc" && subscribe {
            eprintln!("{name}: a subscription travels as {}", if got == as_msg { "a message" } else { "a command" });
        }
    }
    oxmq_send(&xsub, &m(&[b"hello", b"upstream"]));
    rawp.expect_frame((MORE, b"hello".to_vec()), "a plain message, first frame", || {});
    rawp.expect_frame((0, b"upstream".to_vec()), "a plain message, last frame", || {});
}

#[test]
fn zmtp_publisher_gets_xsub_subscriptions() {
    run_without_python(|| {
        xsub_to_raw_publisher(0);
        xsub_to_raw_publisher(1);
    });
}

/// A raw SUB subscribing in `form` to an oxmq XPUB, PUB, or a libzmq XPUB
/// (control): the XPUB application sees "\x01abc" / "\x00abc", and the
/// publisher filters by what the raw SUB asked for.
fn raw_subscriber(form: Form, publisher_type: SocketType, libzmq: bool) {
    let who = if libzmq { format!("libzmq {publisher_type:?} (control)") } else { format!("oxmq {publisher_type:?}") };
    let name = format!("raw SUB ({form:?}) -> {who}");
    let long_topic = vec![b'L'; 300];
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, publisher_type);
    let py: RefCell<Option<Peer>> = RefCell::new(None);
    let endpoint = if libzmq {
        let peer = Peer::spawn("XPUB", &args(&["--bind", "tcp://127.0.0.1:*"]));
        let ep = peer.endpoint.clone();
        *py.borrow_mut() = Some(peer);
        ep
    } else {
        ox.bind("tcp://127.0.0.1:*").unwrap();
        ox.last_endpoint().unwrap()
    };
    let mut rawp = RawPeer::connect(&endpoint, form.minor(), "SUB", &name);
    let is_xpub = publisher_type == SocketType::XPub;
    let publish = |msg: &[&[u8]]| match py.borrow_mut().as_mut() {
        Some(peer) => peer.send(&m(msg)),
        None => oxmq_send(&ox, &m(msg)),
    };
    // What the XPUB application receives next (nothing to check on a PUB).
    let xpub_msg = |want: &[u8], what: &str| match py.borrow_mut().as_mut() {
        Some(peer) => assert_peer_got(&peer.recv(), &m(&[want]), &format!("{name}: {what}")),
        None if is_xpub => expect_xpub_msg(&ox, want, &format!("{name}: {what}")),
        None => {}
    };

    form.send(&mut rawp, true, b"abc");
    xpub_msg(b"\x01abc", "subscribe \"abc\"");
    form.send(&mut rawp, true, &long_topic);
    xpub_msg(&with_cmd(1, &long_topic), "subscribe a 300 byte topic");
    // Around the short/long frame boundary of messages and commands.
    for len in [245, 246, 248, 249, 254, 255] {
        let topic = vec![b'B'; len];
        form.send(&mut rawp, true, &topic);
        xpub_msg(&with_cmd(1, &topic), &format!("subscribe a {len} byte topic"));
        form.send(&mut rawp, false, &topic);
        xpub_msg(&with_cmd(0, &topic), &format!("cancel a {len} byte topic"));
    }
    // Publish probes until the subscription is in effect (a PUB tells no other way).
    let deadline = Instant::now() + SUBSCRIBE_DEADLINE;
    loop {
        publish(&[b"abc-probe"]);
        if rawp.next_frame(Duration::from_millis(20), || {}).is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "{name}: subscription \"abc\" not in effect within {SUBSCRIBE_DEADLINE:?}");
    }
    let mut long_match = long_topic.clone();
    long_match.push(b'!');
    for msg in [&[&b"abc1"[..]][..], &[b"zzz"], &[b"abc2", b"more"], &[b"ab"], &[&long_match], &[b"abc-fence"]] {
        publish(msg);
    }
    let mut got = Vec::new();
    loop {
        let frame = rawp.next_frame(Duration::from_secs(5), || {}).unwrap_or_else(|| panic!("{name}: no fence"));
        if frame.1 == b"abc-fence" {
            break;
        }
        if frame.1 != b"abc-probe" {
            got.push(raw::show(&frame));
        }
    }
    let want: Vec<String> = [framed(0, b"abc1"), framed(MORE, b"abc2"), framed(0, b"more"), framed(0, &long_match)]
        .iter()
        .map(raw::show)
        .collect();
    assert_eq!(got, want, "{name}: frames the raw SUB received");

    form.send(&mut rawp, false, b"abc");
    xpub_msg(b"\x00abc", "cancel \"abc\"");
    form.send(&mut rawp, true, b"z");
    xpub_msg(b"\x01z", "subscribe \"z\"");
    let deadline = Instant::now() + SUBSCRIBE_DEADLINE;
    loop {
        publish(&[b"abc-late"]);
        publish(&[b"z1"]);
        let frame = rawp.next_frame(Duration::from_millis(20), || {});
        match frame {
            Some(frame) if frame.1 == b"z1" => break,
            Some(frame) if frame.1 == b"abc-late" && !is_xpub => {} // the PUB had not seen the cancel yet
            Some(frame) => panic!("{name}: after cancelling \"abc\": got {}", raw::show(&frame)),
            None => assert!(Instant::now() < deadline, "{name}: subscription \"z\" not in effect"),
        }
    }
}

#[test]
fn zmtp_subscribers_accepted_by_xpub() {
    run_without_python(|| {
        for form in [Form::Zmtp30Message, Form::Zmtp31Message, Form::Zmtp31Command] {
            raw_subscriber(form, SocketType::XPub, false);
        }
    });
}

#[test]
fn zmtp_subscribers_accepted_by_pub() {
    run_without_python(|| {
        for form in [Form::Zmtp30Message, Form::Zmtp31Message, Form::Zmtp31Command] {
            raw_subscriber(form, SocketType::Pub, false);
        }
    });
}

#[test]
fn zmtp_subscribers_accepted_by_xpub_libzmq_control() {
    run_test(|| {
        for form in [Form::Zmtp30Message, Form::Zmtp31Message, Form::Zmtp31Command] {
            raw_subscriber(form, SocketType::XPub, true);
        }
    });
}
