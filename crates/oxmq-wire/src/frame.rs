//! ZMTP 3.x framing: frame headers and the incremental frame decoder.

use bytes::{Buf, Bytes, BytesMut};

use crate::WireError;

/// Bits of the frame flags byte.
pub mod flags {
    /// More frames of the same message follow (never set on commands).
    pub const MORE: u8 = 0x01;
    /// The size field is 8 bytes (big-endian) instead of 1.
    pub const LONG: u8 = 0x02;
    /// The frame is a command, not a message frame.
    pub const COMMAND: u8 = 0x04;
    /// Bits 7-3, reserved: must be zero.
    pub const RESERVED: u8 = 0xF8;
}

/// Largest body a ZMTP frame can declare (2^63 - 1).
pub const MAX_WIRE_FRAME_SIZE: u64 = i64::MAX as u64;

/// Largest body the [`Decoder`] accepts, whatever the configured limit: 2^47 bytes (128 TiB).
///
/// No allocation could hold a larger frame: 2^47 is the whole user address space of an x86-64
/// Linux process (the kernel hands out addresses above it only to a process that asks, even
/// with 5-level paging), and more memory than any machine has. libzmq allocates a frame's
/// body when its header arrives, so such a header fails that allocation (ENOMEM) and closes
/// the connection at once; oxmq allocates as the body arrives, so without this bound it would
/// hold every byte a peer streams into a frame that can never complete. The bound is the
/// limit for everyone: a configured limit (MAXMSGSIZE) only lowers it, and a frame over it
/// is refused from its header alone ([`WireError::FrameTooLarge`] with `max` = this value).
///
/// A frame under the bound is a legitimate frame with MAXMSGSIZE unset: a peer that declares
/// 300 MiB and streams it is held as it arrives, as libzmq holds it. Set MAXMSGSIZE to bound
/// what one peer can make a socket hold.
pub const MAX_FRAME_SIZE: u64 = 1 << 47;

/// Length of the header for a body of `len` bytes: 2 (short form, body up to
/// 255 bytes) or 9 (long form).
pub fn frame_header_len(len: usize) -> usize {
    if len > 255 { 9 } else { 2 }
}

/// Appends a frame header (flags byte, then a 1-byte or 8-byte big-endian
/// size) to `out`. The long form is used when `len > 255`.
///
/// `more` and `command` must not both be set (ZMTP forbids MORE on commands);
/// this function encodes what it is given.
#[inline]
pub fn encode_frame_header(more: bool, command: bool, len: usize, out: &mut BytesMut) {
    let f = (u8::from(more) * flags::MORE) | (u8::from(command) * flags::COMMAND);
    if len > 255 {
        // Built on the stack and appended at once: one capacity check, not one per field.
        let mut h = [f | flags::LONG; 9];
        h[1..].copy_from_slice(&(len as u64).to_be_bytes());
        out.extend_from_slice(&h);
    } else {
        out.extend_from_slice(&[f, len as u8]);
    }
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// More frames of the same message follow.
    pub more: bool,
    /// This is a command frame (its body starts with a length-prefixed name).
    pub command: bool,
    /// The frame body.
    pub body: Bytes,
}

impl Frame {
    /// A message frame.
    pub fn message(body: impl Into<Bytes>, more: bool) -> Frame {
        Frame { more, command: false, body: body.into() }
    }

    /// A command frame with an already encoded command body.
    pub fn command(body: impl Into<Bytes>) -> Frame {
        Frame { more: false, command: true, body: body.into() }
    }

    /// Number of bytes [`Frame::encode`] appends.
    pub fn encoded_len(&self) -> usize {
        frame_header_len(self.body.len()) + self.body.len()
    }

    /// Appends the header and body to `out` (this copies the body; an engine
    /// that wants to avoid the copy writes the header with
    /// [`encode_frame_header`] and the body separately).
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        encode_frame_header(self.more, self.command, self.body.len(), out);
        out.extend_from_slice(&self.body);
    }
}

/// A parsed frame header (see [`Decoder::peek_header`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// More frames of the same message follow.
    pub more: bool,
    /// A command frame.
    pub command: bool,
    /// Bytes of the header itself (2 or 9).
    pub header_len: usize,
    /// Bytes of the body, as declared (already checked against the size limits).
    pub body_len: usize,
}

/// Incremental ZMTP 3.x frame decoder.
///
/// The decoder keeps no partial frame of its own: until a whole frame is in
/// the caller's buffer, the buffer is left untouched (header included), and
/// the header is simply re-read on the next call. Bodies are split out of the
/// buffer without copying (`BytesMut::split_to` + `freeze`). The decoder never
/// allocates based on a length field; the caller decides how much to read
/// (see [`Decoder::pending_body_len`]).
///
/// After an error the stream is unusable; the connection must be closed.
#[derive(Debug, Clone)]
pub struct Decoder {
    max_frame_size: Option<u64>,
}

impl Decoder {
    /// A decoder that refuses frames larger than `max_frame_size` bytes
    /// (`None`: no limit of the caller's, like libzmq's `ZMQ_MAXMSGSIZE` = -1).
    /// Either way it refuses frames over [`MAX_FRAME_SIZE`] (2^47) and over
    /// what fits in `usize`: a larger `max_frame_size` counts as that.
    ///
    /// The limit is checked per frame against the size declared in the
    /// header, before any of the body is buffered.
    pub fn new(max_frame_size: Option<u64>) -> Decoder {
        Decoder { max_frame_size }
    }

    /// The configured per-frame limit.
    pub fn max_frame_size(&self) -> Option<u64> {
        self.max_frame_size
    }

    /// Changes the per-frame limit (e.g. after the handshake).
    pub fn set_max_frame_size(&mut self, max_frame_size: Option<u64>) {
        self.max_frame_size = max_frame_size;
    }

    /// Decodes one frame from the front of `buf`.
    ///
    /// - `Ok(Some(frame))`: a whole frame was in `buf` and has been removed
    ///   from it.
    /// - `Ok(None)`: more bytes are needed; `buf` is unchanged.
    /// - `Err(_)`: reserved flag bits set ([`WireError::ReservedFlags`]), a
    ///   command frame with MORE set ([`WireError::MalformedCommand`]), or a
    ///   declared size over the limit or over [`MAX_FRAME_SIZE`]
    ///   ([`WireError::FrameTooLarge`], `max` the lower of the two). These
    ///   are reported as soon as the offending header byte is in `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, WireError> {
        let Some(h) = self.header(buf)? else {
            return Ok(None);
        };
        if buf.len() - h.header_len < h.body_len {
            return Ok(None);
        }
        // The whole frame off the buffer, then the header off the frame: a `Bytes` advances by
        // moving its pointer, where the buffer's own advance (a `BytesMut`) costs several
        // times that (callgrind: 21 instructions of a 64 B frame's receive).
        let mut body = buf.split_to(h.header_len + h.body_len).freeze();
        body.advance(h.header_len);
        Ok(Some(Frame { more: h.more, command: h.command, body }))
    }

    /// Decodes every whole frame at the front of `buf`, in order, handing each to `each`; what
    /// is left in `buf` is the start of a frame not whole yet. The same frames, and the same
    /// error after them, as calling [`Decoder::decode`] until it returns `Ok(None)` or an
    /// error, but `buf` is split once for all of them: each body is then a view of that one
    /// part (a reference count, where a split of the buffer per frame costs several times
    /// that; callgrind: about 40 of a 64 B frame's receive).
    ///
    /// An error of `each` stops the decoding at once: the frames after that one are dropped
    /// (after an error the stream is unusable anyway). An invalid header is reported, through
    /// `bad_header`, after every whole frame before it was handed over.
    pub fn decode_each<E>(
        &self,
        buf: &mut BytesMut,
        mut each: impl FnMut(Frame) -> Result<(), E>,
        bad_header: impl FnOnce(WireError) -> E,
    ) -> Result<(), E> {
        // First the headers: how far the whole frames go, and whether a bad header ends them.
        let mut whole = 0;
        let mut bad = None;
        loop {
            match self.header(&buf[whole..]) {
                Ok(Some(h)) if buf.len() - whole - h.header_len >= h.body_len => whole += h.header_len + h.body_len,
                Ok(_) => break,
                Err(e) => {
                    bad = Some(e);
                    break;
                }
            }
        }
        if whole > 0 {
            // Then the frames, out of one part; their headers were checked above.
            let mut part = buf.split_to(whole).freeze();
            while let Some(&f) = part.first() {
                let (header_len, size) = size_field(&part).expect("a whole frame's header");
                // Checked above against the limits, which are within usize.
                let body_len = size as usize;
                part.advance(header_len);
                // The last frame takes the part itself; the others a view of it. (Not
                // `Bytes::split_to`, which is not inlined into the C ABI's library: 40
                // instructions a frame there, callgrind.)
                let body = if body_len == part.len() {
                    std::mem::take(&mut part)
                } else {
                    let body = part.slice(..body_len);
                    part.advance(body_len);
                    body
                };
                each(Frame { more: f & flags::MORE != 0, command: f & flags::COMMAND != 0, body })?;
            }
        }
        match bad {
            Some(e) => Err(bad_header(e)),
            None => Ok(()),
        }
    }

    /// How many more body bytes the frame at the front of `buf` needs before
    /// [`Decoder::decode`] can return it; 0 if its header is not complete
    /// yet, if it is invalid, or if the whole frame is already there.
    ///
    /// With no configured maximum this can be very large (up to
    /// [`MAX_FRAME_SIZE`]): cap any reservation made from it.
    pub fn pending_body_len(&self, buf: &BytesMut) -> usize {
        match self.header(buf) {
            Ok(Some(h)) => h.body_len.saturating_sub(buf.len() - h.header_len),
            _ => 0,
        }
    }

    /// The header of the frame at the front of `buf`, checked as [`Decoder::decode`] checks
    /// it (`Ok(None)` until it is complete). `buf` is not changed: a caller that reads a large
    /// body into a buffer of its own advances past the header itself. As with
    /// [`Decoder::pending_body_len`], `body_len` can be huge when there is no limit: cap any
    /// reservation made from it.
    pub fn peek_header(&self, buf: &[u8]) -> Result<Option<FrameHeader>, WireError> {
        self.header(buf)
    }

    #[inline]
    fn header(&self, buf: &[u8]) -> Result<Option<FrameHeader>, WireError> {
        let Some(&f) = buf.first() else {
            return Ok(None);
        };
        if f & flags::RESERVED != 0 {
            return Err(WireError::ReservedFlags(f));
        }
        let more = f & flags::MORE != 0;
        let command = f & flags::COMMAND != 0;
        if more && command {
            return Err(WireError::MalformedCommand("command frame with the MORE flag set"));
        }
        let Some((header_len, size)) = size_field(buf) else {
            return Ok(None);
        };
        let max = self.max_frame_size.map_or(MAX_FRAME_SIZE, |m| m.min(MAX_FRAME_SIZE));
        if size > max {
            return Err(WireError::FrameTooLarge { size, max });
        }
        let body_len = usize::try_from(size).map_err(|_| WireError::FrameTooLarge { size, max: usize::MAX as u64 })?;
        Ok(Some(FrameHeader { more, command, header_len, body_len }))
    }
}

/// The header's length and the body's declared size, read from the frame's first bytes
/// (`None` until they are all there). Nothing is checked: see `Decoder::header`.
#[inline]
fn size_field(buf: &[u8]) -> Option<(usize, u64)> {
    if buf.first()? & flags::LONG != 0 {
        let raw: [u8; 8] = buf.get(1..9)?.try_into().expect("8 bytes");
        Some((9, u64::from_be_bytes(raw)))
    } else {
        Some((2, u64::from(*buf.get(1)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(more: bool, command: bool, len: usize) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_frame_header(more, command, len, &mut out);
        out.to_vec()
    }

    #[test]
    fn short_and_long_headers_at_boundary() {
        assert_eq!(header(false, false, 0), [0x00, 0x00]);
        assert_eq!(header(true, false, 255), [0x01, 0xFF]);
        assert_eq!(header(false, false, 256), [0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
        assert_eq!(header(true, false, 256), [0x03, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
        assert_eq!(header(false, true, 255), [0x04, 0xFF]);
        assert_eq!(header(false, true, 256), [0x06, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
        assert_eq!(frame_header_len(255), 2);
        assert_eq!(frame_header_len(256), 9);
    }

    #[test]
    fn decode_boundary_frames() {
        let mut d = Decoder::new(None);
        for len in [0usize, 1, 255, 256, 70_000] {
            let f = Frame::message(vec![0xAB; len], len % 2 == 0);
            let mut buf = BytesMut::new();
            f.encode(&mut buf);
            assert_eq!(buf.len(), frame_header_len(len) + len);
            assert_eq!(d.decode(&mut buf).unwrap(), Some(f));
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn peek_header_reads_without_consuming_and_checks_like_decode() {
        let mut buf = BytesMut::new();
        encode_frame_header(true, false, 70_000, &mut buf);
        let d = Decoder::new(Some(100_000));
        assert_eq!(d.peek_header(&buf[..8]), Ok(None));
        let want = FrameHeader { more: true, command: false, header_len: 9, body_len: 70_000 };
        assert_eq!(d.peek_header(&buf), Ok(Some(want)));
        assert_eq!(buf.len(), 9);
        assert_eq!(
            Decoder::new(Some(69_999)).peek_header(&buf),
            Err(WireError::FrameTooLarge { size: 70_000, max: 69_999 })
        );
    }

    #[test]
    fn long_form_with_small_size_is_accepted() {
        let mut buf = BytesMut::from(&[0x02, 0, 0, 0, 0, 0, 0, 0, 3, b'a', b'b', b'c'][..]);
        let f = Decoder::new(None).decode(&mut buf).unwrap().unwrap();
        assert_eq!(&f.body[..], b"abc");
    }

    #[test]
    fn truncated_input_waits_and_leaves_buffer() {
        let mut full = BytesMut::new();
        Frame::message(vec![7u8; 300], true).encode(&mut full);
        let mut d = Decoder::new(Some(1000));
        for n in 0..full.len() {
            let mut part = BytesMut::from(&full[..n]);
            assert_eq!(d.decode(&mut part).unwrap(), None);
            assert_eq!(part.len(), n);
            let expect = if n < 9 { 0 } else { 300 - (n - 9) };
            assert_eq!(d.pending_body_len(&part), expect, "n={n}");
        }
    }

    #[test]
    fn reserved_flags_refused_immediately() {
        for f in [0x08u8, 0x10, 0x20, 0x40, 0x80, 0xFF] {
            let mut buf = BytesMut::from(&[f][..]);
            assert_eq!(Decoder::new(None).decode(&mut buf), Err(WireError::ReservedFlags(f)));
        }
    }

    #[test]
    fn command_with_more_refused() {
        let mut buf = BytesMut::from(&[0x05, 0x00][..]);
        assert!(matches!(Decoder::new(None).decode(&mut buf), Err(WireError::MalformedCommand(_))));
    }

    fn long_header(size: u64) -> BytesMut {
        let mut buf = BytesMut::from(&[flags::LONG][..]);
        buf.extend_from_slice(&size.to_be_bytes());
        buf
    }

    #[test]
    fn huge_declared_size_is_refused_from_the_header() {
        // 2^63 (over ZMTP's limit), 2^62 (the hostile header), 2^47 + 1: refused with
        // no limit configured, from the 9 header bytes alone, nothing consumed.
        for size in [u64::MAX, 1 << 63, MAX_WIRE_FRAME_SIZE, 1 << 62, MAX_FRAME_SIZE + 1] {
            let mut buf = long_header(size);
            assert_eq!(
                Decoder::new(None).decode(&mut buf),
                Err(WireError::FrameTooLarge { size, max: MAX_FRAME_SIZE }),
                "size {size}"
            );
            assert_eq!(buf.len(), 9);
            assert_eq!(Decoder::new(None).pending_body_len(&buf), 0);
        }
        // With a limit: refused against the limit.
        let mut buf = long_header(i64::MAX as u64);
        assert_eq!(
            Decoder::new(Some(1 << 20)).decode(&mut buf),
            Err(WireError::FrameTooLarge { size: i64::MAX as u64, max: 1 << 20 })
        );
    }

    #[test]
    fn a_frame_of_exactly_the_bound_waits_for_its_body() {
        if usize::BITS < 64 {
            return;
        }
        let mut buf = long_header(MAX_FRAME_SIZE);
        buf.extend_from_slice(&[0xAB; 100]);
        let d = Decoder::new(None);
        assert_eq!(d.clone().decode(&mut buf), Ok(None));
        assert_eq!(d.pending_body_len(&buf), MAX_FRAME_SIZE as usize - 100);
        assert_eq!(buf.len(), 109, "nothing consumed, nothing copied");
    }

    #[test]
    fn a_configured_limit_only_lowers_the_bound() {
        // Limits above the bound (MAXMSGSIZE up to i64::MAX) refuse what no limit refuses,
        // and accept what no limit accepts.
        for limit in [MAX_FRAME_SIZE, MAX_FRAME_SIZE + 1, 1 << 62, MAX_WIRE_FRAME_SIZE, u64::MAX] {
            let d = Decoder::new(Some(limit));
            assert_eq!(
                d.peek_header(&long_header(MAX_FRAME_SIZE + 1)),
                Err(WireError::FrameTooLarge { size: MAX_FRAME_SIZE + 1, max: MAX_FRAME_SIZE }),
                "limit {limit}"
            );
            if usize::BITS == 64 {
                assert!(d.peek_header(&long_header(MAX_FRAME_SIZE)).unwrap().is_some(), "limit {limit}");
            }
        }
        // A limit below it is the limit.
        assert_eq!(
            Decoder::new(Some(1000)).peek_header(&long_header(1001)),
            Err(WireError::FrameTooLarge { size: 1001, max: 1000 })
        );
    }

    #[test]
    fn the_error_names_the_bound() {
        let e = Decoder::new(None).peek_header(&long_header(1 << 62)).unwrap_err();
        let text = e.to_string();
        assert!(text.contains(&(1u64 << 62).to_string()) && text.contains(&MAX_FRAME_SIZE.to_string()), "{text}");
        assert!(text.contains("2^47"), "{text}");
    }

    #[test]
    fn max_frame_size_is_inclusive() {
        let mut buf = BytesMut::new();
        Frame::message(vec![1u8; 10], false).encode(&mut buf);
        assert!(Decoder::new(Some(10)).decode(&mut buf.clone()).unwrap().is_some());
        assert_eq!(Decoder::new(Some(9)).decode(&mut buf), Err(WireError::FrameTooLarge { size: 10, max: 9 }));
    }

    #[test]
    fn several_frames_in_one_buffer() {
        let mut buf = BytesMut::new();
        Frame::message(&b"a"[..], true).encode(&mut buf);
        Frame::message(&b"bc"[..], false).encode(&mut buf);
        Frame::command(&b"\x04PING\x00\x00"[..]).encode(&mut buf);
        buf.extend_from_slice(&[0x00]); // start of a 4th frame
        let mut d = Decoder::new(None);
        assert_eq!(&d.decode(&mut buf).unwrap().unwrap().body[..], b"a");
        assert_eq!(&d.decode(&mut buf).unwrap().unwrap().body[..], b"bc");
        assert!(d.decode(&mut buf).unwrap().unwrap().command);
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        assert_eq!(&buf[..], &[0x00]);
    }
}
