//! The ZMTP engine (libzmq's "stream engine"): drives one ZMTP connection over one byte
//! stream, from the greeting to the end.
//!
//! The protocol itself is [`oxmq_wire::Connection`], a sans-IO state machine: the greeting
//! and the mechanism's handshake, then messages, commands (PING/PONG and the peer's TTL,
//! SUBSCRIBE/CANCEL, ERROR), our heartbeats and their timeouts, MAXMSGSIZE, HANDSHAKE_IVL.
//! This engine only moves bytes and time to and from it:
//! - [`handshake`] runs the connection until it is established, within HANDSHAKE_IVL;
//! - [`run`] then runs two loops in one task. The reader reads in large chunks, gives them to
//!   the connection, which decodes every complete frame, and hands the messages to the
//!   socket's pipe in one batch; at the pipe's HWM it stops reading (TCP pushes back on the
//!   peer) until the socket drains the pipe to its low-water mark. The reader also owns the
//!   connection's timers: every wait it makes is bounded by the connection's next deadline.
//!   The writer takes every complete message waiting in the pipe, has the connection encode
//!   the batch (with any PONG or PING owed) and writes it with one call; large bodies are not
//!   copied but written from their own `Bytes` with a vectored write. Over tcp and ipc a
//!   sending caller does the same on its own thread whenever the engine is idle
//!   ([`super::drive`]), so the engine's drive loop writes only what callers leave to it; and
//!   a receiving caller that finds nothing queued reads and decodes the connection itself
//!   ([`super::feed`], whose read steps the reader shares), so the reader reads only while no
//!   caller waits.
//!
//! The engine wakes only on a pipe's state transitions ([`Signal`]), never per message. The
//! connection is behind a mutex taken once per read or per batch encoded, by the reader, the
//! engine's writer, a sending caller or a receiving one.
//!
//! When the socket is done with the connection and everything queued is written, the writer
//! shuts the sending side down; [`close_wait`] then drops what the peer still sends until the
//! peer closes its side, for [`CLOSE_WAIT`] at most.
//!
//! The engine knows nothing of sockets: the session ([`crate::session`]) attaches the peer
//! between the handshake and the run, and reports to the monitor.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use oxmq_wire::{
    Connection, ConnectionConfig, ConnectionError, Frame, FrameHeader, HandshakeConfig, Heartbeat, Message,
    MessageSink, PeerInfo, Transmit, ZapConfig, ZapReply,
};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::drive::{CALLER_WRITES_QUEUED, DIRECT_MIN_BODY, Drive, HOT_STREAM_GAP, Step, WRITE_BATCH, Wire};
use super::feed::{self, EngineStep, Feed, FeedState, Input, Target};
use super::{End, EngineConfig, ZapAsk, discard};
use crate::error::errno;
use crate::monitor::{self, Event};
use crate::options::Options;
use crate::pipe::{Msg, Pipe, ReaderCache};
use crate::signal::Signal;
use crate::transport::{self, FdStream, Joined, Reader, Writer};

/// The read buffer of a handshake: room for the greeting, a HELLO and a largest handshake
/// command after it (a CURVE INITIATE with 64 KiB of metadata), so that a peer that has not
/// authenticated never makes it grow (a full buffer doubles: 128 KiB held per connection).
const HANDSHAKE_READ: usize = 64 + 512 + 9 + oxmq_wire::HANDSHAKE_MAX_FRAME_SIZE as usize;
/// After the socket is done with a connection and everything queued was written, how long
/// the engine waits, its sending side shut down, for the peer to close its side before it
/// closes the connection all the same.
///
/// Closing outright loses messages at a libzmq receiver: libzmq stops polling a connection
/// for input while its pipe to the socket is full (RCVHWM), and when the other end of a unix
/// socket is closed the kernel reports a hang-up (EPOLLHUP) on the survivor; libzmq's engine,
/// woken by it with its input stopped, takes it for an error and drops the connection with
/// our last messages still unread in the kernel's buffer. A shutdown for writing alone raises
/// no hang-up: libzmq resumes reading once its socket drains the pipe, reads everything, sees
/// the end of the stream and closes its side, which ends the wait. (Over tcp, closing with
/// the peer's bytes unread in our buffer would also reset the connection.)
///
/// Bounded, so that a peer that never reads nor closes cannot hold `Context::term` forever
/// with LINGER -1; with LINGER >= 0 the reaper ends the connection at LINGER in any case.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A completed handshake: the connection, what the peer sent after its last handshake
/// command, the messages already decoded from it, and how the connection ended if what came
/// after those messages in the same read broke the protocol (the messages are whole and are
/// delivered first, as after the handshake; the connection then ends as it would have).
pub(crate) struct Handshaken {
    conn: Connection,
    rbuf: BytesMut,
    early: VecDeque<Msg>,
    end: Option<End>,
}

impl Handshaken {
    /// The peer: its ZMTP version, socket type, identity and metadata.
    pub fn peer(&self) -> &PeerInfo {
        self.conn.peer_info().expect("an established connection knows its peer")
    }
}

/// A failed handshake: the monitor event and value that report it, and how the connection
/// ends.
pub(crate) struct HandshakeFailure {
    pub event: Event,
    pub value: u32,
    pub end: End,
}

/// The socket's options as the protocol state machine takes them; an error names the
/// security option that is missing.
fn connection_config(cfg: &EngineConfig, zap: Option<ZapConfig>) -> Result<ConnectionConfig, String> {
    let o = &cfg.options;
    Ok(ConnectionConfig {
        handshake: HandshakeConfig {
            socket_type: cfg.socket_type,
            identity: o.routing_id.clone(),
            metadata: o.security.metadata.clone(),
            max_frame_size: max_frame_size(o),
            mechanism: o.security.mechanism_config()?,
            zap,
        },
        handshake_timeout: (o.handshake_ivl > 0).then(|| Duration::from_millis(o.handshake_ivl as u64)),
        heartbeat: Heartbeat::from_options(o.heartbeat_ivl, o.heartbeat_timeout, o.heartbeat_ttl),
    })
}

fn max_frame_size(o: &Options) -> Option<u64> {
    (o.maxmsgsize >= 0).then_some(o.maxmsgsize as u64)
}

/// The clock the connection runs on (tokio's, so that a paused test clock pauses it too).
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// Exchange greetings and the mechanism's handshake commands, within HANDSHAKE_IVL.
///
/// `zap`: the ZAP request's domain and address and where to send it, when this handshake asks
/// a ZAP handler (the session decides, as libzmq does).
pub(crate) async fn handshake(
    rd: &mut Reader,
    wr: &mut Writer,
    cfg: &EngineConfig,
    zap: Option<(ZapConfig, &dyn ZapAsk)>,
) -> Result<Handshaken, HandshakeFailure> {
    let (zap_config, asker) = match zap {
        Some((c, a)) => (Some(c), Some(a)),
        None => (None, None),
    };
    let made = connection_config(cfg, zap_config)
        .map_err(HandshakeError::Config)
        .and_then(|config| Connection::new(config, now()).map_err(HandshakeError::Connection));
    let result = match made {
        Ok(mut conn) => {
            let mut rbuf = BytesMut::with_capacity(HANDSHAKE_READ);
            let mut early = VecDeque::new();
            let deadline = conn.poll_timeout();
            let exchanged = {
                let exchange = exchange(rd, wr, &mut conn, &mut rbuf, &mut early, asker);
                match deadline {
                    // At the deadline the connection fails the handshake itself (HANDSHAKE_IVL).
                    Some(at) => match tokio::time::timeout_at(Instant::from_std(at), exchange).await {
                        Ok(r) => r,
                        Err(_) => Err(HandshakeError::Connection(conn.handle_timeout(at).err().unwrap_or(
                            ConnectionError::HandshakeTimeout(Duration::from_millis(cfg.options.handshake_ivl as u64)),
                        ))),
                    },
                    None => exchange.await,
                }
            };
            exchanged.map(|end| Handshaken { conn, rbuf, early, end })
        }
        Err(e) => Err(e),
    };
    result.map_err(|e| {
        let failure = e.report();
        match &failure.end {
            End::Protocol(why) => tracing::warn!("{}: handshake refused: {why}", cfg.endpoint),
            other => tracing::debug!("{}: handshake ended: {other:?}", cfg.endpoint),
        }
        failure
    })
}

/// Write and read until the connection is established. What the read that completed the
/// handshake brought after it is decoded into `early`; if it broke the protocol, the
/// handshake still succeeded (the peer's handshake was whole and valid) and the end returned
/// says how the connection ends once those messages are delivered.
async fn exchange(
    rd: &mut Reader,
    wr: &mut Writer,
    conn: &mut Connection,
    rbuf: &mut BytesMut,
    early: &mut VecDeque<Msg>,
    zap: Option<&dyn ZapAsk>,
) -> Result<Option<End>, HandshakeError> {
    let mut tx = Transmit::new();
    let mut end = None;
    loop {
        if conn.wants_transmit() {
            conn.poll_transmit(&mut tx);
            write_transmit(wr, &mut tx).await.map_err(HandshakeError::Io)?;
        }
        if conn.is_established() {
            return Ok(end);
        }
        let answered = match conn.zap_request().cloned() {
            // The mechanism waits for the ZAP handler's verdict; the peer sends nothing
            // meanwhile. Then the buffered input is taken up again.
            Some(request) => {
                let frames = match zap {
                    Some(z) => z.ask(request).await,
                    None => None,
                };
                let frames = frames.ok_or(HandshakeError::NoZapHandler)?;
                let reply =
                    ZapReply::parse(&frames).map_err(|e| HandshakeError::Connection(ConnectionError::Handshake(e)));
                let result = reply.and_then(|r| conn.zap_reply(r, now()).map_err(HandshakeError::Connection));
                if let Err(e) = result {
                    // A refusal owes the peer an ERROR.
                    if conn.wants_transmit() {
                        conn.poll_transmit(&mut tx);
                        let _ = write_transmit(wr, &mut tx).await;
                    }
                    return Err(e);
                }
                true
            }
            None => false,
        };
        if !answered {
            rbuf.reserve(256);
            match rd.read_buf(rbuf).await {
                Ok(0) => return Err(HandshakeError::Closed),
                Ok(_) => {}
                Err(e) => return Err(HandshakeError::Io(e)),
            }
        }
        if let Err(e) = conn.input(now(), rbuf, &mut Sink(early)) {
            if conn.is_established() {
                // After the peer's last handshake command, in the same read: as if read
                // after the handshake (`feed`: the messages before the error are delivered).
                // Round the loop once more: what the handshake still owes the peer (a
                // server's last command) goes out first, as it would have.
                end = Some(end_of(&e));
                continue;
            }
            // An ERROR command may be waiting to tell the peer why.
            if conn.wants_transmit() {
                conn.poll_transmit(&mut tx);
                let _ = write_transmit(wr, &mut tx).await;
            }
            return Err(HandshakeError::Connection(e));
        }
    }
}

/// Why a handshake failed.
enum HandshakeError {
    Io(std::io::Error),
    /// The peer closed the connection.
    Closed,
    /// The protocol state machine failed: the peer broke the protocol, or HANDSHAKE_IVL
    /// expired.
    Connection(ConnectionError),
    /// The socket's security options are incomplete (a CURVE client without the server's
    /// key): no connection can succeed until they are set.
    Config(String),
    /// The handshake must ask a ZAP handler and none is bound (libzmq's EFAULT).
    NoZapHandler,
}

impl HandshakeError {
    /// The monitor event that reports the failure, and how the connection ends.
    fn report(self) -> HandshakeFailure {
        let (event, value, end) = match self {
            HandshakeError::Io(e) => {
                let errno = e.raw_os_error().unwrap_or(errno::EIO) as u32;
                (Event::HandshakeFailedNoDetail, errno, End::Disconnected(e.to_string()))
            }
            // libzmq's read reports a closed connection as EPIPE.
            HandshakeError::Closed => (
                Event::HandshakeFailedNoDetail,
                errno::EPIPE as u32,
                End::Disconnected("peer closed the connection during the handshake".into()),
            ),
            // libzmq's value for an expired HANDSHAKE_IVL.
            HandshakeError::Connection(e @ ConnectionError::HandshakeTimeout(_)) => {
                (Event::HandshakeFailedNoDetail, errno::EAGAIN as u32, End::Disconnected(e.to_string()))
            }
            HandshakeError::NoZapHandler => (
                Event::HandshakeFailedNoDetail,
                errno::EFAULT as u32,
                End::Disconnected("no ZAP handler is bound at inproc://zeromq.zap.01 to authenticate the peer".into()),
            ),
            HandshakeError::Config(why) => (
                Event::HandshakeFailedProtocol,
                crate::monitor::protocol_error::ZMTP_UNSPECIFIED,
                End::Protocol(format!("the socket's security options: {why}")),
            ),
            HandshakeError::Connection(e) => {
                let (event, value) = match e.wire_error() {
                    Some(w) => monitor::handshake_failure(w),
                    None => (Event::HandshakeFailedProtocol, crate::monitor::protocol_error::ZMTP_UNSPECIFIED),
                };
                let end = match &e {
                    ConnectionError::Handshake(w) => End::Protocol(w.to_string()),
                    other => End::Protocol(other.to_string()),
                };
                (event, value, end)
            }
        };
        HandshakeFailure { event, value, end }
    }
}

/// Where the connection puts the messages it decodes, as the pipe takes them.
struct Sink<'a>(&'a mut VecDeque<Msg>);

impl MessageSink for Sink<'_> {
    #[inline]
    fn push_message(&mut self, m: Message) {
        self.0.push_back(Msg::new(m.body, m.more));
    }
}

/// How a connection error ends the engine: liveness failures are worth reconnecting after,
/// protocol violations are not.
fn end_of(e: &ConnectionError) -> End {
    match e {
        // libzmq's curve_mechanism_base_t::decode reports a refused MESSAGE as a failed
        // handshake, with the code it would have in the handshake.
        ConnectionError::CurveMessage(w) => {
            let (event, value) = monitor::handshake_failure(w);
            End::Refused { why: e.to_string(), event, value }
        }
        _ if e.is_liveness() => End::Disconnected(e.to_string()),
        _ => End::Protocol(e.to_string()),
    }
}

/// Run the connection after its handshake until it ends: the peer's messages into `pipe`,
/// the socket's messages from it, `signal` waking the engine on the pipe's changes. Returns
/// how it ended, and the stream for [`Rest::close_wait`].
pub(crate) async fn run(
    rd: Reader,
    wr: Writer,
    pipe: &Pipe,
    signal: &Arc<Signal>,
    cfg: &EngineConfig,
    handshaken: Handshaken,
) -> (End, Rest) {
    let Handshaken { conn, rbuf, early, end } = handshaken;
    // A tcp or ipc connection is read and written by whoever receives and sends (`feed`,
    // `drive`); another (the fuzz harness's in-memory streams) by this task alone.
    let joined = match transport::into_fd_stream(rd, wr) {
        Ok(j) => j,
        Err(e) => return (End::Disconnected(e.to_string()), Rest::Gone),
    };
    let (stream, halves) = match joined {
        Joined::Fd(s) => (Some(Arc::new(s)), None),
        Joined::Halves(rd, wr) => (None, Some((rd, wr))),
    };
    let drive = Arc::new(Drive::new(
        ZmtpWire { conn: Mutex::new(conn), wr: stream.clone() },
        Transmit::with_capacity(feed::READ_CHUNK),
    ));
    let input = ZmtpInput { drive: drive.clone(), signal: signal.clone() };
    let feed: Arc<ZmtpFeed> = Arc::new(Feed::new(
        FeedState::new(rbuf, early, end),
        input,
        stream.clone(),
        signal.clone(),
        cfg.stopped.clone(),
    ));
    let conn = &drive.wire.conn;
    let (end, rest) = match (stream, halves) {
        (Some(stream), _) => {
            let _offered = Offered::new(pipe, &drive, &feed);
            let reader = Reading { feed: &feed, source: Source::Fd(&stream), pipe, signal, conn };
            let end = tokio::select! {
                end = reader.run() => end,
                end = drive_loop(&drive, &stream, pipe, signal) => end,
            };
            (end, Rest::Fd(stream))
        }
        (None, Some((mut rd, wr))) => {
            let reader = Reading { feed: &feed, source: Source::Stream(&mut rd), pipe, signal, conn };
            let end = tokio::select! {
                end = reader.run() => end,
                end = write_loop(wr, conn, pipe, signal) => end,
            };
            (end, Rest::Stream(rd))
        }
        (None, None) => unreachable!("a connection is one stream or two halves"),
    };
    // A message half-received when the connection died is never delivered.
    pipe.out.rollback_partial();
    match &end {
        End::Protocol(why) | End::Refused { why, .. } => {
            tracing::warn!("{}: closing connection: {why}", cfg.endpoint)
        }
        other => tracing::debug!("{}: connection ended: {other:?}", cfg.endpoint),
    }
    (end, rest)
}

/// What is left of a connection after [`run`]: its reading side, for the close.
pub(crate) enum Rest {
    Fd(Arc<FdStream>),
    Stream(Reader),
    /// Nothing (the connection could not be taken over).
    Gone,
}

impl Rest {
    /// After [`End::Finished`] (everything was written and our side is shut down) and once the
    /// socket has let go of the pipe: close only once the peer has closed its side, dropping
    /// what it still sends, for [`CLOSE_WAIT`] at most.
    pub async fn close_wait(self, endpoint: &str) {
        let waited = Instant::now();
        let discarded = async {
            match self {
                Rest::Fd(stream) => discard_fd(&stream).await,
                Rest::Stream(mut rd) => discard(&mut rd).await,
                Rest::Gone => Ok(()),
            }
        };
        let why = match tokio::time::timeout(CLOSE_WAIT, discarded).await {
            Ok(Ok(())) => "the peer closed its side".to_string(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("the peer did not close its side within {CLOSE_WAIT:?}"),
        };
        tracing::debug!("{endpoint}: closing after {:?}: {why}", waited.elapsed());
    }
}

/// Read and drop until the peer's end of the stream.
async fn discard_fd(stream: &FdStream) -> std::io::Result<()> {
    // A connection lent to the callers (`feed`, rule 5) is out of the engine's epoll set: the
    // peer's close would never wake this wait.
    stream.ensure_armed()?;
    let mut scratch = vec![0u8; 8 * 1024];
    loop {
        match stream.read_slice(&mut scratch) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => stream.readable().await?,
            Err(e) => return Err(e),
        }
    }
}

/// Where a running connection's bytes come from.
enum Source<'a> {
    /// A tcp or ipc connection, which receiving callers may read too (`feed`).
    Fd(&'a FdStream),
    /// Any other stream: read by this task alone.
    Stream(&'a mut Reader),
}

/// The engine's reading side of a running connection. It also runs the connection's timers:
/// every wait it makes (for bytes, for room in the pipe) ends at the connection's next
/// deadline.
struct Reading<'a> {
    /// The right to read and what its holder works on (shared with receiving callers).
    feed: &'a ZmtpFeed,
    source: Source<'a>,
    /// The peer's messages go into `pipe.out`; `signal` wakes the reader when it has room, and
    /// the writer when something is owed to the peer.
    pipe: &'a Pipe,
    signal: &'a Signal,
    conn: &'a Mutex<Connection>,
}

/// What a wait bounded by the connection's deadline came to.
enum Waited<T> {
    Done(T),
    /// The deadline passed: the connection's timers have work.
    Deadline,
}

impl Reading<'_> {
    /// Read, decode and hand over until the connection ends.
    async fn run(mut self) -> End {
        // Reading paused at the HWM (silence then says nothing about the peer).
        let mut paused = false;
        // The last wait ended at a tick of a connection lent to the callers (`feed`'s rule 5).
        let mut tick = false;
        loop {
            // Read before trying for the right (`feed`'s rule 4).
            let seen = self.signal.seq();
            let next = self.feed.engine_step(&self.pipe.out, std::mem::take(&mut tick));
            let full = matches!(next, EngineStep::Full);
            if paused != full {
                paused = full;
                self.conn.lock().set_reading_paused(paused, now());
            }
            let waited = match next {
                EngineStep::End(end) => return end,
                EngineStep::Again => {
                    tokio::task::consume_budget().await;
                    Ok(())
                }
                EngineStep::Full => bounded(self.conn, self.signal, self.signal.changed(seen)).await.map(|_| ()),
                EngineStep::Wait { lent } => {
                    let Source::Fd(stream) = &self.source else { unreachable!("a stream is read in place") };
                    let tick = &mut tick;
                    let either = async {
                        tokio::select! {
                            r = stream.readable() => r,
                            () = self.signal.changed(seen) => Ok(()),
                            () = tokio::time::sleep(feed::LEND_TICK), if lent => {
                                *tick = true;
                                Ok(())
                            }
                        }
                    };
                    match bounded(self.conn, self.signal, either).await {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(e)) => Err(End::Disconnected(e.to_string())),
                        Err(end) => Err(end),
                    }
                }
                EngineStep::Read => self.read_stream().await,
            };
            if let Err(end) = waited {
                return end;
            }
        }
    }

    /// Read a stream only this task reads: the state is taken out of the lock for the wait
    /// (no caller reads such a stream: its feed is never offered) and put back after.
    async fn read_stream(&mut self) -> Result<(), End> {
        let Source::Stream(rd) = &mut self.source else { unreachable!("only streams are read here") };
        let mut st = std::mem::take(&mut *self.feed.state.lock());
        let read = match st.target(&self.feed.input) {
            Target::Buf { buf, need, grow, limit } => {
                feed::make_room(buf, need, grow);
                read_some(rd, &mut buf.limit(limit), self.conn, self.signal).await
            }
            Target::Body { body, rest } => read_some(rd, &mut body.limit(rest), self.conn, self.signal).await,
        };
        let result = read.map(|_| {
            if let Err(end) = st.absorb(&self.feed.input) {
                st.ended(end);
            }
        });
        *self.feed.state.lock() = st;
        result
    }
}

/// The reading side of a ZMTP connection.
type ZmtpFeed = Feed<ZmtpInput, FdStream>;

/// The ZMTP connection as a [`Feed`] decodes into it.
struct ZmtpInput {
    /// The writing side: told of each batch decoded (input tells a caller's writes apart from a
    /// one-way stream's); its connection is the one decoded into.
    drive: Arc<Drive<ZmtpWire>>,
    /// The engine's: a PING owes a PONG, written by the engine.
    signal: Arc<Signal>,
}

impl ZmtpInput {
    fn decoded<F>(&self, batch: &mut VecDeque<Msg>, decode: F) -> Result<(), End>
    where
        F: FnOnce(&mut Connection, &mut Sink<'_>) -> Result<(), ConnectionError>,
    {
        let before = batch.len();
        let r = {
            let mut conn = self.drive.wire.conn.lock();
            let owed = conn.wants_transmit();
            let r = decode(&mut conn, &mut Sink(batch));
            if !owed && conn.wants_transmit() {
                // A PING owes a PONG: wake the writer.
                self.signal.notify();
            }
            r
        };
        if batch.len() > before {
            self.drive.note_input();
        }
        r.map_err(|e| end_of(&e))
    }
}

impl Input for ZmtpInput {
    fn peek_header(&self, rbuf: &[u8]) -> Option<FrameHeader> {
        self.drive.wire.conn.lock().peek_header(rbuf)
    }

    fn input(&self, rbuf: &mut BytesMut, batch: &mut VecDeque<Msg>) -> Result<(), End> {
        self.decoded(batch, |conn, sink| conn.input(now(), rbuf, sink))
    }

    fn input_frame(&self, frame: Frame, batch: &mut VecDeque<Msg>) -> Result<(), End> {
        self.decoded(batch, |conn, sink| conn.input_frame(now(), frame, sink))
    }

    fn on_read(&self) {
        self.drive.wire.conn.lock().on_read();
    }

    fn awaits_answer(&self) -> bool {
        self.drive.awaits_answer()
    }
}

/// Wait for `fut`, servicing the connection's timers whenever its next deadline passes
/// first (a PING owed wakes the writer; an expired timeout ends the connection).
async fn bounded<F: std::future::Future>(conn: &Mutex<Connection>, signal: &Signal, fut: F) -> Result<F::Output, End> {
    let mut fut = std::pin::pin!(fut);
    loop {
        let deadline = conn.lock().poll_timeout();
        let waited = match deadline {
            None => Waited::Done(fut.as_mut().await),
            Some(at) => match tokio::time::timeout_at(Instant::from_std(at), fut.as_mut()).await {
                Ok(out) => Waited::Done(out),
                Err(_) => Waited::Deadline,
            },
        };
        match waited {
            Waited::Done(out) => return Ok(out),
            Waited::Deadline => {
                let mut c = conn.lock();
                let owed = c.wants_transmit();
                c.handle_timeout(now()).map_err(|e| end_of(&e))?;
                if !owed && c.wants_transmit() {
                    signal.notify();
                }
            }
        }
    }
}

/// One read into `buf`, within the connection's deadlines.
async fn read_some<B: BufMut>(
    rd: &mut Reader,
    buf: &mut B,
    conn: &Mutex<Connection>,
    signal: &Signal,
) -> Result<usize, End> {
    match bounded(conn, signal, rd.read_buf(buf)).await? {
        Ok(0) => Err(End::Disconnected("peer closed the connection".into())),
        Ok(n) => Ok(n),
        Err(e) => Err(End::Disconnected(e.to_string())),
    }
}

/// While alive, the pipe offers its messages to the drive (sending callers write them) and
/// its reader the feed (receiving callers read); dropped however the engine ends (the task may
/// be dropped mid-await, when a listener is closed), it withdraws both offers and closes both,
/// so no caller keeps the stream.
struct Offered<'a> {
    pipe: &'a Pipe,
    drive: &'a Arc<Drive<ZmtpWire>>,
    feed: &'a Arc<ZmtpFeed>,
}

impl<'a> Offered<'a> {
    fn new(pipe: &'a Pipe, drive: &'a Arc<Drive<ZmtpWire>>, feed: &'a Arc<ZmtpFeed>) -> Offered<'a> {
        pipe.inp.set_drain(Some(drive.clone()));
        pipe.out.set_feed(Some(feed.clone()));
        Offered { pipe, drive, feed }
    }
}

impl Drop for Offered<'_> {
    fn drop(&mut self) {
        self.pipe.inp.set_drain(None);
        self.pipe.out.set_feed(None);
        self.drive.close();
        self.feed.close();
    }
}

/// How much of a tcp write to make first, apart from the rest: [`FIRST_WRITE`] bytes when the
/// write is one large message alone (its header, then its body as the one other chunk: what a
/// sender writing its own large message hands over, `engine::drive`), else `None`.
///
/// A 64 KiB message written whole is a full segment and a runt on loopback (65,545 bytes, an
/// MSS of 65,483). Where TCP paces in the kernel (BBR without the fq qdisc), a sender writing
/// one such message at a time kept the connection's pacing rate low, and the kernel armed a
/// pacing timer for nearly every message: 42–49k per 60k messages, the sender's time nearly
/// all in the kernel, about half libzmq's rate. libzmq's encoder writes the header with the
/// first 8 KiB of the body (its batch buffer), then the rest, and is not paced so; written in
/// the same two parts, oxmq's sender went from 25–34k to 60–89k msg/s with 0.5–1.8k timers
/// (BENCHMARKS.md). With cubic, and over ipc, the split made no difference measured.
/// "Large" is [`DIRECT_MIN_BODY`] or more in all, the size from which a sender writes a
/// stream's message itself.
fn first_write(chunks: usize, first_chunk: usize, len: usize) -> Option<usize> {
    (chunks == 2 && first_chunk < FIRST_WRITE && len >= DIRECT_MIN_BODY).then_some(FIRST_WRITE)
}

/// See [`first_write`].
const FIRST_WRITE: usize = 8 * 1024;

/// The protocol and the stream of a ZMTP connection, as its [`Drive`] writes them.
pub(crate) struct ZmtpWire {
    conn: Mutex<Connection>,
    /// `None` when the stream cannot be written from any thread (then nothing calls
    /// `try_write`: the drive is not offered to the pipe and [`write_loop`] writes instead).
    wr: Option<Arc<FdStream>>,
}

impl Wire for ZmtpWire {
    type Buf = Transmit;

    fn encode(&self, batch: &mut VecDeque<Msg>, tx: &mut Transmit) {
        let mut conn = self.conn.lock();
        if !batch.is_empty() || conn.wants_transmit() {
            conn.encode(batch.drain(..).map(|m| Message { more: m.more(), body: m.data }), tx);
        }
        batch.clear();
    }

    fn pending(tx: &Transmit) -> usize {
        tx.len()
    }

    fn try_write(&self, tx: &mut Transmit) -> std::io::Result<()> {
        let wr = self.wr.as_ref().ok_or(std::io::ErrorKind::Unsupported)?;
        let mut first = if wr.is_tcp() { first_write(tx.chunk_count(), tx.chunk().len(), tx.len()) } else { None };
        while tx.has_remaining() {
            let n = if let Some(limit) = first.take() {
                let mut two = [IoSlice::new(&[]); 2];
                tx.chunks_vectored(&mut two);
                let (head, body) = (&two[0][..], &two[1][..]);
                let part = limit.saturating_sub(head.len()).min(body.len());
                wr.try_write_vectored(&[IoSlice::new(head), IoSlice::new(&body[..part])])?
            } else if tx.chunk_count() == 1 {
                wr.try_write_vectored(&[IoSlice::new(tx.chunk())])?
            } else {
                let mut slices = [IoSlice::new(&[]); 128];
                let k = tx.chunks_vectored(&mut slices);
                wr.try_write_vectored(&slices[..k])?
            };
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            tx.advance(n);
        }
        tx.clear();
        Ok(())
    }

    fn packs(&self) -> bool {
        self.conn.lock().frames_in_the_clear()
    }

    fn pack(msg: &Msg, packed: &mut BytesMut) {
        oxmq_wire::encode_frame_header(msg.more(), false, msg.data.len(), packed);
        packed.extend_from_slice(&msg.data);
    }

    fn append_packed(packed: &mut BytesMut, tx: &mut Transmit) {
        tx.append_encoded(packed);
    }

    fn caller_writes_queued(&self) -> Option<usize> {
        // Not where the kernel paces the connection (tcp under BBR): there the engine's larger
        // batches cost the sender half the CPU of the caller's (`engine::drive`, "Packing").
        self.wr.as_ref().filter(|wr| !wr.paced()).map(|_| CALLER_WRITES_QUEUED)
    }

    fn caller_writes_when_full(&self) -> Option<usize> {
        // tcp too, a pipe full of small messages (`engine::drive`, "Packing").
        self.wr.as_ref().map(|_| CALLER_WRITES_QUEUED)
    }
}

/// The engine's side of a [`Drive`]: step whenever the pipe's signal moves or the stream
/// becomes writable again, until the socket is done and everything was written.
async fn drive_loop(drive: &Drive<ZmtpWire>, wr: &FdStream, pipe: &Pipe, signal: &Signal) -> End {
    loop {
        let seen = signal.seq();
        match drive.engine_step(&pipe.inp) {
            // Within the task's budget: a sender that never lets the pipe go idle does not
            // keep the reader (in the same task) or other connections from running.
            Step::Again => tokio::task::consume_budget().await,
            Step::Idle => {
                signal.changed(seen).await;
                if drive.take_streamed() && crate::io_thread::woke_within(HOT_STREAM_GAP) {
                    // A hot stream's sender on this core queues the rest of its turn first
                    // (`engine::drive`, "Streams").
                    std::thread::yield_now();
                }
            }
            Step::Finished => {
                let _ = wr.shutdown_write();
                return End::Finished;
            }
            Step::Blocked => {
                if let Err(e) = wr.writable().await {
                    return End::Disconnected(e.to_string());
                }
            }
            Step::Failed(e) => return End::Disconnected(e.to_string()),
        }
    }
}

/// The writer of a stream only this task can write: take every complete message waiting,
/// encode the batch, write it, wait for the pipe's signal.
async fn write_loop(mut wr: Writer, conn: &Mutex<Connection>, pipe: &Pipe, signal: &Signal) -> End {
    let mut batch: VecDeque<Msg> = VecDeque::new();
    let mut tx = Transmit::with_capacity(feed::READ_CHUNK);
    let clear = conn.lock().frames_in_the_clear();
    let mut cache = ReaderCache::default();
    loop {
        let seen = signal.seq();
        // With what a drive packed while an earlier connection of this pipe was a stream
        // (dropped if this one does not speak it, as `Drive::append_packed` says).
        let mut packed = |p: &mut BytesMut| {
            if clear {
                tx.append_encoded(p)
            }
        };
        pipe.inp.pop_packed_and_batch(&mut cache, Some(&mut packed), &mut batch, WRITE_BATCH);
        {
            let mut conn = conn.lock();
            if !batch.is_empty() || conn.wants_transmit() {
                conn.encode(batch.drain(..).map(|m| Message { more: m.more(), body: m.data }), &mut tx);
            }
        }
        batch.clear();
        if tx.is_empty() {
            if pipe.inp.is_finished() {
                let _ = wr.flush().await;
                let _ = wr.shutdown().await;
                return End::Finished;
            }
            signal.changed(seen).await;
            continue;
        }
        if let Err(e) = write_transmit(&mut wr, &mut tx).await {
            return End::Disconnected(e.to_string());
        }
    }
}

/// Write everything in `tx`, with as few calls as the kernel allows: one plain write when it
/// is one buffer, vectored writes when large bodies are chained behind it.
async fn write_transmit(wr: &mut Writer, tx: &mut Transmit) -> std::io::Result<()> {
    while tx.has_remaining() {
        let n = if tx.chunk_count() == 1 {
            wr.write(tx.chunk()).await?
        } else {
            let mut slices = [IoSlice::new(&[]); 128];
            let k = tx.chunks_vectored(&mut slices);
            wr.write_vectored(&slices[..k]).await?
        };
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        tx.advance(n);
    }
    tx.clear();
    Ok(())
}

#[cfg(all(test, not(oxmq_loom)))]
mod tests {
    use super::*;
    use crate::transport::fd_stream::Sock;

    /// Only a lone large message is written in two parts: a header chunk and a body chunk of
    /// DIRECT_MIN_BODY or more in all; not packed small messages (one chunk), not a batch of large
    /// ones (more chunks), not a small one.
    #[test]
    fn a_lone_large_message_is_written_in_two_parts() {
        assert_eq!(first_write(2, 9, 9 + 64 * 1024), Some(FIRST_WRITE));
        assert_eq!(first_write(2, 9, DIRECT_MIN_BODY), Some(FIRST_WRITE));
        assert_eq!(first_write(2, 9, DIRECT_MIN_BODY - 1), None, "small");
        assert_eq!(first_write(1, 64 * 1024, 64 * 1024), None, "packed");
        assert_eq!(first_write(4, 9, 9 + 128 * 1024), None, "a batch");
        assert_eq!(first_write(2, FIRST_WRITE, FIRST_WRITE + 64 * 1024), None, "a first chunk of its own size");
    }

    /// A connection a caller left lent (out of the engine's epoll set) when the socket closed:
    /// the engine's last wait still sees the peer's close as it comes, not at CLOSE_WAIT (the
    /// Lazy Pirate server's `term` took 5 s so, and its client gave up on the restarted one).
    #[tokio::test]
    async fn close_wait_sees_the_peers_close_on_a_connection_lent_to_the_callers() {
        let (ours, peer) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let stream = Arc::new(FdStream::new(Sock::Ipc(ours)).unwrap());
        stream.disarm().unwrap();
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(peer);
        });
        let t = Instant::now();
        Rest::Fd(stream).close_wait("test").await;
        assert!(t.elapsed() < Duration::from_secs(2), "waited {:?}", t.elapsed());
        closer.join().unwrap();
    }
}
