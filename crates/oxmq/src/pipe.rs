//! Pipes: the bounded queues between a socket and one peer.
//!
//! A [`Pipe`] is one end of a pair of [`Queue`]s, one per direction. The socket holds one end;
//! the other is held by the engine that drives the peer's connection, or, for inproc, by the
//! peer socket itself (so inproc moves `Bytes` from socket to socket with no copy).
//!
//! Queue rules, as libzmq's pipes have them:
//! - The high-water mark counts whole messages. Once a message's first frame is accepted its
//!   remaining frames always are, so a multipart message is never split by the HWM.
//! - A reader sees only complete messages. A writer that goes away mid-message has its partial
//!   message rolled back.
//! - The reader is woken only when a message completes while it is idle (it last found
//!   nothing); a blocked writer only when the queue drains to its low-water mark.
//! - A reader may offer itself to the writer ([`Drain`]): to take the queue on the writer's
//!   thread instead of being woken, and to have one-frame messages *packed* in its own
//!   encoding while nothing else is queued (bytes that go before every frame, counted for the
//!   HWM as messages). The ZMTP engine does both (`engine::drive`).
//!
//! How the two ends stay off each other's cache lines (the lock they share is what inproc
//! throughput was spent on):
//! - The writer appends under the shared lock. The reader takes every complete message at once
//!   into a cache of its own and reads from there: one shared lock per batch, not per frame.
//!   The cache ([`ReaderCache`]) is kept by the reader, beside its end of the pipe, under a
//!   lock it holds anyway (a pattern's under the socket's, the engine's under the right to
//!   write), and handed to every reading call: reading a frame takes no lock of the pipe's.
//! - The HWM count is exact without that lock: the writer counts messages completed, the
//!   reader publishes a count of messages read (an atomic on its own line). The writer looks
//!   at the reader's count only when its own figures say the queue is full, and a refused
//!   writer and a reader whose cache has run dry meet in a `SeqCst` handshake (the writer's
//!   flag then its look at the count; the reader's count, a fence, then its look at the
//!   flag), so neither can miss the other (`Queue::count_read`).
//! - A reader that found nothing marks itself idle, and notes a counter the writer bumps when
//!   it wakes an idle reader. Until the counter moves, the reader (polling, or fair-queueing
//!   over many pipes) knows there is nothing without taking the lock away from the writer.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::properties::Properties;
use crate::signal::Signal;
use crate::sync::{AtomicBool, AtomicU64, Mutex, SpinMutex, fence};

/// One frame of a message, as it moves through pipes.
///
/// The MORE flag is a whole word ([`Flag`]) rather than a `bool`: with a `bool`, the frame
/// had seven bytes of padding, which every layer of a receive copied with two overlapping
/// 4-byte moves; the next layer's load across both stores then waited for them to retire
/// (a store-forwarding stall, the largest cost the 64 B receiver's profile showed per layer).
/// A word is copied with one 8-byte move, and its unused values still give `Option<Msg>` and
/// `Result<Msg, _>` their tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Msg {
    pub data: Bytes,
    flag: Flag,
}

/// A frame's MORE flag, a word wide (see [`Msg`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
enum Flag {
    Last = 0,
    More = 1,
}

impl From<bool> for Flag {
    #[inline]
    fn from(more: bool) -> Flag {
        if more { Flag::More } else { Flag::Last }
    }
}

impl Msg {
    #[inline]
    pub fn new(data: impl Into<Bytes>, more: bool) -> Msg {
        Msg { data: data.into(), flag: more.into() }
    }

    /// Do more frames of the same message follow?
    #[inline]
    pub fn more(&self) -> bool {
        self.flag == Flag::More
    }

    /// The frame's body and MORE flag.
    #[inline]
    pub fn into_parts(self) -> (Bytes, bool) {
        let more = self.more();
        (self.data, more)
    }

    /// Mark the frame as (not) the last of its message.
    #[inline]
    pub fn set_more(&mut self, more: bool) {
        self.flag = more.into();
    }
}

/// A frame's body, without its MORE flag (the receive calls that return whole messages).
impl From<Msg> for Bytes {
    fn from(m: Msg) -> Bytes {
        m.data
    }
}

pub(crate) type PipeId = u64;

/// A std atomic even under loom (see `crate::sync`): it only hands out distinct ids.
static NEXT_PIPE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// What a socket knows about the peer at the other end of a pipe.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerInfo {
    /// The routing id the peer announced (ZMTP Identity, or the inproc peer's ROUTING_ID).
    pub routing_id: Option<Bytes>,
}

/// A queue's reader that can also take the queue's messages on the writer's thread, when the
/// writer's push would otherwise wake it: the ZMTP engine lets a sending caller encode and
/// write its messages itself (`engine::drive`, where the rule of who writes is).
pub(crate) trait Drain: Send + Sync {
    /// A message completed for the idle reader: take what is queued now, on this thread.
    /// False if the reader must still be woken (the queue then notifies it). `last` is the
    /// size of the frame whose push completed the message (0 if not a push): a hint.
    fn drain(&self, queue: &Queue, last: usize) -> bool;
    /// Before a push, under the queue's lock, while nothing is queued ahead of it: append
    /// this one-frame message, in the reader's own encoding, to the queue's `packed` bytes,
    /// which the reader takes before any frame ([`Queue::pop_packed_and_batch`]); counted for the
    /// HWM as any message. False to queue it as a frame instead. (The ZMTP drive packs a
    /// one-way stream's messages, so that the sender frees each body on its own thread:
    /// `engine::drive`, "Packing".)
    fn pack(&self, msg: &Msg, packed: &mut BytesMut) -> bool;
    /// When this many bytes (packed, or frames' bodies) have been pushed since the reader last
    /// took any, they are offered to [`write_queued`](Self::write_queued) on the writer's
    /// thread, and again each time this much more is pushed before the reader takes some
    /// (`usize::MAX`: never). Asked once, when the drain is set.
    fn writes_queued_at(&self) -> usize;
    /// The bytes pushed reached [`writes_queued_at`](Self::writes_queued_at) (or that much
    /// more than at the last offer), or the queue is `full` ([`writes_when_full`](Self::writes_when_full)),
    /// while the reader was already woken for them:
    /// take what is queued now, on this thread. False if the reader must be woken again (the
    /// queue then notifies it). (The ZMTP drive writes an ipc stream's batches on the sending
    /// thread this way: `engine::drive`, "Packing".)
    fn write_queued(&self, queue: &Queue, full: bool) -> bool;
    /// A push found the queue full (at its HWM) with fewer bytes than this queued (packed, or
    /// frames' bodies) while the reader was woken for them: they are offered to
    /// [`write_queued`](Self::write_queued) on the writer's thread before the writer waits
    /// for room (0: never). Asked once, when the drain is set.
    fn writes_when_full(&self) -> usize;
}

/// A queue's writer that the reader can also drive on the reader's thread, when the reader
/// would otherwise wait for it: the ZMTP engine lets a receiving caller that finds nothing
/// queued read and decode its connection itself (`engine::feed`, where the rule of who reads
/// is).
pub(crate) trait Feed: Send + Sync {
    /// The reader found no complete message in `queue` and would block: wait for the
    /// connection's bytes, or for `signal` to move past `seen`, until `deadline`, and put what
    /// arrives into `queue`. `None` when the connection is not the caller's to read now (it
    /// then waits on `signal` as it would without a feed).
    fn feed(&self, queue: &Queue, signal: &Signal, seen: u64, deadline: Option<Instant>) -> Option<Fed>;
    /// The reader is about to wait for the queue, or report on it, some other way (the
    /// signal, readiness): if the connection was left lent to receiving callers, what arrived
    /// meanwhile is read into `queue` now (without waiting; `signal` is the reader's), and
    /// the connection goes back to its engine (the queue's writer). True if that put a
    /// message in `queue`.
    fn give_back(&self, queue: &Queue, signal: &Signal) -> bool;
}

/// What a [`Feed::feed`] came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fed {
    /// Something happened (a message, the signal moved): look at the queue again.
    Again,
    /// The deadline passed with nothing.
    TimedOut,
    /// A signal handler ran during the wait (poll(2)'s EINTR).
    Interrupted,
}

/// Why a push did not happen.
#[derive(Debug)]
pub(crate) enum PushError {
    /// At the high-water mark; the message is handed back.
    Full(Msg),
    /// The reader went away; the message is handed back.
    Closed(Msg),
}

/// The part of a queue the writer works in, under one lock: frames appended and not yet taken
/// by the reader, and the writer's side of the HWM count.
struct State {
    frames: VecDeque<Msg>,
    /// Frames at the front that belong to complete messages: what the reader may take.
    complete_frames: usize,
    /// Complete messages ever appended, and ever dropped unread (CONFLATE). With the reader's
    /// count of messages read ([`ReaderSide::read`]), these give the HWM count: messages
    /// complete and not yet read, wherever they are (here or in the reader's cache).
    appended: u64,
    dropped: u64,
    /// The writer's last look at [`ReaderSide::read`]: it looks again only when this says the
    /// queue is full, so it does not pull the reader's cache line over for every message.
    read_seen: u64,
    writer_in_msg: bool,
    /// The reader last found no complete message, so it may be waiting for one: the writer
    /// wakes it with the next one. (Not "the queue was empty": a reader busy with its cache
    /// needs no wake-up.)
    reader_idle: bool,
    writer_closed: bool,
    reader_closed: bool,
    /// Woken when a complete message appears, or the writer closes.
    reader: Arc<Signal>,
    /// Woken when a blocked writer may go on, or the reader closes.
    writer: Arc<Signal>,
    hwm: usize,
    lwm: usize,
    /// CONFLATE: keep only the newest complete message (no HWM).
    conflate: bool,
    /// Offered the queue instead of waking the reader (see [`Drain`]).
    drain: Option<Arc<dyn Drain>>,
    /// Messages the drain packed ([`Drain::pack`]): all of them before every frame in
    /// `frames`, as a message is packed only when `frames` is empty.
    packed: BytesMut,
    /// The drain's [`Drain::writes_queued_at`] (`usize::MAX` without a drain), and the value
    /// of `queued` at which it is next offered the queue (that, or that much more than at the
    /// last offer, until the reader takes some).
    write_queued_at: usize,
    write_queued_next: usize,
    /// [`Drain::writes_when_full`] of the drain: a push refused at the HWM with fewer bytes
    /// than this queued offers them to the drain (0: never).
    write_when_full: usize,
    /// Bytes pushed (packed, or frames' bodies) since the reader last took any.
    queued: usize,
    /// Complete messages in `packed`.
    packed_msgs: u64,
    /// Offered to a reader that would wait for the writer (see [`Feed`]).
    feed: Option<Arc<dyn Feed>>,
}

impl State {
    /// Complete messages not yet read, as far as the writer knows.
    fn unread(&self) -> u64 {
        self.appended - self.dropped - self.read_seen
    }
}

/// A queue's reader's own state, kept by the reader beside the queue (in a pattern's entry
/// for the pipe, in the engine's drive), not in it: so that reading takes no lock the reader
/// does not already hold (the socket's, the drive's). Every reading call of a [`Queue`]
/// takes it, and one queue is read with one cache at a time; a reader that goes away with
/// messages in its cache leaves them unread (as closing the reader drops them anyway), and
/// a new one starts with an empty cache.
///
/// Mostly whole messages taken from [`State`] in one go, so that the reader takes the
/// writer's lock once per batch rather than once per frame.
#[derive(Default)]
pub(crate) struct ReaderCache {
    /// Frames of complete messages, in order.
    frames: VecDeque<Msg>,
    /// While a writer waits, the read count below which it cannot have drained to the
    /// low-water mark yet (so the reader need not lock to check). Pushes only raise the true
    /// value, so this is at worst early, never late (and 0, in a new cache, is early).
    wake_at: u64,
    /// Set when the reader last found nothing and marked itself idle: the value of
    /// [`Queue::woken`] then. While `woken` still has it, the writer has completed nothing
    /// since, and the reader can say "nothing" without the writer's lock. (A `Cell`: asking
    /// whether a message waits, [`Queue::has_msg`], marks the reader idle too.)
    idle_at: std::cell::Cell<Option<u64>>,
}

/// What the reader writes, on cache lines of its own, apart from the writer's.
#[repr(align(128))]
struct ReaderSide {
    /// Complete messages read, ever, by every reader the queue has had (stored by the one
    /// reader after every message it reads; the writer reads it only when the queue looks
    /// full).
    read: AtomicU64,
}

/// A one-direction bounded queue of frames.
pub(crate) struct Queue {
    state: SpinMutex<State>,
    /// A writer was refused at the HWM and waits for the low-water mark. Set by the writer,
    /// which then looks at [`ReaderSide::read`] again; the reader stores `read`, then looks at
    /// this. (Both `SeqCst`: of two such store-then-load pairs, one sees the other's store, so
    /// a read that the refused writer missed is one whose reader sees it waiting.) Cleared
    /// under `state`'s lock by whoever wakes the writer.
    writer_blocked: Padded<AtomicBool>,
    /// Counts the writer's wake-ups of an idle reader (bumped under `state`'s lock, before the
    /// notify). A reader that finds it unchanged since it went idle knows, without the lock,
    /// that nothing was completed since: so a reader polling an empty queue reads this line
    /// instead of taking the writer's lock away from it for every look.
    woken: Padded<AtomicU64>,
    reader_side: ReaderSide,
    /// The unit tests' reader cache ([`test_pop`](Self::test_pop)), for tests that read a
    /// queue as a reader that keeps none of its own would.
    #[cfg(test)]
    test_reader: Mutex<ReaderCache>,
}

/// Keeps a field on cache lines of its own.
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// libzmq's low-water mark: a blocked writer is woken once the queue drains to here, so it is
/// woken once per batch rather than once per message.
fn low_water_mark(hwm: usize) -> usize {
    const MAX_WM_DELTA: usize = 1024;
    if hwm > MAX_WM_DELTA * 2 { hwm - MAX_WM_DELTA } else { hwm.div_ceil(2) }
}

impl Queue {
    /// `hwm` 0 means no limit.
    pub fn new(hwm: usize, writer: Arc<Signal>, reader: Arc<Signal>) -> Queue {
        Queue {
            state: SpinMutex::new(State {
                frames: VecDeque::new(),
                complete_frames: 0,
                appended: 0,
                dropped: 0,
                read_seen: 0,
                writer_in_msg: false,
                reader_idle: true,
                writer_closed: false,
                reader_closed: false,
                reader,
                writer,
                hwm,
                lwm: low_water_mark(hwm),
                conflate: false,
                drain: None,
                packed: BytesMut::new(),
                write_queued_at: usize::MAX,
                write_queued_next: usize::MAX,
                write_when_full: 0,
                queued: 0,
                packed_msgs: 0,
                feed: None,
            }),
            writer_blocked: Padded(AtomicBool::new(false)),
            woken: Padded(AtomicU64::new(0)),
            reader_side: ReaderSide { read: AtomicU64::new(0) },
            #[cfg(test)]
            test_reader: Mutex::new(ReaderCache::default()),
        }
    }

    /// Is the queue at its HWM (at a message boundary)? Looks at the reader's count only if
    /// the writer's last look says so.
    fn is_full(&self, st: &mut State) -> bool {
        if st.conflate || st.writer_in_msg || st.hwm == 0 || st.unread() < st.hwm as u64 {
            return false;
        }
        st.read_seen = self.reader_side.read.load(SeqCst);
        st.unread() >= st.hwm as u64
    }

    /// Under `state`'s lock: if the queue is full, note that the writer waits for room (it is
    /// woken at the low-water mark) and return true. A writer refused once is refused until
    /// that wake-up, even if a read has made some room before it: libzmq's pipe, deactivated
    /// when full until its reader reactivates it. So a writer that tries again without waiting
    /// (a load balancer over many pipes, a PUB over many subscribers, `try_send` in a loop) is
    /// told "full" by a flag, not by the lock and the reader's count each time. (A refusal
    /// happens at a message boundary, and no message starts while the flag is set, so the
    /// flag never refuses the rest of a message.)
    fn refuse(&self, st: &mut State) -> bool {
        if self.waits_for_room() {
            return true;
        }
        if !self.is_full(st) {
            return false;
        }
        self.writer_blocked.store(true, SeqCst);
        // Look again after saying so: a read this misses is one whose reader sees the flag.
        st.read_seen = self.reader_side.read.load(SeqCst);
        if st.unread() < st.hwm as u64 {
            self.writer_blocked.store(false, SeqCst);
            return false;
        }
        true
    }

    /// CONFLATE: from now on, a newly completed message replaces the older ones queued, and
    /// the queue is never full.
    pub fn set_conflate(&self) {
        self.state.lock().conflate = true;
    }

    /// Change the high-water mark (an inproc pipe created before its binder existed gets the
    /// binder's share when the bind arrives). A writer blocked at the old mark is woken.
    pub fn set_hwm(&self, hwm: usize) {
        let mut st = self.state.lock();
        st.hwm = hwm;
        st.lwm = low_water_mark(hwm);
        if self.writer_blocked.load(SeqCst) && !self.is_full(&mut st) {
            self.writer_blocked.store(false, SeqCst);
            let w = st.writer.clone();
            drop(st);
            w.notify();
        }
    }

    /// Offer the queue's messages to `drain` instead of waking the reader (or stop, with
    /// `None`). A push already under way may still offer the previous drain, which must then
    /// refuse (return false).
    pub fn set_drain(&self, drain: Option<Arc<dyn Drain>>) {
        let mut st = self.state.lock();
        st.write_queued_at = drain.as_ref().map_or(usize::MAX, |d| d.writes_queued_at().max(1));
        st.write_queued_next = st.write_queued_at;
        st.write_when_full = drain.as_ref().map_or(0, |d| d.writes_when_full());
        st.drain = drain;
    }

    /// Offer the writer to a reader that would wait for it (or stop, with `None`). A reader
    /// that took the feed before may still call it, and must then be refused (`None`).
    pub fn set_feed(&self, feed: Option<Arc<dyn Feed>>) {
        self.state.lock().feed = feed;
    }

    /// The writer a reader may drive instead of waiting for it (see [`Feed`]).
    pub fn feed(&self) -> Option<Arc<dyn Feed>> {
        self.state.lock().feed.clone()
    }

    /// A complete message appeared for an idle reader: let the drain take it, else wake the
    /// reader. Called without the queue's locks.
    fn wake_reader(&self, reader: Arc<Signal>, drain: Option<Arc<dyn Drain>>, last: usize) {
        if !drain.is_some_and(|d| d.drain(self, last)) {
            reader.notify();
        }
    }

    /// The bytes pushed reached the drain's size (or the queue is `full`) for a reader already
    /// woken: let the drain write them, else wake the reader again (rule 3 of
    /// `engine::drive`). Called without the queue's locks.
    fn offer_queued(&self, reader: Arc<Signal>, drain: Option<Arc<dyn Drain>>, full: bool) {
        if !drain.is_some_and(|d| d.write_queued(self, full)) {
            reader.notify();
        }
    }

    /// Has the reader gone away?
    pub fn is_reader_closed(&self) -> bool {
        self.state.lock().reader_closed
    }

    /// Append one frame. Fails if the queue is at its HWM at a message boundary, or closed.
    /// Always inlined (into `LoadBalancer::send`, and that into each pattern's `send`), for
    /// the reason `pop` is.
    #[inline(always)]
    pub fn push(&self, msg: Msg) -> Result<(), PushError> {
        if self.waits_for_room() {
            // Refused until the low-water mark (see `refuse`): no need for the lock to say so.
            return Err(PushError::Full(msg));
        }
        let len = msg.data.len();
        let wake = {
            let mut st = self.state.lock();
            if st.reader_closed {
                return Err(PushError::Closed(msg));
            }
            if self.refuse(&mut st) {
                // (The reader's signal is cloned only for an offer: a refusal without one,
                // inproc's, costs no reference count.)
                let offer = (st.queued < st.write_when_full)
                    .then(|| st.drain.clone().map(|d| (st.reader.clone(), d)))
                    .flatten();
                drop(st);
                if let Some((reader, d)) = offer {
                    self.offer_queued(reader, Some(d), true);
                }
                return Err(PushError::Full(msg));
            }
            let st = &mut *st;
            let more = msg.more();
            let before = st.packed.len();
            let packed = match &st.drain {
                Some(d) if st.frames.is_empty() && !more && !st.conflate => d.pack(&msg, &mut st.packed),
                _ => false,
            };
            let wake = if packed {
                st.packed_msgs += 1;
                st.queued += st.packed.len() - before;
                self.complete(st)
            } else {
                st.queued += len;
                self.append(st, msg)
            };
            // Bytes past the drain's size (again), for a reader already woken (an idle one is
            // offered them as it is woken): the drain may write them here.
            let write = !more && !wake && st.queued >= st.write_queued_next;
            if write {
                st.write_queued_next = st.queued.saturating_add(st.write_queued_at);
            }
            (wake || write).then(|| (st.reader.clone(), st.drain.clone(), wake))
        };
        match wake {
            Some((reader, drain, true)) => self.wake_reader(reader, drain, len),
            Some((reader, drain, false)) => self.offer_queued(reader, drain, false),
            None => {}
        }
        Ok(())
    }

    /// Append frames from `batch` (front first) until the queue fills at a message boundary.
    /// Returns false if the reader has gone away (the batch is then dropped).
    pub fn push_batch(&self, batch: &mut VecDeque<Msg>) -> bool {
        let wake = {
            let mut st = self.state.lock();
            if st.reader_closed {
                batch.clear();
                return false;
            }
            let wake = if self.takes_whole(&mut st, batch) {
                self.append_whole(&mut st, batch)
            } else {
                let mut wake = false;
                while !batch.is_empty() {
                    if self.refuse(&mut st) {
                        break;
                    }
                    let msg = batch.pop_front().expect("non-empty");
                    wake |= self.append(&mut st, msg);
                }
                wake
            };
            wake.then(|| (st.reader.clone(), st.drain.clone()))
        };
        if let Some((reader, drain)) = wake {
            self.wake_reader(reader, drain, 0);
        }
        true
    }

    /// Can [`push_batch`](Self::push_batch) take the whole of `batch` in one move: nothing
    /// queued (so no message in progress), no CONFLATE, and its frames within the HWM?
    fn takes_whole(&self, st: &mut State, batch: &VecDeque<Msg>) -> bool {
        if !st.frames.is_empty() || st.conflate || st.writer_in_msg || self.waits_for_room() {
            return false;
        }
        let fits = |st: &State| st.unread() + batch.len() as u64 <= st.hwm as u64;
        if st.hwm == 0 || fits(st) {
            return true;
        }
        // The writer's count of reads is refreshed only when it looks full (see `is_full`).
        st.read_seen = self.reader_side.read.load(SeqCst);
        fits(st)
    }

    /// The whole of `batch` becomes the queue (see [`takes_whole`](Self::takes_whole)): what
    /// appending its frames one by one would do, in one swap and one pass over their flags.
    /// True if the reader must be woken.
    fn append_whole(&self, st: &mut State, batch: &mut VecDeque<Msg>) -> bool {
        std::mem::swap(&mut st.frames, batch);
        let (mut msgs, mut complete) = (0, 0);
        for (i, m) in st.frames.iter().enumerate() {
            if !m.more() {
                msgs += 1;
                complete = i + 1;
            }
        }
        st.writer_in_msg = complete < st.frames.len();
        st.complete_frames = complete;
        if msgs == 0 {
            return false;
        }
        // The last message's completion counts itself and wakes the reader if it is idle.
        st.appended += msgs - 1;
        self.complete(st)
    }

    /// Returns true if the reader must be woken (a complete message appeared for an idle
    /// reader). Always inlined, so that a frame moves from the batch into the queue in
    /// registers: passed by pointer, this function's 16-byte loads of its caller's 8-byte
    /// stores stalled (store forwarding), most of its time in the 64 B receiver's profile.
    #[inline(always)]
    fn append(&self, st: &mut State, msg: Msg) -> bool {
        let more = msg.more();
        st.frames.push_back(msg);
        st.writer_in_msg = more;
        if more {
            return false;
        }
        st.complete_frames = st.frames.len();
        if st.conflate {
            Self::drop_older(st);
        }
        self.complete(st)
    }

    /// A message was completed (appended, or packed): counted for the HWM; true if the
    /// reader must be woken.
    #[inline(always)]
    fn complete(&self, st: &mut State) -> bool {
        st.appended += 1;
        let wake = std::mem::take(&mut st.reader_idle);
        if wake {
            self.woken.fetch_add(1, SeqCst);
        }
        wake
    }

    /// CONFLATE: drop every complete message but the newest. (The rest of a message the
    /// reader is in the middle of is in its cache, out of reach.)
    fn drop_older(st: &mut State) {
        let n = st.frames.len();
        let newest = (0..n - 1).rev().find(|&i| !st.frames[i].more()).map_or(0, |i| i + 1);
        if newest > 0 {
            st.dropped += st.frames.drain(..newest).filter(|m| !m.more()).count() as u64;
            st.complete_frames = st.frames.len();
        }
    }

    /// Would a push be accepted now? A writer told "no" because the queue is full is woken when
    /// it drains to the low-water mark, exactly as if its push had failed: so a poller that
    /// found a socket not writable learns when it becomes writable.
    pub fn can_push(&self) -> bool {
        if self.waits_for_room() {
            return false;
        }
        let mut st = self.state.lock();
        !st.reader_closed && !self.refuse(&mut st)
    }

    /// Was the writer refused at the HWM and not yet woken (the queue has not drained to the
    /// low-water mark, the HWM has not changed, the reader has not gone)? Until then every
    /// push is refused (see `refuse`); this says so without the lock.
    pub fn waits_for_room(&self) -> bool {
        self.writer_blocked.load(SeqCst)
    }

    /// Take the next frame of a complete message. Always inlined (into `FairQueue::recv`, and
    /// that into each pattern's `recv`) for the reason `append` is: a frame returned through
    /// each layer's memory was reloaded across its stores in other widths.
    #[inline(always)]
    pub fn pop(&self, cache: &mut ReaderCache) -> Option<Msg> {
        if cache.frames.is_empty() {
            if self.still_idle(cache) {
                return None;
            }
            self.refill(cache);
        }
        let msg = cache.frames.pop_front()?;
        if !msg.more() {
            self.count_read(cache, 1);
        }
        Some(msg)
    }

    /// The reader has read `n` more whole messages: publish the count, and wake a writer that
    /// waits for the low-water mark if it has been reached. (Only the reader stores the
    /// count, so it reads back its own last store.)
    ///
    /// The count is stored plainly (`Release`), and the reader meets a refused writer in the
    /// `SeqCst` handshake (see the module's doc) only once its cache has run dry: a fence
    /// between its last store and its look at the flag. A `SeqCst` store per message was a
    /// locked instruction per message, 7% of a 64 B receive on this project's machine
    /// (BENCHMARKS.md). Between two fences a writer may see the count late (and be refused
    /// a little early), and the reader may see the flag late (and wake it a little late, at
    /// the latest when the cache runs dry); the fence makes sure that one sees the other
    /// before the reader stops reading.
    #[inline]
    fn count_read(&self, cache: &mut ReaderCache, n: u64) {
        let read = self.reader_side.read.load(Ordering::Relaxed) + n;
        self.reader_side.read.store(read, Ordering::Release);
        if cache.frames.is_empty() {
            fence(SeqCst);
        }
        if read < cache.wake_at || !self.writer_blocked.load(Ordering::Relaxed) {
            return;
        }
        self.wake_writer_at_lwm(cache, read);
    }

    /// [`count_read`](Self::count_read) found the writer waiting for room and the reader past
    /// the point it was last told to look again at.
    #[cold]
    fn wake_writer_at_lwm(&self, cache: &mut ReaderCache, read: u64) {
        let wake = {
            let mut st = self.state.lock();
            st.read_seen = read;
            if !self.writer_blocked.load(SeqCst) {
                // Woken meanwhile (a new HWM, or the reader closing).
                None
            } else if st.unread() <= st.lwm as u64 {
                self.writer_blocked.store(false, SeqCst);
                Some(st.writer.clone())
            } else {
                // unread > lwm, so this cannot go below zero.
                cache.wake_at = st.appended - st.dropped - st.lwm as u64;
                None
            }
        };
        if let Some(w) = wake {
            w.notify();
        }
    }

    /// Under both locks: the reader found nothing (or something); an idle reader is woken by
    /// the writer's next complete message.
    fn set_idle(&self, st: &mut State, cache: &ReaderCache, nothing: bool) {
        st.reader_idle = nothing;
        cache.idle_at.set(nothing.then(|| self.woken.load(SeqCst)));
    }

    /// Without the writer's lock: the reader went idle and the writer has completed nothing
    /// since. (A stale "unchanged" is harmless: the wake-up that follows the change moves the
    /// socket's signal, and a waiter that read the signal before looking looks again.)
    fn still_idle(&self, cache: &ReaderCache) -> bool {
        cache.idle_at.get().is_some_and(|at| at == self.woken.load(SeqCst))
    }

    /// The cache is empty: move every complete message from the writer's side into it (all of
    /// it: a reader that is behind catches up one lock at a time).
    #[inline(never)]
    fn refill(&self, cache: &mut ReaderCache) {
        let mut st = self.state.lock();
        let ready = st.complete_frames;
        self.set_idle(&mut st, cache, ready == 0);
        if ready == st.frames.len() {
            // No partial message at the tail: swap, so the cache's spare capacity becomes the
            // writer's.
            std::mem::swap(&mut st.frames, &mut cache.frames);
        } else {
            cache.frames.extend(st.frames.drain(..ready));
        }
        st.complete_frames = 0;
        if ready > 0 {
            Self::took(&mut st);
        }
    }

    /// Under the writer's lock: the reader took something, so the count of bytes pushed since
    /// (and the drain's next offer, [`Drain::writes_queued_at`]) starts again.
    fn took(st: &mut State) {
        st.queued = 0;
        st.write_queued_next = st.write_queued_at;
    }

    /// Move every frame of complete messages into `out`, up to roughly `max_bytes` of bodies
    /// (always whole messages, always at least one). Returns the number of frames moved.
    pub fn pop_batch(&self, cache: &mut ReaderCache, out: &mut VecDeque<Msg>, max_bytes: usize) -> usize {
        self.pop_packed_and_batch(cache, None, out, max_bytes).1
    }

    /// [`pop_batch`](Self::pop_batch), after handing what the drain packed ([`Drain::pack`])
    /// to `packed` (which leaves it empty, or it is dropped; counted read either way), in the
    /// same look at the writer's side: packed bytes are older than every frame queued, and a
    /// message packed after that look is newer than every frame it takes. (Taken in two
    /// looks, a message packed between them would go out after frames queued after it.)
    /// Returns whether anything was packed, and the number of frames moved.
    pub fn pop_packed_and_batch(
        &self,
        cache: &mut ReaderCache,
        packed: Option<&mut dyn FnMut(&mut BytesMut)>,
        out: &mut VecDeque<Msg>,
        max_bytes: usize,
    ) -> (bool, usize) {
        self.take_packed_and_batch(cache, packed, out, max_bytes, false)
    }

    /// [`pop_packed_and_batch`](Self::pop_packed_and_batch) on behalf of a reader already
    /// woken for what is queued (a [`Drain::write_queued`]): a take that finds something
    /// leaves the reader marked busy even if it empties the queue, so the writer's next
    /// messages wake nobody; the woken reader's own next look, which finds the queue empty,
    /// marks it idle. (Only a take that finds nothing marks it idle.)
    pub fn pop_for_woken_reader(
        &self,
        cache: &mut ReaderCache,
        packed: Option<&mut dyn FnMut(&mut BytesMut)>,
        out: &mut VecDeque<Msg>,
        max_bytes: usize,
    ) -> (bool, usize) {
        self.take_packed_and_batch(cache, packed, out, max_bytes, true)
    }

    fn take_packed_and_batch(
        &self,
        cache: &mut ReaderCache,
        mut packed: Option<&mut dyn FnMut(&mut BytesMut)>,
        out: &mut VecDeque<Msg>,
        max_bytes: usize,
        stays_woken: bool,
    ) -> (bool, usize) {
        // A cache is read one way: frame by frame (`pop`) or in batches, never both.
        debug_assert!(cache.frames.is_empty(), "a batch reader's cache holds no frames");
        let (took_packed, n, msgs) = {
            let mut st = self.state.lock();
            let mut msgs = 0;
            let took_packed = !st.packed.is_empty() && packed.is_some();
            if let Some(take) = packed.as_mut().filter(|_| took_packed) {
                take(&mut st.packed);
                st.packed.clear();
                msgs += std::mem::take(&mut st.packed_msgs);
            }
            // Where the batch ends: after the first whole message that reaches `max_bytes`, or
            // after the last complete one. Only lengths are read here; the frames move below
            // in bulk instead of one pop and push each.
            let ready = st.complete_frames;
            let mut n = ready;
            let mut bytes = 0;
            for (i, msg) in st.frames.iter().take(ready).enumerate() {
                bytes += msg.data.len();
                if !msg.more() {
                    msgs += 1;
                    if bytes >= max_bytes {
                        n = i + 1;
                        break;
                    }
                }
            }
            if n == st.frames.len() && out.is_empty() {
                // Everything queued is taken (no partial message at the tail): swap the
                // queues, so `out`'s spare capacity becomes the pipe's.
                std::mem::swap(&mut st.frames, out);
            } else {
                out.extend(st.frames.drain(..n));
            }
            st.complete_frames -= n;
            if took_packed || n > 0 {
                Self::took(&mut st);
            }
            let took = took_packed || n > 0;
            let nothing = n == 0 && st.packed.is_empty() && !(stays_woken && took);
            self.set_idle(&mut st, cache, nothing);
            (took_packed, n, msgs)
        };
        if msgs > 0 {
            self.count_read(cache, msgs);
        }
        (took_packed, n)
    }

    /// Is a complete message waiting for the reader whose cache this is? (If not, the reader
    /// is idle: the writer's next complete message wakes it.)
    pub fn has_msg(&self, cache: &ReaderCache) -> bool {
        if !cache.frames.is_empty() {
            return true;
        }
        if self.still_idle(cache) {
            return false;
        }
        let mut st = self.state.lock();
        let nothing = st.complete_frames == 0 && st.packed.is_empty();
        self.set_idle(&mut st, cache, nothing);
        !nothing
    }

    /// Is any complete message not yet read, wherever it is (queued, or in the reader's
    /// cache)? For those who are not the reader (a ROUTER's routing table, waiting for a
    /// detached peer's last message to be read).
    pub fn has_unread(&self) -> bool {
        let st = self.state.lock();
        self.unread_exactly(&st) > 0
    }

    /// Complete messages not yet read (queued, packed, or in the reader's cache), exactly.
    fn unread_exactly(&self, st: &State) -> u64 {
        st.appended - st.dropped - self.reader_side.read.load(SeqCst)
    }

    /// The writer went away and everything it completed has been read.
    pub fn is_finished(&self) -> bool {
        let st = self.state.lock();
        st.writer_closed && self.unread_exactly(&st) == 0
    }

    /// [`pop`](Self::pop) with the tests' cache.
    #[cfg(test)]
    pub fn test_pop(&self) -> Option<Msg> {
        self.pop(&mut self.test_reader.lock())
    }

    /// [`has_msg`](Self::has_msg) with the tests' cache.
    #[cfg(test)]
    pub fn test_has_msg(&self) -> bool {
        self.has_msg(&self.test_reader.lock())
    }

    /// Number of complete messages queued and not yet read.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.unread_exactly(&self.state.lock()) as usize
    }

    /// Messages packed and not yet taken.
    #[cfg(all(test, not(oxmq_loom)))]
    pub fn packed(&self) -> u64 {
        self.state.lock().packed_msgs
    }

    /// The writer is done: drop its partial message (if any), keep complete ones for the reader.
    pub fn close_writer(&self) {
        let reader = {
            let mut st = self.state.lock();
            let keep = st.complete_frames;
            st.frames.truncate(keep);
            st.writer_in_msg = false;
            st.writer_closed = true;
            st.reader.clone()
        };
        reader.notify();
    }

    /// Drop the partial message the writer was in the middle of, keeping the queue open
    /// (a connection died mid-message; the writer will start a fresh message).
    pub fn rollback_partial(&self) {
        let mut st = self.state.lock();
        let keep = st.complete_frames;
        st.frames.truncate(keep);
        st.writer_in_msg = false;
    }

    /// The reader is done: everything queued is dropped and further pushes fail. (What the
    /// reader has in its cache is its own to drop.)
    pub fn close_reader(&self) {
        let writer = {
            let mut st = self.state.lock();
            st.reader_closed = true;
            st.dropped = st.appended - self.reader_side.read.load(SeqCst);
            st.frames.clear();
            st.complete_frames = 0;
            st.packed.clear();
            st.packed_msgs = 0;
            self.writer_blocked.store(false, SeqCst);
            st.writer.clone()
        };
        writer.notify();
    }

    fn set_reader(&self, s: Arc<Signal>) {
        let mut st = self.state.lock();
        st.reader = s.clone();
        if self.unread_exactly(&st) > 0 || st.writer_closed {
            drop(st);
            s.notify();
        }
    }

    fn set_writer(&self, s: Arc<Signal>) {
        self.state.lock().writer = s;
    }
}

/// One end of a bidirectional pipe: `out` is written by this end, `inp` read by it.
#[derive(Clone)]
pub(crate) struct Pipe {
    pub id: PipeId,
    pub out: Arc<Queue>,
    pub inp: Arc<Queue>,
    /// The message properties of the connection behind the pipe (both ends share it; the I/O
    /// side sets it per connection, the socket reads it only for a caller who asks).
    properties: Arc<ConnectionProperties>,
}

/// The message properties of the connection behind a pipe, and how many times they changed
/// (a reader that keeps a copy compares that count instead of locking per message).
#[derive(Default)]
pub(crate) struct ConnectionProperties {
    value: Mutex<Option<Properties>>,
    changes: AtomicU64,
}

impl ConnectionProperties {
    /// The properties now.
    pub fn value(&self) -> Option<Properties> {
        self.value.lock().clone()
    }

    /// How many times the properties have changed: while this stays the same, a copy taken
    /// after reading it is current.
    pub fn changes(&self) -> u64 {
        self.changes.load(SeqCst)
    }
}

impl Pipe {
    /// Create both ends. `a_signal` wakes end A (when its input gets a message or its output
    /// gets room), `b_signal` wakes end B. `a_to_b_hwm` bounds A's output, `b_to_a_hwm` B's.
    pub fn pair(a_signal: Arc<Signal>, b_signal: Arc<Signal>, a_to_b_hwm: usize, b_to_a_hwm: usize) -> (Pipe, Pipe) {
        let id = NEXT_PIPE_ID.fetch_add(1, Ordering::Relaxed);
        let a_to_b = Arc::new(Queue::new(a_to_b_hwm, a_signal.clone(), b_signal.clone()));
        let b_to_a = Arc::new(Queue::new(b_to_a_hwm, b_signal, a_signal));
        let properties = Arc::new(ConnectionProperties::default());
        (
            Pipe { id, out: a_to_b.clone(), inp: b_to_a.clone(), properties: properties.clone() },
            Pipe { id, out: b_to_a, inp: a_to_b, properties },
        )
    }

    /// The connection behind the pipe is now one with `properties` (or none).
    pub fn set_properties(&self, properties: Option<Properties>) {
        let mut value = self.properties.value.lock();
        *value = properties;
        // Counted after the change, under its lock: a reader that read the count before
        // reading the properties sees a new count next time if it read the old ones.
        self.properties.changes.fetch_add(1, SeqCst);
    }

    /// The properties of the connection behind the pipe, and their count of changes, shared
    /// with the pipe (for a reader that keeps them across frames).
    pub fn properties(&self) -> &Arc<ConnectionProperties> {
        &self.properties
    }

    /// Make `signal` the one woken for this end (an inproc pipe created before its binder
    /// existed is handed to the binder later).
    pub fn rebind_signal(&self, signal: Arc<Signal>) {
        self.out.set_writer(signal.clone());
        self.inp.set_reader(signal);
    }

    /// CONFLATE both directions.
    pub fn set_conflate(&self) {
        self.out.set_conflate();
        self.inp.set_conflate();
    }

    /// This end is going away: stop reading and stop writing (queued output stays readable by
    /// the other end).
    pub fn close(&self) {
        self.out.close_writer();
        self.inp.close_reader();
    }
}

/// An HWM option value (0 = unlimited) as a queue bound.
pub(crate) fn hwm(v: i32) -> usize {
    v.max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(hwm: usize) -> (Queue, Arc<Signal>, Arc<Signal>) {
        let w = Arc::new(Signal::new());
        let r = Arc::new(Signal::new());
        (Queue::new(hwm, w.clone(), r.clone()), w, r)
    }

    fn m(s: &'static str, more: bool) -> Msg {
        Msg::new(Bytes::from_static(s.as_bytes()), more)
    }

    #[test]
    fn reader_sees_only_complete_messages() {
        let (q, _, _) = q(0);
        q.push(m("a", true)).unwrap();
        assert!(q.test_pop().is_none());
        q.push(m("b", false)).unwrap();
        assert_eq!(q.test_pop().unwrap(), m("a", true));
        assert_eq!(q.test_pop().unwrap(), m("b", false));
        assert!(q.test_pop().is_none());
    }

    #[test]
    fn hwm_counts_messages_and_never_splits_one() {
        let (q, _, _) = q(2);
        q.push(m("1", false)).unwrap();
        q.push(m("2a", true)).unwrap();
        q.push(m("2b", true)).unwrap();
        q.push(m("2c", false)).unwrap();
        assert!(matches!(q.push(m("3", false)), Err(PushError::Full(_))));
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn reader_woken_once_per_transition_writer_at_low_water_mark() {
        let (q, w, r) = q(4);
        let r0 = r.seq();
        q.push(m("1", false)).unwrap();
        q.push(m("2", false)).unwrap();
        assert_eq!(r.seq(), r0 + 1, "one wake for empty -> non-empty");
        q.push(m("3", false)).unwrap();
        q.push(m("4", false)).unwrap();
        assert!(matches!(q.push(m("5", false)), Err(PushError::Full(_))));
        let w0 = w.seq();
        q.test_pop();
        assert_eq!(w.seq(), w0, "not yet at the low-water mark");
        q.test_pop();
        assert_eq!(w.seq(), w0 + 1, "woken at the low-water mark");
    }

    #[test]
    fn a_reader_that_has_read_everything_leaves_the_writer_the_whole_hwm() {
        let (q, _, _) = q(3);
        for round in 0..3 {
            for _ in 0..3 {
                q.push(m("x", false)).unwrap();
            }
            assert!(matches!(q.push(m("over", false)), Err(PushError::Full(_))), "round {round}");
            for _ in 0..3 {
                assert_eq!(q.test_pop().unwrap(), m("x", false));
            }
            assert!(q.test_pop().is_none());
            assert_eq!(q.len(), 0);
        }
    }

    #[test]
    fn the_hwm_counts_messages_cached_by_the_reader_until_they_are_read() {
        let (q, _, _) = q(4);
        for _ in 0..4 {
            q.push(m("x", false)).unwrap();
        }
        // The first read moves all four to the reader's cache; three are still unread.
        q.test_pop().unwrap();
        assert_eq!(q.len(), 3);
        q.push(m("y", false)).unwrap_or_else(|_| panic!("room for the one read"));
        assert!(matches!(q.push(m("z", false)), Err(PushError::Full(_))));
        let got: Vec<_> = std::iter::from_fn(|| q.test_pop()).map(|m| m.data).collect();
        assert_eq!(got, ["x", "x", "x", "y"]);
    }

    #[test]
    fn a_waiting_writer_is_woken_at_the_low_water_mark_while_the_reader_has_cached_messages() {
        let (q, w, _) = q(4);
        for _ in 0..4 {
            q.push(m("x", false)).unwrap();
        }
        q.test_pop().unwrap(); // all four move to the reader's cache; one is read
        q.push(m("y", false)).unwrap();
        assert!(matches!(q.push(m("z", false)), Err(PushError::Full(_))));
        let w0 = w.seq();
        q.test_pop().unwrap();
        assert_eq!(w.seq(), w0, "3 unread: above the low-water mark (2)");
        q.test_pop().unwrap();
        assert_eq!(w.seq(), w0 + 1, "woken at the low-water mark, one x still cached");
        q.push(m("z", false)).unwrap();
        let got: Vec<_> = std::iter::from_fn(|| q.test_pop()).map(|m| m.data).collect();
        assert_eq!(got, ["x", "y", "z"]);
    }

    /// The reader is woken when a message completes while it is idle, once: not for every
    /// message, and not while it still has messages to read.
    #[test]
    fn only_an_idle_reader_is_woken() {
        let (q, _, r) = q(0);
        let r0 = r.seq();
        q.push(m("a", true)).unwrap();
        assert_eq!(r.seq(), r0, "not for a partial message");
        q.push(m("b", false)).unwrap();
        assert_eq!(r.seq(), r0 + 1, "a fresh queue's reader is idle");
        q.push(m("c", false)).unwrap();
        assert_eq!(r.seq(), r0 + 1, "it has not looked since");
        assert!(q.test_has_msg());
        q.test_pop().unwrap();
        q.push(m("d", false)).unwrap();
        assert_eq!(r.seq(), r0 + 1, "it found messages: not idle");
        let got: Vec<_> = std::iter::from_fn(|| q.test_pop()).map(|m| m.data).collect();
        assert_eq!(got, ["b", "c", "d"]);
        assert!(!q.test_has_msg(), "idle, and says so without the writer's lock");
        q.push(m("e", false)).unwrap();
        assert_eq!(r.seq(), r0 + 2, "found nothing: idle, woken by the next message");
        assert!(q.test_has_msg());
        assert_eq!(q.test_pop().unwrap().data, "e");
    }

    #[test]
    fn writer_told_full_by_can_push_is_woken_at_low_water_mark() {
        let (q, w, _) = q(2);
        q.push(m("1", false)).unwrap();
        q.push(m("2", false)).unwrap();
        let w0 = w.seq();
        assert!(!q.can_push());
        q.test_pop();
        assert_eq!(w.seq(), w0 + 1, "woken once the queue drains to its low-water mark");
        assert!(q.can_push());
    }

    #[test]
    fn close_writer_rolls_back_partial_message_and_keeps_complete_ones() {
        let (q, _, _) = q(0);
        q.push(m("x", false)).unwrap();
        q.push(m("partial", true)).unwrap();
        q.close_writer();
        assert!(!q.is_finished());
        assert_eq!(q.test_pop().unwrap(), m("x", false));
        assert!(q.test_pop().is_none());
        assert!(q.is_finished());
    }

    #[test]
    fn push_after_reader_closed_fails() {
        let (q, _, _) = q(0);
        q.push(m("x", false)).unwrap();
        q.close_reader();
        assert!(matches!(q.push(m("y", false)), Err(PushError::Closed(_))));
        assert_eq!(q.len(), 0);
    }

    /// The count of messages read is the queue's, not a reader's: a pipe outlives the drives
    /// of its successive connections, each reading with a new cache, and the HWM must stay
    /// exact across them.
    #[test]
    fn a_new_reader_continues_the_count_of_messages_read() {
        let (q, _, _) = q(2);
        for round in 0..3 {
            let mut reader = ReaderCache::default();
            q.push(m("x", false)).unwrap_or_else(|_| panic!("round {round}: room after the last reader"));
            q.push(m("x", false)).unwrap();
            assert!(matches!(q.push(m("over", false)), Err(PushError::Full(_))), "round {round}");
            let mut out = VecDeque::new();
            assert_eq!(q.pop_batch(&mut reader, &mut out, usize::MAX), 2);
            assert_eq!(q.len(), 0, "round {round}");
        }
    }

    /// A message in a reader's cache is unread until it is read: the pipe says so to others
    /// (`has_unread`), and the reader finds it there (`has_msg`), while a reader with an
    /// empty cache of its own finds nothing queued.
    #[test]
    fn messages_in_a_readers_cache_are_unread_until_read() {
        let (q, _, _) = q(0);
        q.push(m("1", false)).unwrap();
        q.push(m("2", false)).unwrap();
        let mut reader = ReaderCache::default();
        assert_eq!(q.pop(&mut reader).unwrap().data, "1");
        assert!(q.has_unread() && q.has_msg(&reader));
        assert!(!q.has_msg(&ReaderCache::default()), "nothing queued: 2 is in the reader's cache");
        assert_eq!(q.pop(&mut reader).unwrap().data, "2");
        assert!(!q.has_unread() && !q.has_msg(&reader));
        q.close_writer();
        assert!(q.is_finished());
    }

    #[test]
    fn pop_batch_takes_whole_messages_only() {
        let (q, _, _) = q(0);
        q.push(m("a", true)).unwrap();
        q.push(m("b", false)).unwrap();
        q.push(m("c", true)).unwrap();
        let mut out = VecDeque::new();
        assert_eq!(q.pop_batch(&mut q.test_reader.lock(), &mut out, usize::MAX), 2);
        assert_eq!(out.len(), 2);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn pop_batch_stops_after_the_message_that_reaches_the_byte_limit() {
        let (q, _, _) = q(0);
        for (s, more) in [("aa", true), ("bb", false), ("cc", false), ("dd", true), ("ee", false)] {
            q.push(m(s, more)).unwrap();
        }
        let mut out = VecDeque::new();
        // 3 bytes are reached inside the first message: it is taken whole, and nothing more.
        assert_eq!(q.pop_batch(&mut q.test_reader.lock(), &mut out, 3), 2);
        assert_eq!(out, [m("aa", true), m("bb", false)]);
        assert_eq!(q.len(), 2);
        // The rest, taken whole (the queue is swapped out), leaves a working, empty queue.
        out.clear();
        assert_eq!(q.pop_batch(&mut q.test_reader.lock(), &mut out, usize::MAX), 3);
        assert_eq!(out, [m("cc", false), m("dd", true), m("ee", false)]);
        assert_eq!(q.len(), 0);
        assert!(q.test_pop().is_none());
        q.push(m("f", true)).unwrap();
        assert_eq!(q.pop_batch(&mut q.test_reader.lock(), &mut out, usize::MAX), 0, "a partial message is not taken");
        q.push(m("g", false)).unwrap();
        assert_eq!(q.test_pop().unwrap(), m("f", true));
        assert_eq!(q.test_pop().unwrap(), m("g", false));
    }

    #[test]
    fn conflate_keeps_the_newest_message_and_the_rest_of_one_being_read() {
        let (q, _, _) = q(1);
        q.set_conflate();
        for i in 0..5 {
            q.push(Msg::new(format!("{i}"), false)).unwrap();
        }
        assert_eq!(q.len(), 1);
        assert_eq!(q.test_pop().unwrap(), m("4", false));
        q.push(m("a1", true)).unwrap();
        q.push(m("a2", false)).unwrap();
        assert_eq!(q.test_pop().unwrap(), m("a1", true));
        q.push(m("b", false)).unwrap();
        q.push(m("c", false)).unwrap();
        assert_eq!(q.test_pop().unwrap(), m("a2", false), "the message being read is kept whole");
        assert_eq!(q.test_pop().unwrap(), m("c", false));
        assert!(q.test_pop().is_none());
    }

    /// A refused writer stays refused until the wake-up at the low-water mark, though a read
    /// made room before it; a new HWM or the reader going away ends the wait too.
    #[test]
    fn a_refused_writer_is_refused_until_the_low_water_mark() {
        let (q, w, _) = q(4); // low-water mark 2
        for _ in 0..4 {
            q.push(m("x", false)).unwrap();
        }
        assert!(matches!(q.push(m("5", true)), Err(PushError::Full(_))));
        q.test_pop();
        assert_eq!(q.len(), 3, "room for one");
        assert!(q.waits_for_room());
        assert!(matches!(q.push(m("5", true)), Err(PushError::Full(_))), "still above the mark");
        assert!(!q.can_push());
        let mut batch: VecDeque<Msg> = [m("5", false)].into_iter().collect();
        assert!(q.push_batch(&mut batch));
        assert_eq!(batch.len(), 1, "the batch waits too");
        let w0 = w.seq();
        q.test_pop();
        assert_eq!(w.seq(), w0 + 1, "woken at the mark");
        assert!(!q.waits_for_room());
        q.push(m("5a", true)).unwrap();
        q.push(m("5b", false)).unwrap();
        q.push(m("6", false)).unwrap();
        assert!(q.push(m("7", false)).is_err(), "full again at 4");

        // A higher HWM ends the wait at once.
        q.set_hwm(8);
        assert!(!q.waits_for_room());
        q.push(m("7", false)).unwrap();
        // So does the reader going away: the writer then learns that.
        q.set_hwm(5);
        assert!(q.push(m("8", false)).is_err());
        q.close_reader();
        assert!(matches!(q.push(m("8", false)), Err(PushError::Closed(_))));
    }

    /// A batch into an empty queue moves whole (`append_whole`): the same frames, complete
    /// messages counted, a message still in progress at its end finished by the next push,
    /// the idle reader woken once; into a queue that is not empty, or near its HWM, frame by
    /// frame as before.
    #[test]
    fn a_batch_into_an_empty_queue_moves_whole() {
        let (q, _w, r) = q(8);
        assert!(q.test_pop().is_none(), "the reader is idle");
        let seen = r.seq();
        let mut batch: VecDeque<Msg> = [m("a", true), m("b", false), m("c", false), m("d", true)].into_iter().collect();
        assert!(q.push_batch(&mut batch));
        assert!(batch.is_empty());
        assert_eq!(q.len(), 2, "two complete messages");
        assert_eq!(r.seq(), seen + 1, "woken once");
        q.push(m("e", false)).unwrap();
        assert_eq!(q.len(), 3);
        let got: Vec<_> = std::iter::from_fn(|| q.test_pop()).map(|x| (x.more(), x.data)).collect();
        let want = [("a", true), ("b", false), ("c", false), ("d", true), ("e", false)];
        assert_eq!(got.len(), want.len());
        for ((more, d), (wd, wmore)) in got.iter().zip(want) {
            assert_eq!((d.as_ref(), *more), (wd.as_bytes(), wmore));
        }
        // Frames queued: frame by frame, up to the HWM (8; 5 queued, 3 more fit).
        for _ in 0..5 {
            q.push(m("x", false)).unwrap();
        }
        let mut batch: VecDeque<Msg> = (0..5).map(|_| m("y", false)).collect();
        assert!(q.push_batch(&mut batch));
        assert_eq!((q.len(), batch.len()), (8, 2), "stopped at the HWM");
    }

    /// Nothing queued, but unread messages in the reader's cache: a batch still stops at the
    /// HWM, which counts them (HWM 4; 2 unread after one of 3 read; 2 more fit).
    #[test]
    fn a_batch_into_an_empty_queue_counts_the_readers_unread_messages() {
        let (q, _w, _r) = q(4);
        for _ in 0..3 {
            q.push(m("x", false)).unwrap();
        }
        assert!(q.test_pop().is_some());
        let mut batch: VecDeque<Msg> = (0..3).map(|_| m("z", false)).collect();
        assert!(q.push_batch(&mut batch));
        assert_eq!((q.len(), batch.len()), (4, 1), "stopped at the HWM");
    }

    #[test]
    fn push_batch_stops_at_hwm_boundary() {
        let (q, _, _) = q(1);
        let mut batch: VecDeque<Msg> = [m("a", true), m("b", false), m("c", false)].into_iter().collect();
        assert!(q.push_batch(&mut batch));
        assert_eq!(batch.len(), 1);
        assert_eq!(q.len(), 1);
    }
}
