//! The pipeline's messages and their accounting: the header frame with the sequence number,
//! length and checksum of the body, its check at the sink, and the [`Window`] of sequence
//! numbers that counts what is lost or duplicated.

use oxmq::Bytes;

/// A 32-bit checksum of a body, eight bytes at a time (fast enough not to be the bottleneck;
/// it only has to catch a body that is not the one sent).
fn checksum(body: &[u8]) -> u32 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325 ^ body.len() as u64;
    let mut words = body.chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().expect("8 bytes")))
            .wrapping_mul(0x0000_0100_0000_01B3)
            .rotate_left(29);
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
    }
    (h ^ (h >> 32)) as u32
}

/// The 16-byte header frame: sequence number, body length, body checksum (little-endian).
pub(super) fn header(seq: u64, body: &[u8]) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..8].copy_from_slice(&seq.to_le_bytes());
    h[8..12].copy_from_slice(&(body.len() as u32).to_le_bytes());
    h[12..].copy_from_slice(&checksum(body).to_le_bytes());
    h
}

/// The sequence number of a well-formed `[header, body]` message, or None if it is corrupt.
pub(super) fn check(frames: &[Bytes]) -> Option<u64> {
    let [h, body] = frames else { return None };
    let h: &[u8; 16] = h.as_ref().try_into().ok()?;
    let seq = u64::from_le_bytes(h[..8].try_into().ok()?);
    let len = u32::from_le_bytes(h[8..12].try_into().ok()?) as usize;
    let sum = u32::from_le_bytes(h[12..].try_into().ok()?);
    (len == body.len() && sum == checksum(body)).then_some(seq)
}

/// Which sequence numbers have arrived: everything below `base` has, and a ring of `W` bits
/// holds `base..base+W`. A message is reordered by at most what the queues hold plus what the
/// other workers pass while one pauses, far less than `W` (16 Mi); one further out than that
/// pushes the window on and counts whatever it skips over as lost.
pub(super) struct Window {
    bits: Vec<u64>,
    base: u64,
    pub(super) lost: u64,
    pub(super) duplicated: u64,
    pub(super) received: u64,
    /// The first few sequence numbers counted lost (what to look for when debugging).
    pub(super) first_lost: Vec<u64>,
}

impl Window {
    const W: u64 = 1 << 24;

    pub(super) fn new() -> Window {
        Window {
            bits: vec![0; (Self::W / 64) as usize],
            base: 0,
            lost: 0,
            duplicated: 0,
            received: 0,
            first_lost: Vec::new(),
        }
    }
    fn bit(&self, s: u64) -> bool {
        let i = (s % Self::W) as usize;
        self.bits[i / 64] >> (i % 64) & 1 == 1
    }
    fn flip(&mut self, s: u64) {
        let i = (s % Self::W) as usize;
        self.bits[i / 64] ^= 1 << (i % 64);
    }
    /// Every sequence number below this has been seen (or counted lost).
    pub(super) fn base(&self) -> u64 {
        self.base
    }
    pub(super) fn record(&mut self, s: u64) {
        self.received += 1;
        if s < self.base || (s < self.base + Self::W && self.bit(s)) {
            self.duplicated += 1;
            return;
        }
        while s >= self.base + Self::W {
            if self.bit(self.base) {
                self.flip(self.base);
            } else {
                self.lose(self.base);
            }
            self.base += 1;
        }
        self.flip(s);
        while self.bit(self.base) {
            self.flip(self.base);
            self.base += 1;
        }
    }
    fn lose(&mut self, s: u64) {
        self.lost += 1;
        if self.first_lost.len() < 10 {
            self.first_lost.push(s);
        }
    }
    /// Counts as lost whatever of `0..sent` has not arrived.
    pub(super) fn finish(&mut self, sent: u64) {
        for s in self.base..sent.min(self.base + Self::W) {
            if self.first_lost.len() >= 10 {
                break;
            }
            if !self.bit(s) {
                self.first_lost.push(s);
            }
        }
        let seen_ahead: u64 = self.bits.iter().map(|w| u64::from(w.count_ones())).sum();
        self.lost += sent.saturating_sub(self.base).saturating_sub(seen_ahead);
    }
}

impl Default for Window {
    fn default() -> Self {
        Window::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counts_lost_and_duplicated() {
        let mut w = Window::new();
        for s in [0, 2, 1, 1, 4, 0] {
            w.record(s);
        }
        w.finish(6);
        assert_eq!((w.received, w.duplicated, w.lost), (6, 2, 2)); // 3 and 5 missing
    }

    #[test]
    fn window_slides_past_its_size() {
        let mut w = Window::new();
        w.record(1); // 0 never comes
        w.record(Window::W + 5);
        assert_eq!(w.lost, 1 + 4, "0, and W+1..W+4 that the window skipped");
        w.finish(Window::W + 6);
        assert_eq!(w.lost, Window::W + 4, "everything but 1 and W+5 is missing");
    }

    #[test]
    fn checksum_sees_a_changed_byte() {
        let body: Vec<u8> = (0..100u8).collect();
        let h = header(7, &body);
        let ok = [Bytes::copy_from_slice(&h), Bytes::from(body.clone())];
        assert_eq!(check(&ok), Some(7));
        let mut bad = body;
        bad[50] ^= 1;
        assert_eq!(check(&[Bytes::copy_from_slice(&h), Bytes::from(bad)]), None);
    }
}
