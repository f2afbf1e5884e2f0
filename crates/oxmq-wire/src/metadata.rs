//! Connection metadata properties, as carried by `READY` (and by the PLAIN
//! and CURVE handshakes).

use bytes::{BufMut, Bytes, BytesMut};

use crate::WireError;

/// Largest metadata value allowed by ZMTP (2^31 - 1 bytes).
pub const MAX_VALUE_LEN: usize = i32::MAX as usize;

/// Longest identity (routing id, the `Identity` property) ZMTP allows.
pub const MAX_IDENTITY_LEN: usize = 255;

/// Well-known property names.
pub mod names {
    /// The sender's socket type.
    pub const SOCKET_TYPE: &str = "Socket-Type";
    /// The sender's identity (routing id).
    pub const IDENTITY: &str = "Identity";
    /// The resource the sender asks for (ZMTP 3.1).
    pub const RESOURCE: &str = "Resource";
}

/// An ordered list of metadata properties.
///
/// Names are case-insensitive on lookup and on insertion (inserting an
/// existing name replaces its value, keeping its position). On the wire each
/// property is: name length (u8), name, value length (u32 big-endian), value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    props: Vec<(String, Bytes)>,
}

impl Metadata {
    /// An empty property list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `name` is a valid property name: 1..=255 characters from
    /// `A-Z a-z 0-9 - _ . +`.
    pub fn is_valid_name(name: &[u8]) -> bool {
        (1..=255).contains(&name.len()) && name.iter().all(|&b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b))
    }

    /// Inserts a property (replacing the value of an existing property with
    /// the same name, compared case-insensitively).
    ///
    /// # Panics
    /// If `name` is not valid (see [`Metadata::is_valid_name`]) or the value
    /// is longer than 2^31-1 bytes. Use [`Metadata::try_insert`] for
    /// untrusted input.
    pub fn insert(&mut self, name: &str, value: impl Into<Bytes>) {
        if let Err(e) = self.try_insert(name, value) {
            panic!("Metadata::insert({name:?}): {e}");
        }
    }

    /// Like [`Metadata::insert`] but returns [`WireError::InvalidMetadata`]
    /// instead of panicking.
    pub fn try_insert(&mut self, name: &str, value: impl Into<Bytes>) -> Result<(), WireError> {
        if !Self::is_valid_name(name.as_bytes()) {
            return Err(WireError::InvalidMetadata(format!(
                "invalid property name {name:?} (1-255 characters from A-Z a-z 0-9 - _ . +)"
            )));
        }
        let value = value.into();
        if value.len() > MAX_VALUE_LEN {
            return Err(WireError::InvalidMetadata(format!(
                "value of property {name:?} is {} bytes, more than 2^31-1",
                value.len()
            )));
        }
        match self.props.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(slot) => slot.1 = value,
            None => self.props.push((name.to_owned(), value)),
        }
        Ok(())
    }

    /// The value of property `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.props.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// Removes property `name` (case-insensitive), returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Bytes> {
        let i = self.props.iter().position(|(n, _)| n.eq_ignore_ascii_case(name))?;
        Some(self.props.remove(i).1)
    }

    /// The properties in order, with names as inserted or received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Bytes)> {
        self.props.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.props.len()
    }

    /// Whether there are no properties.
    pub fn is_empty(&self) -> bool {
        self.props.is_empty()
    }

    /// Number of bytes [`Metadata::encode`] appends.
    pub fn encoded_len(&self) -> usize {
        self.props.iter().map(|(n, v)| property_len(n.len(), v.len())).sum()
    }

    /// Appends the wire encoding of all properties to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        for (name, value) in &self.props {
            encode_property(name.as_bytes(), value, out);
        }
    }

    /// Parses a property list that fills all of `data`.
    ///
    /// Rejects (with [`WireError::InvalidMetadata`]) truncated names or
    /// values, invalid names, and values longer than 2^31-1 bytes. Values
    /// are copied out of `data`; use [`Metadata::parse_bytes`] to share them.
    pub fn parse(data: &[u8]) -> Result<Metadata, WireError> {
        Self::parse_bytes(&Bytes::copy_from_slice(data))
    }

    /// Like [`Metadata::parse`], but the values are zero-copy slices of `data`.
    pub fn parse_bytes(data: &Bytes) -> Result<Metadata, WireError> {
        let mut md = Metadata::new();
        let mut pos = 0;
        while pos < data.len() {
            let name_len = usize::from(data[pos]);
            pos += 1;
            let name = data
                .get(pos..pos + name_len)
                .ok_or_else(|| WireError::InvalidMetadata("property name truncated".to_owned()))?;
            if !Self::is_valid_name(name) {
                return Err(WireError::InvalidMetadata(format!(
                    "invalid property name {:?}",
                    String::from_utf8_lossy(name)
                )));
            }
            // Valid names are ASCII.
            let name = std::str::from_utf8(name).expect("valid names are ASCII");
            pos += name_len;
            let len_bytes: [u8; 4] = data
                .get(pos..pos + 4)
                .ok_or_else(|| WireError::InvalidMetadata(format!("length of property {name:?} truncated")))?
                .try_into()
                .expect("4 bytes");
            pos += 4;
            let value_len = u32::from_be_bytes(len_bytes) as usize;
            if value_len > MAX_VALUE_LEN {
                return Err(WireError::InvalidMetadata(format!(
                    "value of property {name:?} declares {value_len} bytes, more than 2^31-1"
                )));
            }
            if data.len() - pos < value_len {
                return Err(WireError::InvalidMetadata(format!("value of property {name:?} truncated")));
            }
            let value = data.slice(pos..pos + value_len);
            pos += value_len;
            md.try_insert(name, value)?;
        }
        Ok(md)
    }
}

/// Encoded length of one property.
pub(crate) fn property_len(name_len: usize, value_len: usize) -> usize {
    1 + name_len + 4 + value_len
}

/// Appends one property; the name must be valid and the value short enough.
pub(crate) fn encode_property(name: &[u8], value: &[u8], out: &mut BytesMut) {
    debug_assert!(Metadata::is_valid_name(name));
    debug_assert!(value.len() <= MAX_VALUE_LEN);
    out.reserve(property_len(name.len(), value.len()));
    out.put_u8(name.len() as u8);
    out.extend_from_slice(name);
    out.put_u32(value.len() as u32);
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_matches_rfc_example() {
        let mut md = Metadata::new();
        md.insert("Socket-Type", "DEALER");
        md.insert("Identity", "");
        let mut out = BytesMut::new();
        md.encode(&mut out);
        let mut expect = vec![11u8];
        expect.extend_from_slice(b"Socket-Type");
        expect.extend_from_slice(&[0, 0, 0, 6]);
        expect.extend_from_slice(b"DEALER");
        expect.push(8);
        expect.extend_from_slice(b"Identity");
        expect.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(&out[..], &expect[..]);
        assert_eq!(md.encoded_len(), expect.len());
        assert_eq!(Metadata::parse(&expect).unwrap(), md);
    }

    #[test]
    fn lookup_is_case_insensitive() {
        let mut md = Metadata::new();
        md.insert("socket-type", "PUB");
        assert_eq!(md.get("SOCKET-TYPE").map(|v| &v[..]), Some(&b"PUB"[..]));
        md.insert("Socket-Type", "SUB");
        assert_eq!(md.len(), 1);
        assert_eq!(md.get("socket-TYPE").map(|v| &v[..]), Some(&b"SUB"[..]));
        assert_eq!(md.iter().next().unwrap().0, "socket-type");
        assert_eq!(md.remove("SOCKET-type").as_deref(), Some(&b"SUB"[..]));
        assert!(md.is_empty());
    }

    #[test]
    fn empty_is_valid() {
        assert!(Metadata::parse(&[]).unwrap().is_empty());
    }

    #[test]
    fn truncations_rejected() {
        let mut md = Metadata::new();
        md.insert("X-Key", "value");
        let mut out = BytesMut::new();
        md.encode(&mut out);
        for n in 1..out.len() {
            assert!(matches!(Metadata::parse(&out[..n]), Err(WireError::InvalidMetadata(_))), "n={n}");
        }
        assert!(Metadata::parse(&out).is_ok());
    }

    #[test]
    fn bad_names_rejected() {
        // Zero-length name.
        assert!(Metadata::parse(&[0, 0, 0, 0, 0]).is_err());
        // Space in name.
        assert!(Metadata::parse(b"\x03a b\x00\x00\x00\x00").is_err());
        // Value length over 2^31-1.
        assert!(Metadata::parse(b"\x01a\x80\x00\x00\x00").is_err());
        assert!(Metadata::new().try_insert("", "x").is_err());
        assert!(Metadata::new().try_insert("X:y", "x").is_err());
        assert!(Metadata::new().try_insert(&"a".repeat(256), "x").is_err());
        assert!(Metadata::new().try_insert(&"a".repeat(255), "x").is_ok());
    }

    #[test]
    #[should_panic(expected = "invalid property name")]
    fn insert_panics_on_bad_name() {
        Metadata::new().insert("bad name", "x");
    }
}
