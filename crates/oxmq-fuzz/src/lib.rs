//! Fuzz entry points for the oxmq wire codec ([`oxmq_wire`]).
//!
//! Every entry point takes arbitrary bytes and checks, besides "no panic":
//! - no hang: every loop is bounded by the input length;
//! - no allocation sized from an unchecked length field: when the process
//!   installs [`BoundedAlloc`] as its global allocator (the cargo-fuzz
//!   targets and the replay test do), every entry point runs inside
//!   [`alloc_scope`], which asserts that no single allocation was larger than
//!   a bound proportional to the input ([`alloc_bound`]), and the allocator
//!   refuses (aborts) any single request over [`HARD_ALLOC_LIMIT`];
//! - the properties of each parser listed on its entry point (round trips,
//!   chunking independence, errors that stick).
//!
//! The same functions are run by `cargo test` (tests/corpus.rs: every
//! committed corpus file plus a few thousand seeded mutations) and, for
//! longer, by libFuzzer through the cargo-fuzz targets in `fuzz/` (see
//! README.md).

pub mod abi;
pub mod endpoint;
pub mod engine;
pub mod security;

pub use abi::abi;
pub use endpoint::endpoint;
pub use engine::engine;
pub use security::{client_outcome, curve_client, curve_message, curve_server, plain_client, plain_server};

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::{Bytes, BytesMut};
use oxmq_wire::{
    Command, CurveConfig, CurveKeyPair, CurveSecretKey, Decoder, Frame, Greeting, Handshake, HandshakeConfig,
    HandshakeStatus, Mechanism, MechanismConfig, Metadata, PlainConfig, SocketType, WireError,
};

/// The fixed CURVE key pair of the fuzz targets (both ends use it: the
/// server's key is the client's).
pub fn fuzz_keys() -> CurveKeyPair {
    CurveKeyPair::from_secret(CurveSecretKey::from_bytes([7; 32]))
}

// ---------------------------------------------------------------------------
// Allocation bound
// ---------------------------------------------------------------------------

/// No single allocation may ask for more than this (1 GiB): the allocator
/// returns null, which aborts the process with "memory allocation of N bytes
/// failed" (a crash libFuzzer records, and a failed `cargo test`).
pub const HARD_ALLOC_LIMIT: usize = 1 << 30;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// A global allocator wrapping [`System`] that records, per thread, the
/// largest single allocation request (see [`alloc_scope`]) and refuses
/// requests over [`HARD_ALLOC_LIMIT`].
pub struct BoundedAlloc;

impl BoundedAlloc {
    fn note(size: usize) -> bool {
        // `try_with`: the thread-local may already be gone during thread exit.
        let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        size <= HARD_ALLOC_LIMIT
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments, or
// returns null (allowed: it reports an allocation failure).
unsafe impl GlobalAlloc for BoundedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::note(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Self::note(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !Self::note(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// The largest single allocation allowed while processing `input_len` bytes
/// of input: a fixed 64 KiB (the handshake frame limit, error strings,
/// buffers' first growth) plus 8 times the input (copies of the input,
/// `BytesMut` doubling, UTF-8 replacement characters tripling lossy strings).
/// A length field that is trusted (2^63, 2^31 in metadata) blows far past it.
pub fn alloc_bound(input_len: usize) -> usize {
    64 * 1024 + 8 * input_len
}

/// Runs `f` and returns its result with the largest single allocation this thread made
/// meanwhile (0 if [`BoundedAlloc`] is not the global allocator).
pub fn alloc_scope_unchecked<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let outer = LARGEST.with(|l| l.replace(0));
    let r = f();
    let largest = LARGEST.with(|l| l.replace(outer.max(l.get())));
    (r, largest)
}

/// Runs `f` and asserts that, if [`BoundedAlloc`] is the global allocator,
/// no single allocation made by this thread during `f` was larger than
/// [`alloc_bound`]`(input_len)`. Returns the largest allocation seen (0 if
/// the allocator is not installed).
pub fn alloc_scope<R>(input_len: usize, f: impl FnOnce() -> R) -> (R, usize) {
    let (r, largest) = alloc_scope_unchecked(f);
    assert!(
        largest <= alloc_bound(input_len),
        "an allocation of {largest} bytes for {input_len} bytes of input (bound {})",
        alloc_bound(input_len)
    );
    (r, largest)
}

// ---------------------------------------------------------------------------
// Small deterministic helpers
// ---------------------------------------------------------------------------

/// A tiny xorshift64* generator, seeded from input bytes, used to pick chunk
/// sizes so that one fuzz input explores one way of splitting the stream.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (0 is remapped: xorshift must not be 0).
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Splits `data` into chunks whose sizes come from `rng`: mostly small
/// (0..=8 bytes, including empty chunks), sometimes up to 300 bytes, so that
/// every header byte boundary gets its turn.
pub(crate) fn chunks<'a>(data: &'a [u8], rng: &mut XorShift) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    // Bounded: every round either consumes a byte or is one of at most
    // `data.len() + 1` empty chunks (an empty chunk is only taken with
    // probability 1/9 and we cap the count).
    let mut empties = 0;
    while !rest.is_empty() {
        let n = match rng.below(4) {
            0 => rng.below(301),
            _ => rng.below(9),
        }
        .min(rest.len());
        if n == 0 {
            empties += 1;
            if empties > data.len() {
                continue;
            }
        }
        let (a, b) = rest.split_at(n);
        out.push(a);
        rest = b;
    }
    out
}

pub(crate) fn seed_from(bytes: &[u8]) -> u64 {
    let mut s = [0u8; 8];
    let n = bytes.len().min(8);
    s[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(s)
}

/// Takes `n` control bytes from the front of `data` (zero-padded if short).
pub(crate) fn split_control<const N: usize>(data: &[u8]) -> ([u8; N], &[u8]) {
    let mut ctl = [0u8; N];
    let n = data.len().min(N);
    ctl[..n].copy_from_slice(&data[..n]);
    (ctl, &data[n..])
}

// ---------------------------------------------------------------------------
// Greeting
// ---------------------------------------------------------------------------

/// An error with the parts that depend on how much input had arrived
/// (the minor version of a refused ZMTP 1.0/2.0 greeting) blanked.
fn normalize(e: &WireError) -> WireError {
    match e {
        WireError::UnsupportedVersion { major, .. } => WireError::UnsupportedVersion { major: *major, minor: 0 },
        e => e.clone(),
    }
}

/// The greeting parser: `Greeting::check_prefix` on every prefix of the
/// input's first 64 bytes and `Greeting::decode` on them (zero-padded).
///
/// Checks: once a prefix is refused, every longer prefix is refused with the
/// same error; `decode` fails exactly when the full prefix check fails or the
/// mechanism field is not a known name; a decoded greeting survives
/// encode/decode unchanged.
pub fn greeting(data: &[u8]) {
    alloc_scope(data.len(), || greeting_inner(data));
}

fn greeting_inner(data: &[u8]) {
    let mut g = [0u8; Greeting::LEN];
    let n = data.len().min(Greeting::LEN);
    g[..n].copy_from_slice(&data[..n]);
    let mut first_err: Option<WireError> = None;
    for len in 0..=n {
        let r = Greeting::check_prefix(&data[..len]);
        match (&first_err, r) {
            (None, Ok(())) => {}
            (None, Err(e)) => first_err = Some(e),
            // Same error (the minor version is only reported once it is in).
            (Some(e0), r) => assert_eq!(
                r.map_err(|e| normalize(&e)),
                Err(normalize(e0)),
                "a refused prefix became acceptable at {len} bytes"
            ),
        }
    }
    // Anything beyond 64 bytes is not looked at.
    assert_eq!(Greeting::check_prefix(data), Greeting::check_prefix(&data[..n]));
    match Greeting::decode(&g) {
        Ok(d) => {
            assert_eq!(Greeting::check_prefix(&g), Ok(()));
            assert!(d.major >= 3);
            assert_eq!(Greeting::decode(&d.encode()).as_ref(), Ok(&d));
            assert_eq!(
                &d.encode()[10..33],
                &{
                    let mut v = g;
                    v[32] = u8::from(v[32] != 0);
                    v
                }[10..33]
            );
        }
        Err(e) => {
            if let Err(pe) = Greeting::check_prefix(&g) {
                assert_eq!(e, pe);
            } else {
                assert_eq!(e, WireError::UnknownMechanism);
            }
        }
    }
    if n == Greeting::LEN && first_err.is_none() {
        // Every prefix passed: decode can only fail on the mechanism.
        assert!(matches!(Greeting::decode(&g), Ok(_) | Err(WireError::UnknownMechanism)));
    }
}

// ---------------------------------------------------------------------------
// Frame decoder
// ---------------------------------------------------------------------------

/// Result of decoding a whole stream: the frames, then how it ended.
#[derive(Debug, PartialEq, Eq)]
struct Decoded {
    frames: Vec<Frame>,
    error: Option<WireError>,
    leftover: usize,
}

fn decode_stream(max: Option<u64>, pieces: &[&[u8]]) -> Decoded {
    let mut d = Decoder::new(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            let pending = d.pending_body_len(&buf);
            match d.decode(&mut buf) {
                Ok(Some(f)) => {
                    let header = before - buf.len() - f.body.len();
                    assert!(header == 2 || header == 9, "header of {header} bytes");
                    assert_eq!(pending, 0, "pending_body_len said {pending} for a complete frame");
                    if let Some(m) = max {
                        assert!(f.body.len() as u64 <= m, "a {}-byte frame passed MAXMSGSIZE {m}", f.body.len());
                    }
                    assert!(!(f.more && f.command));
                    frames.push(f);
                }
                Ok(None) => {
                    // Nothing consumed, nothing buffered by the decoder: the
                    // only buffer is ours and holds less than one frame.
                    assert_eq!(buf.len(), before);
                    if pending > 0 {
                        let max = max.unwrap_or(oxmq_wire::MAX_WIRE_FRAME_SIZE);
                        assert!(pending as u64 <= max, "pending {pending} over the maximum {max}");
                    }
                    break;
                }
                Err(e) => {
                    assert_eq!(buf.len(), before, "an error consumed input");
                    match &e {
                        WireError::FrameTooLarge { size, max: m } => {
                            assert!(size > m);
                            if let Some(limit) = max {
                                assert!(*m <= limit, "refused against {m}, above the configured {limit}");
                            }
                        }
                        WireError::ReservedFlags(f) => assert_ne!(f & 0xF8, 0),
                        WireError::MalformedCommand(_) => assert_eq!(buf[0] & 0x05, 0x05),
                        other => panic!("unexpected decoder error {other:?}"),
                    }
                    // Errors stick: the same buffer gives the same error.
                    assert_eq!(d.decode(&mut buf), Err(e.clone()));
                    // How much was buffered when the error showed depends on
                    // the chunking; the error itself must not.
                    return Decoded { frames, error: Some(e), leftover: 0 };
                }
            }
        }
    }
    Decoded { frames, error: None, leftover: buf.len() }
}

/// The frame [`Decoder`]: the input (after 9 control bytes choosing the
/// MAXMSGSIZE and the split seed) is decoded once whole and once split at
/// pseudo-random points, with the chosen limit and with none.
///
/// Checks: both splittings give the same frames and the same error; no
/// frame exceeds the limit; `FrameTooLarge` only for sizes over the limit,
/// reported from the header alone (before the body is buffered: the limit
/// applies even when the input stops after the 9-byte header); errors do not
/// consume input and stick; `Ok(None)` leaves the buffer unchanged; no
/// allocation proportional to a declared size.
pub fn decoder(data: &[u8]) {
    alloc_scope(data.len(), || decoder_inner(data));
}

fn decoder_inner(data: &[u8]) {
    let (ctl, stream) = split_control::<9>(data);
    let max = match ctl[0] % 5 {
        0 => None,
        1 => Some(u64::from(ctl[1])),
        2 => Some(oxmq_wire::HANDSHAKE_MAX_FRAME_SIZE),
        3 => Some(u64::from_le_bytes(ctl[1..9].try_into().expect("8 bytes"))),
        _ => Some(u64::MAX),
    };
    let mut rng = XorShift::new(seed_from(&ctl[1..]));
    let whole = decode_stream(max, &[stream]);
    let split = decode_stream(max, &chunks(stream, &mut rng));
    assert_eq!(whole, split, "splitting the stream changed the result");
    let unlimited = decode_stream(None, &[stream]);
    // A limit only ever cuts the stream short.
    assert!(unlimited.frames.len() >= whole.frames.len());
    assert_eq!(unlimited.frames[..whole.frames.len()], whole.frames[..]);
    if whole.error.is_none() {
        assert_eq!(unlimited, whole);
    }
    // Re-encoding what was decoded gives the canonical stream, which decodes
    // to the same frames.
    let mut re = BytesMut::new();
    for f in &whole.frames {
        f.encode(&mut re);
    }
    let again = decode_stream(None, &[&re]);
    assert_eq!(again.frames, whole.frames);
    assert_eq!((again.error, again.leftover), (None, 0));
}

/// An endless chain of MORE frames (sizes from `data`) streamed through one
/// reused input buffer: the decoder holds nothing between frames, and the
/// buffer's capacity stays bounded by the largest frame, however many frames
/// pass (here 4 000 per input; libFuzzer runs millions of inputs).
pub fn decoder_more_chain(data: &[u8]) {
    alloc_scope(data.len(), || more_chain_inner(data));
}

fn more_chain_inner(data: &[u8]) {
    const FRAMES: usize = 4_000;
    let (ctl, sizes) = split_control::<8>(data);
    let sizes: Vec<usize> =
        if sizes.is_empty() { vec![0, 1, 255, 256] } else { sizes.iter().map(|&b| b as usize * 3).collect() };
    let largest = sizes.iter().copied().max().unwrap_or(0);
    let mut rng = XorShift::new(seed_from(&ctl));
    let mut d = Decoder::new(Some(largest as u64));
    let mut buf = BytesMut::with_capacity(64);
    let mut wire = BytesMut::new();
    let mut sent = 0usize;
    let mut received = 0usize;
    let mut max_cap = 0usize;
    while received < FRAMES {
        if wire.is_empty() && sent < FRAMES {
            let len = sizes[sent % sizes.len()];
            // MORE on every frame: one message that never ends.
            oxmq_wire::encode_frame_header(true, false, len, &mut wire);
            wire.extend_from_slice(&vec![0x5A; len]);
            sent += 1;
        }
        let n = (1 + rng.below(600)).min(wire.len());
        buf.extend_from_slice(&wire.split_to(n));
        while let Some(f) = d.decode(&mut buf).expect("valid frames") {
            assert!(f.more);
            received += 1;
        }
        max_cap = max_cap.max(buf.capacity());
        assert!(buf.len() < 9 + largest + 600, "the input buffer holds {} bytes", buf.len());
    }
    // Capacity is bounded by one frame plus one read, not by the message.
    assert!(max_cap <= 4 * (9 + largest + 600) + 64, "buffer capacity grew to {max_cap}");
}

// ---------------------------------------------------------------------------
// Commands and metadata
// ---------------------------------------------------------------------------

/// `Command::parse` on the input as a command body, plus the legacy
/// subscription conversions.
///
/// Checks: a parsed command re-encodes to `body_len` bytes and parses back
/// to itself (ERROR reasons after one normalisation, since invalid UTF-8 is
/// replaced and long reasons are cut to 255 bytes); PING/PONG contexts are at
/// most 16 bytes; READY metadata obeys [`metadata`]'s checks.
pub fn command(data: &[u8]) {
    alloc_scope(data.len(), || command_inner(data));
}

fn command_inner(data: &[u8]) {
    let body = Bytes::copy_from_slice(data);
    if let Some(c) = Command::from_legacy_subscription(&body) {
        assert_eq!(c.to_legacy_subscription().as_ref(), Some(&body));
    }
    let Ok(c1) = Command::parse(&body) else {
        return;
    };
    match &c1 {
        Command::Ping { context, .. } | Command::Pong { context } => {
            assert!(context.len() <= oxmq_wire::MAX_PING_CONTEXT)
        }
        Command::Ready(md) => metadata_checks(md),
        Command::Error(_) | Command::Subscribe(_) | Command::Cancel(_) | Command::Unknown { .. } => {}
    }
    let encode = |c: &Command| {
        let mut b = BytesMut::new();
        c.encode_body(&mut b);
        assert_eq!(b.len(), c.body_len());
        let mut framed = BytesMut::new();
        c.encode(&mut framed);
        let f = Decoder::new(None).decode(&mut framed).expect("own frame").expect("whole frame");
        assert!(f.command && !f.more && framed.is_empty());
        assert_eq!(f.body, b);
        b.freeze()
    };
    let b1 = encode(&c1);
    assert!(b1.len() <= body.len() || matches!(c1, Command::Error(_)));
    let c2 = Command::parse(&b1).expect("re-encoded command parses");
    if !matches!(c1, Command::Error(_)) {
        assert_eq!(c1, c2);
    }
    let c3 = Command::parse(&encode(&c2)).expect("re-encoded command parses");
    assert_eq!(c2, c3);
}

fn metadata_checks(md: &Metadata) {
    for (name, value) in md.iter() {
        assert!(Metadata::is_valid_name(name.as_bytes()));
        assert!(value.len() <= oxmq_wire::metadata::MAX_VALUE_LEN);
        assert_eq!(md.get(&name.to_ascii_uppercase()), Some(value));
    }
    let mut out = BytesMut::new();
    md.encode(&mut out);
    assert_eq!(out.len(), md.encoded_len());
    assert_eq!(Metadata::parse(&out).as_ref(), Ok(md));
}

/// `Metadata::parse` on the input.
///
/// Checks: names valid and unique (case-insensitively), values at most
/// 2^31-1 bytes and never longer than the input (a declared length is never
/// trusted), the encoding is no longer than the input and parses back to the
/// same metadata; a truncated valid encoding is refused.
pub fn metadata(data: &[u8]) {
    alloc_scope(data.len(), || metadata_inner(data));
}

fn metadata_inner(data: &[u8]) {
    let Ok(md) = Metadata::parse(data) else {
        return;
    };
    metadata_checks(&md);
    assert!(md.encoded_len() <= data.len());
    let mut names: Vec<String> = md.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "duplicate names kept");
    if !data.is_empty() && md.encoded_len() == data.len() {
        // No duplicates were merged: the input was canonical, and dropping
        // its last byte cuts the last property, which must be refused.
        let mut out = BytesMut::new();
        md.encode(&mut out);
        assert_eq!(&out[..], data);
        assert!(Metadata::parse(&data[..data.len() - 1]).is_err());
    }
}

// ---------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------

/// Every type that speaks ZMTP (all but STREAM, the last of `SocketType::ALL`).
const SOCKET_TYPES: &[SocketType] = SocketType::ALL.split_last().expect("not empty").1;

fn config_from(ctl: u8, extra: u8) -> HandshakeConfig {
    let mut cfg = HandshakeConfig::new(SOCKET_TYPES[usize::from(ctl) % SOCKET_TYPES.len()]);
    if ctl & 0x10 != 0 {
        cfg.identity = Some(Bytes::from(vec![b'i'; usize::from(extra)]));
    }
    if ctl & 0x20 != 0 {
        cfg.max_frame_size = Some(u64::from(extra) * 4);
    }
    if ctl & 0x40 != 0 {
        cfg.metadata.insert("X-Fuzz", Bytes::from(vec![b'm'; usize::from(extra)]));
    }
    if ctl & 0x80 != 0 && extra & 0x80 != 0 {
        let server = extra & 2 != 0;
        cfg.mechanism = if extra & 1 == 0 {
            MechanismConfig::Plain(if server { PlainConfig::server() } else { PlainConfig::client("user", "pass") })
        } else {
            let keys = fuzz_keys();
            MechanismConfig::Curve(if server {
                CurveConfig::server(keys)
            } else {
                let server_key = keys.public;
                CurveConfig::client(keys, server_key)
            })
        };
    }
    cfg
}

/// Outcome of running one handshake over a byte stream.
#[derive(Debug, PartialEq, Eq)]
struct HsOutcome {
    result: Result<HandshakeStatus, WireError>,
    consumed: usize,
    out: Vec<u8>,
}

fn run_handshake(cfg: &HandshakeConfig, pieces: &[&[u8]], total: usize) -> HsOutcome {
    let mut hs = Handshake::new(cfg.clone());
    let mut input = BytesMut::new();
    let mut out = BytesMut::new();
    let mut result = Ok(HandshakeStatus::NeedMore);
    let mut fed = 0usize;
    if pieces.is_empty() {
        result = hs.input(&mut input, &mut out);
    }
    for piece in pieces {
        input.extend_from_slice(piece);
        fed += piece.len();
        result = hs.input(&mut input, &mut out);
        match &result {
            Ok(HandshakeStatus::NeedMore | HandshakeStatus::AwaitingZap) => assert!(!hs.is_done()),
            Ok(HandshakeStatus::Done(_)) => {
                assert!(hs.is_done());
                // Done sticks and consumes nothing more.
                let left = input.len();
                let again = hs.input(&mut input, &mut out);
                assert_eq!(again, result);
                assert_eq!(input.len(), left);
                break;
            }
            Err(e) => {
                assert!(!hs.is_done());
                // Errors stick.
                let again = hs.input(&mut BytesMut::from(&b"\x04\x06\x05READY"[..]), &mut out);
                assert_eq!(again.as_ref(), Err(e));
                break;
            }
        }
    }
    // Our output is a greeting, a READY (bounded by our own config) and at
    // most one ERROR: never sized by the peer.
    let cfg_len = cfg.identity.as_ref().map_or(0, Bytes::len) + cfg.metadata.encoded_len();
    assert!(out.len() <= 64 + 9 + 256 + cfg_len + 9 + 300, "handshake wrote {} bytes", out.len());
    if let Some(v) = hs.peer_version() {
        assert!(v.0 >= 3);
    }
    // On error, how much of the failing chunk was consumed is not specified.
    let consumed = if result.is_ok() { fed.min(total) - input.len() } else { 0 };
    HsOutcome { result: result.map_err(|e| normalize(&e)), consumed, out: out.to_vec() }
}

/// The [`Handshake`] state machine. Two control bytes choose our config
/// (socket type, identity, metadata, MAXMSGSIZE, mechanism); bit 0 of the
/// third prepends a valid ZMTP 3.1 NULL greeting so that short inputs reach
/// the mechanism; the rest is the peer's bytes, fed whole and in
/// pseudo-random chunks.
///
/// Checks: both feedings give the same result, the same output and the same
/// bytes consumed; errors and `Done` stick; a `Done` peer has a socket type
/// compatible with ours and an identity of at most 255 bytes; the output is
/// bounded by our own config. Then two handshakes (both ends, configured from
/// the control bytes) talk to each other through chunked pipes and must agree.
pub fn handshake(data: &[u8]) {
    alloc_scope(data.len(), || handshake_inner(data));
}

fn handshake_inner(data: &[u8]) {
    let (ctl, rest) = split_control::<4>(data);
    let cfg = config_from(ctl[0], ctl[1]);
    let mut peer = Vec::with_capacity(64 + rest.len());
    if ctl[2] & 1 != 0 {
        peer.extend_from_slice(&Greeting::ours(Mechanism::Null, ctl[2] & 2 != 0).encode());
    }
    peer.extend_from_slice(rest);
    let mut rng = XorShift::new(seed_from(&ctl) ^ peer.len() as u64);
    let whole = run_handshake(&cfg, &[&peer], peer.len());
    let split = run_handshake(&cfg, &chunks(&peer, &mut rng), peer.len());
    assert_eq!(whole, split, "chunking the peer's bytes changed the handshake");
    if let Ok(HandshakeStatus::Done(info)) = &whole.result {
        assert!(cfg.socket_type.is_compatible(info.socket_type));
        assert!(info.identity.as_ref().is_none_or(|i| !i.is_empty() && i.len() <= 255));
        assert!(info.version.0 >= 3);
    }
    // Both ends: our config against one from the remaining control bytes.
    let other = config_from(ctl[3], ctl[1].rotate_left(3));
    handshake_pair(&cfg, &other, &mut rng);
}

fn handshake_pair(a_cfg: &HandshakeConfig, b_cfg: &HandshakeConfig, rng: &mut XorShift) {
    let (mut a, mut b) = (Handshake::new(a_cfg.clone()), Handshake::new(b_cfg.clone()));
    let (mut a_in, mut b_in) = (BytesMut::new(), BytesMut::new());
    let (mut a_out, mut b_out) = (BytesMut::new(), BytesMut::new());
    a.start(&mut a_out);
    b.start(&mut b_out);
    let (mut ra, mut rb) = (Ok(HandshakeStatus::NeedMore), Ok(HandshakeStatus::NeedMore));
    // Each round moves at least one byte while any is in flight; the whole
    // exchange is a few hundred bytes, so this bound is never reached by a
    // working handshake.
    for _ in 0..10_000 {
        let n = (1 + rng.below(40)).min(a_out.len());
        b_in.extend_from_slice(&a_out.split_to(n));
        let n = (1 + rng.below(40)).min(b_out.len());
        a_in.extend_from_slice(&b_out.split_to(n));
        if matches!(ra, Ok(HandshakeStatus::NeedMore)) {
            ra = a.input(&mut a_in, &mut a_out);
        }
        if matches!(rb, Ok(HandshakeStatus::NeedMore)) {
            rb = b.input(&mut b_in, &mut b_out);
        }
        let idle = a_out.is_empty() && b_out.is_empty();
        if idle && !matches!(ra, Ok(HandshakeStatus::NeedMore)) && !matches!(rb, Ok(HandshakeStatus::NeedMore)) {
            break;
        }
        if idle && ra.is_err() != rb.is_err() {
            // One side failed; the other waits forever (a real engine closes).
            break;
        }
    }
    let valid = |c: &HandshakeConfig| Handshake::try_new(c.clone()).is_ok();
    let compatible = a_cfg.socket_type.is_compatible(b_cfg.socket_type);
    let (am, bm) = (&a_cfg.mechanism, &b_cfg.mechanism);
    let roles = am.name() == Mechanism::Null || am.is_server() != bm.is_server();
    if valid(a_cfg) && valid(b_cfg) && am.name() == bm.name() && roles && compatible {
        // The frame limit is at most 64 KiB during the handshake, and each
        // config's READY is bounded; a tiny MAXMSGSIZE may refuse the peer's
        // READY, which is then the only allowed failure.
        match (&ra, &rb) {
            (Ok(HandshakeStatus::Done(pa)), Ok(HandshakeStatus::Done(pb))) => {
                assert_eq!(pa.socket_type, b_cfg.socket_type);
                assert_eq!(pb.socket_type, a_cfg.socket_type);
            }
            (r1, r2) => {
                for r in [r1, r2] {
                    assert!(
                        matches!(r, Ok(_) | Err(WireError::FrameTooLarge { .. })),
                        "valid compatible configs failed: {r:?} ({a_cfg:?} / {b_cfg:?})"
                    );
                }
                assert!(a_cfg.max_frame_size.is_some() || b_cfg.max_frame_size.is_some());
            }
        }
    } else if valid(a_cfg) && valid(b_cfg) && am.name() == bm.name() && roles && !compatible {
        // Both refuse each other, unless a tiny MAXMSGSIZE refused the peer's handshake
        // command first: then that side never sent what the other was waiting for.
        let too_large = |r: &Result<HandshakeStatus, WireError>| matches!(r, Err(WireError::FrameTooLarge { .. }));
        let waiting = |r: &Result<HandshakeStatus, WireError>| matches!(r, Ok(HandshakeStatus::NeedMore));
        let cut_short = (too_large(&ra) && waiting(&rb)) || (too_large(&rb) && waiting(&ra));
        assert!((ra.is_err() && rb.is_err()) || cut_short, "incompatible types handshook: {ra:?} / {rb:?}");
    }
}

/// A named entry point.
pub type Target = (&'static str, fn(&[u8]));

/// Every entry point with its corpus directory name (`corpus/<name>/`) and
/// cargo-fuzz target name.
pub const TARGETS: &[Target] = &[
    ("greeting", greeting),
    ("decoder", decoder),
    ("decoder_more_chain", decoder_more_chain),
    ("command", command),
    ("metadata", metadata),
    ("handshake", handshake),
    ("engine", engine),
    ("endpoint", endpoint),
    ("plain_server", plain_server),
    ("plain_client", plain_client),
    ("curve_server", curve_server),
    ("curve_client", curve_client),
    ("curve_message", curve_message),
    ("abi", abi),
];
