//! Socket monitoring: what happens to a socket's connections, as libzmq's `zmq_socket_monitor`
//! reports it.
//!
//! The I/O side reports an event with [`MonitorSlot::emit`]; while nobody monitors the socket
//! that costs one atomic load. A monitored socket's events go into a bounded queue
//! ([`MonitorQueue`]) that is never waited on by the I/O side: when the reader falls
//! [`QUEUE_CAPACITY`] events behind, further events are dropped (and counted), as a libzmq
//! monitor PAIR at its high-water mark would drop them. This module is the vocabulary (events,
//! masks, libzmq's values), the queue and the [`MonitorSlot`] the I/O side reports to; the
//! reading side, the [`Monitor`](crate::Monitor) handle and `zmq_socket_monitor`'s forwarding
//! PAIR, lives with the socket (`socket::monitor`).
//!
//! Which events fire, in which order and with which values follows libzmq 4.3 (checked against
//! it through pyzmq). Where oxmq knows more than libzmq says, it says it: every failed
//! handshake reports one `HANDSHAKE_FAILED_*` event, including the protocol failures (such as
//! an incompatible socket type) for which libzmq's NULL mechanism reports only `DISCONNECTED`.

use std::collections::VecDeque;
use std::fmt;
use std::ops::BitOr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use oxmq_wire::WireError;
use parking_lot::Mutex;

use crate::signal::Signal;

/// Events a monitor holds before it drops new ones (libzmq's default SNDHWM for its monitor
/// PAIR socket).
pub(crate) const QUEUE_CAPACITY: usize = 1000;

/// A socket event, with libzmq's `ZMQ_EVENT_*` number as its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
#[non_exhaustive]
pub enum Event {
    /// A connect completed at the transport level. Value: the connection's file descriptor.
    Connected = 0x0001,
    /// A tcp connect is under way (not reported for ipc, whose connect completes at once).
    /// Value: `EINPROGRESS`, as libzmq reports it on Linux.
    ConnectDelayed = 0x0002,
    /// A connect failed or a connection was lost, and another attempt follows. Value: the
    /// reconnect interval in ms before that attempt.
    ConnectRetried = 0x0004,
    /// A bind succeeded. Value: the listening socket's file descriptor.
    Listening = 0x0008,
    /// A bind failed. Value: the errno; endpoint: the address without its `tcp://`/`ipc://`
    /// prefix, as libzmq gives it.
    BindFailed = 0x0010,
    /// A connection was accepted. Value: its file descriptor.
    Accepted = 0x0020,
    /// Accepting a connection failed. Value: the errno.
    AcceptFailed = 0x0040,
    /// A listener was closed (unbind or close). Value: its file descriptor.
    Closed = 0x0080,
    /// Closing an ipc listener failed: its socket file could not be removed. Value: the errno.
    CloseFailed = 0x0100,
    /// A connection ended other than by this socket's own doing (peer gone, I/O error,
    /// protocol error, heartbeat timeout, failed handshake). Value: its file descriptor.
    Disconnected = 0x0200,
    /// Monitoring ended. Value 0, empty endpoint.
    MonitorStopped = 0x0400,
    /// A handshake failed for a reason other than the protocol: the peer closed the
    /// connection, an I/O error, or HANDSHAKE_IVL expired. Value: the errno (`EPIPE` for a
    /// closed connection, `EAGAIN` for the timeout, as libzmq).
    HandshakeFailedNoDetail = 0x0800,
    /// A handshake completed. Value 0.
    HandshakeSucceeded = 0x1000,
    /// A handshake failed because the peer broke the protocol. Value: one of the
    /// [`protocol_error`](crate::protocol_error) codes. As libzmq, also reported after
    /// HANDSHAKE_SUCCEEDED when a CURVE connection refuses a MESSAGE (a bad MAC, a replayed
    /// or reordered MESSAGE: `ZMTP_INVALID_SEQUENCE`, one too short, a frame that is not a
    /// MESSAGE), before its DISCONNECTED.
    HandshakeFailedProtocol = 0x2000,
    /// A handshake failed authentication. Value: the ZAP status code (300, 400 or 500).
    HandshakeFailedAuth = 0x4000,
}

impl Event {
    /// Every event, in libzmq's numbering order.
    pub const ALL: [Event; 15] = [
        Event::Connected,
        Event::ConnectDelayed,
        Event::ConnectRetried,
        Event::Listening,
        Event::BindFailed,
        Event::Accepted,
        Event::AcceptFailed,
        Event::Closed,
        Event::CloseFailed,
        Event::Disconnected,
        Event::MonitorStopped,
        Event::HandshakeFailedNoDetail,
        Event::HandshakeSucceeded,
        Event::HandshakeFailedProtocol,
        Event::HandshakeFailedAuth,
    ];

    /// libzmq's number for this event (`ZMQ_EVENT_*`).
    pub const fn raw(self) -> u16 {
        self as u16
    }

    /// The event with libzmq's number `n`.
    pub fn from_raw(n: u16) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.raw() == n)
    }

    /// libzmq's name without the `ZMQ_EVENT_` prefix, e.g. `"HANDSHAKE_SUCCEEDED"`.
    pub const fn name(self) -> &'static str {
        match self {
            Event::Connected => "CONNECTED",
            Event::ConnectDelayed => "CONNECT_DELAYED",
            Event::ConnectRetried => "CONNECT_RETRIED",
            Event::Listening => "LISTENING",
            Event::BindFailed => "BIND_FAILED",
            Event::Accepted => "ACCEPTED",
            Event::AcceptFailed => "ACCEPT_FAILED",
            Event::Closed => "CLOSED",
            Event::CloseFailed => "CLOSE_FAILED",
            Event::Disconnected => "DISCONNECTED",
            Event::MonitorStopped => "MONITOR_STOPPED",
            Event::HandshakeFailedNoDetail => "HANDSHAKE_FAILED_NO_DETAIL",
            Event::HandshakeSucceeded => "HANDSHAKE_SUCCEEDED",
            Event::HandshakeFailedProtocol => "HANDSHAKE_FAILED_PROTOCOL",
            Event::HandshakeFailedAuth => "HANDSHAKE_FAILED_AUTH",
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Event`]s, with libzmq's bit values (`ZMQ_EVENT_ALL` is [`EventMask::ALL`]).
/// Build one from events with `|`: `Event::Connected | Event::Disconnected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EventMask(u32);

impl EventMask {
    /// Every event (`ZMQ_EVENT_ALL`, 0xFFFF).
    pub const ALL: EventMask = EventMask(0xFFFF);
    /// No event.
    pub const NONE: EventMask = EventMask(0);

    /// A mask from libzmq's bit values (bits that name no event are kept but match nothing).
    pub const fn from_bits(bits: u32) -> EventMask {
        EventMask(bits)
    }

    /// libzmq's bit values.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Is `event` in the set?
    pub const fn contains(self, event: Event) -> bool {
        self.0 & event as u32 != 0
    }
}

impl From<Event> for EventMask {
    fn from(e: Event) -> EventMask {
        EventMask(e as u32)
    }
}

impl BitOr for EventMask {
    type Output = EventMask;
    fn bitor(self, rhs: EventMask) -> EventMask {
        EventMask(self.0 | rhs.0)
    }
}

impl BitOr<Event> for EventMask {
    type Output = EventMask;
    fn bitor(self, rhs: Event) -> EventMask {
        EventMask(self.0 | rhs as u32)
    }
}

impl BitOr for Event {
    type Output = EventMask;
    fn bitor(self, rhs: Event) -> EventMask {
        EventMask(self as u32 | rhs as u32)
    }
}

impl BitOr<EventMask> for Event {
    type Output = EventMask;
    fn bitor(self, rhs: EventMask) -> EventMask {
        EventMask(self as u32 | rhs.0)
    }
}

impl FromIterator<Event> for EventMask {
    fn from_iter<I: IntoIterator<Item = Event>>(iter: I) -> EventMask {
        iter.into_iter().fold(EventMask::NONE, |m, e| m | e)
    }
}

/// The values of [`Event::HandshakeFailedProtocol`]: libzmq's `ZMQ_PROTOCOL_ERROR_*` codes,
/// without the prefix.
pub mod protocol_error {
    /// A protocol error with no more specific code (bad greeting, bad framing, peer ERROR).
    pub const ZMTP_UNSPECIFIED: u32 = 0x1000_0000;
    /// A command that is not allowed at this point of the handshake (or a message frame).
    pub const ZMTP_UNEXPECTED_COMMAND: u32 = 0x1000_0001;
    /// A CURVE MESSAGE whose nonce does not increase (replayed or reordered).
    pub const ZMTP_INVALID_SEQUENCE: u32 = 0x1000_0002;
    /// Key exchange failed (CURVE).
    pub const ZMTP_KEY_EXCHANGE: u32 = 0x1000_0003;
    /// A malformed handshake command.
    pub const ZMTP_MALFORMED_COMMAND_UNSPECIFIED: u32 = 0x1000_0011;
    /// A malformed MESSAGE command (CURVE).
    pub const ZMTP_MALFORMED_COMMAND_MESSAGE: u32 = 0x1000_0012;
    /// A malformed HELLO command.
    pub const ZMTP_MALFORMED_COMMAND_HELLO: u32 = 0x1000_0013;
    /// A malformed INITIATE command.
    pub const ZMTP_MALFORMED_COMMAND_INITIATE: u32 = 0x1000_0014;
    /// A malformed ERROR command.
    pub const ZMTP_MALFORMED_COMMAND_ERROR: u32 = 0x1000_0015;
    /// A malformed READY command.
    pub const ZMTP_MALFORMED_COMMAND_READY: u32 = 0x1000_0016;
    /// A malformed WELCOME command.
    pub const ZMTP_MALFORMED_COMMAND_WELCOME: u32 = 0x1000_0017;
    /// Bad metadata in READY, including a peer socket type this socket cannot talk to.
    pub const ZMTP_INVALID_METADATA: u32 = 0x1000_0018;
    /// A cryptographic check failed (CURVE).
    pub const ZMTP_CRYPTOGRAPHIC: u32 = 0x1100_0001;
    /// The peer uses another security mechanism.
    pub const ZMTP_MECHANISM_MISMATCH: u32 = 0x1100_0002;
    /// A ZAP failure with no more specific code.
    pub const ZAP_UNSPECIFIED: u32 = 0x2000_0000;
    /// A malformed ZAP reply.
    pub const ZAP_MALFORMED_REPLY: u32 = 0x2000_0001;
    /// A ZAP reply to another request.
    pub const ZAP_BAD_REQUEST_ID: u32 = 0x2000_0002;
    /// A ZAP reply of another version.
    pub const ZAP_BAD_VERSION: u32 = 0x2000_0003;
    /// A ZAP reply with an invalid status code.
    pub const ZAP_INVALID_STATUS_CODE: u32 = 0x2000_0004;
    /// A ZAP reply with invalid metadata.
    pub const ZAP_INVALID_METADATA: u32 = 0x2000_0005;
    /// A WebSocket protocol error.
    pub const WS_UNSPECIFIED: u32 = 0x3000_0000;
}

/// One socket event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorEvent {
    /// What happened.
    pub event: Event,
    /// The event's value: a file descriptor, an errno, an interval or a protocol error code
    /// (see each [`Event`]).
    pub value: u32,
    /// The endpoint concerned: the bound endpoint (wildcards resolved) for listeners and the
    /// connections they accept, the endpoint given to `connect` for connections made.
    pub endpoint: String,
}

impl MonitorEvent {
    /// The two frames libzmq's monitor sends for this event (event version 1): the event
    /// number as a native-endian u16 followed by the value as a native-endian u32, then the
    /// endpoint.
    pub fn to_frames(&self) -> [Bytes; 2] {
        let mut head = Vec::with_capacity(6);
        head.extend_from_slice(&self.event.raw().to_ne_bytes());
        head.extend_from_slice(&self.value.to_ne_bytes());
        [Bytes::from(head), Bytes::copy_from_slice(self.endpoint.as_bytes())]
    }

    /// Decode the two frames of a version-1 monitor message (from oxmq or libzmq). `None` if
    /// they are not one.
    pub fn from_frames<F: AsRef<[u8]>>(frames: &[F]) -> Option<MonitorEvent> {
        let [head, endpoint] = frames else { return None };
        let head: &[u8; 6] = head.as_ref().try_into().ok()?;
        let event = Event::from_raw(u16::from_ne_bytes([head[0], head[1]]))?;
        let value = u32::from_ne_bytes([head[2], head[3], head[4], head[5]]);
        let endpoint = String::from_utf8_lossy(endpoint.as_ref()).into_owned();
        Some(MonitorEvent { event, value, endpoint })
    }
}

/// The event and value that report a handshake refused for `e`: libzmq's code where libzmq
/// reports one, the nearest code otherwise (libzmq's NULL mechanism reports some of these
/// failures, e.g. an incompatible socket type, with DISCONNECTED alone).
pub(crate) fn handshake_failure(e: &WireError) -> (Event, u32) {
    use protocol_error as p;
    let code = match e {
        WireError::MechanismMismatch { .. } | WireError::UnknownMechanism => p::ZMTP_MECHANISM_MISMATCH,
        WireError::UnexpectedCommand(_) | WireError::MessageBeforeHandshake => p::ZMTP_UNEXPECTED_COMMAND,
        WireError::IncompatibleSocketType { .. } | WireError::InvalidMetadata(_) => p::ZMTP_INVALID_METADATA,
        WireError::MalformedCommand(what) => match what.split(' ').next() {
            Some("ERROR") => p::ZMTP_MALFORMED_COMMAND_ERROR,
            Some("HELLO") => p::ZMTP_MALFORMED_COMMAND_HELLO,
            Some("WELCOME") => p::ZMTP_MALFORMED_COMMAND_WELCOME,
            Some("INITIATE") => p::ZMTP_MALFORMED_COMMAND_INITIATE,
            Some("READY") => p::ZMTP_MALFORMED_COMMAND_READY,
            Some("MESSAGE") => p::ZMTP_MALFORMED_COMMAND_MESSAGE,
            _ => p::ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
        },
        WireError::Cryptographic(_) => p::ZMTP_CRYPTOGRAPHIC,
        WireError::KeyExchange(_) => p::ZMTP_KEY_EXCHANGE,
        WireError::InvalidSequence { .. } => p::ZMTP_INVALID_SEQUENCE,
        WireError::ZapBadReply(_) => p::ZAP_MALFORMED_REPLY,
        WireError::AuthFailed { status_code, .. } => return (Event::HandshakeFailedAuth, u32::from(*status_code)),
        // A ZAP status code in the peer's ERROR is an authentication failure.
        WireError::PeerError(reason) if matches!(reason.as_str(), "300" | "400" | "500") => {
            return (Event::HandshakeFailedAuth, reason.parse().expect("a status code"));
        }
        WireError::BadSignature
        | WireError::UnsupportedVersion { .. }
        | WireError::ReservedFlags(_)
        | WireError::FrameTooLarge { .. }
        | WireError::BadConfig(_)
        | WireError::PeerError(_) => p::ZMTP_UNSPECIFIED,
    };
    (Event::HandshakeFailedProtocol, code)
}

/// A monitor's bounded event queue.
pub(crate) struct MonitorQueue {
    mask: EventMask,
    state: Mutex<QueueState>,
    /// Notified on every event and when monitoring stops.
    signal: Signal,
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<MonitorEvent>,
    stopped: bool,
    dropped: u64,
}

impl MonitorQueue {
    pub fn new(mask: EventMask) -> MonitorQueue {
        MonitorQueue { mask, state: Mutex::new(QueueState::default()), signal: Signal::new() }
    }

    fn push(&self, ev: MonitorEvent) {
        {
            let mut st = self.state.lock();
            if st.stopped {
                return;
            }
            if st.events.len() >= QUEUE_CAPACITY {
                st.dropped += 1;
                return;
            }
            st.events.push_back(ev);
        }
        self.signal.notify();
    }

    pub fn stop(&self) {
        self.state.lock().stopped = true;
        self.signal.notify();
    }

    /// The next event, or whether monitoring has stopped (when there is none).
    pub fn pop(&self) -> Result<MonitorEvent, bool> {
        let mut st = self.state.lock();
        st.events.pop_front().ok_or(st.stopped)
    }

    /// Notified on every event and when monitoring stops.
    pub fn signal(&self) -> &Signal {
        &self.signal
    }

    /// The events this queue takes.
    pub fn mask(&self) -> EventMask {
        self.mask
    }

    /// Has monitoring stopped? Events that happened before may still be waiting.
    pub fn is_stopped(&self) -> bool {
        self.state.lock().stopped
    }

    /// How many events were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.state.lock().dropped
    }
}

/// Where a socket's events go: nowhere, or one monitor's queue. Lives in the socket's mailbox so
/// that the I/O side can report events.
#[derive(Default)]
pub(crate) struct MonitorSlot {
    /// The monitored events, readable without the lock (0: not monitored).
    mask: AtomicU32,
    queue: Mutex<Option<Arc<MonitorQueue>>>,
}

impl MonitorSlot {
    /// Report an event. Never blocks on the reader; costs one atomic load when the event is
    /// not monitored.
    #[inline]
    pub fn emit(&self, event: Event, value: u32, endpoint: &str) {
        if self.mask.load(Ordering::Relaxed) & event as u32 == 0 {
            return;
        }
        self.emit_slow(event, value, endpoint);
    }

    #[cold]
    fn emit_slow(&self, event: Event, value: u32, endpoint: &str) {
        let slot = self.queue.lock();
        if let Some(q) = &*slot {
            if q.mask.contains(event) {
                q.push(MonitorEvent { event, value, endpoint: endpoint.to_string() });
            }
        }
    }

    /// Monitor into `queue` from now on; a monitor already there is stopped first (and told
    /// with MONITOR_STOPPED, as libzmq does).
    pub fn start(&self, queue: Arc<MonitorQueue>) {
        let mut slot = self.queue.lock();
        if let Some(old) = slot.take() {
            stop_queue(&old, true);
        }
        self.mask.store(queue.mask.bits(), Ordering::Relaxed);
        *slot = Some(queue);
    }

    /// Stop monitoring; the monitor gets MONITOR_STOPPED if it asked for it and `tell`.
    pub fn stop(&self, tell: bool) {
        let mut slot = self.queue.lock();
        self.mask.store(0, Ordering::Relaxed);
        if let Some(q) = slot.take() {
            stop_queue(&q, tell);
        }
    }

    /// Stop monitoring into `queue` (its reader went away), if it is still the one in use.
    pub fn detach(&self, queue: &Arc<MonitorQueue>) {
        let mut slot = self.queue.lock();
        if slot.as_ref().is_some_and(|q| Arc::ptr_eq(q, queue)) {
            self.mask.store(0, Ordering::Relaxed);
            *slot = None;
        }
    }
}

fn stop_queue(q: &MonitorQueue, tell: bool) {
    if tell && q.mask.contains(Event::MonitorStopped) {
        q.push(MonitorEvent { event: Event::MonitorStopped, value: 0, endpoint: String::new() });
    }
    q.stop();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_numbers_are_libzmqs() {
        let expected: [(Event, u16); 15] = [
            (Event::Connected, 0x1),
            (Event::ConnectDelayed, 0x2),
            (Event::ConnectRetried, 0x4),
            (Event::Listening, 0x8),
            (Event::BindFailed, 0x10),
            (Event::Accepted, 0x20),
            (Event::AcceptFailed, 0x40),
            (Event::Closed, 0x80),
            (Event::CloseFailed, 0x100),
            (Event::Disconnected, 0x200),
            (Event::MonitorStopped, 0x400),
            (Event::HandshakeFailedNoDetail, 0x800),
            (Event::HandshakeSucceeded, 0x1000),
            (Event::HandshakeFailedProtocol, 0x2000),
            (Event::HandshakeFailedAuth, 0x4000),
        ];
        for (e, n) in expected {
            assert_eq!(e.raw(), n, "{e}");
            assert_eq!(Event::from_raw(n), Some(e));
        }
        assert_eq!(Event::from_raw(0x8000), None);
        assert_eq!(Event::ALL.into_iter().collect::<EventMask>(), EventMask::from_bits(0x7FFF));
        assert!(EventMask::ALL.contains(Event::HandshakeFailedAuth));
    }

    #[test]
    fn masks_combine() {
        let m = Event::Connected | Event::Disconnected;
        assert_eq!(m.bits(), 0x201);
        assert!(m.contains(Event::Connected) && !m.contains(Event::Accepted));
        assert_eq!((m | Event::Accepted).bits(), 0x221);
        assert_eq!(EventMask::from(Event::Closed).bits(), 0x80);
    }

    #[test]
    fn frames_round_trip_in_libzmq_layout() {
        let ev = MonitorEvent { event: Event::ConnectRetried, value: 200, endpoint: "tcp://127.0.0.1:5555".into() };
        let frames = ev.to_frames();
        let mut head = 0x0004u16.to_ne_bytes().to_vec();
        head.extend_from_slice(&200u32.to_ne_bytes());
        assert_eq!(&frames[0][..], &head[..]);
        assert_eq!(&frames[1][..], b"tcp://127.0.0.1:5555");
        assert_eq!(MonitorEvent::from_frames(&frames), Some(ev));
        assert_eq!(MonitorEvent::from_frames(&frames[..1]), None);
    }

    #[test]
    fn full_queue_drops_and_counts() {
        let slot = MonitorSlot::default();
        let q = Arc::new(MonitorQueue::new(EventMask::ALL));
        slot.start(q.clone());
        for i in 0..QUEUE_CAPACITY + 5 {
            slot.emit(Event::Accepted, i as u32, "tcp://x:1");
        }
        let st = q.state.lock();
        assert_eq!(st.events.len(), QUEUE_CAPACITY);
        assert_eq!(st.dropped, 5);
        assert_eq!(st.events.front().unwrap().value, 0, "the oldest events are kept");
    }

    #[test]
    fn unmonitored_events_are_not_queued_and_stop_tells_only_when_asked() {
        let slot = MonitorSlot::default();
        slot.emit(Event::Accepted, 1, "x"); // nobody monitors: nothing happens
        let q = Arc::new(MonitorQueue::new(Event::Accepted | Event::MonitorStopped));
        slot.start(q.clone());
        slot.emit(Event::Connected, 1, "x");
        slot.emit(Event::Accepted, 2, "x");
        slot.stop(true);
        slot.emit(Event::Accepted, 3, "x");
        assert_eq!(q.pop().unwrap().value, 2);
        assert_eq!(q.pop().unwrap().event, Event::MonitorStopped);
        assert_eq!(q.pop(), Err(true));
    }
}
