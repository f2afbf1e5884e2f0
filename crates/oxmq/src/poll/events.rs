//! The readiness a socket or descriptor reports ([`PollEvents`]), below both the socket that
//! answers it and the poll that waits on it.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign};

/// A set of poll events, with libzmq's bit values (`ZMQ_POLLIN` 1, `ZMQ_POLLOUT` 2,
/// `ZMQ_POLLERR` 4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PollEvents(i16);

impl PollEvents {
    /// Readable: a socket has a message to receive now; a file descriptor has data (POLLIN).
    pub const IN: PollEvents = PollEvents(1);
    /// Writable: a message sent to a socket now would not block; a file descriptor can be
    /// written (POLLOUT).
    pub const OUT: PollEvents = PollEvents(2);
    /// A file descriptor reported an error or hang-up (POLLERR, POLLHUP, POLLNVAL). Reported
    /// whether asked for or not; never set for a socket.
    pub const ERR: PollEvents = PollEvents(4);

    /// No event.
    pub const fn empty() -> PollEvents {
        PollEvents(0)
    }

    /// The bits, as `zmq_pollitem_t.events` holds them.
    pub const fn bits(self) -> i16 {
        self.0
    }

    /// The events among `bits`; unknown bits are dropped.
    pub const fn from_bits_truncate(bits: i16) -> PollEvents {
        PollEvents(bits & 7)
    }

    /// The events of both.
    pub const fn union(self, other: PollEvents) -> PollEvents {
        PollEvents(self.0 | other.0)
    }

    /// Are all events of `other` in `self`?
    pub const fn contains(self, other: PollEvents) -> bool {
        self.0 & other.0 == other.0
    }

    /// Is no event set?
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for PollEvents {
    type Output = PollEvents;
    fn bitor(self, rhs: PollEvents) -> PollEvents {
        self.union(rhs)
    }
}

impl BitOrAssign for PollEvents {
    fn bitor_assign(&mut self, rhs: PollEvents) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for PollEvents {
    type Output = PollEvents;
    fn bitand(self, rhs: PollEvents) -> PollEvents {
        PollEvents(self.0 & rhs.0)
    }
}

impl fmt::Debug for PollEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = [(PollEvents::IN, "IN"), (PollEvents::OUT, "OUT"), (PollEvents::ERR, "ERR")]
            .into_iter()
            .filter(|(e, _)| self.contains(*e))
            .map(|(_, n)| n)
            .collect();
        if names.is_empty() { f.write_str("PollEvents(empty)") } else { write!(f, "PollEvents({})", names.join(" | ")) }
    }
}
