//! The client handshake targets (`plain_client`, `curve_client`) really get where their seeds
//! say: a genuine WELCOME and READY complete the handshake (so the fuzzer explores what comes
//! after), and each refusal is the one the seed was made for.

use std::path::PathBuf;

use oxmq_fuzz::client_outcome;
use oxmq_wire::{HandshakeStatus, Mechanism, WireError};

fn seed(target: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

type Check = fn(&Result<HandshakeStatus, WireError>) -> bool;

fn done(r: &Result<HandshakeStatus, WireError>) -> bool {
    matches!(r, Ok(HandshakeStatus::Done(_)))
}

#[test]
fn plain_client_seeds_end_as_made() {
    let cases: [(&str, Check); 8] = [
        ("welcome_ready", done),
        ("genuine_welcome_ready_then_message", done),
        ("welcome_with_data", |r| matches!(r, Err(WireError::MalformedCommand(m)) if m.starts_with("WELCOME"))),
        ("error_400", |r| r == &Err(WireError::PeerError("400".into()))),
        ("error_truncated", |r| matches!(r, Err(WireError::MalformedCommand(m)) if m.starts_with("ERROR"))),
        ("ready_first", |r| matches!(r, Err(WireError::UnexpectedCommand(_)))),
        ("genuine_welcome_bad_ready", |r| matches!(r, Err(WireError::InvalidMetadata(_)))),
        ("genuine_welcome_pub_ready", |r| matches!(r, Err(WireError::IncompatibleSocketType { .. }))),
    ];
    for (name, check) in cases {
        let r = client_outcome(Mechanism::Plain, &seed("plain_client", name));
        assert!(check(&r), "plain_client/{name}: {r:?}");
    }
}

#[test]
fn curve_client_seeds_end_as_made() {
    let cases: [(&str, Check); 8] = [
        ("genuine_welcome", |r| r == &Ok(HandshakeStatus::NeedMore)),
        ("genuine_welcome_ready_req", done),
        ("genuine_welcome_ready_then_message", done),
        ("welcome_shaped_junk", |r| matches!(r, Err(WireError::Cryptographic(_)))),
        ("welcome_short", |r| matches!(r, Err(WireError::Cryptographic(m)) if m.contains("168"))),
        ("error_400", |r| r == &Err(WireError::PeerError("400".into()))),
        ("genuine_welcome_junk_ready", |r| matches!(r, Err(WireError::Cryptographic(_)))),
        ("genuine_welcome_short_ready", |r| matches!(r, Err(WireError::MalformedCommand(m)) if m.starts_with("READY"))),
    ];
    for (name, check) in cases {
        let r = client_outcome(Mechanism::Curve, &seed("curve_client", name));
        assert!(check(&r), "curve_client/{name}: {r:?}");
    }
    let r = client_outcome(Mechanism::Curve, &seed("curve_client", "genuine_welcome_message"));
    assert!(matches!(r, Err(WireError::UnexpectedCommand(_))), "a MESSAGE before READY: {r:?}");
}
