//! ZeroMQ socket types as announced in the `Socket-Type` metadata property.

/// A ZeroMQ socket type.
///
/// The discriminants are not the libzmq numbers; use [`SocketType::zmq_type`]
/// and [`SocketType::from_zmq_type`] for those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// Exclusive pair.
    Pair,
    /// Publisher.
    Pub,
    /// Subscriber.
    Sub,
    /// Request (strict send/receive alternation).
    Req,
    /// Reply (strict receive/send alternation).
    Rep,
    /// Asynchronous request.
    Dealer,
    /// Asynchronous reply with identity routing.
    Router,
    /// Pipeline sink.
    Pull,
    /// Pipeline source.
    Push,
    /// Publisher that sees subscriptions.
    XPub,
    /// Subscriber that sends raw subscriptions.
    XSub,
    /// Raw TCP; never speaks ZMTP.
    Stream,
}

impl SocketType {
    /// All socket types, in libzmq number order.
    pub const ALL: [SocketType; 12] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::XPub,
        SocketType::XSub,
        SocketType::Stream,
    ];

    /// The name as it appears on the wire (`"PAIR"`, `"PUB"`, ..., `"STREAM"`).
    pub fn as_str(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
            SocketType::Stream => "STREAM",
        }
    }

    /// Parses a wire name. The match is exact (uppercase), as libzmq does.
    pub fn from_name(name: &[u8]) -> Option<SocketType> {
        SocketType::ALL.into_iter().find(|t| t.as_str().as_bytes() == name)
    }

    /// Whether a socket of this type may talk to a peer of type `peer`
    /// (the ZMTP 3.1 compatibility table). The relation is symmetric.
    /// `STREAM` sockets never speak ZMTP, so they are compatible with nothing.
    pub fn is_compatible(self, peer: SocketType) -> bool {
        use SocketType::*;
        match self {
            Req => matches!(peer, Rep | Router),
            Rep => matches!(peer, Req | Dealer),
            Dealer => matches!(peer, Rep | Dealer | Router),
            Router => matches!(peer, Req | Dealer | Router),
            Pub | XPub => matches!(peer, Sub | XSub),
            Sub | XSub => matches!(peer, Pub | XPub),
            Push => peer == Pull,
            Pull => peer == Push,
            Pair => peer == Pair,
            Stream => false,
        }
    }

    /// Whether this socket type announces an `Identity` property in its
    /// `READY` command (libzmq does so for REQ, DEALER and ROUTER only).
    pub fn sends_identity(self) -> bool {
        matches!(self, SocketType::Req | SocketType::Dealer | SocketType::Router)
    }

    /// The libzmq socket type number (`ZMQ_PAIR` = 0 ... `ZMQ_STREAM` = 11).
    pub fn zmq_type(self) -> i32 {
        match self {
            SocketType::Pair => 0,
            SocketType::Pub => 1,
            SocketType::Sub => 2,
            SocketType::Req => 3,
            SocketType::Rep => 4,
            SocketType::Dealer => 5,
            SocketType::Router => 6,
            SocketType::Pull => 7,
            SocketType::Push => 8,
            SocketType::XPub => 9,
            SocketType::XSub => 10,
            SocketType::Stream => 11,
        }
    }

    /// The socket type for a libzmq socket type number.
    pub fn from_zmq_type(n: i32) -> Option<SocketType> {
        usize::try_from(n).ok().and_then(|i| SocketType::ALL.get(i).copied())
    }
}

impl std::fmt::Display for SocketType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roundtrip() {
        for t in SocketType::ALL {
            assert_eq!(SocketType::from_name(t.as_str().as_bytes()), Some(t));
            assert_eq!(SocketType::from_zmq_type(t.zmq_type()), Some(t));
        }
        assert_eq!(SocketType::from_name(b"dealer"), None);
        assert_eq!(SocketType::from_name(b"CLIENT"), None);
        assert_eq!(SocketType::from_zmq_type(-1), None);
        assert_eq!(SocketType::from_zmq_type(12), None);
    }

    #[test]
    fn zmq_numbers() {
        assert_eq!(SocketType::Pair.zmq_type(), 0);
        assert_eq!(SocketType::Dealer.zmq_type(), 5);
        assert_eq!(SocketType::XSub.zmq_type(), 10);
        assert_eq!(SocketType::Stream.zmq_type(), 11);
    }

    #[test]
    fn compatibility_is_symmetric_and_matches_table() {
        use SocketType::*;
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(a.is_compatible(b), b.is_compatible(a), "{a} / {b}");
            }
        }
        let count = SocketType::ALL
            .iter()
            .flat_map(|a| SocketType::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.is_compatible(*b))
            .count();
        // REQ 2 + REP 2 + DEALER 3 + ROUTER 3 + 4 pubsub types x 2 + PUSH + PULL + PAIR
        assert_eq!(count, 2 + 2 + 3 + 3 + 8 + 1 + 1 + 1);
        assert!(Req.is_compatible(Router));
        assert!(!Req.is_compatible(Req));
        assert!(XPub.is_compatible(XSub));
        assert!(!Pub.is_compatible(Pub));
        assert!(!Stream.is_compatible(Stream));
    }

    #[test]
    fn identity_senders() {
        let senders: Vec<_> = SocketType::ALL.into_iter().filter(|t| t.sends_identity()).collect();
        assert_eq!(senders, [SocketType::Req, SocketType::Dealer, SocketType::Router]);
    }
}
