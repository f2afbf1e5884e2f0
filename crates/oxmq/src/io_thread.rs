//! What an I/O thread knows about itself: when it last went to sleep.
//!
//! The context's runtime calls [`note_parked`] each time one of its threads is about to sleep
//! (tokio's park hook). An engine woken for a one-way stream's message asks [`woke_within`]
//! whether the thread slept only briefly: then the sender that woke it is still queueing,
//! likely on the same core, and the engine yields the core to it first (the policy is
//! `engine::drive`'s, "Streams"). The answer is the thread's, not a connection's: with many
//! connections on one thread each goes idle seldom, while the thread sleeps between every
//! burst. And it is given once per sleep, so at most one engine yields per wake-up.

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    /// When this thread last went to sleep, until the first [`woke_within`] after it.
    static PARKED_AT: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// This thread is about to sleep (the runtime's park hook, `Context`).
pub(crate) fn note_parked() {
    PARKED_AT.with(|p| p.set(Some(Instant::now())));
}

/// Did this thread wake less than `gap` after it last went to sleep, and is the caller the
/// first to ask since then? (`false` on a thread that never slept, or whose sleep another
/// caller already asked about.)
pub(crate) fn woke_within(gap: Duration) -> bool {
    PARKED_AT.with(Cell::take).is_some_and(|at| at.elapsed() < gap)
}

/// Whether this thread went to sleep since the last [`woke_within`], without taking it.
#[cfg(test)]
pub(crate) fn parked_since_asked() -> bool {
    PARKED_AT.with(Cell::get).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_to_ask_after_a_short_sleep_hears_yes() {
        let gap = Duration::from_micros(200);
        let now = Instant::now();
        PARKED_AT.with(|p| p.set(now.checked_sub(gap * 10)));
        assert!(!woke_within(gap), "a long sleep");
        // The clock cannot go back: a sleep that "began" in the future is as short as it gets.
        PARKED_AT.with(|p| p.set(Some(now + Duration::from_secs(3600))));
        assert!(woke_within(gap), "a short sleep: the first to ask");
        assert!(!woke_within(gap), "the next one of the same wake-up");
        assert!(!parked_since_asked());
        note_parked();
        assert!(parked_since_asked());
    }
}
