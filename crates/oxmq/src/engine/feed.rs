//! Who reads a connection: the engine on its I/O thread, or the caller that receives.
//!
//! A blocking receive that finds nothing queued would wait for the I/O thread to be woken by
//! the peer's bytes, read and decode them, queue the message and wake the caller: two wake-ups
//! and two context switches per message, which on a core the two threads share is most of a
//! request-reply round trip. So a caller whose receive would block on a socket with one
//! tcp or ipc connection waits on the connection itself, in poll(2), and reads and decodes
//! the bytes on its own thread; the I/O thread never hears of them. The I/O thread keeps
//! everything else: reading while no caller waits (so the pipe fills to its HWM, PINGs are
//! answered and a closed connection is noticed), what a caller leaves (a batch the pipe had no
//! room for, an error), the connection's timers.
//!
//! **The rule** (one party reads a connection at a time, and nothing that arrives is left
//! unread without the engine knowing):
//! 1. [`Feed::state`] is the right to read. Whoever holds it reads the socket, decodes, and
//!    puts the messages into the pipe, in the order read. The engine takes it only by
//!    `try_lock`, between two awaits; a caller only by `try_lock`, within a blocking receive
//!    that found nothing queued. Neither ever waits for it.
//! 2. Holding it, a caller reads; if nothing is there, it takes the socket's read events away
//!    from the engine ([`Source::disarm`]), reads again, and if still nothing waits in
//!    poll(2) on the socket and, through a waker, on the socket's signal (anything else that
//!    happens to the socket), until its deadline. It stops at the first message it puts in
//!    the pipe.
//! 3. A caller lets go of the right *before* it gives the events back ([`Source::arm`]);
//!    arming wakes the engine if bytes are waiting (the kernel looks). What it decoded and
//!    could not put into the pipe (HWM), and an end it met (the peer closed, a read failed,
//!    the peer broke the protocol), it leaves in the state and hands to the engine by
//!    notifying the engine's signal, also after letting go; and so does every caller that
//!    takes the right and finds such a thing left there (the engine may have read its
//!    signal's number after the first notification, then found the right taken: loom found
//!    that one).
//! 4. The engine reads its signal's number, then says it is trying for the right (an atomic
//!    flag, then a fence), then tries. A caller, after letting go (and arming), takes the flag
//!    (a fence, then a swap) and, if it was set, notifies the engine's signal: if the engine's
//!    try failed, the caller's swap sees its flag (the two fences order the two sides), and
//!    the notification comes after the engine read its number. So an engine that found the
//!    right taken always steps again once the holder lets go, whatever the holder read (the
//!    holder may have read the first bytes without taking the read events away, rule 2, and
//!    then there is no arming to wake the engine for what came after them).
//! 5. A caller that received a message, having taken the read events away, may keep them away
//!    when it lets go: the connection is *lent* to the callers ([`Feed::lent`]), so that a
//!    caller receiving again soon reads what came meanwhile without the engine being woken for
//!    it and without two epoll_ctl calls per message. (A caller whose first read found bytes
//!    waiting takes the events away after that read, to lend the connection too: a receiver
//!    keeping up with a stream would otherwise share its reads with an engine woken for every
//!    arrival, and a large body read by the engine is freed by another thread.) Lent, the
//!    connection is read by whoever comes for the right: a caller's next receive, or the
//!    engine when something else wakes it or at its ticks, but the engine only while no
//!    message waits for the callers (had it read then, it would fill the pipe from under a
//!    receiver keeping up with a stream, and that receiver would wake it at every low-water
//!    mark to read more: a wake-up and two context switches for every few hundred messages,
//!    on a core the two share). A caller that finds the right taken while the connection is
//!    lent says so ([`Feed::turned_away`]: a flag, a fence, one more try); the engine, after
//!    a step that did not read or whose read found nothing, looks at that flag (a fence,
//!    then a load) and if it is set steps again and takes the connection back: as in rule
//!    4, one of the two sees the other, so a caller turned away is never left waiting for
//!    bytes nobody reads. A socket about to wait for messages, or report on them, some other
//!    way (poll, ZMQ_EVENTS, a non-blocking or async receive, a receive with no feed) gives it
//!    back ([`pipe::Feed::give_back`]): it reads what arrived meanwhile as a receive already
//!    past its deadline would (one look, no wait; so the answer counts what the kernel holds),
//!    which gives the events back, or, when it cannot (the right taken, a message queued),
//!    asks the engine to. The engine takes it back (arms the events, under the right) when
//!    asked, when a caller was turned away, and on its own once no caller has come for the
//!    right for a whole [`LEND_TICK`] (it looks every tick while the connection is lent, so
//!    PINGs, the peer's close and the HWM are noticed within two ticks when the callers are
//!    away). A caller that lends a connection that was
//!    not lent tells the engine, which starts its ticks; a caller whose receive ends any
//!    other way (timed out, interrupted, signalled, the end) gives the events back (rule 3).
//! 6. When the engine ends, the pipe stops offering the feed and the feed is closed: a caller
//!    that took it from the pipe before then hands nothing more over; nor, once the socket
//!    let go of the endpoint (unbind, disconnect), does a caller still reading one of its
//!    connections while its engine is being dropped (`EngineConfig::stopped`). Such a caller
//!    leaves its wait when the socket's signal moves (the peer's detachment posts to it).
//!
//! The engine's reads follow the same steps ([`FeedState::read_fd`], [`FeedState::absorb`]):
//! large reads, frames with a large body read straight into a buffer of their own.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use oxmq_wire::{Frame, FrameHeader};

use super::End;
use crate::pipe::{self, Fed, Msg, Queue};
use crate::signal::Signal;
use crate::sync::{AtomicBool, Mutex, fence};

/// The read size, the engine's and a caller's: a read buffer grows by this much at a time. A
/// read returns what the kernel holds, so a large buffer costs a request-reply caller nothing,
/// and a receiver keeping up with a stream (which reads it all on its own thread, rule 5)
/// reads a backlog in as few calls as the engine would. (With 8 KiB for a caller, such a
/// receiver made eight reads where the engine made one.)
pub(crate) const READ_CHUNK: usize = 64 * 1024;
/// How often the engine looks at a connection lent to the callers (rule 5): it takes it back
/// when no caller came for it since the last look.
pub(crate) const LEND_TICK: std::time::Duration = std::time::Duration::from_millis(1);
/// Frames whose body is at least this large, and not whole in the read buffer yet, are read
/// straight into a buffer of their own of exactly the body's size (see `reads_direct`).
const DIRECT_BODY: usize = 32 * 1024;
/// After such a frame, the next read into the read buffer takes at most this much: the next
/// frame's header (9 bytes at most) and a little of its body, so that a large body that
/// follows is read straight into its own buffer with next to nothing to copy. (With 4 KiB, a
/// receiver of 64 KiB messages zeroed 4 KiB and copied 4 KiB twice per message.) A small frame
/// after a large one costs one more read.
pub(crate) const AFTER_DIRECT_READ: usize = 64;
/// The most the reader reserves at once for a large frame's body (the buffer still grows as
/// real bytes arrive; a length field alone never sizes an allocation past this).
const MAX_RESERVE: usize = 16 * 1024 * 1024;

/// The protocol, as the reader feeds it bytes (the ZMTP connection).
pub(crate) trait Input: Send + Sync {
    /// The header of the frame at the front of `rbuf`, once it is whole.
    fn peek_header(&self, rbuf: &[u8]) -> Option<FrameHeader>;
    /// Decode every complete frame in `rbuf`, appending the messages to `batch`.
    fn input(&self, rbuf: &mut BytesMut, batch: &mut VecDeque<Msg>) -> Result<(), End>;
    /// A frame read on its own (a large body), appended to `batch` if it is a message.
    fn input_frame(&self, frame: Frame, batch: &mut VecDeque<Msg>) -> Result<(), End>;
    /// Part of such a frame arrived: traffic, for the heartbeat's timeout.
    fn on_read(&self);
    /// Did a caller write to the peer since the peer last said something? Then a receive
    /// waits for an answer the peer has yet to make (see `read_for`). A hint: wrong, it
    /// costs one yield of the CPU or saves one.
    fn awaits_answer(&self) -> bool {
        false
    }
}

/// The byte stream under a [`Feed`], as its readers read it without waiting (a tcp or ipc
/// `transport::FdStream`; the loom models' stand-in).
pub(crate) trait Source: Send + Sync {
    /// One read into `buf`'s spare room, `grow` more reserved first when less than `need` is
    /// left: `Ok(0)` at the end of the stream, `WouldBlock` when nothing is there.
    fn read_buf(&self, buf: &mut BytesMut, need: usize, grow: usize) -> io::Result<usize>;
    /// One read into `v`'s spare capacity.
    fn read_vec(&self, v: &mut Vec<u8>) -> io::Result<usize>;
    /// One read into `buf`.
    fn read_slice(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Stop waking the engine for the stream's bytes (a caller reads them).
    fn disarm(&self) -> io::Result<()>;
    /// Wake the engine for them again, at once if some are waiting.
    fn arm(&self) -> io::Result<()>;
    /// A caller's wait: until the stream has bytes (or has ended), `signal` moves past `seen`,
    /// or `deadline` passes.
    fn wait(&self, signal: &Signal, seen: u64, deadline: Option<Instant>) -> Waited;
}

/// What a caller's wait came to.
pub(crate) enum Waited {
    /// The stream has bytes (or has ended).
    Readable,
    /// The socket's signal moved (or the wait was interrupted): look at the socket again.
    Signalled,
    /// The deadline passed.
    TimedOut,
    /// A signal handler ran (EINTR).
    Interrupted,
}

/// A frame being read on its own, straight into a buffer of its body's size.
struct Direct {
    header: FrameHeader,
    body: Vec<u8>,
}

/// Large bodies' buffers, given back by the last holder of a received body and taken again
/// by the next frame of a size that fits (a connection's large messages are mostly of one
/// size: camera frames, file chunks).
///
/// Without it every large body was a fresh allocation freed by another thread (the one that
/// received it), and glibc's malloc gave such chunks back to the kernel and faulted them in
/// again: `local_thr` at tcp 64 KiB took several times libzmq's page faults, and its speed
/// depended on how many (BENCHMARKS.md, the fifth session of 2026-12-06). What a connection
/// keeps is bounded: [`POOL_BYTES`] in all, none larger than [`POOL_BODY`]; the reader runs
/// ahead of the consumer by up to the receive HWM, so the pool keeps many rather than a few.
#[derive(Default)]
struct BodyPool {
    free: parking_lot::Mutex<Vec<Vec<u8>>>,
}

/// The most buffer memory a connection keeps for its large bodies.
const POOL_BYTES: usize = 2 * 1024 * 1024;
/// The largest body whose buffer is kept.
const POOL_BODY: usize = 1024 * 1024;

impl BodyPool {
    /// An empty buffer with room for `len` bytes and not much more (a read fills all of its
    /// room, and what lands past the body is copied back to the read buffer).
    fn take(&self, len: usize) -> Vec<u8> {
        if len <= POOL_BODY {
            let mut free = self.free.lock();
            if let Some(i) = free.iter().position(|v| (len..=len + len / 16).contains(&v.capacity())) {
                let mut v = free.swap_remove(i);
                v.clear();
                return v;
            }
        }
        Vec::with_capacity(len)
    }

    /// A received body whose buffer comes back to `pool` when its last holder drops it.
    fn body(pool: &Arc<BodyPool>, body: Vec<u8>) -> Bytes {
        if body.capacity() > POOL_BODY {
            return Bytes::from(body);
        }
        Bytes::from_owner(Pooled { body, pool: Arc::downgrade(pool) })
    }

    /// Keep `v` if there is room for it.
    fn give_back(&self, v: Vec<u8>) {
        let mut free = self.free.lock();
        let kept: usize = free.iter().map(Vec::capacity).sum();
        if kept + v.capacity() <= POOL_BYTES {
            free.push(v);
        }
    }
}

/// A received large body, owned by a `Bytes` until its last holder drops it.
struct Pooled {
    body: Vec<u8>,
    pool: std::sync::Weak<BodyPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.give_back(std::mem::take(&mut self.body));
        }
    }
}

/// What the holder of the right to read works on.
#[derive(Default)]
pub(crate) struct FeedState {
    /// Read, not yet decoded (a frame not whole yet).
    rbuf: BytesMut,
    /// Decoded, not yet in the pipe (it was full).
    pub batch: VecDeque<Msg>,
    direct: Option<Direct>,
    /// The last read finished a body read on its own: keep the next read short.
    after_direct: bool,
    /// How the connection ended, met by whoever read last (the engine ends with it once the
    /// messages decoded before it are in the pipe).
    pub end: Option<End>,
    /// Callers that came for the right (wrapping), and their number at the engine's last look.
    calls: u64,
    calls_seen: u64,
    /// The buffers of large bodies read on their own, for reuse.
    bodies: Arc<BodyPool>,
}

/// Where the next read goes.
pub(crate) enum Target<'a> {
    /// Into the read buffer, with at least `need` bytes of room (reserve `grow` when less),
    /// taking at most `limit`.
    Buf { buf: &'a mut BytesMut, need: usize, grow: usize, limit: usize },
    /// Into a large frame's body, `rest` bytes still to come.
    Body { body: &'a mut Vec<u8>, rest: usize },
}

impl FeedState {
    pub fn new(rbuf: BytesMut, batch: VecDeque<Msg>, end: Option<End>) -> FeedState {
        let mut st = FeedState { rbuf, batch, ..FeedState::default() };
        if let Some(end) = end {
            st.ended(end);
        }
        st
    }

    /// The connection ended (`end`): the messages decoded before it are whole and still go
    /// to the pipe, then the engine ends; the frames of a message the end left unfinished
    /// never will (the pipe rolls back what it took of one), so they go now. (Kept, they
    /// would wait for room in a full pipe, and the connection with them: a PUSH, which never
    /// reads, would hold a broken connection open for good.)
    pub fn ended(&mut self, end: End) {
        while self.batch.back().is_some_and(Msg::more) {
            self.batch.pop_back();
        }
        self.end = Some(end);
    }

    /// Where the next read goes.
    pub fn target(&mut self, input: &dyn Input) -> Target<'_> {
        if self.direct.is_none() {
            let header = input.peek_header(&self.rbuf);
            match header {
                Some(h) if reads_direct(&h, self.rbuf.len()) => {
                    self.rbuf.advance(h.header_len);
                    let mut body = self.bodies.take(h.body_len);
                    body.extend_from_slice(&self.rbuf);
                    self.rbuf.clear();
                    self.direct = Some(Direct { header: h, body });
                }
                _ => {
                    // Room for the whole body of a large frame in progress, else for a chunk;
                    // a body over MAX_RESERVE gets no reservation of its own and the buffer
                    // grows with the bytes that arrive (reserving it on every read that left
                    // less room made the buffer double past MAX_RESERVE on a length field).
                    let pending = header.map_or(0, |h| (h.header_len + h.body_len).saturating_sub(self.rbuf.len()));
                    let body = if pending > MAX_RESERVE { 0 } else { pending };
                    let limit = if std::mem::take(&mut self.after_direct) { AFTER_DIRECT_READ } else { usize::MAX };
                    return Target::Buf {
                        buf: &mut self.rbuf,
                        need: body.max(READ_CHUNK / 4),
                        grow: body.max(READ_CHUNK),
                        limit,
                    };
                }
            }
        }
        let d = self.direct.as_mut().expect("a body read on its own is under way");
        Target::Body { rest: d.header.body_len - d.body.len(), body: &mut d.body }
    }

    /// One read from `stream` into [`FeedState::target`], without waiting: `Ok(0)` at the end
    /// of the stream, `WouldBlock` when nothing is there. Then [`FeedState::absorb`].
    pub fn read_fd(&mut self, stream: &dyn Source, input: &dyn Input) -> io::Result<usize> {
        match self.target(input) {
            Target::Buf { buf, need, grow, limit } => {
                if limit < need {
                    let mut scratch = [0u8; AFTER_DIRECT_READ];
                    let n = stream.read_slice(&mut scratch[..limit.min(AFTER_DIRECT_READ)])?;
                    buf.extend_from_slice(&scratch[..n]);
                    Ok(n)
                } else {
                    stream.read_buf(buf, need, grow)
                }
            }
            Target::Body { body, .. } => stream.read_vec(body),
        }
        .inspect(|_| self.trim_body())
    }

    /// One read ([`FeedState::read_fd`]) and the decoding of what it completes
    /// ([`FeedState::absorb`]); the end of the stream, a failed read and the peer breaking the
    /// protocol become [`FeedState::end`]. `Err` (`WouldBlock`) only when nothing was there.
    pub fn read_once(&mut self, stream: &dyn Source, input: &dyn Input) -> io::Result<()> {
        match self.read_fd(stream, input) {
            Ok(0) => self.ended(End::Disconnected("peer closed the connection".into())),
            Ok(_) => {
                if let Err(end) = self.absorb(input) {
                    self.ended(end);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(e),
            Err(e) => self.ended(End::Disconnected(e.to_string())),
        }
        Ok(())
    }

    /// A body's vector may have had room past the body, and a read may have filled it: what
    /// came after the body is the next frame's.
    fn trim_body(&mut self) {
        if let Some(d) = &mut self.direct
            && d.body.len() > d.header.body_len
        {
            self.rbuf.extend_from_slice(&d.body[d.header.body_len..]);
            d.body.truncate(d.header.body_len);
        }
    }

    /// After a read of one or more bytes into the target: decode what is whole.
    pub fn absorb(&mut self, input: &dyn Input) -> Result<(), End> {
        match &self.direct {
            None => input.input(&mut self.rbuf, &mut self.batch),
            Some(d) if d.body.len() < d.header.body_len => {
                input.on_read();
                Ok(())
            }
            Some(_) => {
                let Direct { header, body } = self.direct.take().expect("just matched");
                self.after_direct = true;
                let frame =
                    Frame { more: header.more, command: header.command, body: BodyPool::body(&self.bodies, body) };
                input.input_frame(frame, &mut self.batch)?;
                // Bytes read past the body (see `read_fd`).
                if self.rbuf.is_empty() { Ok(()) } else { input.input(&mut self.rbuf, &mut self.batch) }
            }
        }
    }

    /// Put the decoded messages into `queue`; what it has no room for stays. (A queue whose
    /// socket is gone takes nothing and wants nothing: the batch is dropped.)
    pub fn hand_over(&mut self, queue: &Queue) {
        if !self.batch.is_empty() && !queue.push_batch(&mut self.batch) {
            self.batch.clear();
        }
    }
}

/// Should the frame with header `h`, of which `buffered` bytes (header included) are in the
/// read buffer, be read into a buffer of its own? When its body is large, within the
/// reservation cap (a larger one grows with the bytes that arrive, in the read buffer), and
/// not whole yet. What is buffered is copied, however much: completing the frame in the read
/// buffer instead copies at least as much (a read buffer that frames were split from is
/// shared, and its unread part moves to a new allocation to make room), and the read after it,
/// a whole chunk, ends inside the next large frame, which then goes the same way: with 64 KiB
/// messages over tcp, a copy of a part of every other body (12% of the receiving process's samples).
/// Read direct, a body is followed by a short read ([`AFTER_DIRECT_READ`]), so the next one is
/// read direct with next to nothing buffered.
fn reads_direct(h: &FrameHeader, buffered: usize) -> bool {
    (DIRECT_BODY..=MAX_RESERVE).contains(&h.body_len) && buffered - h.header_len < h.body_len
}

/// Make room in the read buffer for the next read: `grow` more when less than `need` is left.
pub(crate) fn make_room(rbuf: &mut BytesMut, need: usize, grow: usize) {
    if rbuf.capacity() - rbuf.len() < need {
        rbuf.reserve(grow);
    }
}

/// The reading side of one connection, shared by its engine and the callers that receive
/// from it (through the pipe, as its [`pipe::Feed`]).
pub(crate) struct Feed<I: Input, S: Source> {
    /// The right to read (see the module's doc).
    pub state: Mutex<FeedState>,
    pub input: I,
    /// The connection, when callers may read it (a tcp or ipc one); without it, the engine
    /// reads its stream itself, outside the lock ([`EngineStep::Read`]).
    stream: Option<Arc<S>>,
    /// The engine's signal: what a caller leaves is handed over through it.
    engine: Arc<Signal>,
    /// The engine has ended: nobody reads any more.
    closed: AtomicBool,
    /// The engine is trying for the right, and may have found it taken (rule 4).
    refused: AtomicBool,
    /// A caller found the right taken while the connection was lent: the engine takes the
    /// connection back (rule 5).
    turned_away: AtomicBool,
    /// The read events are away from the engine while nobody holds the right: the connection
    /// is lent to the callers (rule 5). Changed only under the right; read also without it
    /// ([`pipe::Feed::give_back`]).
    lent: AtomicBool,
    /// A socket asked for a lent connection back ([`pipe::Feed::give_back`]).
    back: AtomicBool,
    /// The socket let go of the connection's endpoint (unbind, disconnect): its engine is being
    /// dropped and nobody hands anything over any more (set by the socket, before it drops the
    /// engine's task).
    stopped: Arc<std::sync::atomic::AtomicBool>,
}

/// How long a caller waits: until `signal` moves past `seen`, or `deadline`.
#[derive(Clone, Copy)]
struct Until<'a> {
    signal: &'a Signal,
    seen: u64,
    deadline: Option<Instant>,
}

/// What the engine's reader does next (from [`Feed::engine_step`]).
pub(crate) enum EngineStep {
    End(End),
    /// It read: go on (within the task's budget).
    Again,
    /// The pipe is at its HWM with messages left over: wait for room (the signal).
    Full,
    /// Nothing to read, or a caller holds the right: wait for bytes or the signal; when the
    /// connection is lent to the callers (`lent`), for [`LEND_TICK`] at most (no bytes wake
    /// the engine then), and step next with `tick`.
    Wait {
        lent: bool,
    },
    /// A stream without a [`Source`]: read it (the engine alone reads such a stream).
    Read,
}

impl<I: Input, S: Source> Feed<I, S> {
    pub fn new(
        state: FeedState,
        input: I,
        stream: Option<Arc<S>>,
        engine: Arc<Signal>,
        stopped: Arc<std::sync::atomic::AtomicBool>,
    ) -> Feed<I, S> {
        Feed {
            state: Mutex::new(state),
            input,
            stream,
            engine,
            closed: AtomicBool::new(false),
            refused: AtomicBool::new(false),
            turned_away: AtomicBool::new(false),
            lent: AtomicBool::new(false),
            back: AtomicBool::new(false),
            stopped,
        }
    }

    /// Has the engine ended, or is it being dropped?
    fn is_closed(&self) -> bool {
        self.closed.load(SeqCst) || self.stopped.load(SeqCst)
    }

    /// The engine has ended (call after the pipe stopped offering the feed).
    pub fn close(&self) {
        self.closed.store(true, SeqCst);
    }

    /// The engine's turn: under the right to read, if it is free, take back a connection lent
    /// to the callers if asked to or if none came since the last `tick` (rule 5), hand over
    /// what was decoded (the engine's or a caller's), end as a caller found, or read once.
    /// Read the signal's number before calling this (rule 4).
    pub fn engine_step(&self, queue: &Queue, tick: bool) -> EngineStep {
        // Said before trying (rule 4): a caller that holds the right sees it when it lets go.
        self.refused.store(true, SeqCst);
        fence(SeqCst);
        let Some(mut st) = self.state.try_lock() else {
            // A caller reads: it hands back what it leaves and wakes the engine (rule 4).
            return EngineStep::Wait { lent: false };
        };
        self.refused.store(false, SeqCst);
        if self.lent.load(SeqCst)
            && (self.back.swap(false, SeqCst)
                || (tick && st.calls == st.calls_seen)
                || self.turned_away.swap(false, SeqCst))
        {
            self.lent.store(false, SeqCst);
            if let Some(stream) = self.stream.as_deref()
                && let Err(e) = stream.arm()
            {
                return EngineStep::End(End::Disconnected(e.to_string()));
            }
        }
        if tick {
            st.calls_seen = st.calls;
        }
        st.hand_over(queue);
        if !st.batch.is_empty() {
            return EngineStep::Full;
        }
        // The messages decoded before an error are whole and delivered (as libzmq, which
        // pushes each message as it decodes it); a message left open by the error is rolled
        // back when the engine ends.
        if let Some(end) = st.end.take() {
            return EngineStep::End(end);
        }
        if self.lent.load(SeqCst) && queue.has_unread() {
            // Lent, a caller came since the last look, and messages wait for the callers:
            // they read when they have taken them (rule 5). Read here, the engine would fill
            // the pipe from under them, and a receiver keeping up with a stream would then
            // wake it at every low-water mark. Unless a caller came for the right while this
            // step held it: after letting go, a look (the caller's mirror of rule 4), and if
            // one did, the engine steps again and takes the connection back (above).
            drop(st);
            return self.wait_lent();
        }
        let Some(stream) = self.stream.as_deref() else { return EngineStep::Read };
        // What was read, and an end met, are handed over at the next step.
        match st.read_once(stream, &self.input) {
            Ok(()) => EngineStep::Again,
            // Nothing to read. A caller that came for the right while this read held it was
            // turned away and waits for the connection's readiness, which a lent connection's
            // engine does not arm: the same look after letting go as above, or that caller
            // would wait for the next tick.
            Err(_) if self.lent.load(SeqCst) => {
                drop(st);
                self.wait_lent()
            }
            Err(_) => EngineStep::Wait { lent: false },
        }
    }

    /// The engine's step ends, lent, without the right (let go by the caller of this): unless
    /// a caller was turned away while the step held it, which the engine looks for now (a
    /// fence, then a load: the caller's mirror of rule 4), and then steps again to take the
    /// connection back.
    fn wait_lent(&self) -> EngineStep {
        fence(SeqCst);
        if self.turned_away.load(SeqCst) { EngineStep::Again } else { EngineStep::Wait { lent: true } }
    }

    /// A caller holding the right: read until a message is in `queue`, the connection ends,
    /// the signal moves, the deadline passes or a signal handler runs, taking the socket's
    /// events from the engine before it waits (`disarmed` says whether they are away).
    /// `Ok` when it read something that completed a message or the connection's end.
    fn read_for(
        &self,
        st: &mut FeedState,
        stream: &S,
        queue: &Queue,
        disarmed: &mut bool,
        until: Until<'_>,
    ) -> Result<(), Fed> {
        // On one CPU, a caller that just wrote to the peer (a request, a reply) finds
        // nothing yet: the peer has not run since. It lets the peer answer first, and reads
        // once instead of twice (a read, the yield below, a read).
        let mut yielded = self.input.awaits_answer() && crate::signal::yield_if_one_cpu();
        loop {
            match st.read_once(stream, &self.input) {
                Ok(()) => {
                    #[cfg(test)]
                    tests::CALLER_READS.with(|n| n.set(n.get() + 1));
                    if !st.batch.is_empty() || st.end.is_some() {
                        if self.is_closed() {
                            // The engine ended meanwhile, or is being dropped: nothing
                            // more is handed over from this connection.
                            st.batch.clear();
                        }
                        st.hand_over(queue);
                        return Ok(());
                    }
                    // A frame not whole yet: read on.
                }
                Err(_) => {
                    if until.deadline.is_some_and(|d| Instant::now() >= d) {
                        // Past its deadline (a give-back's one look): no wait.
                        return Err(Fed::TimedOut);
                    }
                    // On one CPU, the peer this caller just wrote to may be runnable here:
                    // once per call, let it answer before paying for a poll(2)'s sleep.
                    if !yielded && crate::signal::yield_if_one_cpu() {
                        yielded = true;
                        continue;
                    }
                    if !*disarmed {
                        // Only now: bytes that come after this wake only this caller (bytes
                        // that came before it woke the engine, which finds the right taken;
                        // poll(2) reports them to this caller at once).
                        if stream.disarm().is_err() {
                            return Err(Fed::Again);
                        }
                        *disarmed = true;
                    }
                    match stream.wait(until.signal, until.seen, until.deadline) {
                        Waited::Readable => {}
                        Waited::Signalled => return Err(Fed::Again),
                        Waited::TimedOut => return Err(Fed::TimedOut),
                        Waited::Interrupted => return Err(Fed::Interrupted),
                    }
                }
            }
        }
    }
}

impl<I: Input, S: Source> Feed<I, S> {
    /// A caller's turn at the connection (rules 2 to 5): take the right if free, read until
    /// `until`, hand over; then lend the connection if `may_lend` and a message came, else
    /// give the events back. `None` when the connection was not the caller's to read.
    fn attempt(&self, queue: &Queue, until: Until<'_>, may_lend: bool) -> Option<Fed> {
        let stream = self.stream.as_deref()?;
        if queue.has_unread() {
            // A message the socket did not take (not its turn): not the connection's to fix.
            return None;
        }
        let mut st = match self.state.try_lock() {
            Some(st) => st,
            None if self.lent.load(SeqCst) => {
                // Lent, so the engine holding the right does not read for this caller unless
                // told (rule 5): say so, then try again. Either this try finds the right free,
                // or the engine, looking after it lets go, finds the word, takes the
                // connection back and reads it.
                self.turned_away.store(true, SeqCst);
                fence(SeqCst);
                self.state.try_lock()?
            }
            None => return None,
        };
        st.calls = st.calls.wrapping_add(1);
        let was_lent = self.lent.load(SeqCst);
        let mut disarmed = was_lent;
        let (fed, received) = if self.is_closed() || st.end.is_some() {
            // The engine's to finish (it is told below, again: it may have read its signal's
            // number after the caller that left this told it, and then found the right taken).
            (None, false)
        } else if st.batch.is_empty() {
            match self.read_for(&mut st, stream, queue, &mut disarmed, until) {
                Ok(()) => {
                    // Found bytes waiting, so the events are still the engine's: taken away now
                    // too, so that the connection is lent (rule 5) and a receiver that keeps up
                    // with a stream is not raced for it by an engine woken for every arrival.
                    if may_lend && !disarmed && stream.disarm().is_ok() {
                        disarmed = true;
                    }
                    (Some(Fed::Again), true)
                }
                Err(fed) => (Some(fed), false),
            }
        } else {
            // A batch the engine could not hand over at the HWM: there is room now.
            st.hand_over(queue);
            (Some(Fed::Again), true)
        };
        // Rule 3: let go, then give the events back, then hand over what is left. Every time:
        // whoever finds something left and lets go tells the engine. Unless the caller
        // received, and nothing is left: then the connection stays lent (rule 5).
        let left = st.end.is_some() || !st.batch.is_empty();
        let lend = may_lend && disarmed && received && !left && !self.is_closed();
        self.lent.store(lend, SeqCst);
        let newly_lent = lend && !was_lent;
        if newly_lent {
            // A request to give back made before this lending is answered.
            self.back.store(false, SeqCst);
        }
        drop(st);
        let armed = if disarmed && !lend { stream.arm() } else { Ok(()) };
        // After letting go (rule 4): the engine tried for the right meanwhile.
        fence(SeqCst);
        let refused = self.refused.swap(false, SeqCst);
        if left || refused || armed.is_err() || newly_lent {
            // (An epoll set that cannot be changed: the engine reads from its signal on. A
            // connection newly lent: the engine starts its ticks.)
            self.engine.notify();
        }
        fed
    }
}

impl<I: Input, S: Source> pipe::Feed for Feed<I, S> {
    fn feed(&self, queue: &Queue, signal: &Signal, seen: u64, deadline: Option<Instant>) -> Option<Fed> {
        self.attempt(queue, Until { signal, seen, deadline }, true)
    }

    fn give_back(&self, queue: &Queue, signal: &Signal) -> bool {
        if !self.lent.load(SeqCst) {
            return false;
        }
        // What arrived while the connection was lent is read now, as by a receive already
        // past its deadline (one look, no wait), which then gives the events back itself: so
        // the socket's answer (ZMQ_EVENTS, a poll) counts what the kernel holds, as it would
        // had the engine been reading. If the right is taken, or a message waits in the
        // queue, the engine takes the connection back instead (rule 5).
        let until = Until { signal, seen: signal.seq(), deadline: Some(Instant::now()) };
        match self.attempt(queue, until, false) {
            None => {
                self.back.store(true, SeqCst);
                self.engine.notify();
                false
            }
            fed => fed == Some(Fed::Again),
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Source for crate::transport::FdStream {
    fn read_buf(&self, buf: &mut BytesMut, need: usize, grow: usize) -> io::Result<usize> {
        crate::transport::FdStream::read_buf(self, buf, need, grow)
    }
    fn read_vec(&self, v: &mut Vec<u8>) -> io::Result<usize> {
        crate::transport::FdStream::read_vec(self, v)
    }
    fn read_slice(&self, buf: &mut [u8]) -> io::Result<usize> {
        crate::transport::FdStream::read_slice(self, buf)
    }
    fn disarm(&self) -> io::Result<()> {
        crate::transport::FdStream::disarm(self)
    }
    fn arm(&self) -> io::Result<()> {
        crate::transport::FdStream::arm(self)
    }
    fn wait(&self, signal: &Signal, seen: u64, deadline: Option<Instant>) -> Waited {
        use crate::transport::fd_stream::Woken;
        match crate::transport::FdStream::wait(self, signal, seen, deadline) {
            Woken::Readable => Waited::Readable,
            Woken::Signalled => Waited::Signalled,
            Woken::TimedOut => Waited::TimedOut,
            Woken::Interrupted => Waited::Interrupted,
        }
    }
}

/// Where there is no epoll there is no `FdStream` (`transport::into_fd_stream` keeps every
/// stream in its halves), so nothing of this is ever called.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl Source for crate::transport::FdStream {
    fn read_buf(&self, _: &mut BytesMut, _: usize, _: usize) -> io::Result<usize> {
        match *self {}
    }
    fn read_vec(&self, _: &mut Vec<u8>) -> io::Result<usize> {
        match *self {}
    }
    fn read_slice(&self, _: &mut [u8]) -> io::Result<usize> {
        match *self {}
    }
    fn disarm(&self) -> io::Result<()> {
        match *self {}
    }
    fn arm(&self) -> io::Result<()> {
        match *self {}
    }
    fn wait(&self, _: &Signal, _: u64, _: Option<Instant>) -> Waited {
        match *self {}
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #[cfg(not(oxmq_loom))]
    use super::*;

    /// The fakes under the feed's unit tests and its loom models (`loom_models`).
    pub(crate) mod fakes {
        use std::collections::VecDeque;
        use std::sync::Arc;
        use std::task::{Wake, Waker};

        use bytes::Bytes;

        use crate::pipe::Msg;
        use crate::signal::Signal;

        /// The kernel under the feed's models and tests: bytes the peer wrote and nobody read
        /// yet, whether the engine's read events are on (armed), whether the peer closed. Each
        /// byte is one message.
        #[derive(Default)]
        pub(crate) struct Kernel {
            pub data: VecDeque<u8>,
            pub armed: bool,
            pub closed: bool,
            /// Run once by a read that finds nothing, before it says so (a caller arriving
            /// while that read holds the right to read).
            pub on_empty_read: Option<Box<dyn FnOnce() + Send>>,
        }

        /// The connection under the feed's models and tests. A write, or the peer's close,
        /// notifies the engine's signal while armed (its read event), and always `readable`
        /// (what a caller's poll(2) waits on); arming with bytes waiting notifies the engine at
        /// once (the kernel looks).
        pub(crate) struct FakeSource {
            pub kernel: crate::sync::Mutex<Kernel>,
            pub engine: Arc<Signal>,
            pub readable: Arc<Signal>,
        }

        impl FakeSource {
            pub fn peer_writes(&self, byte: Option<u8>) {
                let armed = {
                    let mut k = self.kernel.lock();
                    match byte {
                        Some(b) => k.data.push_back(b),
                        None => k.closed = true,
                    }
                    k.armed
                };
                if armed {
                    self.engine.notify();
                }
                self.readable.notify();
            }
        }

        /// Wakes `readable` (a caller's poll(2) waiting on the socket's signal through a waker).
        struct NotifyWaker(Arc<Signal>);

        impl Wake for NotifyWaker {
            fn wake(self: Arc<Self>) {
                self.0.notify();
            }
        }

        impl crate::engine::feed::Source for FakeSource {
            fn read_buf(&self, buf: &mut bytes::BytesMut, _need: usize, _grow: usize) -> std::io::Result<usize> {
                let mut k = self.kernel.lock();
                if k.data.is_empty() {
                    if let Some(hook) = k.on_empty_read.take() {
                        drop(k);
                        hook();
                        k = self.kernel.lock();
                    }
                    return if k.closed { Ok(0) } else { Err(std::io::ErrorKind::WouldBlock.into()) };
                }
                let n = k.data.len();
                buf.extend(k.data.drain(..));
                Ok(n)
            }
            fn read_vec(&self, _: &mut Vec<u8>) -> std::io::Result<usize> {
                unreachable!("no frame is read on its own in the models")
            }
            fn read_slice(&self, _: &mut [u8]) -> std::io::Result<usize> {
                unreachable!("no frame is read on its own in the models")
            }
            fn disarm(&self) -> std::io::Result<()> {
                self.kernel.lock().armed = false;
                Ok(())
            }
            fn arm(&self) -> std::io::Result<()> {
                let waiting = {
                    let mut k = self.kernel.lock();
                    k.armed = true;
                    !k.data.is_empty() || k.closed
                };
                if waiting {
                    self.engine.notify();
                }
                Ok(())
            }
            fn wait(
                &self,
                signal: &Signal,
                seen: u64,
                _deadline: Option<std::time::Instant>,
            ) -> crate::engine::feed::Waited {
                use crate::engine::feed::Waited;
                let waker = Waker::from(Arc::new(NotifyWaker(self.readable.clone())));
                let mut key = None;
                loop {
                    let seen_readable = self.readable.seq();
                    if !signal.register(&waker, seen, &mut key) {
                        signal.unregister(&mut key);
                        return Waited::Signalled;
                    }
                    {
                        let k = self.kernel.lock();
                        if !k.data.is_empty() || k.closed {
                            drop(k);
                            signal.unregister(&mut key);
                            return Waited::Readable;
                        }
                    }
                    assert!(self.readable.wait(seen_readable, None), "an untimed wait returned false");
                }
            }
        }

        /// Each byte one message.
        pub(crate) struct ByteInput;

        impl crate::engine::feed::Input for ByteInput {
            fn peek_header(&self, _: &[u8]) -> Option<oxmq_wire::FrameHeader> {
                None
            }
            fn input(&self, rbuf: &mut bytes::BytesMut, batch: &mut VecDeque<Msg>) -> Result<(), crate::engine::End> {
                batch.extend(rbuf.split().iter().map(|b| Msg::new(Bytes::copy_from_slice(&[*b]), false)));
                Ok(())
            }
            fn input_frame(&self, _: oxmq_wire::Frame, _: &mut VecDeque<Msg>) -> Result<(), crate::engine::End> {
                unreachable!("no frame is read on its own in the models")
            }
            fn on_read(&self) {}
        }
    }

    thread_local! {
        /// Reads this thread made as a receiving caller.
        pub static CALLER_READS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    #[cfg(not(oxmq_loom))]
    fn caller_reads() -> u64 {
        CALLER_READS.with(|n| n.get())
    }

    /// Request-reply over tcp and ipc: the blocking receives of both sides read their
    /// connection themselves (every reply and request, small and large, multipart, in order).
    #[test]
    #[cfg(not(oxmq_loom))]
    fn blocking_receives_read_their_connection_on_the_calling_thread() {
        use crate::{Context, SocketType};
        let dir = std::env::temp_dir().join(format!("oxmq-feed-{}", std::process::id()));
        for ep in ["tcp://127.0.0.1:*".to_string(), format!("ipc://{}", dir.display())] {
            let ctx = Context::new();
            let rep = ctx.socket(SocketType::Rep).unwrap();
            rep.bind(&ep).unwrap();
            let req = ctx.socket(SocketType::Req).unwrap();
            req.connect(&rep.last_endpoint().unwrap()).unwrap();
            let server = std::thread::spawn(move || {
                let before = caller_reads();
                for _ in 0..200 {
                    let m = rep.recv_multipart().unwrap();
                    rep.send_multipart(m).unwrap();
                }
                caller_reads() - before
            });
            let before = caller_reads();
            for i in 0..200usize {
                // Every tenth message has a body read on its own (over DIRECT_BODY).
                let big = vec![(i % 251) as u8; if i % 10 == 0 { DIRECT_BODY * 3 } else { 64 }];
                let parts = vec![bytes::Bytes::from(format!("{i}")), bytes::Bytes::from(big)];
                req.send_multipart(parts.clone()).unwrap();
                assert_eq!(req.recv_multipart().unwrap(), parts, "{ep}: round trip {i}");
            }
            let (client, server) = (caller_reads() - before, server.join().unwrap());
            // Almost all: the I/O thread may read a message that arrives between a caller's
            // receives (it is not in a receive then).
            assert!(client >= 100 && server >= 100, "{ep}: reads by the callers: client {client}, server {server}");
        }
        let _ = std::fs::remove_file(&dir);
    }

    /// A ZMTP byte stream, all of it waiting in the kernel; every read is logged: which kind,
    /// and how many bytes it took.
    #[cfg(not(oxmq_loom))]
    struct LoggedStream {
        bytes: Mutex<VecDeque<u8>>,
        reads: Mutex<Vec<(&'static str, usize)>>,
    }

    #[cfg(not(oxmq_loom))]
    impl LoggedStream {
        fn take(&self, kind: &'static str, room: usize) -> io::Result<Vec<u8>> {
            let mut b = self.bytes.lock();
            if b.is_empty() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = room.min(b.len());
            self.reads.lock().push((kind, n));
            Ok(b.drain(..n).collect())
        }
    }

    #[cfg(not(oxmq_loom))]
    impl Source for LoggedStream {
        fn read_buf(&self, buf: &mut BytesMut, need: usize, grow: usize) -> io::Result<usize> {
            if buf.capacity() - buf.len() < need {
                buf.reserve(grow);
            }
            let got = self.take("buf", buf.capacity() - buf.len())?;
            buf.extend_from_slice(&got);
            Ok(got.len())
        }
        fn read_vec(&self, v: &mut Vec<u8>) -> io::Result<usize> {
            let got = self.take("body", v.capacity() - v.len())?;
            v.extend_from_slice(&got);
            Ok(got.len())
        }
        fn read_slice(&self, buf: &mut [u8]) -> io::Result<usize> {
            let got = self.take("short", buf.len())?;
            buf[..got.len()].copy_from_slice(&got);
            Ok(got.len())
        }
        fn disarm(&self) -> io::Result<()> {
            Ok(())
        }
        fn arm(&self) -> io::Result<()> {
            Ok(())
        }
        fn wait(&self, _: &Signal, _: u64, _: Option<Instant>) -> Waited {
            Waited::TimedOut
        }
    }

    /// ZMTP frames straight to messages (no handshake, no commands).
    #[cfg(not(oxmq_loom))]
    struct Frames(oxmq_wire::Decoder);

    #[cfg(not(oxmq_loom))]
    impl Input for Frames {
        fn peek_header(&self, rbuf: &[u8]) -> Option<FrameHeader> {
            self.0.peek_header(rbuf).unwrap()
        }
        fn input(&self, rbuf: &mut BytesMut, batch: &mut VecDeque<Msg>) -> Result<(), End> {
            self.0.decode_each(
                rbuf,
                |f| {
                    batch.push_back(Msg::new(f.body, f.more));
                    Ok(())
                },
                |e| End::Disconnected(e.to_string()),
            )
        }
        fn input_frame(&self, f: Frame, batch: &mut VecDeque<Msg>) -> Result<(), End> {
            batch.push_back(Msg::new(f.body, f.more));
            Ok(())
        }
        fn on_read(&self) {}
    }

    /// After a body read on its own, the next read takes at most the next frame's header and a
    /// little more, so that a large body after it is read on its own too, with next to
    /// nothing copied; a small frame after it costs one more read.
    #[test]
    #[cfg(not(oxmq_loom))]
    fn a_body_read_on_its_own_is_followed_by_a_short_read() {
        let bodies = [vec![1u8; DIRECT_BODY * 2], vec![2u8; DIRECT_BODY * 3], vec![3u8; DIRECT_BODY], vec![4u8; 100]];
        let mut wire = BytesMut::new();
        for b in &bodies {
            oxmq_wire::encode_frame_header(false, false, b.len(), &mut wire);
            wire.extend_from_slice(b);
        }
        let stream = LoggedStream { bytes: Mutex::new(wire.iter().copied().collect()), reads: Mutex::new(Vec::new()) };
        let input = Frames(oxmq_wire::Decoder::new(None));
        let mut state = FeedState::default();
        while state.read_once(&stream, &input).is_ok() {
            assert!(state.end.is_none());
        }
        let got: Vec<Vec<u8>> = state.batch.iter().map(|m| m.data.to_vec()).collect();
        assert_eq!(got, bodies);

        let reads = stream.reads.lock().clone();
        let mut after_body = 0;
        for (i, pair) in reads.windows(2).enumerate() {
            if pair[0].0 == "body" && pair[1].0 != "body" {
                after_body += 1;
                assert_eq!(pair[1].0, "short", "read {} after a body read on its own: {reads:?}", i + 1);
            }
        }
        for &(kind, n) in &reads {
            assert!(kind != "short" || n <= AFTER_DIRECT_READ, "{reads:?}");
        }
        assert_eq!(after_body, 3, "the three large bodies were read on their own: {reads:?}");
        // Each large body after a short read came almost all by its own read: at most the short
        // read's bytes were copied.
        let copied: usize = reads.windows(2).filter(|p| p[0].0 == "short" && p[1].0 == "body").map(|p| p[0].1).sum();
        assert!(copied <= 2 * AFTER_DIRECT_READ, "{reads:?}");
    }

    /// Only large bodies within the reservation cap, not whole in the read buffer yet, are read
    /// direct.
    #[test]
    #[cfg(not(oxmq_loom))]
    fn which_bodies_are_read_direct() {
        let h = |body_len| FrameHeader { more: false, command: false, header_len: 9, body_len };
        assert!(!reads_direct(&h(DIRECT_BODY - 1), 9));
        assert!(reads_direct(&h(DIRECT_BODY), 9));
        assert!(reads_direct(&h(MAX_RESERVE), 9 + 1000));
        assert!(!reads_direct(&h(MAX_RESERVE + 1), 9), "grows with the bytes that arrive instead");
        assert!(reads_direct(&h(1 << 20), 9 + (1 << 20) - 1), "the rest of a mostly buffered body");
        assert!(!reads_direct(&h(1 << 20), 9 + (1 << 20)), "whole already: split from the read buffer");
    }

    /// An end met with a message left unfinished: the whole messages before it stay for the
    /// pipe, the unfinished one's frames go (they could only wait for room, and never be
    /// delivered).
    #[test]
    #[cfg(not(oxmq_loom))]
    fn an_end_drops_the_frames_of_the_message_it_left_unfinished() {
        let batch: VecDeque<Msg> = [("a", true), ("b", false), ("c", true), ("d", true)]
            .into_iter()
            .map(|(body, more)| Msg::new(body, more))
            .collect();
        let mut st = FeedState::new(BytesMut::new(), batch, Some(End::Protocol("a bad frame".into())));
        let kept: Vec<_> = st.batch.iter().map(|m| (m.data.clone(), m.more())).collect();
        assert_eq!(kept, [(Bytes::from("a"), true), (Bytes::from("b"), false)]);
        assert!(st.end.is_some());
        st.batch.push_back(Msg::new("e", true));
        st.ended(End::Disconnected("closed".into()));
        assert_eq!(st.batch.len(), 2, "every time it ends");
    }

    /// A large body's buffer comes back when the last holder of the body drops it (not while
    /// any holds it), and the next body of a size that fits gets that very buffer; what the
    /// pool keeps is bounded, and a body too large for it, or one outliving its connection,
    /// is simply freed.
    #[cfg(not(oxmq_loom))]
    #[test]
    fn a_large_body_s_buffer_is_reused_once_its_last_holder_drops_it() {
        let pool = Arc::new(BodyPool::default());
        let mut v = pool.take(64 * 1024);
        v.resize(64 * 1024, 7);
        let at = v.as_ptr();
        let body = BodyPool::body(&pool, v);
        let held = body.slice(10..20);
        drop(body);
        let other = pool.take(64 * 1024);
        assert_ne!(other.as_ptr(), at, "still held: not given back");
        drop(other);
        drop(held);
        let again = pool.take(64 * 1024);
        assert_eq!((again.as_ptr(), again.len()), (at, 0), "the same buffer, emptied");
        let other = pool.take(64 * 1024);
        assert_ne!(other.as_ptr(), at, "taken once");
        drop(other);
        // A size that does not fit (much smaller) gets a buffer of its own.
        let mut v = again;
        v.resize(64 * 1024, 1);
        drop(BodyPool::body(&pool, v));
        assert_eq!(pool.take(32 * 1024).capacity(), 32 * 1024);
        // Bounded: POOL_BYTES in all.
        for _ in 0..(POOL_BYTES / (64 * 1024)) + 8 {
            drop(BodyPool::body(&pool, vec![0; 64 * 1024]));
        }
        let kept: usize = pool.free.lock().iter().map(Vec::capacity).sum();
        assert!(kept <= POOL_BYTES, "{kept} kept");
        drop(BodyPool::body(&pool, vec![0; POOL_BODY + 1]));
        assert!(pool.free.lock().iter().all(|v| v.capacity() <= POOL_BODY));
        // The connection gone: the body still reads, and is freed when dropped.
        let body = BodyPool::body(&pool, vec![3; 64 * 1024]);
        drop(pool);
        assert!(body.iter().all(|&b| b == 3));
    }

    /// A feed over the fake connection (armed, nothing written yet), its queue (no HWM), and
    /// the engine's and the socket's signals.
    #[cfg(not(oxmq_loom))]
    struct Fixture {
        engine: Arc<Signal>,
        socket: Arc<Signal>,
        q: Queue,
        source: Arc<fakes::FakeSource>,
        feed: Feed<fakes::ByteInput, fakes::FakeSource>,
    }

    #[cfg(not(oxmq_loom))]
    fn fixture() -> Fixture {
        let (engine, socket) = (Arc::new(Signal::new()), Arc::new(Signal::new()));
        let q = Queue::new(0, engine.clone(), socket.clone());
        let source = Arc::new(fakes::FakeSource {
            kernel: crate::sync::Mutex::new(fakes::Kernel { armed: true, ..fakes::Kernel::default() }),
            engine: engine.clone(),
            readable: Arc::new(Signal::new()),
        });
        let feed =
            Feed::new(FeedState::default(), fakes::ByteInput, Some(source.clone()), engine.clone(), Default::default());
        Fixture { engine, socket, q, source, feed }
    }

    /// Rule 5: a receiving caller that found bytes already waiting (a receiver keeping up with
    /// a stream) takes the read events from the engine after its read, and lends itself the
    /// connection, as one that had to wait for them does; the engine is told, for its ticks.
    #[cfg(not(oxmq_loom))]
    #[test]
    fn a_caller_that_found_bytes_waiting_lends_itself_the_connection() {
        use crate::pipe::Feed as _;
        let Fixture { engine, socket, q, source, feed } = fixture();
        source.peer_writes(Some(1));
        source.peer_writes(Some(2));
        let seen = engine.seq();
        assert_eq!(feed.feed(&q, &socket, socket.seq(), None), Some(Fed::Again));
        assert_eq!(q.len(), 2, "both read by the caller");
        assert!(!source.kernel.lock().armed, "the engine is not woken for what comes next");
        assert!(feed.lent.load(SeqCst), "lent");
        assert!(engine.seq() > seen, "the engine told, for its ticks");
        // Giving it back (the socket is about to poll) arms the events again.
        while q.test_pop().is_some() {}
        assert!(!feed.give_back(&q, &socket), "nothing more arrived");
        assert!(source.kernel.lock().armed && !feed.lent.load(SeqCst));
    }

    /// Rule 5: lent, the connection is read by the callers that come for it, and by the
    /// engine only while no message waits for them. An engine that read it with messages
    /// waiting (at its ticks, or when told it was lent) filled the pipe from under a receiver
    /// keeping up with a stream, which then woke it at every low-water mark: a wake-up and
    /// two context switches for every few hundred messages.
    #[cfg(not(oxmq_loom))]
    #[test]
    fn an_engine_leaves_a_lent_connection_to_the_callers_while_messages_wait_for_them() {
        use crate::pipe::Feed as _;
        let Fixture { socket, q, source, feed, .. } = fixture();
        source.peer_writes(Some(1));
        source.peer_writes(Some(2));
        assert_eq!(feed.feed(&q, &socket, socket.seq(), None), Some(Fed::Again));
        assert!(feed.lent.load(SeqCst), "lent");
        assert_eq!(q.test_pop().expect("the caller's first message").data[0], 1);
        source.peer_writes(Some(3));
        // Told it was lent (the caller notified it), then at a tick after the caller came:
        // message 2 waits for the caller, so the engine reads nothing.
        assert!(matches!(feed.engine_step(&q, false), EngineStep::Wait { lent: true }));
        assert!(matches!(feed.engine_step(&q, true), EngineStep::Wait { lent: true }));
        assert_eq!(source.kernel.lock().data.len(), 1, "the engine read nothing");
        assert_eq!(q.test_pop().expect("the caller's second message").data[0], 2);
        // The caller's next receive reads what came.
        assert_eq!(feed.feed(&q, &socket, socket.seq(), None), Some(Fed::Again));
        assert_eq!(q.test_pop().expect("read by the caller").data[0], 3);
        // Nothing waits for the callers: the engine reads, lent or not.
        source.peer_writes(Some(4));
        assert!(matches!(feed.engine_step(&q, false), EngineStep::Again));
        assert!(feed.lent.load(SeqCst), "still lent");
        assert!(matches!(feed.engine_step(&q, false), EngineStep::Wait { lent: true }));
        assert_eq!(q.test_pop().expect("read by the engine").data[0], 4);
        // A tick with the callers away since the last one: the engine takes it back.
        assert!(matches!(feed.engine_step(&q, true), EngineStep::Wait { lent: true }), "a caller came");
        assert!(matches!(feed.engine_step(&q, true), EngineStep::Wait { lent: false }), "none came");
        assert!(!feed.lent.load(SeqCst) && source.kernel.lock().armed, "taken back");
    }

    /// Rule 5: a caller that finds the right taken while the connection is lent is not left
    /// waiting for bytes nobody reads: the engine, which does not read a lent connection,
    /// takes it back.
    #[cfg(not(oxmq_loom))]
    #[test]
    fn a_caller_turned_away_from_a_lent_connection_has_the_engine_take_it_back() {
        use crate::pipe::Feed as _;
        let Fixture { socket, q, source, feed, .. } = fixture();
        source.peer_writes(Some(1));
        assert_eq!(feed.feed(&q, &socket, socket.seq(), None), Some(Fed::Again));
        q.test_pop().expect("the caller's message");
        source.peer_writes(Some(2));
        {
            // The engine holds the right (a step that hands over, say).
            let _held = feed.state.lock();
            assert_eq!(feed.feed(&q, &socket, socket.seq(), None), None, "turned away");
        }
        assert!(feed.turned_away.load(SeqCst));
        assert!(matches!(feed.engine_step(&q, false), EngineStep::Again), "taken back and read");
        assert!(!feed.lent.load(SeqCst) && source.kernel.lock().armed);
        // What it read is handed over at its next step.
        assert!(matches!(feed.engine_step(&q, false), EngineStep::Wait { lent: false }));
        assert_eq!(q.test_pop().expect("read by the engine").data[0], 2);
    }

    /// Rule 5, the engine reading a lent connection (no message waits for the callers) and
    /// finding nothing: a caller turned away during that read is not left waiting for the
    /// engine's next tick (a millisecond), since the engine looks after letting go.
    #[cfg(not(oxmq_loom))]
    #[test]
    fn a_caller_turned_away_while_the_engine_reads_a_lent_connection_is_not_left_waiting() {
        use crate::pipe::Feed as _;
        let Fixture { socket, q, source, feed, .. } = fixture();
        let (q, feed) = (Arc::new(q), Arc::new(feed));
        source.peer_writes(Some(1));
        assert_eq!(feed.feed(&q, &socket, socket.seq(), None), Some(Fed::Again));
        q.test_pop().expect("the caller's message");
        assert!(feed.lent.load(SeqCst), "lent");
        // The engine reads (nothing waits for the callers) and finds nothing; meanwhile a
        // caller comes for the right and is turned away.
        let (caller_feed, caller_q, caller_socket) = (feed.clone(), q.clone(), socket.clone());
        source.kernel.lock().on_empty_read = Some(Box::new(move || {
            let seen = caller_socket.seq();
            assert_eq!(caller_feed.feed(&caller_q, &caller_socket, seen, None), None, "turned away");
        }));
        assert!(matches!(feed.engine_step(&q, false), EngineStep::Again), "steps again to take it back");
        assert!(matches!(feed.engine_step(&q, false), EngineStep::Wait { lent: false }));
        assert!(
            !feed.lent.load(SeqCst) && source.kernel.lock().armed,
            "taken back: the engine is woken for what comes"
        );
    }
}
