//! The fixed 64-byte ZMTP 3.x greeting.

use crate::WireError;
use crate::mechanism::name::Mechanism;

/// The ZMTP 3.x greeting: 64 bytes made of a signature (`0xFF`, 8 padding
/// bytes, `0x7F`), the version (major, minor), the mechanism (20 bytes, NUL
/// padded), the as-server flag and 31 filler zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// Major version (3 for every peer we accept).
    pub major: u8,
    /// Minor version (0 for ZMTP 3.0, 1 for ZMTP 3.1).
    pub minor: u8,
    /// The security mechanism the sender uses.
    pub mechanism: Mechanism,
    /// Whether the sender acts as server in the mechanism handshake
    /// (meaningless and zero for NULL).
    pub as_server: bool,
}

/// Offset of the version-major byte.
const MAJOR_POS: usize = 10;
/// Offset of the version-minor byte.
const MINOR_POS: usize = 11;
/// Offset of the mechanism field.
const MECHANISM_POS: usize = 12;
/// Offset of the as-server byte.
const AS_SERVER_POS: usize = 32;

impl Greeting {
    /// Length of a ZMTP 3.x greeting.
    pub const LEN: usize = 64;
    /// The major version we speak.
    pub const OUR_MAJOR: u8 = 3;
    /// The minor version we speak.
    pub const OUR_MINOR: u8 = 1;

    /// Our greeting: ZMTP 3.1 with the given mechanism.
    pub fn ours(mechanism: Mechanism, as_server: bool) -> Greeting {
        Greeting { major: Self::OUR_MAJOR, minor: Self::OUR_MINOR, mechanism, as_server }
    }

    /// Encodes the greeting.
    ///
    /// The padding bytes 1..=8 hold the 64-bit big-endian value 1, exactly
    /// like libzmq with an empty routing id (libzmq writes routing-id length
    /// plus one there for ZMTP 1.0 detection; the field is not significant
    /// for ZMTP 3.x).
    pub fn encode(&self) -> [u8; 64] {
        let mut g = [0u8; Self::LEN];
        g[0] = 0xFF;
        g[1..9].copy_from_slice(&1u64.to_be_bytes());
        g[9] = 0x7F;
        g[MAJOR_POS] = self.major;
        g[MINOR_POS] = self.minor;
        g[MECHANISM_POS..AS_SERVER_POS].copy_from_slice(&self.mechanism.to_field());
        g[AS_SERVER_POS] = u8::from(self.as_server);
        g
    }

    /// Checks the first bytes of a peer's greeting as they arrive, so that a
    /// garbage or old-protocol peer is refused as early as possible.
    ///
    /// Returns `Ok(())` if `prefix` (any length; only the first 64 bytes are
    /// looked at) could still be the start of a valid ZMTP 3.x greeting:
    /// - byte 0 must be `0xFF` and byte 9 must have bit 0 set, else
    ///   [`WireError::BadSignature`] (a ZMTP 1.0 peer starts with a frame
    ///   length, or with `0xFF` + 8-byte length and a flags byte with bit 0
    ///   clear);
    /// - byte 10 (major version) must be at least 3, else
    ///   [`WireError::UnsupportedVersion`] (0: ZMTP 1.0, 1 or 2: ZMTP 2.0).
    ///
    /// The padding, mechanism, as-server and filler bytes are not checked
    /// here; [`Greeting::decode`] checks the mechanism.
    pub fn check_prefix(prefix: &[u8]) -> Result<(), WireError> {
        if prefix.first().is_some_and(|&b| b != 0xFF) {
            return Err(WireError::BadSignature);
        }
        if prefix.get(9).is_some_and(|&b| b & 0x01 == 0) {
            return Err(WireError::BadSignature);
        }
        if let Some(&major) = prefix.get(MAJOR_POS)
            && major < 3
        {
            return Err(WireError::UnsupportedVersion { major, minor: prefix.get(MINOR_POS).copied().unwrap_or(0) });
        }
        Ok(())
    }

    /// Decodes a complete greeting.
    ///
    /// Higher versions than ours (3.2, 4.0, ...) are accepted as the RFC
    /// demands. The as-server byte is read as "non-zero means server"; the
    /// filler is ignored (it is not significant, and future versions may use
    /// it).
    pub fn decode(buf: &[u8; 64]) -> Result<Greeting, WireError> {
        Self::check_prefix(buf)?;
        let field: &[u8; 20] = buf[MECHANISM_POS..AS_SERVER_POS].try_into().expect("mechanism field is 20 bytes");
        Ok(Greeting {
            major: buf[MAJOR_POS],
            minor: buf[MINOR_POS],
            mechanism: Mechanism::from_field(field).ok_or(WireError::UnknownMechanism)?,
            as_server: buf[AS_SERVER_POS] != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The greeting libzmq 4.x sends for a NULL socket with no routing id,
    /// written out byte by byte from RFC 37 and libzmq's zmtp_engine.
    const LIBZMQ_NULL_GREETING: [u8; 64] = [
        0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x7F, // signature
        0x03, 0x01, // version 3.1
        b'N', b'U', b'L', b'L', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    // mechanism
        0x00, // as-server
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, // filler (31)
    ];

    #[test]
    fn our_null_greeting_matches_libzmq_bytes() {
        assert_eq!(Greeting::ours(Mechanism::Null, false).encode(), LIBZMQ_NULL_GREETING);
    }

    #[test]
    fn decode_libzmq_greeting() {
        let g = Greeting::decode(&LIBZMQ_NULL_GREETING).unwrap();
        assert_eq!(g, Greeting::ours(Mechanism::Null, false));
    }

    #[test]
    fn roundtrip_all_mechanisms() {
        for m in [Mechanism::Null, Mechanism::Plain, Mechanism::Curve] {
            for s in [false, true] {
                let g = Greeting::ours(m, s);
                assert_eq!(Greeting::decode(&g.encode()).unwrap(), g);
            }
        }
    }

    #[test]
    fn padding_is_not_significant() {
        let mut g = LIBZMQ_NULL_GREETING;
        g[1..9].copy_from_slice(&[0xAB; 8]);
        g[9] = 0x01; // only bit 0 matters
        assert!(Greeting::decode(&g).is_ok());
    }

    #[test]
    fn zmtp_3_0_and_future_versions_accepted() {
        let mut g = LIBZMQ_NULL_GREETING;
        g[11] = 0;
        assert_eq!(Greeting::decode(&g).unwrap().minor, 0);
        g[10] = 4;
        g[11] = 7;
        let d = Greeting::decode(&g).unwrap();
        assert_eq!((d.major, d.minor), (4, 7));
    }

    #[test]
    fn every_prefix_of_a_valid_greeting_is_ok() {
        for n in 0..=64 {
            assert_eq!(Greeting::check_prefix(&LIBZMQ_NULL_GREETING[..n]), Ok(()));
        }
    }

    #[test]
    fn garbage_refused_at_first_byte() {
        assert_eq!(Greeting::check_prefix(b"G"), Err(WireError::BadSignature));
        assert_eq!(Greeting::check_prefix(b"GET / HTTP/1.1\r\n"), Err(WireError::BadSignature));
    }

    #[test]
    fn zmtp_1_0_refused() {
        // Short identity frame: length 1, flags 0.
        let e = Greeting::check_prefix(&[0x01, 0x00]).unwrap_err();
        assert_eq!(e, WireError::BadSignature);
        assert!(e.to_string().contains("ZMTP 1.0"), "{e}");
        // Long identity frame: 0xFF, 8-byte length, flags 0 (bit 0 clear).
        let long = [0xFF, 0, 0, 0, 0, 0, 0, 1, 0, 0x00];
        assert_eq!(Greeting::check_prefix(&long[..9]), Ok(()));
        assert_eq!(Greeting::check_prefix(&long), Err(WireError::BadSignature));
    }

    #[test]
    fn zmtp_2_0_refused_on_version_byte() {
        let mut g = LIBZMQ_NULL_GREETING;
        g[10] = 0x01; // ZMTP 2.0 revision
        g[11] = 0x05; // ZMTP 2.0 socket type (DEALER)
        let e = Greeting::check_prefix(&g[..11]).unwrap_err();
        assert_eq!(e, WireError::UnsupportedVersion { major: 1, minor: 0 });
        assert!(e.to_string().contains("ZMTP 2.0"), "{e}");
        assert_eq!(Greeting::decode(&g), Err(WireError::UnsupportedVersion { major: 1, minor: 5 }));
        g[10] = 0x00;
        let e = Greeting::check_prefix(&g[..11]).unwrap_err();
        assert!(e.to_string().contains("ZMTP 1.0"), "{e}");
    }

    #[test]
    fn bad_mechanism_fields() {
        let mut g = LIBZMQ_NULL_GREETING;
        g[12..16].copy_from_slice(b"null");
        assert_eq!(Greeting::decode(&g), Err(WireError::UnknownMechanism));
        let mut g = LIBZMQ_NULL_GREETING;
        g[12..18].copy_from_slice(b"GSSAPI");
        assert_eq!(Greeting::decode(&g), Err(WireError::UnknownMechanism));
        let mut g = LIBZMQ_NULL_GREETING;
        g[17] = b'X'; // "NULL\0X"
        assert_eq!(Greeting::decode(&g), Err(WireError::UnknownMechanism));
        let mut g = LIBZMQ_NULL_GREETING;
        g[12..16].copy_from_slice(&[0; 4]); // empty name
        assert_eq!(Greeting::decode(&g), Err(WireError::UnknownMechanism));
    }
}
