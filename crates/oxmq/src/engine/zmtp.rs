//! The ZMTP engine (libzmq's "stream engine"): drives one ZMTP connection over one byte
//! stream, from the greeting to the end.
//!
//! [`handshake`] exchanges greetings and the mechanism's commands ([`oxmq_wire::Handshake`]).
//! Then [`run`] runs two loops in one task:
//! - the reader reads in large chunks, decodes every complete frame in the buffer, and hands
//!   them to the socket's pipe in one batch; at the pipe's HWM it stops reading (TCP pushes
//!   back on the peer) until the socket drains the pipe to its low-water mark;
//! - the writer takes every complete message waiting in the pipe, encodes the batch into one
//!   buffer and writes it with one call; bodies of [`LARGE_BODY`] bytes or more are not copied
//!   but written from their own `Bytes` with a vectored write.
//!
//! The engine wakes only on a pipe's state transitions ([`Signal`]), never per message.
//!
//! When the socket is done with the connection and everything queued is written, the writer
//! shuts the sending side down; [`close_wait`] then drops what the peer still sends until the
//! peer closes its side, for [`CLOSE_WAIT`] at most.
//!
//! Heartbeats (ZMTP 3.1 PING/PONG): PINGs are always answered. With HEARTBEAT_IVL set, a third
//! branch beside the two loops sends a PING every interval and closes the connection when
//! nothing at all arrives within HEARTBEAT_TIMEOUT of one; a peer's PING with a TTL makes the
//! reader close the connection if its next read brings nothing within that TTL. Without
//! HEARTBEAT_IVL there is no timer at all, and the reader's only extra work is counting reads.
//!
//! The engine knows nothing of sockets: the session ([`crate::session`]) attaches the peer
//! between the handshake and the run, and reports to the monitor.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use oxmq_wire::{
    Command, Decoder, Frame, FrameHeader, Handshake, HandshakeConfig, HandshakeStatus, Mechanism, Metadata, PeerInfo,
    SocketType, WireError,
};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::heartbeat::{self, Heartbeat, Liveness, Owed};
use super::{End, EngineConfig, discard, write_chunks};
use crate::error::errno;
use crate::monitor::{self, Event};
use crate::options::Options;
use crate::pipe::{Msg, Pipe};
use crate::signal::Signal;
use crate::transport::{Reader, Writer};

/// Bodies at least this large are written from their own buffer instead of being copied.
const LARGE_BODY: usize = 16 * 1024;
/// How much the writer takes from the pipe per write: large messages go out 16 x 64 KiB per
/// writev.
const WRITE_BATCH: usize = 1024 * 1024;
/// Read buffer growth step.
const READ_CHUNK: usize = 64 * 1024;
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

/// A completed handshake: the peer, and what it sent after its last handshake command.
pub(crate) struct Handshaken {
    pub peer: PeerInfo,
    rbuf: BytesMut,
}

/// A failed handshake: the monitor event and value that report it, and how the connection
/// ends.
pub(crate) struct HandshakeFailure {
    pub event: Event,
    pub value: u32,
    pub end: End,
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
    let Handshaken { peer, rbuf } = handshaken;
    let hb = Heartbeat::new(&cfg.options, peer.version);
    let subscriptions = Subscriptions::new(cfg.socket_type, peer.version);
    let owed: Mutex<Owed> = Mutex::new(Owed::default());
    let alive = Liveness::default();
    let reader = Reading {
        decoder: Decoder::new(max_frame_size(&cfg.options)),
        pipe,
        signal,
        owed: &owed,
        alive: &alive,
        subscriptions,
    };
    let end = tokio::select! {
        end = reader.run(rd, rbuf) => end,
        end = write_loop(wr, pipe, signal, &owed, subscriptions) => end,
        end = heartbeat::run(hb, &alive, &owed, signal), if hb.is_some() => end,
    };
    // A message half-received when the connection died is never delivered.
    pipe.out.rollback_partial();
    match &end {
        End::Protocol(why) => tracing::warn!("{}: closing connection: {why}", cfg.endpoint),
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

/// Exchange greetings and the mechanism's handshake commands, within HANDSHAKE_IVL.
pub(crate) async fn handshake(
    rd: &mut Reader,
    wr: &mut Writer,
    cfg: &EngineConfig,
) -> Result<Handshaken, HandshakeFailure> {
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let peer = exchange(rd, wr, &mut rbuf, cfg).await.map_err(|e| {
        let failure = e.report();
        match &failure.end {
            End::Protocol(why) => tracing::warn!("{}: handshake refused: {why}", cfg.endpoint),
            other => tracing::debug!("{}: handshake ended: {other:?}", cfg.endpoint),
        }
        failure
    })?;
    Ok(Handshaken { peer, rbuf })
}

async fn exchange(
    rd: &mut Reader,
    wr: &mut Writer,
    rbuf: &mut BytesMut,
    cfg: &EngineConfig,
) -> Result<PeerInfo, HandshakeError> {
    let mut hs = Handshake::new(HandshakeConfig {
        socket_type: cfg.socket_type,
        identity: cfg.options.routing_id.clone(),
        metadata: Metadata::new(),
        max_frame_size: max_frame_size(&cfg.options),
        mechanism: Mechanism::Null,
    });
    let mut out = BytesMut::new();
    hs.start(&mut out);
    let exchange = async {
        loop {
            if !out.is_empty() {
                wr.write_all(&out).await.map_err(HandshakeError::Io)?;
                out.clear();
            }
            let status = hs.input(rbuf, &mut out);
            match status {
                Ok(HandshakeStatus::Done(peer)) => {
                    if !out.is_empty() {
                        wr.write_all(&out).await.map_err(HandshakeError::Io)?;
                    }
                    return Ok(peer);
                }
                Ok(HandshakeStatus::NeedMore) => {}
                Err(e) => {
                    // An ERROR command may be waiting to tell the peer why.
                    let _ = wr.write_all(&out).await;
                    return Err(HandshakeError::Protocol(e));
                }
            }
            if !out.is_empty() {
                continue;
            }
            rbuf.reserve(256);
            match rd.read_buf(rbuf).await {
                Ok(0) => return Err(HandshakeError::Closed),
                Ok(_) => {}
                Err(e) => return Err(HandshakeError::Io(e)),
            }
        }
    };
    if cfg.options.handshake_ivl > 0 {
        let limit = Duration::from_millis(cfg.options.handshake_ivl as u64);
        match tokio::time::timeout(limit, exchange).await {
            Ok(r) => r,
            Err(_) => Err(HandshakeError::Timeout(limit)),
        }
    } else {
        exchange.await
    }
}

/// Why a handshake failed.
enum HandshakeError {
    Io(std::io::Error),
    /// The peer closed the connection.
    Closed,
    /// HANDSHAKE_IVL expired.
    Timeout(Duration),
    Protocol(WireError),
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
            HandshakeError::Timeout(limit) => (
                Event::HandshakeFailedNoDetail,
                errno::EAGAIN as u32,
                End::Disconnected(format!("handshake not completed within HANDSHAKE_IVL ({limit:?})")),
            ),
            HandshakeError::Protocol(e) => {
                let (event, value) = monitor::handshake_failure(&e);
                (event, value, End::Protocol(e.to_string()))
            }
        };
        HandshakeFailure { event, value, end }
    }
}

fn max_frame_size(o: &Options) -> Option<u64> {
    (o.maxmsgsize >= 0).then_some(o.maxmsgsize as u64)
}

/// The reading half of a running connection: what it decodes with, where the peer's messages
/// go, and what it shares with the writer and the heartbeat.
struct Reading<'a> {
    decoder: Decoder,
    /// The peer's messages go into `pipe.out`; `signal` wakes the reader when it has room.
    pipe: &'a Pipe,
    signal: &'a Signal,
    /// PONGs owed to the peer, for the writer.
    owed: &'a Mutex<Owed>,
    /// What the heartbeat learns of the peer from the reader.
    alive: &'a Liveness,
    subscriptions: Subscriptions,
}

impl Reading<'_> {
    /// Read, decode and hand over until the connection ends.
    async fn run(self, rd: &mut Reader, mut rbuf: BytesMut) -> End {
        let Reading { mut decoder, pipe, signal, owed, alive, subscriptions } = self;
        let mut batch: VecDeque<Msg> = VecDeque::new();
        // Inside a multipart message (its next frame is not a message's first).
        let mut in_msg = false;
        // The TTL (deciseconds) of a PING just received, and the deadline it sets for the next read.
        let mut ping_ttl = 0u16;
        let mut ttl_deadline: Option<Instant> = None;
        let mut reads = 0u64;
        // A frame whose body was read into its own buffer, to hand over with the next batch.
        let mut direct: Option<Frame> = None;
        // The last read finished a direct body: keep the next read into `rbuf` short.
        let mut after_direct = false;
        loop {
            // Decode every complete frame in the buffer, up to a protocol error if there is one.
            let fatal = loop {
                let next = match direct.take() {
                    Some(f) => Ok(Some(f)),
                    None => decoder.decode(&mut rbuf),
                };
                match next {
                    Ok(Some(f)) if f.command => match on_command(&f.body, owed, signal, &mut ping_ttl) {
                        Ok(None) => {}
                        Ok(Some(sub)) if subscriptions.receives => {
                            if in_msg {
                                break Some(End::Protocol("a subscription command inside a multipart message".into()));
                            }
                            batch.push_back(Msg { data: sub, more: false });
                        }
                        // A subscription to a socket type that has no use for it.
                        Ok(Some(_)) => {}
                        Err(end) => break Some(end),
                    },
                    Ok(Some(f)) => {
                        in_msg = f.more;
                        batch.push_back(Msg { data: f.body, more: f.more });
                    }
                    Ok(None) => break None,
                    Err(e) => break Some(End::Protocol(e.to_string())),
                }
            };
            if ping_ttl > 0 {
                // The peer's PING asks us to give up if nothing follows it within its TTL. (libzmq
                // starts the TTL at the PING and stops it at the next message decoded; here it
                // starts after the batch that held the PING and any read stops it: the same for a
                // peer that pings once per interval, and no per-message work.)
                ttl_deadline = Some(Instant::now() + Duration::from_millis(u64::from(ping_ttl) * 100));
                ping_ttl = 0;
            }
            // Hand them over, waiting for room at the HWM.
            while !batch.is_empty() {
                let seen = signal.seq();
                if !pipe.out.push_batch(&mut batch) {
                    // The socket is gone; drain the peer until the writer ends the connection.
                    break;
                }
                if !batch.is_empty() {
                    alive.paused.store(true, Relaxed);
                    signal.changed(seen).await;
                    alive.paused.store(false, Relaxed);
                }
            }
            // The messages decoded before a protocol error are whole and delivered (as libzmq,
            // which pushes each message as it decodes it); a message left open by the error is
            // rolled back when the engine ends.
            if let Some(end) = fatal {
                return end;
            }
            // `decode` stopped at an incomplete frame (or an empty buffer): its header, if whole,
            // passed the checks already.
            if let Ok(Some(h)) = decoder.peek_header(&rbuf)
                && reads_direct(&h, rbuf.len())
            {
                let body = match read_body(rd, &mut rbuf, h, &mut ttl_deadline, &mut reads, alive).await {
                    Ok(body) => body,
                    Err(end) => return end,
                };
                direct = Some(Frame { more: h.more, command: h.command, body });
                after_direct = true;
                continue;
            }
            let pending = decoder.pending_body_len(&rbuf);
            make_room(&mut rbuf, pending);
            let limit = if std::mem::take(&mut after_direct) { AFTER_DIRECT_READ } else { usize::MAX };
            match read_some(rd, &mut (&mut rbuf).limit(limit), &mut ttl_deadline).await {
                Ok(_) => {
                    reads += 1;
                    alive.reads.store(reads, Relaxed);
                }
                Err(end) => return end,
            }
        }
    }
}

/// Should the frame with header `h`, of which `buffered` bytes (header included) are in the
/// read buffer, be read into a buffer of its own? When its body is large, within the
/// reservation cap (a larger one grows with the bytes that arrive, in the read buffer), and
/// mostly still to come (what is buffered is copied).
fn reads_direct(h: &FrameHeader, buffered: usize) -> bool {
    (DIRECT_BODY..=MAX_RESERVE).contains(&h.body_len) && buffered - h.header_len <= h.body_len / 2
}

/// Read the body of the frame whose header `h` starts `rbuf` into a buffer of exactly its
/// size: the part already in `rbuf` is moved over, the rest is read straight into it (never
/// past it: what follows belongs to the next frame).
async fn read_body(
    rd: &mut Reader,
    rbuf: &mut BytesMut,
    h: FrameHeader,
    ttl_deadline: &mut Option<Instant>,
    reads: &mut u64,
    alive: &Liveness,
) -> Result<Bytes, End> {
    rbuf.advance(h.header_len);
    let mut body = BytesMut::with_capacity(h.body_len);
    body.extend_from_slice(rbuf);
    rbuf.clear();
    while body.len() < h.body_len {
        let rest = h.body_len - body.len();
        read_some(rd, &mut (&mut body).limit(rest), ttl_deadline).await?;
        *reads += 1;
        alive.reads.store(*reads, Relaxed);
    }
    Ok(body.freeze())
}

/// One read into `buf`, within the TTL of a peer's PING if one is running (a read ends it).
async fn read_some<B: BufMut>(rd: &mut Reader, buf: &mut B, ttl_deadline: &mut Option<Instant>) -> Result<usize, End> {
    let read = match ttl_deadline.take() {
        None => rd.read_buf(buf).await,
        Some(deadline) => match tokio::time::timeout_at(deadline, rd.read_buf(buf)).await {
            Ok(read) => read,
            Err(_) => return Err(End::Disconnected("nothing received within the TTL of the peer's PING".into())),
        },
    };
    match read {
        Ok(0) => Err(End::Disconnected("peer closed the connection".into())),
        Ok(n) => Ok(n),
        Err(e) => Err(End::Disconnected(e.to_string())),
    }
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

/// Handle a command after the handshake: a SUBSCRIBE or CANCEL comes back as the message
/// that stands for it (`0x01`/`0x00` + topic, the form ZMTP 3.0 peers send); a PING is owed a
/// PONG, and its TTL goes to `ping_ttl`; an error ends the connection.
fn on_command(body: &Bytes, owed: &Mutex<Owed>, signal: &Signal, ping_ttl: &mut u16) -> Result<Option<Bytes>, End> {
    match Command::parse(body) {
        Ok(Command::Ping { ttl, context }) => {
            *ping_ttl = ttl;
            if owed.lock().pong.replace(context).is_none() {
                signal.notify();
            }
            Ok(None)
        }
        Ok(cmd @ (Command::Subscribe(_) | Command::Cancel(_))) => Ok(cmd.to_legacy_subscription()),
        Ok(Command::Error(reason)) => Err(End::Protocol(format!("peer sent ERROR: {reason}"))),
        Ok(Command::Ready(_)) => Err(End::Protocol("peer sent a second READY".into())),
        // PONG, and commands of later protocol versions, need no answer.
        Ok(_) => Ok(None),
        Err(e) => Err(End::Protocol(e.to_string())),
    }
}

/// How subscriptions cross this connection. Inside the socket a subscription is always a
/// message, `0x01` (subscribe) or `0x00` (cancel) followed by the topic; on the wire a ZMTP
/// 3.1 peer gets SUBSCRIBE/CANCEL commands instead, and a 3.0 peer the messages themselves.
#[derive(Clone, Copy)]
struct Subscriptions {
    /// This socket sends subscriptions upstream (SUB, XSUB) to a peer that wants commands.
    sends_commands: bool,
    /// This socket takes subscriptions from its peers (PUB, XPUB).
    receives: bool,
}

impl Subscriptions {
    fn new(ours: SocketType, peer_version: (u8, u8)) -> Subscriptions {
        Subscriptions {
            sends_commands: matches!(ours, SocketType::Sub | SocketType::XSub) && peer_version >= (3, 1),
            receives: matches!(ours, SocketType::Pub | SocketType::XPub),
        }
    }

    /// The command a message from the socket goes out as, if it is a subscription
    /// (`first`: the message's first frame; only single-frame messages are subscriptions).
    fn as_command(self, msg: &Msg, first: bool) -> Option<Command> {
        if !self.sends_commands || !first || msg.more {
            return None;
        }
        Command::from_legacy_subscription(&msg.data)
    }
}

async fn write_loop(
    mut wr: Writer,
    pipe: &Pipe,
    signal: &Signal,
    owed: &Mutex<Owed>,
    subscriptions: Subscriptions,
) -> End {
    let mut batch: VecDeque<Msg> = VecDeque::new();
    // The next frame from the pipe starts a message (batches hold whole messages).
    let mut first = true;
    let mut wbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut chunks: VecDeque<Bytes> = VecDeque::new();
    loop {
        let seen = signal.seq();
        {
            let mut owed = owed.lock();
            if let Some(context) = owed.pong.take() {
                Command::Pong { context }.encode(&mut wbuf);
            }
            if let Some(ttl) = owed.ping.take() {
                Command::Ping { ttl, context: Bytes::new() }.encode(&mut wbuf);
            }
        }
        pipe.inp.pop_batch(&mut batch, WRITE_BATCH);
        if batch.is_empty() && wbuf.is_empty() {
            if pipe.inp.is_finished() {
                let _ = wr.flush().await;
                let _ = wr.shutdown().await;
                return End::Finished;
            }
            signal.changed(seen).await;
            continue;
        }
        for msg in batch.drain(..) {
            let starts = std::mem::replace(&mut first, !msg.more);
            if let Some(cmd) = subscriptions.as_command(&msg, starts) {
                cmd.encode(&mut wbuf);
                continue;
            }
            let len = msg.data.len();
            oxmq_wire::encode_frame_header(msg.more, false, len, &mut wbuf);
            if len >= LARGE_BODY {
                chunks.push_back(wbuf.split().freeze());
                chunks.push_back(msg.data);
            } else {
                wbuf.extend_from_slice(&msg.data);
            }
        }
        let result = if chunks.is_empty() {
            let r = wr.write_all(&wbuf).await;
            wbuf.clear();
            r
        } else {
            if !wbuf.is_empty() {
                chunks.push_back(wbuf.split().freeze());
            }
            write_chunks(&mut wr, &mut chunks).await
        };
        if let Err(e) = result {
            return End::Disconnected(e.to_string());
        }
    }
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
            let h = Decoder::new(None).peek_header(&rbuf).unwrap().unwrap();
            assert!(reads_direct(&h, rbuf.len()));
            let (mut deadline, mut reads, alive) = (None, 0, Liveness::default());
            let got = read_body(&mut rd, &mut rbuf, h, &mut deadline, &mut reads, &alive).await.unwrap();
            assert_eq!(got, body);
            assert!(rbuf.is_empty());
            assert!(reads > 0);
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
