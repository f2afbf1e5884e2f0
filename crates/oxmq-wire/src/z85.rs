//! Z85 (RFC 32), the printable encoding ZeroMQ uses for CURVE keys, with
//! libzmq's rules: encoding takes a multiple of 4 bytes, decoding a multiple
//! of 5 characters (at least 5), every character from the Z85 alphabet, and
//! no group worth more than 2^32 - 1.

/// The 85 characters, by value.
const ALPHABET: &[u8; 85] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Value of each character from `'!'` (0x21) on, `0xFF` for characters
/// outside the alphabet.
const DECODE: [u8; 96] = {
    let mut table = [0xFFu8; 96];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[(ALPHABET[i] - 32) as usize] = i as u8;
        i += 1;
    }
    table
};

/// Why Z85 input was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Z85Error {
    /// Encoding: the data is not a multiple of 4 bytes long.
    #[error("Z85 encodes a multiple of 4 bytes; got {0} bytes")]
    DataLength(usize),
    /// Decoding: the text is not a non-zero multiple of 5 characters long.
    #[error("Z85 text must be a non-zero multiple of 5 characters long; got {0}")]
    TextLength(usize),
    /// Decoding: the character at this byte offset is not in the Z85 alphabet.
    #[error("invalid Z85 character at offset {0}")]
    InvalidCharacter(usize),
    /// Decoding: the group of 5 characters starting at this offset is worth
    /// more than 2^32 - 1.
    #[error("Z85 group at offset {0} exceeds 32 bits")]
    Overflow(usize),
}

/// Encodes `data` (a multiple of 4 bytes, possibly none) as Z85, like
/// libzmq's `zmq_z85_encode`.
pub fn z85_encode(data: &[u8]) -> Result<String, Z85Error> {
    if data.len() % 4 != 0 {
        return Err(Z85Error::DataLength(data.len()));
    }
    let mut out = String::with_capacity(data.len() / 4 * 5);
    for group in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes(group.try_into().expect("groups of 4"));
        let mut chars = [0u8; 5];
        for c in chars.iter_mut().rev() {
            *c = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        out.extend(chars.iter().map(|&c| char::from(c)));
    }
    Ok(out)
}

/// Decodes Z85 text (a non-zero multiple of 5 characters), like libzmq's
/// `zmq_z85_decode`.
pub fn z85_decode(text: &str) -> Result<Vec<u8>, Z85Error> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() % 5 != 0 {
        return Err(Z85Error::TextLength(bytes.len()));
    }
    let mut out = Vec::with_capacity(bytes.len() / 5 * 4);
    for (g, group) in bytes.chunks_exact(5).enumerate() {
        let mut value: u64 = 0;
        for (i, &c) in group.iter().enumerate() {
            let digit = c.checked_sub(32).and_then(|i| DECODE.get(usize::from(i))).copied().unwrap_or(0xFF);
            if digit == 0xFF {
                return Err(Z85Error::InvalidCharacter(g * 5 + i));
            }
            value = value * 85 + u64::from(digit);
        }
        let value = u32::try_from(value).map_err(|_| Z85Error::Overflow(g * 5))?;
        out.extend_from_slice(&value.to_be_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO_WORLD: [u8; 8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];

    #[test]
    fn rfc_32_example() {
        assert_eq!(z85_encode(&HELLO_WORLD).unwrap(), "HelloWorld");
        assert_eq!(z85_decode("HelloWorld").unwrap(), HELLO_WORLD);
    }

    #[test]
    fn length_rules() {
        assert_eq!(z85_encode(&[]).unwrap(), "");
        assert_eq!(z85_encode(&[1, 2, 3]), Err(Z85Error::DataLength(3)));
        assert_eq!(z85_decode(""), Err(Z85Error::TextLength(0)));
        assert_eq!(z85_decode("Hello"), Ok(vec![0x86, 0x4F, 0xD2, 0x6F]));
        assert_eq!(z85_decode("HelloWorl"), Err(Z85Error::TextLength(9)));
    }

    #[test]
    fn bad_characters_and_overflow() {
        assert_eq!(z85_decode("Hell~"), Err(Z85Error::InvalidCharacter(4)));
        assert_eq!(z85_decode("He\"lo"), Err(Z85Error::InvalidCharacter(2)));
        assert_eq!(z85_decode("Hello Worl"), Err(Z85Error::InvalidCharacter(5)));
        assert_eq!(z85_decode("Hel\u{e9}"), Err(Z85Error::InvalidCharacter(3)));
        // "%nSc0" is 2^32 - 1; "%nSc1" one more.
        assert_eq!(z85_decode("%nSc0"), Ok(vec![0xFF; 4]));
        assert_eq!(z85_decode("abcde%nSc1"), Err(Z85Error::Overflow(5)));
    }

    /// Random data encoded by pyzmq 26.4.0's `zmq.utils.z85.encode`
    /// (captured once by scripts/capture_security.py).
    #[test]
    fn pyzmq_vectors() {
        for (hex, text) in crate::mechanism::libzmq_vectors::Z85_PYZMQ {
            let data = hex_decode(hex);
            assert_eq!(z85_encode(&data).unwrap(), *text);
            assert_eq!(z85_decode(text).unwrap(), data);
        }
    }

    fn hex_decode(hex: &str) -> Vec<u8> {
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
    }
}
