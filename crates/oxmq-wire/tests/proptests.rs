//! Property tests: framing roundtrips over arbitrary stream splits, and
//! robustness of every parser against arbitrary bytes.

use oxmq_wire::bytes::{Bytes, BytesMut};
use oxmq_wire::*;
use proptest::prelude::*;

fn arb_frame() -> impl Strategy<Value = Frame> {
    (
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::collection::vec(any::<u8>(), 250..260),
            proptest::collection::vec(any::<u8>(), 0..3000),
        ],
    )
        .prop_map(|(more, command, body)| Frame {
            // ZMTP forbids MORE on commands.
            more: more && !command,
            command,
            body: Bytes::from(body),
        })
}

/// Sorted cut points into a stream of `len` bytes.
fn cuts(len: usize, raw: &[usize]) -> Vec<usize> {
    let mut c: Vec<usize> = raw.iter().map(|r| r % (len + 1)).collect();
    c.push(len);
    c.sort_unstable();
    c
}

proptest! {
    #[test]
    fn frames_roundtrip_over_any_split(
        frames in proptest::collection::vec(arb_frame(), 0..12),
        raw_cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut stream = BytesMut::new();
        for f in &frames {
            f.encode(&mut stream);
        }
        let stream = stream.freeze();
        let mut d = Decoder::new(Some(4096));
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut start = 0;
        for end in cuts(stream.len(), &raw_cuts) {
            buf.extend_from_slice(&stream[start..end]);
            start = end;
            loop {
                let before = buf.len();
                let pending = d.pending_body_len(&buf);
                match d.decode(&mut buf).unwrap() {
                    Some(f) => got.push(f),
                    None => {
                        prop_assert_eq!(buf.len(), before);
                        // Never claims more than what the frame still needs.
                        prop_assert!(pending <= 3000);
                        break;
                    }
                }
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, frames);
    }

    #[test]
    fn decode_each_hands_over_what_decode_returns(
        frames in proptest::collection::vec(arb_frame(), 0..12),
        garbage in proptest::collection::vec(any::<u8>(), 0..16),
        cut in any::<usize>(),
        stop_at in proptest::option::of(0usize..12),
        max in proptest::option::of(0u64..4000),
    ) {
        // Whole frames, then arbitrary bytes (a bad header, a partial frame or more frames),
        // cut anywhere: the same frames, error and leftover as `decode` one frame at a time.
        let mut stream = BytesMut::new();
        for f in &frames {
            f.encode(&mut stream);
        }
        stream.extend_from_slice(&garbage);
        stream.truncate(cut % (stream.len() + 1));
        let d = Decoder::new(max);

        let mut one_by_one = stream.clone();
        let mut want = Vec::new();
        let want_err = loop {
            match d.clone().decode(&mut one_by_one) {
                Ok(Some(f)) => want.push(f),
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };

        let mut each = stream.clone();
        let mut got = Vec::new();
        let got_err = d.decode_each(&mut each, |f| { got.push(f); Ok(()) }, Some);
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(got_err.err().flatten(), want_err.clone());
        if want_err.is_none() {
            prop_assert_eq!(&each[..], &one_by_one[..]);
        }

        // An error of the callback stops it at that frame.
        if let Some(stop) = stop_at.filter(|&i| i < want.len()) {
            let mut seen = 0;
            let mut buf = stream.clone();
            let r = d.decode_each(&mut buf, |_| {
                seen += 1;
                if seen == stop + 1 { Err("stop") } else { Ok(()) }
            }, |_| "bad header");
            prop_assert_eq!(r, Err("stop"));
            prop_assert_eq!(seen, stop + 1);
        }
    }

    #[test]
    fn decoder_never_panics(
        data in proptest::collection::vec(any::<u8>(), 0..512),
        max in proptest::option::of(0u64..1000),
    ) {
        let mut d = Decoder::new(max);
        let mut buf = BytesMut::from(&data[..]);
        while let Ok(Some(f)) = d.decode(&mut buf) {
            if let Some(m) = max {
                prop_assert!(f.body.len() as u64 <= m);
            }
            let _ = Command::parse(&f.body);
        }
        let _ = d.pending_body_len(&buf);
    }

    #[test]
    fn command_and_metadata_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let body = Bytes::from(data.clone());
        if let Ok(cmd) = Command::parse(&body) {
            // Whatever parses re-encodes to something that parses the same
            // (except an ERROR reason that was not UTF-8: decoding it lossily
            // may make it longer than 255 bytes, so it is cut on re-encoding).
            let mut out = BytesMut::new();
            cmd.encode_body(&mut out);
            let again = Command::parse(&out.freeze()).unwrap();
            if !matches!(cmd, Command::Error(_)) {
                prop_assert_eq!(again, cmd);
            }
        }
        if let Ok(md) = Metadata::parse(&data) {
            let mut out = BytesMut::new();
            md.encode(&mut out);
            prop_assert_eq!(Metadata::parse(&out).unwrap(), md);
        }
        let _ = Greeting::check_prefix(&data);
    }

    #[test]
    fn metadata_roundtrip(
        props in proptest::collection::vec(
            ("[A-Za-z0-9._+-]{1,40}", proptest::collection::vec(any::<u8>(), 0..100)),
            0..8,
        )
    ) {
        let mut md = Metadata::new();
        for (n, v) in &props {
            md.insert(n, v.clone());
        }
        let mut out = BytesMut::new();
        md.encode(&mut out);
        prop_assert_eq!(out.len(), md.encoded_len());
        prop_assert_eq!(Metadata::parse(&out).unwrap(), md);
    }

    #[test]
    fn handshake_never_panics_on_garbage(
        data in proptest::collection::vec(any::<u8>(), 0..400),
        raw_cuts in proptest::collection::vec(any::<usize>(), 0..8),
        valid_greeting in any::<bool>(),
        minor in 0u8..3,
    ) {
        // Half the time, put a valid greeting first so the garbage reaches
        // the mechanism handshake.
        let mut stream = Vec::new();
        if valid_greeting {
            let mut g = Greeting::ours(Mechanism::Null, false).encode();
            g[11] = minor;
            stream.extend_from_slice(&g);
        }
        stream.extend_from_slice(&data);
        let mut hs = Handshake::new(HandshakeConfig::new(SocketType::Dealer));
        let mut out = BytesMut::new();
        hs.start(&mut out);
        let mut input = BytesMut::new();
        let mut start = 0;
        for end in cuts(stream.len(), &raw_cuts) {
            input.extend_from_slice(&stream[start..end]);
            start = end;
            match hs.input(&mut input, &mut out) {
                Ok(HandshakeStatus::NeedMore | HandshakeStatus::AwaitingZap) => {}
                Ok(HandshakeStatus::Done(_)) | Err(_) => break,
            }
        }
        // Bounded buffering: a pending handshake never holds more than one
        // (capped) frame in the input.
        prop_assert!(input.len() as u64 <= HANDSHAKE_MAX_FRAME_SIZE + 9 || hs.is_done());
    }

    #[test]
    fn handshake_pair_any_chunking(
        a_chunks in proptest::collection::vec(1usize..40, 1..10),
        b_chunks in proptest::collection::vec(1usize..40, 1..10),
        id in proptest::collection::vec(any::<u8>(), 0..=255),
    ) {
        let mut ca = HandshakeConfig::new(SocketType::Dealer);
        ca.identity = Some(Bytes::from(id.clone()));
        let mut ha = Handshake::new(ca);
        let mut hb = Handshake::new(HandshakeConfig::new(SocketType::Router));
        let (mut a_out, mut b_out) = (BytesMut::new(), BytesMut::new());
        ha.start(&mut a_out);
        hb.start(&mut b_out);
        let (mut a_in, mut b_in) = (BytesMut::new(), BytesMut::new());
        let (mut da, mut db) = (None, None);
        for i in 0..1000 {
            let n = a_out.len().min(a_chunks[i % a_chunks.len()]);
            b_in.extend_from_slice(&a_out.split_to(n));
            let n = b_out.len().min(b_chunks[i % b_chunks.len()]);
            a_in.extend_from_slice(&b_out.split_to(n));
            if da.is_none() {
                if let HandshakeStatus::Done(p) = ha.input(&mut a_in, &mut a_out).unwrap() {
                    da = Some(p);
                }
            }
            if db.is_none() {
                if let HandshakeStatus::Done(p) = hb.input(&mut b_in, &mut b_out).unwrap() {
                    db = Some(p);
                }
            }
            if da.is_some() && db.is_some() {
                break;
            }
        }
        prop_assert_eq!(da.unwrap().socket_type, SocketType::Router);
        let db = db.unwrap();
        prop_assert_eq!(db.socket_type, SocketType::Dealer);
        let expect = if id.is_empty() { None } else { Some(Bytes::from(id)) };
        prop_assert_eq!(db.identity, expect);
    }
}
