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
//!   ([`super::drive`]), so the engine's drive loop writes only what callers leave to it.
//!
//! The engine wakes only on a pipe's state transitions ([`Signal`]), never per message. The
//! connection is behind a mutex taken once per read or per batch encoded, by the reader, the
//! engine's writer or a sending caller.
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

use super::drive::{Drive, Step, WRITE_BATCH, Wire};
use super::{End, EngineConfig, ZapAsk, discard};
use crate::error::errno;
use crate::monitor::{self, Event};
use crate::options::Options;
use crate::pipe::{Msg, Pipe};
use crate::signal::Signal;
use crate::transport::{Reader, Writer};

/// Read buffer growth step.
const READ_CHUNK: usize = 64 * 1024;
/// The read buffer of a handshake: room for the greeting, a HELLO and a largest handshake
/// command after it (a CURVE INITIATE with 64 KiB of metadata), so that a peer that has not
/// authenticated never makes it grow (a full buffer doubles: 128 KiB held per connection).
const HANDSHAKE_READ: usize = 64 + 512 + 9 + oxmq_wire::HANDSHAKE_MAX_FRAME_SIZE as usize;
/// Frames whose body is at least this large, and still mostly to come, are read straight
/// into a buffer of their own of exactly the body's size: no copy through the read buffer.
const DIRECT_BODY: usize = 32 * 1024;
/// After such a frame, the next read into the read buffer takes at most this much, so that
/// the next large frame's header arrives with little of its body (copied, then read direct).
const AFTER_DIRECT_READ: usize = 4 * 1024;
/// The most the reader reserves at once for a large frame's body (the buffer still grows as
/// real bytes arrive; a length field alone never sizes an allocation past this).
const MAX_RESERVE: usize = 16 * 1024 * 1024;
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
/// command, and the messages already decoded from it.
pub(crate) struct Handshaken {
    conn: Connection,
    rbuf: BytesMut,
    early: Batch,
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
            let mut early = Batch::default();
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
            exchanged.map(|()| Handshaken { conn, rbuf, early })
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

/// Write and read until the connection is established.
async fn exchange(
    rd: &mut Reader,
    wr: &mut Writer,
    conn: &mut Connection,
    rbuf: &mut BytesMut,
    early: &mut Batch,
    zap: Option<&dyn ZapAsk>,
) -> Result<(), HandshakeError> {
    let mut tx = Transmit::new();
    loop {
        if conn.wants_transmit() {
            conn.poll_transmit(&mut tx);
            write_transmit(wr, &mut tx).await.map_err(HandshakeError::Io)?;
        }
        if conn.is_established() {
            return Ok(());
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
        if let Err(e) = conn.input(now(), rbuf, early) {
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

/// The messages the connection decodes, as the pipe takes them.
#[derive(Default)]
struct Batch(VecDeque<Msg>);

impl MessageSink for Batch {
    #[inline]
    fn push_message(&mut self, m: Message) {
        self.0.push_back(Msg { data: m.body, more: m.more });
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
/// the socket's messages from it, `signal` waking the engine on the pipe's changes.
pub(crate) async fn run(
    rd: &mut Reader,
    wr: Writer,
    pipe: &Pipe,
    signal: &Signal,
    cfg: &EngineConfig,
    handshaken: Handshaken,
) -> End {
    let Handshaken { conn, rbuf, early } = handshaken;
    // A tcp or ipc stream is written by whoever sends (`drive`); another (the fuzz harness's
    // in-memory streams) by this task alone.
    let (drivable, other) = if wr.can_drive() { (Some(wr), None) } else { (None, Some(wr)) };
    let drive =
        Arc::new(Drive::new(ZmtpWire { conn: Mutex::new(conn), wr: drivable }, Transmit::with_capacity(READ_CHUNK)));
    let conn = &drive.wire.conn;
    let reader = Reading { conn, drive: &drive, pipe, signal, rbuf, batch: early, after_direct: false };
    let end = match other {
        None => {
            let _offered = Offered::new(pipe, &drive);
            tokio::select! {
                end = reader.run(rd) => end,
                end = drive_loop(&drive, pipe, signal) => end,
            }
        }
        Some(wr) => tokio::select! {
            end = reader.run(rd) => end,
            end = write_loop(wr, conn, pipe, signal) => end,
        },
    };
    // A message half-received when the connection died is never delivered.
    pipe.out.rollback_partial();
    match &end {
        End::Protocol(why) | End::Refused { why, .. } => {
            tracing::warn!("{}: closing connection: {why}", cfg.endpoint)
        }
        other => tracing::debug!("{}: connection ended: {other:?}", cfg.endpoint),
    }
    end
}

/// After [`End::Finished`] (everything was written and our side is shut down) and once the
/// socket has let go of the pipe: close only once the peer has closed its side, dropping what
/// it still sends, for [`CLOSE_WAIT`] at most.
pub(crate) async fn close_wait(rd: &mut Reader, endpoint: &str) {
    let waited = Instant::now();
    let why = match tokio::time::timeout(CLOSE_WAIT, discard(rd)).await {
        Ok(Ok(())) => "the peer closed its side".to_string(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("the peer did not close its side within {CLOSE_WAIT:?}"),
    };
    tracing::debug!("{endpoint}: closing after {:?}: {why}", waited.elapsed());
}

/// The reading half of a running connection. It also runs the connection's timers: every
/// wait it makes (for bytes, for room in the pipe) ends at the connection's next deadline.
struct Reading<'a> {
    conn: &'a Mutex<Connection>,
    /// The writing side: told of each batch decoded (input tells a caller's writes apart from
    /// a one-way stream's).
    drive: &'a Drive<ZmtpWire>,
    /// The peer's messages go into `pipe.out`; `signal` wakes the reader when it has room, and
    /// the writer when something is owed to the peer.
    pipe: &'a Pipe,
    signal: &'a Signal,
    rbuf: BytesMut,
    /// Decoded messages not yet in the pipe.
    batch: Batch,
    /// The last read finished a large body read on its own: keep the next read short.
    after_direct: bool,
}

/// What a wait bounded by the connection's deadline came to.
enum Waited<T> {
    Done(T),
    /// The deadline passed: the connection's timers have work.
    Deadline,
}

impl Reading<'_> {
    /// Read, decode and hand over until the connection ends.
    async fn run(mut self, rd: &mut Reader) -> End {
        loop {
            // Hand over what was decoded, waiting for room at the HWM.
            if let Err(end) = self.hand_over().await {
                return end;
            }
            // A large body mostly still to come is read into a buffer of its own.
            let header = self.conn.lock().peek_header(&self.rbuf);
            let read = match header {
                Some(h) if reads_direct(&h, self.rbuf.len()) => {
                    read_body(rd, &mut self.rbuf, h, self.conn, self.signal).await.map(|frame| {
                        self.after_direct = true;
                        Some(frame)
                    })
                }
                _ => {
                    let pending = header.map_or(0, |h| (h.header_len + h.body_len).saturating_sub(self.rbuf.len()));
                    make_room(&mut self.rbuf, pending);
                    let limit = if std::mem::take(&mut self.after_direct) { AFTER_DIRECT_READ } else { usize::MAX };
                    let conn = self.conn;
                    let mut buf = (&mut self.rbuf).limit(limit);
                    read_some(rd, &mut buf, conn, self.signal).await.map(|_| None)
                }
            };
            let direct = match read {
                Ok(direct) => direct,
                Err(end) => return end,
            };
            let decoded = {
                let mut conn = self.conn.lock();
                let owed = conn.wants_transmit();
                let r = match direct {
                    Some(frame) => conn.input_frame(now(), frame, &mut self.batch),
                    None => conn.input(now(), &mut self.rbuf, &mut self.batch),
                };
                if !owed && conn.wants_transmit() {
                    // A PING owes a PONG: wake the writer.
                    self.signal.notify();
                }
                r
            };
            if !self.batch.0.is_empty() {
                self.drive.note_input();
            }
            if let Err(e) = decoded {
                // The messages decoded before a protocol error are whole and delivered (as
                // libzmq, which pushes each message as it decodes it); a message left open by
                // the error is rolled back when the engine ends.
                let _ = self.hand_over().await;
                return end_of(&e);
            }
        }
    }

    /// Push the batch into the pipe, waiting for room at the HWM (reading is paused
    /// meanwhile: silence then says nothing about the peer).
    async fn hand_over(&mut self) -> Result<(), End> {
        let mut paused = false;
        let result = loop {
            if self.batch.0.is_empty() {
                break Ok(());
            }
            let seen = self.signal.seq();
            if !self.pipe.out.push_batch(&mut self.batch.0) {
                // The socket is gone; drain the peer until the writer ends the connection.
                self.batch.0.clear();
                break Ok(());
            }
            if self.batch.0.is_empty() {
                break Ok(());
            }
            if !paused {
                paused = true;
                self.conn.lock().set_reading_paused(true, now());
            }
            match bounded(self.conn, self.signal, self.signal.changed(seen)).await {
                Ok(_) => {}
                Err(end) => break Err(end),
            }
        };
        if paused {
            self.conn.lock().set_reading_paused(false, now());
        }
        result
    }
}

/// Read the body of the frame whose header `h` starts `rbuf` into a buffer of exactly its
/// size: the part already buffered is moved over, the rest is read straight into it (never
/// past it: what follows belongs to the next frame). Each read counts as traffic.
async fn read_body(
    rd: &mut Reader,
    rbuf: &mut BytesMut,
    h: FrameHeader,
    conn: &Mutex<Connection>,
    signal: &Signal,
) -> Result<Frame, End> {
    rbuf.advance(h.header_len);
    let mut body = BytesMut::with_capacity(h.body_len);
    body.extend_from_slice(rbuf);
    rbuf.clear();
    while body.len() < h.body_len {
        let rest = h.body_len - body.len();
        read_some(rd, &mut (&mut body).limit(rest), conn, signal).await?;
        conn.lock().on_read();
    }
    Ok(Frame { more: h.more, command: h.command, body: body.freeze() })
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

/// Should the frame with header `h`, of which `buffered` bytes (header included) are in the
/// read buffer, be read into a buffer of its own? When its body is large, within the
/// reservation cap (a larger one grows with the bytes that arrive, in the read buffer), and
/// mostly still to come (what is buffered is copied).
fn reads_direct(h: &FrameHeader, buffered: usize) -> bool {
    (DIRECT_BODY..=MAX_RESERVE).contains(&h.body_len) && buffered - h.header_len <= h.body_len / 2
}

/// Make room in the read buffer for the next read: for the whole body of a large frame in
/// progress (`pending_body` bytes still to come), else for a read chunk. A body over
/// [`MAX_RESERVE`] gets no reservation of its own and the buffer grows with the bytes that
/// arrive: reserving `MAX_RESERVE` for it on every read that left less room than that made the
/// buffer double past `MAX_RESERVE` on a length field alone.
fn make_room(rbuf: &mut BytesMut, pending_body: usize) {
    let body = if pending_body > MAX_RESERVE { 0 } else { pending_body };
    if rbuf.capacity() - rbuf.len() < body.max(READ_CHUNK / 4) {
        rbuf.reserve(body.max(READ_CHUNK));
    }
}

/// While alive, the pipe offers its messages to the drive (sending callers write them);
/// dropped however the engine ends (the task may be dropped mid-await, when a listener is
/// closed), it withdraws the offer and closes the drive, so no caller keeps the stream.
struct Offered<'a> {
    pipe: &'a Pipe,
    drive: &'a Arc<Drive<ZmtpWire>>,
}

impl<'a> Offered<'a> {
    fn new(pipe: &'a Pipe, drive: &'a Arc<Drive<ZmtpWire>>) -> Offered<'a> {
        pipe.inp.set_drain(Some(drive.clone()));
        Offered { pipe, drive }
    }
}

impl Drop for Offered<'_> {
    fn drop(&mut self) {
        self.pipe.inp.set_drain(None);
        self.drive.close();
    }
}

/// The protocol and the stream of a ZMTP connection, as its [`Drive`] writes them.
pub(crate) struct ZmtpWire {
    conn: Mutex<Connection>,
    /// `None` when the stream cannot be written from any thread (then nothing calls
    /// `try_write`: the drive is not offered to the pipe and [`write_loop`] writes instead).
    wr: Option<Writer>,
}

impl Wire for ZmtpWire {
    type Buf = Transmit;

    fn encode(&self, batch: &mut VecDeque<Msg>, tx: &mut Transmit) {
        let mut conn = self.conn.lock();
        if !batch.is_empty() || conn.wants_transmit() {
            conn.encode(batch.drain(..).map(|m| Message { body: m.data, more: m.more }), tx);
        }
        batch.clear();
    }

    fn pending(tx: &Transmit) -> usize {
        tx.len()
    }

    fn try_write(&self, tx: &mut Transmit) -> std::io::Result<()> {
        let wr = self.wr.as_ref().ok_or(std::io::ErrorKind::Unsupported)?;
        while tx.has_remaining() {
            let n = if tx.chunk_count() == 1 {
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
}

/// The engine's side of a [`Drive`]: step whenever the pipe's signal moves or the stream
/// becomes writable again, until the socket is done and everything was written.
async fn drive_loop(drive: &Drive<ZmtpWire>, pipe: &Pipe, signal: &Signal) -> End {
    let wr = drive.wire.wr.as_ref().expect("a drive loop has a drivable stream");
    loop {
        let seen = signal.seq();
        match drive.engine_step(&pipe.inp) {
            // Within the task's budget: a sender that never lets the pipe go idle does not
            // keep the reader (in the same task) or other connections from running.
            Step::Again => tokio::task::consume_budget().await,
            Step::Idle => signal.changed(seen).await,
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
    let mut tx = Transmit::with_capacity(READ_CHUNK);
    loop {
        let seen = signal.seq();
        pipe.inp.pop_batch(&mut batch, WRITE_BATCH);
        {
            let mut conn = conn.lock();
            if !batch.is_empty() || conn.wants_transmit() {
                conn.encode(batch.drain(..).map(|m| Message { body: m.data, more: m.more }), &mut tx);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A header declaring a body of 2^48 bytes (or just over MAX_RESERVE), the body then
    /// trickling in a byte per read: the buffer grows with what arrives, never to twice the
    /// reservation cap (it reached 32 MiB from the header alone).
    fn header(body_len: usize) -> [u8; 9] {
        let mut h = [0x02u8; 9];
        h[1..].copy_from_slice(&(body_len as u64).to_be_bytes());
        h
    }

    /// A large body is read into a buffer of exactly its size, from what was buffered plus
    /// reads that never take the next frame's bytes, which stay for the read buffer.
    #[test]
    fn a_direct_body_is_exact_and_leaves_the_next_frame_unread() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let len = 100_000;
            let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut rbuf = BytesMut::new();
            rbuf.extend_from_slice(&header(len));
            rbuf.extend_from_slice(&body[..1000]);
            // The rest of the body, then the next frame: all readable at once.
            let mut rest = body[1000..].to_vec();
            rest.extend_from_slice(&[0x00, 0x01, b'z']);
            let mut rd: Reader = Box::new(std::io::Cursor::new(rest));
            let h = oxmq_wire::Decoder::new(None).peek_header(&rbuf).unwrap().unwrap();
            assert!(reads_direct(&h, rbuf.len()));
            let conn = Mutex::new(Connection::new(ConnectionConfig::new(oxmq_wire::SocketType::Pull), now()).unwrap());
            let got = read_body(&mut rd, &mut rbuf, h, &conn, &Signal::new()).await.unwrap();
            assert_eq!(got.body, body);
            assert!(rbuf.is_empty());
            let mut next = Vec::new();
            rd.read_to_end(&mut next).await.unwrap();
            assert_eq!(next, [0x00, 0x01, b'z']);
        });
    }

    /// Only large bodies within the reservation cap, mostly still to come, are read direct.
    #[test]
    fn which_bodies_are_read_direct() {
        let h = |body_len| FrameHeader { more: false, command: false, header_len: 9, body_len };
        assert!(!reads_direct(&h(DIRECT_BODY - 1), 9));
        assert!(reads_direct(&h(DIRECT_BODY), 9));
        assert!(reads_direct(&h(MAX_RESERVE), 9 + 1000));
        assert!(!reads_direct(&h(MAX_RESERVE + 1), 9), "grows with the bytes that arrive instead");
        assert!(!reads_direct(&h(1 << 20), 9 + (1 << 19) + 1), "mostly buffered already");
    }

    #[test]
    fn a_huge_declared_body_reserves_nothing_past_the_cap() {
        for declared in [1usize << 48, MAX_RESERVE + 50_000] {
            let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
            rbuf.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 0, 0, 0]);
            for got in 0..100_000 {
                make_room(&mut rbuf, declared - got);
                rbuf.extend_from_slice(b"x");
                // Room for what arrived and, once the rest fits under the cap, for the rest.
                let bound = if declared - got > MAX_RESERVE { 2 * READ_CHUNK } else { MAX_RESERVE + 2 * READ_CHUNK };
                assert!(rbuf.capacity() <= bound, "capacity {} after {got} bytes", rbuf.capacity());
            }
        }
        // A body within the cap is reserved whole, once.
        let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
        make_room(&mut rbuf, 1 << 20);
        let cap = rbuf.capacity();
        assert!(cap >= 1 << 20);
        for got in 0..1000 {
            rbuf.extend_from_slice(b"x");
            make_room(&mut rbuf, (1 << 20) - got - 1);
        }
        assert_eq!(rbuf.capacity(), cap);
    }
}
