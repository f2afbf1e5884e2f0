//! [`Transmit`]: encoded bytes waiting to be written, as a chain of chunks.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

use crate::frame::encode_frame_header;

/// Encoded bytes waiting to be written to the peer.
///
/// Small frames are copied into one growing buffer; a body of
/// [`Transmit::ZERO_COPY_MIN`] bytes or more is not copied but queued as its
/// own `Bytes` chunk after the bytes before it, for a vectored write. The
/// driver owns the `Transmit` (so that a write in flight does not borrow the
/// [`Connection`](crate::Connection)), fills it with
/// [`Connection::encode`](crate::Connection::encode), and drains it through
/// [`Buf`]: [`Buf::chunks_vectored`] gives the `IoSlice`s for a
/// `write_vectored` call, [`Buf::advance`] drops what was written,
/// [`Buf::has_remaining`] says whether anything is left. Reuse it across
/// writes: its buffer's capacity is kept.
#[derive(Debug, Default)]
pub struct Transmit {
    /// Finished chunks, in order, all before `tail`; never empty ones. Each says whether it
    /// was a batch the copy buffer held when the next came ([`append_encoded`]), whose
    /// buffer may be kept once written: not a body queued by reference, nor the headers
    /// before one.
    ///
    /// [`append_encoded`]: Self::append_encoded
    chunks: VecDeque<(Bytes, bool)>,
    /// Total length of `chunks`.
    chunked: usize,
    /// The chunk being filled (headers, small bodies, commands).
    tail: BytesMut,
    /// A copy buffer written out whole, kept for [`append_encoded`](Self::append_encoded)
    /// to hand back for a later batch (empty when there is none).
    spare: BytesMut,
}

impl Transmit {
    /// Bodies at least this large are queued as their own chunk instead of
    /// being copied (the engine's historical `LARGE_BODY`).
    pub const ZERO_COPY_MIN: usize = 16 * 1024;

    /// The largest buffer kept for the next batch once written (see
    /// [`append_encoded`](Self::append_encoded)): what a connection keeps beyond its
    /// copy buffer is bounded by this.
    pub const SPARE_MAX: usize = 4 * 1024 * 1024;

    /// An empty transmit buffer.
    pub fn new() -> Transmit {
        Transmit::default()
    }

    /// An empty transmit buffer whose copy buffer starts with `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Transmit {
        Transmit { tail: BytesMut::with_capacity(capacity), ..Transmit::default() }
    }

    /// Nothing is waiting to be written.
    pub fn is_empty(&self) -> bool {
        self.chunked == 0 && self.tail.is_empty()
    }

    /// Bytes waiting to be written (the same as [`Buf::remaining`]).
    pub fn len(&self) -> usize {
        self.chunked + self.tail.len()
    }

    /// Chunks waiting (large bodies count one each, and the copy buffer one if
    /// not empty): how many `IoSlice`s a vectored write of everything needs.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len() + usize::from(!self.tail.is_empty())
    }

    /// Drops everything not written yet.
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.chunked = 0;
        self.tail.clear();
    }

    /// Appends bytes already in wire form (whole messages of a connection whose
    /// [`frames_in_the_clear`](crate::Connection::frames_in_the_clear), encoded
    /// apart from it), leaving `encoded` empty. Never copied: they become the
    /// copy buffer, and what it held, if anything, a chunk before them. (Copied
    /// behind a copy buffer still being written, a sender's batches were copied
    /// once more, and the buffer grown by reallocation, whenever the kernel's
    /// buffer was full: 90 instructions of a 1 KiB message's 1100 through the C
    /// ABI, callgrind.)
    ///
    /// What `encoded` is left with to fill next: the copy buffer's spare room if the copy
    /// buffer was written out whole, else (its unwritten part is still to go, and its
    /// buffer with it) a copy buffer written out earlier, if one was kept. A batch
    /// buffer that must grow from nothing again is allocated afresh and reallocated while
    /// it doubles (64 KiB to 1 MiB): a sender streaming 1 KiB messages over ipc, the
    /// kernel's buffer often full, took 44k page faults and 175 MiB of reallocation copies
    /// per 2 GiB sent that way (BENCHMARKS.md).
    pub fn append_encoded(&mut self, encoded: &mut BytesMut) {
        if encoded.is_empty() {
            return;
        }
        let split = !self.tail.is_empty();
        if split {
            let head = self.tail.split().freeze();
            self.chunked += head.len();
            self.chunks.push_back((head, true));
        }
        std::mem::swap(&mut self.tail, encoded);
        if split && self.spare.capacity() > 0 {
            // What the copy buffer left shares its buffer with the chunk above, and can grow
            // only into a new one. Let go of, it leaves that chunk's buffer unshared, to be
            // kept in turn once written.
            *encoded = std::mem::take(&mut self.spare);
        }
    }

    /// Keep the buffer of `written`, a copy buffer written out whole, if nothing else refers
    /// to it and it is not larger than [`SPARE_MAX`](Self::SPARE_MAX). (Not a body queued by
    /// reference: a connection that sends only large messages would keep one of them for
    /// good.)
    fn keep_spare(&mut self, written: Bytes) {
        if let Ok(mut buf) = written.try_into_mut()
            && buf.capacity() <= Self::SPARE_MAX
        {
            buf.clear();
            self.spare = buf;
        }
    }

    /// The copy buffer, to append small encoded pieces to.
    pub(crate) fn tail_mut(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Appends a whole frame: its header, then its body, copied if small, else
    /// queued as its own chunk.
    #[inline]
    pub(crate) fn push_frame(&mut self, more: bool, command: bool, body: Bytes) {
        encode_frame_header(more, command, body.len(), &mut self.tail);
        if body.len() >= Self::ZERO_COPY_MIN {
            self.push_chunk(body);
        } else {
            self.tail.extend_from_slice(&body);
        }
    }

    /// Queues `chunk` after everything so far, without copying it. (What the copy buffer
    /// held before it, a large body's header and what came before, is not a batch buffer to
    /// keep: its buffer is the copy buffer's, which goes on filling.)
    pub(crate) fn push_chunk(&mut self, chunk: Bytes) {
        if !self.tail.is_empty() {
            let head = self.tail.split().freeze();
            self.chunked += head.len();
            self.chunks.push_back((head, false));
        }
        if !chunk.is_empty() {
            self.chunked += chunk.len();
            self.chunks.push_back((chunk, false));
        }
    }
}

impl Buf for Transmit {
    fn remaining(&self) -> usize {
        self.len()
    }

    fn chunk(&self) -> &[u8] {
        self.chunks.front().map_or(&self.tail[..], |(c, _)| &c[..])
    }

    fn advance(&mut self, mut cnt: usize) {
        while cnt > 0 {
            let Some((front, _)) = self.chunks.front_mut() else {
                assert!(cnt <= self.tail.len(), "advanced past the end of a Transmit");
                self.tail.advance(cnt);
                return;
            };
            let n = cnt.min(front.len());
            self.chunked -= n;
            cnt -= n;
            if n < front.len() {
                front.advance(n);
                continue;
            }
            let (written, own) = self.chunks.pop_front().expect("the front chunk");
            if own && self.spare.capacity() == 0 {
                self.keep_spare(written);
            }
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let tail = (!self.tail.is_empty()).then_some(&self.tail[..]);
        let all = self.chunks.iter().map(|(c, _)| &c[..]).chain(tail);
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(all) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bodies_are_copied_large_ones_chained() {
        let mut tx = Transmit::new();
        let big = Bytes::from(vec![7u8; Transmit::ZERO_COPY_MIN]);
        tx.push_frame(true, false, Bytes::from_static(b"ab"));
        tx.push_frame(false, false, big.clone());
        tx.push_frame(false, false, Bytes::from_static(b"c"));
        assert_eq!(tx.chunk_count(), 3);
        assert_eq!(tx.len(), 4 + 9 + big.len() + 3);
        let mut io = [IoSlice::new(&[]); 8];
        assert_eq!(tx.chunks_vectored(&mut io), 3);
        assert_eq!(&io[0][..], b"\x01\x02ab\x02\x00\x00\x00\x00\x00\x00\x40\x00");
        assert_eq!(io[1].as_ptr(), big.as_ptr(), "the large body is not copied");
        assert_eq!(&io[2][..], b"\x00\x01c");
    }

    #[test]
    fn encoded_bytes_are_appended_without_a_copy_in_order() {
        let mut tx = Transmit::with_capacity(64);
        tx.push_frame(false, false, Bytes::from_static(b"one"));
        let mut encoded = BytesMut::from(&b"\x00\x03two"[..]);
        let at = encoded.as_ptr();
        tx.append_encoded(&mut encoded);
        assert!(encoded.is_empty());
        tx.push_frame(false, false, Bytes::from_static(b"three"));
        let mut io = [IoSlice::new(&[]); 8];
        assert_eq!(tx.chunks_vectored(&mut io), 2);
        assert_eq!(&io[0][..], b"\x00\x03one");
        assert_eq!(io[1].as_ptr(), at, "not copied");
        assert_eq!(&io[1][..], b"\x00\x03two\x00\x05three");
        assert_eq!(tx.len(), 5 + 5 + 7);
        // Nothing to append: nothing changes.
        let mut none = BytesMut::new();
        tx.append_encoded(&mut none);
        assert_eq!(tx.chunk_count(), 2);
    }

    #[test]
    fn advance_across_chunks() {
        let mut tx = Transmit::new();
        let big = Bytes::from(vec![1u8; Transmit::ZERO_COPY_MIN + 10]);
        tx.push_frame(false, false, big.clone());
        tx.push_frame(false, false, Bytes::from_static(b"xyz"));
        let total = tx.len();
        let all = {
            let mut v = Vec::new();
            let mut probe = Transmit::new();
            probe.push_frame(false, false, big);
            probe.push_frame(false, false, Bytes::from_static(b"xyz"));
            while probe.has_remaining() {
                let n = probe.chunk().len().min(1000);
                v.extend_from_slice(&probe.chunk()[..n]);
                probe.advance(n);
            }
            v
        };
        assert_eq!(all.len(), total);
        tx.advance(5);
        tx.advance(total - 7);
        assert_eq!(tx.chunk(), &all[total - 2..]);
        tx.advance(2);
        assert!(tx.is_empty());
        assert_eq!(tx.chunk_count(), 0);
    }

    /// Everything still queued, in order (read through `Buf`, without advancing `tx`).
    fn queued(tx: &Transmit) -> Vec<u8> {
        let mut io = [IoSlice::new(&[]); 8];
        let n = tx.chunks_vectored(&mut io);
        io[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    /// A batch buffer written out whole comes back for the batch after next: once the copy
    /// buffer is not empty when a batch arrives, the batch's filler gets the kept buffer
    /// rather than the copy buffer's remnant (whose buffer is the unwritten chunk's).
    #[test]
    fn a_written_batch_buffer_is_handed_back_for_a_later_batch() {
        let mut tx = Transmit::new();
        tx.push_frame(false, false, Bytes::from_static(b"one"));
        let first = tx.chunk().as_ptr();
        let mut batch = BytesMut::with_capacity(1024);
        batch.extend_from_slice(b"\x00\x03two");
        tx.append_encoded(&mut batch);
        // Nothing kept yet: the filler gets what the copy buffer left, which shares its
        // buffer with the unwritten "one"; a filler that outgrows it starts a new buffer.
        assert!(batch.is_empty());
        batch = BytesMut::with_capacity(1024);
        batch.extend_from_slice(b"\x00\x05three");
        tx.advance(5);
        assert_eq!(queued(&tx), b"\x00\x03two");
        tx.append_encoded(&mut batch);
        assert!(batch.is_empty());
        assert_eq!(batch.as_ptr(), first, "the written chunk's buffer, handed back");
        assert!(batch.capacity() >= 5);
        assert_eq!(queued(&tx), b"\x00\x03two\x00\x05three", "the queued bytes are untouched");
        // Filled and appended in turn, it goes out after everything before it.
        batch.extend_from_slice(b"\x00\x04four");
        tx.append_encoded(&mut batch);
        assert_eq!(queued(&tx), b"\x00\x03two\x00\x05three\x00\x04four");
    }

    /// A body queued by reference is never kept, whether its sender still holds it (it must
    /// not be written into) or let go of it (a connection sending only large messages would
    /// keep one for good).
    #[test]
    fn a_body_queued_by_reference_is_never_kept() {
        for hold in [true, false] {
            let mut tx = Transmit::new();
            let body = Bytes::from(vec![9u8; Transmit::ZERO_COPY_MIN]);
            let at = body.as_ptr();
            let held = hold.then(|| body.clone());
            tx.push_frame(false, false, body);
            tx.advance(tx.len());
            tx.push_frame(false, false, Bytes::from_static(b"x"));
            let mut batch = BytesMut::from(&b"\x00\x01y"[..]);
            tx.append_encoded(&mut batch);
            assert_ne!(batch.as_ptr(), at, "held {hold}");
            assert_eq!(queued(&tx), b"\x00\x01x\x00\x01y");
            if let Some(h) = held {
                assert!(h.iter().all(|&b| b == 9), "the held body is untouched");
            }
        }
    }

    /// The headers split off before each large body are not kept: their buffer is the copy
    /// buffer's, a few bytes of it each; kept once the copy buffer had moved on, it held a
    /// whole old copy buffer for good and helped no batch.
    #[test]
    fn the_headers_before_a_large_body_are_not_kept() {
        let mut tx = Transmit::with_capacity(64);
        let body = Bytes::from(vec![9u8; Transmit::ZERO_COPY_MIN]);
        tx.push_frame(false, false, body.clone());
        let first = tx.chunk().as_ptr() as usize;
        // Enough headers that the copy buffer moves to a new buffer, leaving the first to
        // the header chunks alone.
        for _ in 0..16 {
            tx.push_frame(false, false, body.clone());
        }
        tx.advance(tx.len());
        tx.push_frame(false, false, Bytes::from_static(b"x"));
        let mut batch = BytesMut::from(&b"\x00\x01y"[..]);
        tx.append_encoded(&mut batch);
        let at = batch.as_ptr() as usize;
        assert!(!(first..first + 64).contains(&at), "a header chunk's buffer was handed out");
        assert_eq!(queued(&tx), b"\x00\x01x\x00\x01y");
    }

    /// A copy buffer larger than SPARE_MAX is freed once written, not kept.
    #[test]
    fn a_copy_buffer_larger_than_spare_max_is_not_kept() {
        let mut tx = Transmit::new();
        let frame = Bytes::from(vec![5u8; Transmit::ZERO_COPY_MIN - 1]);
        while tx.len() <= Transmit::SPARE_MAX {
            tx.push_frame(false, false, frame.clone());
        }
        let (big, big_len) = (tx.chunk().as_ptr(), tx.len());
        let mut batch = BytesMut::from(&b"\x00\x01a"[..]);
        tx.append_encoded(&mut batch);
        // A filler that outgrows what it got leaves the large chunk unshared.
        batch = BytesMut::from(&b"\x00\x01b"[..]);
        tx.advance(big_len);
        tx.append_encoded(&mut batch);
        assert_ne!(batch.as_ptr(), big);
        assert_eq!(queued(&tx), b"\x00\x01a\x00\x01b");
    }
}
