//! The security mechanisms' names, as a greeting carries them: vocabulary with no
//! dependency, below the errors that mention it.

/// A ZMTP security mechanism, as named in the greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// No security (ZMTP 3.x NULL).
    Null,
    /// Clear-text user name and password (RFC 24).
    Plain,
    /// CurveZMQ (RFC 25/26).
    Curve,
}

impl Mechanism {
    /// The wire name: `"NULL"`, `"PLAIN"` or `"CURVE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Null => "NULL",
            Mechanism::Plain => "PLAIN",
            Mechanism::Curve => "CURVE",
        }
    }

    /// Parses a mechanism name without padding (exact uppercase match); `None` for a name
    /// oxmq does not know.
    pub fn from_name(name: &[u8]) -> Option<Mechanism> {
        match name {
            b"NULL" => Some(Mechanism::Null),
            b"PLAIN" => Some(Mechanism::Plain),
            b"CURVE" => Some(Mechanism::Curve),
            _ => None,
        }
    }

    /// Parses the 20-byte NUL-padded mechanism field of a greeting.
    ///
    /// The name must be 1..=20 characters from `A-Z 0-9 - _ . +`, followed
    /// only by NUL bytes; otherwise, or if the name is not one we know,
    /// `None` (a greeting then fails with
    /// [`WireError::UnknownMechanism`](crate::WireError::UnknownMechanism)).
    pub fn from_field(field: &[u8; 20]) -> Option<Mechanism> {
        let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        let (name, padding) = field.split_at(len);
        let name_ok = name.iter().all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.+".contains(&b));
        if !name_ok || padding.iter().any(|&b| b != 0) {
            return None;
        }
        Mechanism::from_name(name)
    }

    /// The 20-byte NUL-padded mechanism field for a greeting.
    pub fn to_field(self) -> [u8; 20] {
        let mut field = [0u8; 20];
        let name = self.as_str().as_bytes();
        field[..name.len()].copy_from_slice(name);
        field
    }
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
