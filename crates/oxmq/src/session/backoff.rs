//! How long a connecter waits before each new attempt, by libzmq 4.3.5's rule
//! (`stream_connecter_base_t::get_new_reconnect_ivl`), so that many clients of one restarted
//! server do not come back in lockstep:
//!
//! - RECONNECT_IVL_MAX unset (0, the default), or below RECONNECT_IVL (libzmq's manual: "it
//!   will be ignored"): every wait is RECONNECT_IVL plus a random part in
//!   `[0, RECONNECT_IVL)`, drawn afresh for each wait. Never doubled.
//! - RECONNECT_IVL_MAX ≥ RECONNECT_IVL: RECONNECT_IVL, then doubled after every failed attempt
//!   up to RECONNECT_IVL_MAX, with no random part (libzmq 4.3.5 adds none on this path;
//!   4.3.4 and earlier added one to both).
//!
//! A wait starts over from RECONNECT_IVL once a connection is made (libzmq makes a new
//! connecter for each), so the first wait after a connection drops is RECONNECT_IVL plus the
//! random part, as is the first after a failed connect. RECONNECT_IVL 0 gives waits of 0 (the
//! connecter sleeps 1 ms; libzmq 4.3.5 stops reconnecting at 0) and -1 never reconnects
//! (the connecter's business, not this one's).
//!
//! The random source is a parameter so the rule is tested without chance.

/// One connecter's reconnect intervals.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    /// RECONNECT_IVL in ms (≥ 0).
    ivl: i32,
    /// RECONNECT_IVL_MAX in ms (≥ 0; 0 = unset).
    max: i32,
    /// The last doubled interval handed out since the last connection, if any.
    current: Option<i32>,
}

impl Backoff {
    /// `ivl` and `max` are RECONNECT_IVL and RECONNECT_IVL_MAX in ms; negative values count
    /// as 0.
    pub(crate) fn new(ivl: i32, max: i32) -> Self {
        Backoff { ivl: ivl.max(0), max: max.max(0), current: None }
    }

    /// A connection was made: the next wait starts over from RECONNECT_IVL.
    pub(crate) fn reset(&mut self) {
        self.current = None;
    }

    /// The wait in ms before the next attempt. `random` is called (at most once) for the
    /// random part when there is one; any `u32` will do.
    pub(crate) fn next(&mut self, random: impl FnOnce() -> u32) -> i32 {
        if self.max > 0 && self.max >= self.ivl {
            let candidate = match self.current {
                None => self.ivl,
                Some(c) => c.saturating_mul(2),
            };
            let ivl = candidate.min(self.max);
            self.current = Some(ivl);
            return ivl;
        }
        if self.ivl == 0 {
            return 0;
        }
        // ivl > 0, so the random part is below ivl and fits an i32.
        let jitter = (random() % self.ivl as u32) as i32;
        self.ivl.saturating_add(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;

    /// A random source that yields the given values in turn, and counts the calls.
    fn seq(values: &[u32]) -> impl FnMut() -> u32 + '_ {
        let mut i = 0;
        move || {
            let v = values[i % values.len()];
            i += 1;
            v
        }
    }

    #[test]
    fn without_a_max_each_wait_is_the_interval_plus_a_random_part_below_it() {
        let mut b = Backoff::new(100, 0);
        let mut r = seq(&[0, 1, 99, 100, 250, u32::MAX]);
        let waits: Vec<i32> = (0..6).map(|_| b.next(&mut r)).collect();
        // random % 100: 0, 1, 99, 0, 50, 95 (u32::MAX = 4294967295).
        assert_eq!(waits, [100, 101, 199, 100, 150, 195]);
    }

    #[test]
    fn without_a_max_the_wait_never_doubles() {
        let mut b = Backoff::new(1000, 0);
        for _ in 0..100 {
            assert_eq!(b.next(|| 0), 1000);
        }
        for _ in 0..100 {
            assert_eq!(b.next(|| u32::MAX - 1), 1000 + ((u32::MAX - 1) % 1000) as i32);
        }
    }

    #[test]
    fn every_wait_lies_in_ivl_to_twice_ivl() {
        for ivl in [1, 2, 7, 100, 1000, 65_536, i32::MAX / 2, i32::MAX] {
            let mut b = Backoff::new(ivl, 0);
            for r in [0, 1, 12_345, u32::MAX / 2, u32::MAX - 1, u32::MAX] {
                let w = b.next(|| r);
                assert!(w >= ivl, "ivl {ivl} random {r}: wait {w}");
                assert!(i64::from(w) < 2 * i64::from(ivl) || w == i32::MAX, "ivl {ivl} random {r}: {w}");
            }
        }
    }

    #[test]
    fn the_random_part_is_drawn_for_every_wait() {
        let mut calls = 0;
        let mut b = Backoff::new(100, 0);
        for _ in 0..5 {
            b.next(|| {
                calls += 1;
                7
            });
        }
        assert_eq!(calls, 5);
    }

    #[test]
    fn with_a_max_the_wait_doubles_up_to_it_without_a_random_part() {
        let mut b = Backoff::new(100, 1000);
        let waits: Vec<i32> = (0..7).map(|_| b.next(|| panic!("no random part with a max"))).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000, 1000]);
    }

    #[test]
    fn a_connection_starts_the_doubling_over() {
        let mut b = Backoff::new(100, 1000);
        for _ in 0..5 {
            b.next(|| 0);
        }
        b.reset();
        assert_eq!(b.next(|| 0), 100);
        assert_eq!(b.next(|| 0), 200);
    }

    #[test]
    fn a_max_equal_to_the_interval_holds_it_constant() {
        let mut b = Backoff::new(100, 100);
        for _ in 0..5 {
            assert_eq!(b.next(|| 42), 100);
        }
    }

    #[test]
    fn a_max_below_the_interval_is_ignored() {
        let mut b = Backoff::new(1000, 500);
        assert_eq!(b.next(|| 0), 1000);
        assert_eq!(b.next(|| 499), 1499);
        assert_eq!(b.next(|| 0), 1000);
    }

    #[test]
    fn doubling_saturates_at_the_max_without_overflow() {
        let mut b = Backoff::new(i32::MAX / 2 + 1, i32::MAX);
        assert_eq!(b.next(|| 0), i32::MAX / 2 + 1);
        assert_eq!(b.next(|| 0), i32::MAX);
        assert_eq!(b.next(|| 0), i32::MAX);
    }

    #[test]
    fn zero_interval_waits_zero() {
        let mut b = Backoff::new(0, 0);
        assert_eq!(b.next(|| panic!("no random part at 0")), 0);
        let mut b = Backoff::new(0, 100);
        assert_eq!(b.next(|| 0), 0);
        assert_eq!(b.next(|| 0), 0);
    }
}
