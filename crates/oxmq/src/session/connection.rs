//! One connection's life, and the loops that make connections: a bound endpoint's accept
//! loop starts one per accepted connection; a connected endpoint's connecter connects, runs
//! it, and after it ends (or after a failed connect) waits and connects again. The wait is
//! libzmq's ([`super::backoff`]): RECONNECT_IVL plus a random part below RECONNECT_IVL, so the
//! clients of a restarted server do not all come back at once; or, with RECONNECT_IVL_MAX
//! set, RECONNECT_IVL doubling after each failed attempt up to RECONNECT_IVL_MAX.
//!
//! [`serve`] drives one connection: it picks the engine for the socket type (ZMTP, or raw for
//! STREAM), attaches the peer once the handshake is done ([`super::attach`]), runs the engine
//! and detaches the peer when it ends.
//!
//! All report to the socket's monitor as libzmq's listener, connecter, session and engine do:
//! ACCEPTED / ACCEPT_FAILED; CONNECT_DELAYED (tcp), CONNECTED, CONNECT_RETRIED with the
//! interval before each new attempt; HANDSHAKE_SUCCEEDED / HANDSHAKE_FAILED_*; DISCONNECTED
//! when a connection ends other than by the socket's own doing.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use oxmq_wire::SocketType;

use super::Tasks;
use super::attach::{PeerGuard, Remote, attach, named, new_pipe};
use super::backoff::Backoff;
use super::zap::ZapClient;
use crate::engine::{End, EngineConfig, ZapAsk, raw, zmtp};
use crate::error::errno;
use crate::monitor::Event;
use crate::pipe::{PeerInfo, Pipe};
use crate::properties::Properties;
use crate::signal::Signal;
use crate::socket::mailbox::{Command, SocketShared};
use crate::transport::{self, Connection, Listener, Target};

/// What every connection of one bind or connect shares.
pub(crate) struct EndpointConfig {
    pub socket: Arc<SocketShared>,
    pub engine: EngineConfig,
    /// The routing id this side gives the peer (CONNECT_ROUTING_ID), instead of the one the
    /// peer announces.
    pub routing_id_override: Option<Bytes>,
    /// The context's ZAP handler, for the handshakes that ask one.
    pub zap: ZapClient,
}

/// A pipe that outlives connections (a connect's, made before its peer exists), and whether
/// this connection is not its first: the new peer then knows nothing of what was sent before
/// (a SUB re-sends its subscriptions).
pub(crate) struct Early<'a> {
    pub guard: &'a PeerGuard,
    pub reconnected: bool,
}

/// Drive one connection until it ends: handshake (none for STREAM), attach the peer, run the
/// engine, detach the peer.
pub(crate) async fn serve(conn: Connection, ep: &EndpointConfig, early: Option<Early<'_>>) -> End {
    let Connection { mut rd, mut wr, peer_address, .. } = conn;
    let socket = &ep.socket;
    if socket.socket_type == SocketType::Stream || ep.engine.options.raw_socket {
        // STREAM (and ROUTER_RAW) peers speak no ZMTP at all: the peer is attached at once.
        let peer = named(ep.routing_id_override.clone());
        let (pipe, signal, guard) = peer_pipe(ep, early, peer, None);
        let end = raw::run(&mut rd, wr, &pipe, &signal, &ep.engine, guard.is_some()).await;
        tracing::debug!("{}: raw connection ended: {end:?}", ep.engine.endpoint);
        return end;
    }
    let zap = ep.zap.config(&ep.engine.options.security, peer_address.as_deref());
    let handshaken = tokio::select! {
        r = zmtp::handshake(&mut rd, &mut wr, &ep.engine, zap.map(|c| (c, &ep.zap as &dyn ZapAsk))) => r,
        () = unwanted(socket, early.as_ref().map(|e| e.guard)) => {
            tracing::debug!("{}: handshake ended: the socket no longer wants the connection", ep.engine.endpoint);
            return End::Finished;
        }
    };
    let handshaken = match handshaken {
        Ok(h) => h,
        Err(failure) => {
            socket.monitor.emit(failure.event, failure.value, &ep.engine.endpoint);
            return failure.end;
        }
    };
    let announced = handshaken.peer();
    let peer = named(ep.routing_id_override.clone().or(announced.identity.clone()));
    let properties = Properties::new(announced, peer_address.as_deref());
    let (pipe, signal, guard) = peer_pipe(ep, early, peer, Some(properties));
    socket.monitor.emit(Event::HandshakeSucceeded, 0, &ep.engine.endpoint);
    let (end, rest) = zmtp::run(rd, wr, &pipe, &signal, &ep.engine, handshaken).await;
    // The socket needs nothing more from this connection.
    drop(guard);
    if matches!(end, End::Finished) {
        rest.close_wait(&ep.engine.endpoint).await;
    }
    end
}

/// The engine's end of the peer's pipe and its signal: the early pipe's (telling the socket of
/// a reconnection), or a new pipe attached now, with the guard that detaches it. The messages
/// of this connection carry `properties` from now on.
fn peer_pipe(
    ep: &EndpointConfig,
    early: Option<Early<'_>>,
    peer: PeerInfo,
    properties: Option<Properties>,
) -> (Pipe, Arc<Signal>, Option<PeerGuard>) {
    if let Some(Early { guard, reconnected }) = early {
        guard.pipe.set_properties(properties);
        if reconnected {
            ep.socket.post(Command::Hiccup(guard.pipe.id));
        }
        return (guard.pipe.clone(), guard.signal.clone(), None);
    }
    let signal = Arc::new(Signal::new());
    let opts = &ep.engine.options;
    let (theirs, ours) = new_pipe(&ep.socket, opts, &Remote::Engine(signal.clone()));
    ours.set_properties(properties);
    attach(&ep.socket, opts, theirs, peer, None);
    (ours.clone(), signal.clone(), Some(PeerGuard::new(ours, signal, ep.socket.clone())))
}

/// Completes once the socket no longer wants this connection: it was closed and, for a pipe
/// that outlives connections, everything queued on it has been sent.
async fn unwanted(socket: &SocketShared, early: Option<&PeerGuard>) {
    loop {
        match early {
            Some(e) => {
                let seen = e.signal.seq();
                if e.pipe.inp.is_finished() {
                    return;
                }
                e.signal.changed(seen).await;
            }
            None => {
                let seen = socket.signal.seq();
                if socket.is_closed() {
                    return;
                }
                socket.signal.changed(seen).await;
            }
        }
    }
}

/// A connection's engine ended: DISCONNECTED, unless the socket itself ended it.
fn report_end(ep: &EndpointConfig, fd: u32, end: &End) {
    if let End::Refused { event, value, .. } = end {
        ep.socket.monitor.emit(*event, *value, &ep.engine.endpoint);
    }
    if !matches!(end, End::Finished) {
        ep.socket.monitor.emit(Event::Disconnected, fd, &ep.engine.endpoint);
    }
}

pub(crate) async fn accept_loop(
    listener: Listener,
    ep: Arc<EndpointConfig>,
    engines: Arc<Tasks>,
    rt: tokio::runtime::Handle,
) {
    loop {
        match listener.accept(&ep.engine.options).await {
            Ok(conn) => {
                let fd = conn.fd;
                ep.socket.monitor.emit(Event::Accepted, fd, &ep.engine.endpoint);
                let ep = ep.clone();
                engines.spawn(&rt, async move {
                    let end = serve(conn, &ep, None).await;
                    report_end(&ep, fd, &end);
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: keep the listener, try again shortly.
                tracing::warn!("{}: accept failed: {e}", ep.engine.endpoint);
                let errno = e.raw_os_error().unwrap_or(errno::EIO) as u32;
                ep.socket.monitor.emit(Event::AcceptFailed, errno, &ep.engine.endpoint);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Connect, serve the connection, reconnect, until the socket is done with this endpoint.
/// `early` is the engine's end of a pipe the socket already holds (see [`Early`]).
pub(crate) async fn connecter(target: Target, ep: Arc<EndpointConfig>, early: Option<PeerGuard>) {
    let socket = &ep.socket;
    let endpoint = &ep.engine.endpoint;
    let base = ep.engine.options.reconnect_ivl;
    let mut backoff = Backoff::new(base, ep.engine.options.reconnect_ivl_max);
    // A connection was made before: the next one is a reconnection for an early pipe.
    let mut connected_before = false;
    loop {
        // A tcp connect is asynchronous (libzmq reports its EINPROGRESS); a local one is not.
        if let Target::Tcp { .. } = target {
            socket.monitor.emit(Event::ConnectDelayed, errno::EINPROGRESS as u32, endpoint);
        }
        let opened = tokio::select! {
            r = transport::open(&target, &ep.engine.options) => r,
            () = unwanted(socket, early.as_ref()) => return,
        };
        match opened {
            Ok(conn) => {
                let fd = conn.fd;
                socket.monitor.emit(Event::Connected, fd, endpoint);
                backoff.reset();
                let this = early.as_ref().map(|guard| Early { guard, reconnected: connected_before });
                connected_before = true;
                let end = serve(conn, &ep, this).await;
                report_end(&ep, fd, &end);
                match end {
                    // The socket is done with this peer (a STREAM closes a connection for good).
                    End::Finished
                        if early.is_some()
                            || socket.socket_type == SocketType::Stream
                            || ep.engine.options.raw_socket =>
                    {
                        return;
                    }
                    End::Protocol(_) | End::Refused { .. } => return,
                    End::Finished | End::Disconnected(_) => {}
                }
            }
            Err(e) => tracing::debug!("{endpoint}: connect failed: {e}"),
        }
        if base < 0 {
            tracing::debug!("{endpoint}: RECONNECT_IVL is -1: not reconnecting");
            return;
        }
        let ivl = backoff.next(|| fastrand::u32(..));
        socket.monitor.emit(Event::ConnectRetried, ivl as u32, endpoint);
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ivl.max(1) as u64)) => {}
            () = unwanted(socket, early.as_ref()) => return,
        }
    }
}
