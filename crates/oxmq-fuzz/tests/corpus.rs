//! The "short run of every fuzz target" for stable CI: every committed
//! corpus file through every entry point, then a few thousand seeded
//! pseudo-random and mutated-corpus inputs per entry point.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oxmq_fuzz::{BoundedAlloc, TARGETS, XorShift};

#[global_allocator]
static ALLOC: BoundedAlloc = BoundedAlloc;

/// Inputs per entry point in the seeded run (beyond the corpus replay).
const ITERATIONS: usize = 5_000;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target)
}

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read(&p).expect("read corpus file"))).collect()
}

/// Every corpus file, of every target, through every entry point: a
/// greeting is a fine (if short) handshake input, a handshake capture a fine
/// decoder input, and so on.
#[test]
fn corpus_replays_through_every_entry_point() {
    let start = Instant::now();
    let mut all = Vec::new();
    for (name, _) in TARGETS {
        let files = corpus(name);
        assert!(!files.is_empty(), "corpus/{name} is empty");
        all.extend(files);
    }
    for (path, data) in &all {
        for (name, f) in TARGETS {
            let r = std::panic::catch_unwind(|| f(data));
            assert!(r.is_ok(), "{name} failed on {}", path.display());
        }
    }
    eprintln!("replayed {} corpus files in {:?}", all.len(), start.elapsed());
}

/// One mutation of `base`, libFuzzer-style: flip, overwrite with an
/// interesting byte, insert, delete, duplicate a slice, splice another input
/// or rewrite a length field.
fn mutate(rng: &mut XorShift, base: &[u8], other: &[u8]) -> Vec<u8> {
    const INTERESTING: [u8; 10] = [0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x7F, 0x80, 0xFE, 0xFF];
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = v.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                v.insert(i, rng.next_u64() as u8);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(len - i + 1).min(16);
                v.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(len - i + 1).min(64);
                let dup = v[i..i + n].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, dup);
            }
            5 if !other.is_empty() => {
                let i = rng.below(other.len());
                let at = rng.below(len + 1);
                v.truncate(at);
                v.extend_from_slice(&other[i..]);
            }
            6 if len >= 8 => {
                // A 4- or 8-byte big-endian length field with an extreme value.
                let w = if rng.below(2) == 0 { 4 } else { 8 };
                let i = rng.below(len - w + 1);
                let val: u64 = [u64::MAX, 1 << 63, i64::MAX as u64, 1 << 31, u32::MAX as u64, 65_537][rng.below(6)];
                v[i..i + w].copy_from_slice(&val.to_be_bytes()[8 - w..]);
            }
            _ => v.truncate(rng.below(len + 1)),
        }
    }
    v.truncate(4096);
    v
}

/// The seeded run: per entry point, `ITERATIONS` inputs, half mutations of
/// its corpus (and other targets' corpora), half fresh random bytes.
#[test]
fn seeded_short_run_of_every_entry_point() {
    let start = Instant::now();
    let mut pool: Vec<Vec<u8>> = Vec::new();
    for (name, _) in TARGETS {
        pool.extend(corpus(name).into_iter().map(|(_, d)| d));
    }
    for (ti, (name, f)) in TARGETS.iter().enumerate() {
        let t0 = Instant::now();
        let own: Vec<Vec<u8>> = corpus(name).into_iter().map(|(_, d)| d).collect();
        let mut rng = XorShift::new(0x0A11_CE5E_ED00 + ti as u64);
        // The chain target streams 4 000 frames per input: fewer inputs.
        // CURVE targets run a key exchange per input.
        let iterations = match *name {
            "decoder_more_chain" => ITERATIONS / 40,
            "curve_server" | "curve_client" | "curve_message" => ITERATIONS / 25,
            // A context (I/O thread) per input.
            "abi" => ITERATIONS / 25,
            _ => ITERATIONS,
        };
        for i in 0..iterations {
            let input = if i % 2 == 0 {
                let base = if rng.below(4) == 0 { &pool[rng.below(pool.len())] } else { &own[rng.below(own.len())] };
                let other = &pool[rng.below(pool.len())];
                mutate(&mut rng, base, other)
            } else {
                let cap = if rng.below(8) == 0 { 2048 } else { 96 };
                let len = rng.below(cap);
                (0..len).map(|_| rng.next_u64() as u8).collect()
            };
            if std::panic::catch_unwind(|| f(&input)).is_err() {
                let dir = std::env::temp_dir().join(format!("oxmq-fuzz-{name}"));
                std::fs::create_dir_all(&dir).expect("mkdir");
                let path = dir.join(format!("crash-{i}"));
                std::fs::write(&path, &input).expect("write crash input");
                panic!("{name} failed on seeded input {i}, saved to {}", path.display());
            }
        }
        eprintln!("{name}: {iterations} inputs in {:?}", t0.elapsed());
    }
    let took = start.elapsed();
    eprintln!("seeded run: {took:?}");
    // A hang shows up as a blown budget (generous: debug build, shared CI).
    assert!(took < Duration::from_secs(60), "the seeded run took {took:?}");
}

/// RFC 23 size field of 2^63 (over the protocol's 2^63-1): refused from the
/// header alone, with and without a MAXMSGSIZE, and never allocated.
#[test]
fn header_claiming_2_pow_63_is_refused_without_allocating() {
    use oxmq_wire::{Decoder, WireError};
    let header = [0x02u8, 0x80, 0, 0, 0, 0, 0, 0, 0];
    for max in [None, Some(1 << 20), Some(u64::MAX)] {
        let ((), largest) = oxmq_fuzz::alloc_scope(0, || {
            let mut buf = bytes::BytesMut::from(&header[..]);
            buf.extend_from_slice(b"some body bytes");
            let e = Decoder::new(max).decode(&mut buf).unwrap_err();
            assert!(matches!(e, WireError::FrameTooLarge { size, .. } if size == 1 << 63), "{e:?}");
            assert_eq!(buf.len(), 9 + 15);
        });
        assert!(largest < 4096, "largest allocation {largest}");
    }
    // 2^63-1 with a limit: refused within the limit; without one, refused at
    // MAX_FRAME_SIZE (2^47), which no allocation could hold.
    let header = [0x03u8, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    let mut buf = bytes::BytesMut::from(&header[..]);
    assert!(matches!(
        Decoder::new(Some(1 << 20)).decode(&mut buf),
        Err(WireError::FrameTooLarge { max: 1_048_576, .. })
    ));
    assert!(matches!(
        Decoder::new(None).decode(&mut buf),
        Err(WireError::FrameTooLarge { max: oxmq_wire::MAX_FRAME_SIZE, .. })
    ));
    // A frame of exactly MAX_FRAME_SIZE with no limit waits for its body, and
    // the decoder allocates nothing for it.
    let mut buf = bytes::BytesMut::from(&[0x03u8][..]);
    buf.extend_from_slice(&oxmq_wire::MAX_FRAME_SIZE.to_be_bytes());
    let ((), largest) = oxmq_fuzz::alloc_scope(0, || {
        assert_eq!(Decoder::new(None).decode(&mut buf), Ok(None));
    });
    assert_eq!(largest, 0);
    oxmq_fuzz::decoder(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x80, 0, 0, 0, 0, 0, 0, 0]);
}

/// The allocator guard is live in this test binary (else the alloc checks
/// above would pass vacuously).
#[test]
fn allocation_guard_is_installed() {
    let (v, largest) = oxmq_fuzz::alloc_scope(0, || vec![0u8; 1000]);
    assert_eq!(v.len(), 1000);
    assert_eq!(largest, 1000);
    let r = std::panic::catch_unwind(|| oxmq_fuzz::alloc_scope(0, || vec![0u8; 1 << 20]));
    assert!(r.is_err(), "a 1 MiB allocation for an empty input was not flagged");
}

/// The harness really reaches the end of a handshake: the recorded libzmq
/// 4.3.5 DEALER (captures/) completes one with our ROUTER, and the bytes left
/// over are its three-frame message.
#[test]
fn libzmq_capture_completes_a_handshake() {
    use oxmq_wire::{Decoder, Handshake, HandshakeConfig, HandshakeStatus, SocketType};
    let cap = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/libzmq_dealer_to_router.bin"))
        .expect("capture");
    let mut hs = Handshake::new(HandshakeConfig::new(SocketType::Router));
    let mut input = bytes::BytesMut::from(&cap[..]);
    let mut out = bytes::BytesMut::new();
    let Ok(HandshakeStatus::Done(peer)) = hs.input(&mut input, &mut out) else { panic!("handshake not done") };
    assert_eq!(peer.socket_type, SocketType::Dealer);
    assert_eq!(peer.identity.as_deref(), Some(&b"dealer-id"[..]));
    assert_eq!(peer.version, (3, 1));
    let mut d = Decoder::new(None);
    let bodies: Vec<(bool, usize)> =
        std::iter::from_fn(|| d.decode(&mut input).unwrap()).map(|f| (f.more, f.body.len())).collect();
    assert_eq!(bodies, [(true, 0), (true, 5), (false, 1000)]);
    assert!(input.is_empty());
}
