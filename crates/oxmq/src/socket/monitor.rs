//! The reading side of socket monitoring: the [`Monitor`] handle a socket's events are read
//! from, and `zmq_socket_monitor`'s PAIR that forwards them in libzmq's wire format. (The
//! events, the queue and the slot the I/O side reports to are [`crate::monitor`].)

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::mailbox::SocketShared;
use super::typed::Socket;
use super::{Core, SocketBase};
use crate::error::{Error, Result};
use crate::monitor::{EventMask, MonitorEvent, MonitorQueue};
use crate::transport::endpoint::{self, Endpoint};
use oxmq_wire::SocketType;

impl SocketBase {
    /// Watch this socket's connections: the returned [`Monitor`] receives the `events` that
    /// happen from now on (bind, accept, connect, handshake, disconnect, close; see
    /// [`Event`](crate::Event)), with libzmq's values and endpoints.
    ///
    /// A socket has one monitor at a time, as with libzmq: this replaces a monitor started
    /// before (by this call or [`monitor_endpoint`](Self::monitor_endpoint)), which receives
    /// [`Event::MonitorStopped`](crate::Event::MonitorStopped) if it asked for it. Monitoring
    /// never slows the socket down: a monitor 1000 events behind misses the newer ones.
    /// inproc connections report no events (libzmq reports none either).
    ///
    /// ```
    /// use oxmq::{Context, Event, Pull};
    /// let ctx = Context::new();
    /// let pull = Pull::new(&ctx)?;
    /// let monitor = pull.monitor(Event::Listening | Event::Accepted)?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// let ev = monitor.recv().unwrap();
    /// assert_eq!(ev.event, Event::Listening);
    /// assert_eq!(ev.endpoint, pull.last_endpoint()?);
    /// # Ok::<(), oxmq::Error>(())
    /// ```
    pub fn monitor(&self, events: impl Into<EventMask>) -> Result<Monitor> {
        let mut core = self.open_core()?;
        self.stop_monitor_locked(&mut core);
        Ok(Monitor::start(&self.shared, events.into()))
    }

    /// libzmq's `zmq_socket_monitor`: publish this socket's `events` (libzmq's `ZMQ_EVENT_*`
    /// bits, at most 0xFFFF) from a PAIR socket bound to the inproc `endpoint`. A PAIR socket
    /// that connects there receives each event as two frames in libzmq's version-1 format:
    /// the event number (native-endian u16) followed by its value (native-endian u32), then
    /// the endpoint string; [`MonitorEvent::from_frames`](crate::MonitorEvent::from_frames)
    /// decodes them. Events that happen before the reader connects wait for it (up to 1000;
    /// libzmq would block the socket instead).
    ///
    /// An empty `endpoint` stops monitoring, as libzmq's NULL does: the reader then receives
    /// MONITOR_STOPPED (if it is in `events`). A socket has one monitor at a time; this
    /// replaces one started before, as [`monitor`](Self::monitor) does.
    ///
    /// Errors as libzmq's: [`Error::ProtocolNotSupported`] for a transport other than
    /// inproc, [`Error::InvalidEndpoint`]/[`Error::InvalidArgument`] for a bad endpoint or
    /// event bits above 0xFFFF, [`Error::AddrInUse`] if the name is bound already.
    pub fn monitor_endpoint(&self, endpoint: &str, events: u32) -> Result<()> {
        self.monitor_endpoint_as(endpoint, events, SocketType::Pair)
    }

    /// [`monitor_endpoint`](Self::monitor_endpoint) publishing from a socket of type
    /// `socket_type`: PAIR, PUB (readers subscribe, and several may read) or PUSH, as
    /// libzmq's `zmq_socket_monitor_versioned`; [`Error::InvalidArgument`] for another type.
    pub fn monitor_endpoint_as(&self, endpoint: &str, events: u32, socket_type: SocketType) -> Result<()> {
        self.check_term()?;
        if events >> 16 != 0 {
            return Err(Error::InvalidArgument(format!(
                "monitor events {events:#x}: the version-1 event format carries 16 event bits only"
            )));
        }
        let mut core = self.core.lock();
        if endpoint.is_empty() {
            self.stop_monitor_locked(&mut core);
            return Ok(());
        }
        if !matches!(endpoint::parse(endpoint)?, Endpoint::Inproc(_)) {
            return Err(Error::ProtocolNotSupported(format!("{endpoint:?}: monitor endpoints must be inproc://")));
        }
        self.stop_monitor_locked(&mut core);
        if !matches!(socket_type, SocketType::Pair | SocketType::Pub | SocketType::Push) {
            return Err(Error::InvalidArgument(format!(
                "a monitor publishes from a PAIR, PUB or PUSH socket, not {}",
                socket_type.as_str()
            )));
        }
        let pair = Socket::new(&self.ctx, socket_type)?;
        // Never hold up the context on undelivered events; the final sends never wait.
        pair.set_linger(0)?;
        pair.set_sndtimeo(0)?;
        pair.bind(endpoint)?;
        let pair = Arc::new(pair);
        let mon = Monitor::start(&self.shared, EventMask::from_bits(events));
        core.monitor_pair = Some((pair.clone(), endpoint.to_string()));
        self.ctx.inner.handle.spawn(forward(mon, pair));
        Ok(())
    }

    /// Stop monitoring this socket (started by [`monitor`](Self::monitor) or
    /// [`monitor_endpoint`](Self::monitor_endpoint)); the monitor receives
    /// [`Event::MonitorStopped`](crate::Event::MonitorStopped) if it asked for it. Nothing
    /// happens if the socket is not monitored.
    pub fn stop_monitor(&self) -> Result<()> {
        let mut core = self.open_core()?;
        self.stop_monitor_locked(&mut core);
        Ok(())
    }

    fn stop_monitor_locked(&self, core: &mut Core) {
        self.shared.monitor.stop(true);
        // The name is free again at once; the PAIR itself closes once its last events are
        // handed to the reader.
        if let Some((pair, endpoint)) = core.monitor_pair.take() {
            let _ = pair.unbind(&endpoint);
        }
    }
}

/// The reading end of a socket monitor (see [`SocketBase::monitor`](crate::SocketBase::monitor)).
///
/// Events queue here in the order they happened, up to 1000; past that, new events are
/// dropped (see [`dropped`](Self::dropped)) rather than slowing the socket down. Monitoring
/// stops when the socket is closed, when another monitor replaces this one, when
/// [`SocketBase::stop_monitor`](crate::SocketBase::stop_monitor) is called (each of which
/// sends [`Event::MonitorStopped`](crate::Event::MonitorStopped) if it was asked for), or when this handle is dropped.
/// Once stopped and read to the end, the receive calls return `None`.
pub struct Monitor {
    queue: Arc<MonitorQueue>,
    socket: Weak<SocketShared>,
}

impl Monitor {
    /// Monitor `socket`'s events in `mask`, replacing any monitor it has.
    pub(crate) fn start(socket: &Arc<SocketShared>, mask: EventMask) -> Monitor {
        let queue = Arc::new(MonitorQueue::new(mask));
        socket.monitor.start(queue.clone());
        Monitor { queue, socket: Arc::downgrade(socket) }
    }

    /// The next event, waiting for it; `None` once monitoring has stopped and every event
    /// has been read.
    pub fn recv(&self) -> Option<MonitorEvent> {
        self.recv_until(None)
    }

    /// The next event, waiting at most `timeout`; `None` on timeout, or once monitoring has
    /// stopped and every event has been read (see [`is_stopped`](Self::is_stopped)).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<MonitorEvent> {
        self.recv_until(Some(Instant::now() + timeout))
    }

    /// The next event if one is waiting.
    pub fn try_recv(&self) -> Option<MonitorEvent> {
        self.queue.pop().ok()
    }

    fn recv_until(&self, deadline: Option<Instant>) -> Option<MonitorEvent> {
        loop {
            let seen = self.queue.signal().seq();
            match self.queue.pop() {
                Ok(ev) => return Some(ev),
                Err(true) => return None,
                Err(false) => {}
            }
            if !self.queue.signal().wait(seen, deadline) {
                return self.queue.pop().ok();
            }
        }
    }

    /// The next event, awaiting it (any executor); `None` once monitoring has stopped and
    /// every event has been read. Dropping the future takes no event.
    pub async fn recv_async(&self) -> Option<MonitorEvent> {
        loop {
            let seen = self.queue.signal().seq();
            match self.queue.pop() {
                Ok(ev) => return Some(ev),
                Err(true) => return None,
                Err(false) => {}
            }
            self.queue.signal().changed(seen).await;
        }
    }

    /// Completes once monitoring has stopped (events may still be waiting to be read).
    async fn stopped(&self) {
        loop {
            let seen = self.queue.signal().seq();
            if self.is_stopped() {
                return;
            }
            self.queue.signal().changed(seen).await;
        }
    }

    /// Has monitoring stopped? Events that happened before may still be waiting.
    pub fn is_stopped(&self) -> bool {
        self.queue.is_stopped()
    }

    /// How many events were dropped because 1000 were already waiting.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
    }

    /// The events this monitor was asked for.
    pub fn events(&self) -> EventMask {
        self.queue.mask()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if let Some(socket) = self.socket.upgrade() {
            socket.monitor.detach(&self.queue);
        }
        self.queue.stop();
    }
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor").field("events", &self.queue.mask()).field("stopped", &self.is_stopped()).finish()
    }
}

/// Send every event of `monitor` from `pair` (bound to the monitor's inproc endpoint) in
/// libzmq's version-1 format, until monitoring stops. An event that cannot be sent yet (no
/// reader connected, or the reader's queue full) waits in the monitor's queue, never in the
/// socket's I/O.
async fn forward(monitor: Monitor, pair: Arc<Socket>) {
    while let Some(ev) = monitor.recv_async().await {
        let frames = ev.to_frames();
        tokio::select! {
            sent = pair.send_multipart_async(frames.clone()) => {
                if sent.is_err() {
                    return; // the context was terminated
                }
            }
            () = monitor.stopped() => {
                // Monitoring ended (MONITOR_STOPPED is queued) while the reader is not taking
                // events: give each remaining event one try (the PAIR's SNDTIMEO is 0), as
                // libzmq's PAIR with LINGER 0 would.
                let _ = pair.send_multipart(frames);
                while let Some(ev) = monitor.try_recv() {
                    let _ = pair.send_multipart(ev.to_frames());
                }
                return;
            }
        }
    }
}
