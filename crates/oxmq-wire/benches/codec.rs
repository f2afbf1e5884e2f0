//! Micro-benchmarks of the sans-IO ZMTP codec: frame encode and decode,
//! multipart messages, command parsing and a whole NULL handshake.
//!
//! ```sh
//! cargo bench -p oxmq-wire --bench codec -- --save-baseline main   # on the reference commit
//! cargo bench -p oxmq-wire --bench codec -- --baseline main        # on the change, to compare
//! cargo test -p oxmq-wire --benches                                # smoke: every benchmark once
//! ```
//!
//! Byte throughputs count wire bytes (frame headers + bodies), so the 0-byte
//! rows measure header handling alone. See BENCHMARKS.md, "Codec
//! micro-benchmarks". The `connection` group runs the same batches through
//! `Connection` (the sans-IO state machine) instead of the bare codec. The
//! `curve` group boxes and unboxes single frames through two CURVE
//! connections (throughput counts the frame's body bytes). The `handshake`
//! group also times a whole CURVE handshake and what one HELLO (valid, or
//! whose box does not open) costs a CURVE server.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use oxmq_wire::{
    Command, Connection, ConnectionConfig, CurveConfig, CurveKeyPair, Decoder, Frame, Greeting, Handshake,
    HandshakeConfig, HandshakeStatus, Mechanism, MechanismConfig, Message, Metadata, SocketType, Transmit,
    encode_frame_header, frame_header_len,
};

/// Message sizes, and how many frames of each one iteration encodes or
/// decodes (one batch, as the engine writes or reads it). 0 and 64 bytes use
/// the 2-byte header, 1 KiB and 64 KiB the 9-byte one.
const SIZES: [(usize, usize); 4] = [(0, 1000), (64, 1000), (1024, 256), (64 * 1024, 4)];

/// The engine's threshold (crates/oxmq/src/engine/zmtp.rs `LARGE_BODY`): from
/// this size on, bodies are written from their own buffers, not copied.
const LARGE_BODY: usize = 16 * 1024;

fn wire_len(sizes: &[usize]) -> u64 {
    sizes.iter().map(|&n| (frame_header_len(n) + n) as u64).sum()
}

/// Message frames as they come out of the pipe: bodies with their MORE flag.
fn messages(parts: &[usize], count: usize) -> Vec<(Bytes, bool)> {
    let mut out = Vec::with_capacity(parts.len() * count);
    for i in 0..count {
        for (j, &len) in parts.iter().enumerate() {
            out.push((Bytes::from(vec![(i + j) as u8; len]), j + 1 < parts.len()));
        }
    }
    out
}

/// The engine's write path: header + body copy into one batch buffer.
fn encode_batch(msgs: &[(Bytes, bool)], wbuf: &mut BytesMut) {
    for (body, more) in msgs {
        encode_frame_header(*more, false, body.len(), wbuf);
        wbuf.extend_from_slice(body);
    }
}

/// The wire image of `msgs`, to decode.
fn wire(msgs: &[(Bytes, bool)]) -> Bytes {
    let mut buf = BytesMut::new();
    encode_batch(msgs, &mut buf);
    buf.freeze()
}

/// Decodes every frame of `buf` (bodies split off without copying), and
/// returns the number of whole messages.
fn decode_all(decoder: &mut Decoder, buf: &mut BytesMut) -> usize {
    let mut messages = 0;
    while let Some(frame) = decoder.decode(buf).expect("valid frames") {
        messages += usize::from(!frame.more);
        black_box(frame);
    }
    assert!(buf.is_empty());
    messages
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    for (size, count) in SIZES {
        let msgs = messages(&[size], count);
        let bytes = wire_len(&vec![size; count]);
        g.throughput(Throughput::Bytes(bytes));
        let mut wbuf = BytesMut::with_capacity(bytes as usize);
        g.bench_with_input(BenchmarkId::new("copy", size), &msgs, |b, msgs| {
            b.iter(|| {
                encode_batch(black_box(msgs), &mut wbuf);
                black_box(&wbuf);
                wbuf.clear();
            })
        });
        if size >= LARGE_BODY {
            // What the engine really does for large bodies: the header goes
            // to the batch buffer, the body is queued as its own chunk.
            let mut wbuf = BytesMut::with_capacity(64 * 1024);
            let mut chunks: VecDeque<Bytes> = VecDeque::with_capacity(2 * count);
            g.bench_with_input(BenchmarkId::new("large_no_copy", size), &msgs, |b, msgs| {
                b.iter(|| {
                    for (body, more) in black_box(msgs) {
                        encode_frame_header(*more, false, body.len(), &mut wbuf);
                        chunks.push_back(wbuf.split().freeze());
                        chunks.push_back(body.clone());
                    }
                    black_box(&chunks);
                    chunks.clear();
                })
            });
        }
    }
    g.finish();
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for (size, count) in SIZES {
        let image = wire(&messages(&[size], count));
        assert_eq!(decode_all(&mut Decoder::new(None), &mut BytesMut::from(&image[..])), count);
        g.throughput(Throughput::Bytes(image.len() as u64));
        let mut decoder = Decoder::new(None);
        g.bench_with_input(BenchmarkId::from_parameter(size), &image, |b, image| {
            b.iter_batched_ref(
                || BytesMut::from(&image[..]),
                |buf| decode_all(&mut decoder, buf),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn multipart(c: &mut Criterion) {
    // A ROUTER envelope (5-byte routing id, empty delimiter, 64-byte body),
    // and a 4-part message of 1 KiB frames.
    let shapes: [(&str, &[usize], usize); 2] = [("envelope_5+0+64", &[5, 0, 64], 1000), ("4x1KiB", &[1024; 4], 64)];
    let mut g = c.benchmark_group("multipart");
    for (name, parts, count) in shapes {
        let msgs = messages(parts, count);
        let image = wire(&msgs);
        assert_eq!(decode_all(&mut Decoder::new(None), &mut BytesMut::from(&image[..])), count);
        g.throughput(Throughput::Bytes(image.len() as u64));
        let mut wbuf = BytesMut::with_capacity(image.len());
        g.bench_with_input(BenchmarkId::new("encode", name), &msgs, |b, msgs| {
            b.iter(|| {
                encode_batch(black_box(msgs), &mut wbuf);
                black_box(&wbuf);
                wbuf.clear();
            })
        });
        let mut decoder = Decoder::new(None);
        g.bench_with_input(BenchmarkId::new("decode", name), &image, |b, image| {
            b.iter_batched_ref(
                || BytesMut::from(&image[..]),
                |buf| decode_all(&mut decoder, buf),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn command_body(cmd: &Command) -> Bytes {
    let mut buf = BytesMut::new();
    cmd.encode_body(&mut buf);
    buf.freeze()
}

fn command_parse(c: &mut Criterion) {
    let mut ready = Metadata::new();
    ready.insert("Socket-Type", &b"DEALER"[..]);
    ready.insert("Identity", &b""[..]);
    let cmds = [
        ("ping", Command::Ping { ttl: 100, context: Bytes::from_static(b"0123456789abcdef") }),
        ("subscribe", Command::Subscribe(Bytes::from_static(b"weather.eu.temperature"))),
        ("ready", Command::Ready(ready)),
    ];
    let mut g = c.benchmark_group("command_parse");
    g.throughput(Throughput::Elements(1));
    for (name, cmd) in cmds {
        let body = command_body(&cmd);
        assert_eq!(Command::parse(&body).expect("valid command"), cmd);
        g.bench_with_input(BenchmarkId::from_parameter(name), &body, |b, body| {
            b.iter(|| Command::parse(black_box(body)).expect("valid command"))
        });
    }
    g.finish();
}

/// Both sides of a NULL handshake (greetings, then READY both ways), fed
/// each other's whole output until both are done.
fn null_handshake() -> (HandshakeStatus, HandshakeStatus) {
    let mut client = Handshake::new(HandshakeConfig::new(SocketType::Dealer));
    let mut server = Handshake::new(HandshakeConfig::new(SocketType::Router));
    let mut to_server = BytesMut::new();
    let mut to_client = BytesMut::new();
    client.start(&mut to_server);
    server.start(&mut to_client);
    let (mut c, mut s) = (HandshakeStatus::NeedMore, HandshakeStatus::NeedMore);
    for _ in 0..4 {
        if c == HandshakeStatus::NeedMore {
            c = client.input(&mut to_client, &mut to_server).expect("client handshake");
        }
        if s == HandshakeStatus::NeedMore {
            s = server.input(&mut to_server, &mut to_client).expect("server handshake");
        }
        if c != HandshakeStatus::NeedMore && s != HandshakeStatus::NeedMore {
            break;
        }
    }
    (c, s)
}

fn handshake(c: &mut Criterion) {
    let (cs, ss) = null_handshake();
    assert!(matches!(cs, HandshakeStatus::Done(ref p) if p.socket_type == SocketType::Router));
    assert!(matches!(ss, HandshakeStatus::Done(ref p) if p.socket_type == SocketType::Dealer));
    let mut g = c.benchmark_group("handshake");
    g.throughput(Throughput::Elements(1));
    g.bench_function("null_dealer_router", |b| b.iter(null_handshake));
    g.bench_function("curve_dealer_router", |b| b.iter(curve_pair));
    // What one HELLO costs a CURVE server (a flood replays one HELLO on every connection:
    // the server keeps no state to tell): a fresh server handshake fed the client's
    // greeting and HELLO, to its WELCOME; and a HELLO whose box does not open.
    let server_keys = CurveKeyPair::generate().expect("OS random");
    let hello = curve_client_greeting_and_hello(&server_keys);
    let mut bad = hello.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    for (name, input, ok) in [("curve_server_hello_to_welcome", hello, true), ("curve_server_bad_hello", bad, false)] {
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                || {
                    let mut cfg = HandshakeConfig::new(SocketType::Router);
                    cfg.mechanism = MechanismConfig::Curve(CurveConfig::server(server_keys.clone()));
                    (Handshake::new(cfg), BytesMut::from(&input[..]), BytesMut::with_capacity(256))
                },
                |(server, input, out)| {
                    let r = server.input(input, out);
                    assert_eq!(r.is_ok(), ok);
                    black_box(out);
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// A CURVE client's greeting and HELLO for a server with `server_keys`.
fn curve_client_greeting_and_hello(server_keys: &CurveKeyPair) -> Vec<u8> {
    let client_keys = CurveKeyPair::generate().expect("OS random");
    let mut cfg = HandshakeConfig::new(SocketType::Dealer);
    cfg.mechanism = MechanismConfig::Curve(CurveConfig::client(client_keys, server_keys.public));
    let mut client = Handshake::new(cfg);
    let mut out = BytesMut::new();
    let mut server_greeting = BytesMut::from(&Greeting::ours(Mechanism::Curve, true).encode()[..]);
    client.input(&mut server_greeting, &mut out).expect("the client's HELLO");
    assert_eq!(out.len(), 64 + 2 + 200, "greeting and HELLO");
    out.to_vec()
}

/// A PAIR connection established with a scripted PAIR peer (greeting +
/// READY), what it owed taken.
fn established_connection() -> Connection {
    let now = Instant::now();
    let mut conn = Connection::new(ConnectionConfig::new(SocketType::Pair), now).expect("valid config");
    let mut peer = BytesMut::from(&Greeting::ours(Mechanism::Null, false).encode()[..]);
    let mut md = Metadata::new();
    md.insert("Socket-Type", &b"PAIR"[..]);
    Command::Ready(md).encode(&mut peer);
    conn.input(now, &mut peer, &mut Vec::new()).expect("handshake");
    assert!(conn.is_established());
    conn.poll_transmit(&mut Transmit::new());
    conn
}

/// The same batches as `encode` and `decode`, through [`Connection`]: what
/// the state machine adds to the bare codec (subscription checks, command
/// dispatch, the batch sink).
fn connection(c: &mut Criterion) {
    let mut g = c.benchmark_group("connection");
    for (size, count) in SIZES {
        let msgs: Vec<Message> =
            messages(&[size], count).into_iter().map(|(body, more)| Message { body, more }).collect();
        let image = wire(&messages(&[size], count));
        g.throughput(Throughput::Bytes(image.len() as u64));
        let mut conn = established_connection();
        let mut tx = Transmit::with_capacity(image.len());
        // Owned messages, drained as the engine drains its batch (cloning
        // them in the timed loop would measure two atomic operations each).
        g.bench_with_input(BenchmarkId::new("encode", size), &msgs, |b, msgs| {
            b.iter_batched_ref(
                || msgs.clone(),
                |batch| {
                    conn.encode(batch.drain(..), &mut tx);
                    black_box(&tx);
                    tx.clear();
                },
                BatchSize::LargeInput,
            )
        });
        let mut conn = established_connection();
        let mut batch: VecDeque<Message> = VecDeque::with_capacity(count);
        let now = Instant::now();
        g.bench_with_input(BenchmarkId::new("decode", size), &image, |b, image| {
            b.iter_batched_ref(
                || BytesMut::from(&image[..]),
                |buf| {
                    conn.input(now, buf, &mut batch).expect("valid frames");
                    assert_eq!(batch.len(), count);
                    batch.clear();
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

// Sanity: the frames the decode benchmarks produce are the ones encoded.
/// A client and a server CURVE connection, handshake done.
fn curve_pair() -> (Connection, Connection) {
    let now = Instant::now();
    let server_keys = CurveKeyPair::generate().expect("OS random");
    let client_keys = CurveKeyPair::generate().expect("OS random");
    let mut cc = ConnectionConfig::new(SocketType::Push);
    cc.handshake.mechanism = MechanismConfig::Curve(CurveConfig::client(client_keys, server_keys.public));
    let mut sc = ConnectionConfig::new(SocketType::Pull);
    sc.handshake.mechanism = MechanismConfig::Curve(CurveConfig::server(server_keys));
    let mut client = Connection::new(cc, now).expect("valid config");
    let mut server = Connection::new(sc, now).expect("valid config");
    let (mut to_client, mut to_server) = (BytesMut::new(), BytesMut::new());
    let mut tx = Transmit::new();
    // Greetings, HELLO, WELCOME, INITIATE, READY: one step each way per round.
    for _ in 0..8 {
        client.poll_transmit(&mut tx);
        to_server.extend_from_slice(&transmitted(&mut tx));
        server.poll_transmit(&mut tx);
        to_client.extend_from_slice(&transmitted(&mut tx));
        client.input(now, &mut to_client, &mut Vec::new()).expect("client handshake");
        server.input(now, &mut to_server, &mut Vec::new()).expect("server handshake");
    }
    assert!(client.is_established() && server.is_established());
    (client, server)
}

/// Everything in `tx`, taken out of it.
fn transmitted(tx: &mut Transmit) -> Bytes {
    use bytes::Buf;
    tx.copy_to_bytes(tx.remaining())
}

/// Per-frame CURVE box (encode) and unbox (decode) at 64 B, 1 KiB and 64 KiB.
fn curve(c: &mut Criterion) {
    let mut g = c.benchmark_group("curve");
    let now = Instant::now();
    for size in [64usize, 1024, 65536] {
        g.throughput(Throughput::Bytes(size as u64));
        let (mut client, mut server) = curve_pair();
        let body = Bytes::from(vec![0x5Au8; size]);
        let mut tx = Transmit::with_capacity(size + 64);
        g.bench_function(BenchmarkId::new("box", size), |b| {
            b.iter(|| {
                client.encode(std::iter::once(Message { body: body.clone(), more: false }), &mut tx);
                black_box(&tx);
                tx.clear();
            })
        });
        let mut msgs = Vec::with_capacity(1);
        g.bench_function(BenchmarkId::new("unbox", size), |b| {
            b.iter_batched_ref(
                || {
                    client.encode(std::iter::once(Message { body: body.clone(), more: false }), &mut tx);
                    BytesMut::from(&transmitted(&mut tx)[..])
                },
                |wire| {
                    server.input(now, wire, &mut msgs).expect("authentic MESSAGE");
                    black_box(msgs.pop());
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn check_roundtrip() {
    let msgs = messages(&[5, 0, 300], 3);
    let mut buf = BytesMut::from(&wire(&msgs)[..]);
    let mut d = Decoder::new(None);
    for (body, more) in &msgs {
        assert_eq!(d.decode(&mut buf).unwrap(), Some(Frame::message(body.clone(), *more)));
    }
    assert!(buf.is_empty());
}

fn all(c: &mut Criterion) {
    check_roundtrip();
    encode(c);
    decode(c);
    multipart(c);
    command_parse(c);
    handshake(c);
    connection(c);
    curve(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
