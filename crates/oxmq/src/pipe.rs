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
//! - The reader is woken only when the queue goes from no complete message to one; a blocked
//!   writer only when the queue drains to its low-water mark.
//!
//! The reader takes every complete message at once into a cache of its own and reads from
//! there, so the lock both ends share is taken once per batch, not once per frame. Messages
//! in that cache still count against the HWM until read; the reader reports its reads when the
//! cache runs dry, or at the low-water mark when a writer waits (libzmq's reader likewise tells
//! the writer what it has read once per low-water mark).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::signal::Signal;
use crate::sync::{AtomicBool, Mutex};

/// One frame of a message, as it moves through pipes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Msg {
    pub data: Bytes,
    pub more: bool,
}

impl Msg {
    pub fn new(data: impl Into<Bytes>, more: bool) -> Msg {
        Msg { data: data.into(), more }
    }
}

pub(crate) type PipeId = u64;

static NEXT_PIPE_ID: AtomicU64 = AtomicU64::new(1);

/// What a socket knows about the peer at the other end of a pipe.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerInfo {
    /// The routing id the peer announced (ZMTP Identity, or the inproc peer's ROUTING_ID).
    pub routing_id: Option<Bytes>,
}

/// Why a push did not happen.
#[derive(Debug)]
pub(crate) enum PushError {
    /// At the high-water mark; the message is handed back.
    Full(Msg),
    /// The reader went away; the message is handed back.
    Closed(Msg),
}

/// The part of a queue both ends touch, under one lock: frames appended by the writer, not yet
/// taken by the reader.
struct State {
    frames: VecDeque<Msg>,
    /// Frames at the front that belong to complete messages: what the reader may take.
    complete_frames: usize,
    /// Complete messages not yet read: those in `frames`, plus those the reader has moved to
    /// its [`ReaderCache`] and not yet reported read (the HWM count).
    msgs: usize,
    writer_in_msg: bool,
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
}

/// The reader's side: whole messages it has taken from [`State`] in one go (see the module
/// doc for when its reads are reported). Only the reader locks this, so the lock is never
/// contended and its cache line stays with the reader's core.
#[derive(Default)]
struct ReaderCache {
    /// Frames of complete messages, in order.
    frames: VecDeque<Msg>,
    /// Messages read from `frames` but not yet subtracted from `State::msgs`: the HWM counts
    /// a message until it is read, not until it is cached.
    unreported: usize,
    /// Reads after which a report can reach the low-water mark (assuming no more pushes;
    /// pushes only raise it, so reporting then is at worst early, never late).
    report_after: usize,
}

/// Keeps the reader's side on a cache line of its own, apart from the shared state.
#[repr(align(128))]
struct Padded<T>(T);

/// A one-direction bounded queue of frames.
pub(crate) struct Queue {
    state: Mutex<State>,
    /// A writer was refused at the HWM and waits for the low-water mark. Written only under
    /// `state`'s lock, where it is the truth; the reader also reads it without the lock after
    /// each message it reads from its cache, as a hint to report its reads now rather than
    /// when the cache runs dry. A stale hint only delays the wake-up to the next refill.
    writer_blocked: AtomicBool,
    cache: Padded<Mutex<ReaderCache>>,
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
            state: Mutex::new(State {
                frames: VecDeque::new(),
                complete_frames: 0,
                msgs: 0,
                writer_in_msg: false,
                writer_closed: false,
                reader_closed: false,
                reader,
                writer,
                hwm,
                lwm: low_water_mark(hwm),
                conflate: false,
            }),
            writer_blocked: AtomicBool::new(false),
            cache: Padded(Mutex::new(ReaderCache::default())),
        }
    }

    fn is_full(&self, st: &State) -> bool {
        !st.conflate && !st.writer_in_msg && st.hwm > 0 && st.msgs >= st.hwm
    }

    /// Under `state`'s lock: note that the writer waits for room.
    fn block_writer(&self) {
        self.writer_blocked.store(true, Relaxed);
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
        if self.writer_blocked.load(Relaxed) && !self.is_full(&st) {
            self.writer_blocked.store(false, Relaxed);
            let w = st.writer.clone();
            drop(st);
            w.notify();
        }
    }

    /// Has the reader gone away?
    pub fn is_reader_closed(&self) -> bool {
        self.state.lock().reader_closed
    }

    /// Append one frame. Fails if the queue is at its HWM at a message boundary, or closed.
    pub fn push(&self, msg: Msg) -> Result<(), PushError> {
        let wake = {
            let mut st = self.state.lock();
            if st.reader_closed {
                return Err(PushError::Closed(msg));
            }
            if self.is_full(&st) {
                self.block_writer();
                return Err(PushError::Full(msg));
            }
            Self::append(&mut st, msg).then(|| st.reader.clone())
        };
        if let Some(r) = wake {
            r.notify();
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
            let mut wake = false;
            while !batch.is_empty() {
                if self.is_full(&st) {
                    self.block_writer();
                    break;
                }
                let msg = batch.pop_front().expect("non-empty");
                wake |= Self::append(&mut st, msg);
            }
            wake.then(|| st.reader.clone())
        };
        if let Some(r) = wake {
            r.notify();
        }
        true
    }

    /// Returns true if the reader must be woken (the first complete message appeared).
    fn append(st: &mut State, msg: Msg) -> bool {
        let more = msg.more;
        st.frames.push_back(msg);
        st.writer_in_msg = more;
        if more {
            return false;
        }
        st.msgs += 1;
        let was_empty = st.complete_frames == 0;
        st.complete_frames = st.frames.len();
        if st.conflate {
            Self::drop_older(st);
        }
        was_empty
    }

    /// CONFLATE: drop every complete message but the newest. (The rest of a message the
    /// reader is in the middle of is in its cache, out of reach.)
    fn drop_older(st: &mut State) {
        let n = st.frames.len();
        let newest = (0..n - 1).rev().find(|&i| !st.frames[i].more).map_or(0, |i| i + 1);
        if newest > 0 {
            st.frames.drain(..newest);
            st.msgs = 1;
            st.complete_frames = st.frames.len();
        }
    }

    /// Would a push be accepted now? A writer told "no" because the queue is full is woken when
    /// it drains to the low-water mark, exactly as if its push had failed: so a poller that
    /// found a socket not writable learns when it becomes writable.
    pub fn can_push(&self) -> bool {
        let st = self.state.lock();
        if st.reader_closed {
            return false;
        }
        if self.is_full(&st) {
            self.block_writer();
            return false;
        }
        true
    }

    /// Take the next frame of a complete message.
    pub fn pop(&self) -> Option<Msg> {
        let mut cache = self.cache.0.lock();
        if cache.frames.is_empty() {
            self.refill(&mut cache);
        }
        let msg = cache.frames.pop_front()?;
        if !msg.more {
            cache.unreported += 1;
        }
        if cache.frames.is_empty() {
            // Report now (whatever the reader has read, the writer sees as read once the cache
            // is dry) and take the next batch under the same lock.
            self.refill(&mut cache);
        } else if cache.unreported >= cache.report_after && self.writer_blocked.load(Relaxed) {
            self.report_and_wake(&mut cache);
        }
        Some(msg)
    }

    /// [`report`](Self::report) under the shared lock, then wake the writer if it may go on.
    fn report_and_wake(&self, cache: &mut ReaderCache) {
        let wake = self.report(&mut self.state.lock(), cache);
        if let Some(w) = wake {
            w.notify();
        }
    }

    /// Under both locks: subtract the reader's reads from the HWM count. Returns the writer's
    /// signal if a blocked writer may now go on.
    fn report(&self, st: &mut State, cache: &mut ReaderCache) -> Option<Arc<Signal>> {
        // Saturating only for CONFLATE, whose count `drop_older` resets and nothing bounds.
        st.msgs = st.msgs.saturating_sub(std::mem::take(&mut cache.unreported));
        cache.report_after = st.msgs.saturating_sub(st.lwm);
        if self.writer_blocked.load(Relaxed) && st.msgs <= st.lwm {
            self.writer_blocked.store(false, Relaxed);
            return Some(st.writer.clone());
        }
        None
    }

    /// The cache is empty: report the reads and move every complete message from the shared
    /// state into it (all of it: a reader that is behind catches up one lock at a time).
    fn refill(&self, cache: &mut ReaderCache) {
        let wake = {
            let mut st = self.state.lock();
            let wake = self.report(&mut st, cache);
            let ready = st.complete_frames;
            if ready == st.frames.len() {
                // No partial message at the tail: swap, so the cache's spare capacity becomes
                // the writer's.
                std::mem::swap(&mut st.frames, &mut cache.frames);
            } else {
                cache.frames.extend(st.frames.drain(..ready));
            }
            st.complete_frames = 0;
            wake
        };
        if let Some(w) = wake {
            w.notify();
        }
    }

    /// Move every frame of complete messages into `out`, up to roughly `max_bytes` of bodies
    /// (always whole messages, always at least one). Returns the number of frames moved.
    pub fn pop_batch(&self, out: &mut VecDeque<Msg>, max_bytes: usize) -> usize {
        let mut cache = self.cache.0.lock();
        if !cache.frames.is_empty() {
            // Only if this queue was also read with `pop` (engines read with this alone): the
            // cached messages go first, the shared state waits for the next call.
            let n = cache.frames.len();
            cache.unreported += cache.frames.iter().filter(|m| !m.more).count();
            out.extend(cache.frames.drain(..));
            self.report_and_wake(&mut cache);
            return n;
        }
        let (n, wake) = {
            let mut st = self.state.lock();
            // Where the batch ends: after the first whole message that reaches `max_bytes`, or
            // after the last complete one. Only lengths are read here; the frames move below
            // in bulk instead of one pop and push each.
            let ready = st.complete_frames;
            let mut n = ready;
            let mut bytes = 0;
            let mut msgs = 0;
            for (i, msg) in st.frames.iter().take(ready).enumerate() {
                bytes += msg.data.len();
                if !msg.more {
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
            cache.unreported += msgs;
            let wake = if n > 0 { self.report(&mut st, &mut cache) } else { None };
            (n, wake)
        };
        if let Some(w) = wake {
            w.notify();
        }
        n
    }

    /// Is a complete message waiting?
    pub fn has_msg(&self) -> bool {
        let cache = self.cache.0.lock();
        !cache.frames.is_empty() || self.state.lock().complete_frames > 0
    }

    /// The writer went away and everything it completed has been read.
    pub fn is_finished(&self) -> bool {
        let cache = self.cache.0.lock();
        let st = self.state.lock();
        cache.frames.is_empty() && st.writer_closed && st.complete_frames == 0
    }

    /// Number of complete messages queued and not yet read.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        let cache = self.cache.0.lock();
        self.state.lock().msgs - cache.unreported
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

    /// The reader is done: everything queued is dropped and further pushes fail.
    pub fn close_reader(&self) {
        let mut cache = self.cache.0.lock();
        cache.frames.clear();
        cache.unreported = 0;
        let writer = {
            let mut st = self.state.lock();
            st.reader_closed = true;
            st.frames.clear();
            st.complete_frames = 0;
            st.msgs = 0;
            self.writer_blocked.store(false, Relaxed);
            st.writer.clone()
        };
        writer.notify();
    }

    fn set_reader(&self, s: Arc<Signal>) {
        let cache = self.cache.0.lock();
        let mut st = self.state.lock();
        st.reader = s.clone();
        if !cache.frames.is_empty() || st.complete_frames > 0 || st.writer_closed {
            drop(st);
            s.notify();
        }
    }

    fn set_writer(&self, s: Arc<Signal>) {
        self.state.lock().writer = s;
    }
}

/// Does a socket of type `t` with options `o` conflate its queues? libzmq applies CONFLATE to
/// the types whose messages are independent updates.
pub(crate) fn conflates(t: oxmq_wire::SocketType, o: &crate::options::Options) -> bool {
    use oxmq_wire::SocketType::*;
    o.conflate && matches!(t, Dealer | Pull | Push | Pub | Sub)
}

/// One end of a bidirectional pipe: `out` is written by this end, `inp` read by it.
#[derive(Clone)]
pub(crate) struct Pipe {
    pub id: PipeId,
    pub out: Arc<Queue>,
    pub inp: Arc<Queue>,
}

impl Pipe {
    /// Create both ends. `a_signal` wakes end A (when its input gets a message or its output
    /// gets room), `b_signal` wakes end B. `a_to_b_hwm` bounds A's output, `b_to_a_hwm` B's.
    pub fn pair(a_signal: Arc<Signal>, b_signal: Arc<Signal>, a_to_b_hwm: usize, b_to_a_hwm: usize) -> (Pipe, Pipe) {
        let id = NEXT_PIPE_ID.fetch_add(1, Ordering::Relaxed);
        let a_to_b = Arc::new(Queue::new(a_to_b_hwm, a_signal.clone(), b_signal.clone()));
        let b_to_a = Arc::new(Queue::new(b_to_a_hwm, b_signal, a_signal));
        (Pipe { id, out: a_to_b.clone(), inp: b_to_a.clone() }, Pipe { id, out: b_to_a, inp: a_to_b })
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
        assert!(q.pop().is_none());
        q.push(m("b", false)).unwrap();
        assert_eq!(q.pop().unwrap(), m("a", true));
        assert_eq!(q.pop().unwrap(), m("b", false));
        assert!(q.pop().is_none());
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
        q.pop();
        assert_eq!(w.seq(), w0, "not yet at the low-water mark");
        q.pop();
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
                assert_eq!(q.pop().unwrap(), m("x", false));
            }
            assert!(q.pop().is_none());
            assert_eq!(q.len(), 0);
        }
    }

    #[test]
    fn a_waiting_writer_learns_of_cached_reads_at_the_low_water_mark() {
        let (q, w, _) = q(4);
        for _ in 0..4 {
            q.push(m("x", false)).unwrap();
        }
        // The first read moves all four to the reader's cache. Like libzmq's reader, which
        // tells the writer what it has read every low-water mark's worth, this one reports
        // reads from its cache at the low-water mark (2), or when the cache is dry.
        q.pop().unwrap();
        assert_eq!(q.len(), 3);
        assert!(matches!(q.push(m("y", false)), Err(PushError::Full(_))), "one read is not yet reported");
        let w0 = w.seq();
        q.pop().unwrap();
        assert_eq!(w.seq(), w0 + 1, "woken at the low-water mark");
        q.push(m("y", false)).unwrap();
        q.push(m("z", false)).unwrap();
        assert!(matches!(q.push(m("over", false)), Err(PushError::Full(_))));
        let got: Vec<_> = std::iter::from_fn(|| q.pop()).map(|m| m.data).collect();
        assert_eq!(got, ["x", "x", "y", "z"]);
    }

    #[test]
    fn writer_told_full_by_can_push_is_woken_at_low_water_mark() {
        let (q, w, _) = q(2);
        q.push(m("1", false)).unwrap();
        q.push(m("2", false)).unwrap();
        let w0 = w.seq();
        assert!(!q.can_push());
        q.pop();
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
        assert_eq!(q.pop().unwrap(), m("x", false));
        assert!(q.pop().is_none());
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

    #[test]
    fn pop_batch_takes_whole_messages_only() {
        let (q, _, _) = q(0);
        q.push(m("a", true)).unwrap();
        q.push(m("b", false)).unwrap();
        q.push(m("c", true)).unwrap();
        let mut out = VecDeque::new();
        assert_eq!(q.pop_batch(&mut out, usize::MAX), 2);
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
        assert_eq!(q.pop_batch(&mut out, 3), 2);
        assert_eq!(out, [m("aa", true), m("bb", false)]);
        assert_eq!(q.len(), 2);
        // The rest, taken whole (the queue is swapped out), leaves a working, empty queue.
        out.clear();
        assert_eq!(q.pop_batch(&mut out, usize::MAX), 3);
        assert_eq!(out, [m("cc", false), m("dd", true), m("ee", false)]);
        assert_eq!(q.len(), 0);
        assert!(q.pop().is_none());
        q.push(m("f", true)).unwrap();
        assert_eq!(q.pop_batch(&mut out, usize::MAX), 0, "a partial message is not taken");
        q.push(m("g", false)).unwrap();
        assert_eq!(q.pop().unwrap(), m("f", true));
        assert_eq!(q.pop().unwrap(), m("g", false));
    }

    #[test]
    fn conflate_keeps_the_newest_message_and_the_rest_of_one_being_read() {
        let (q, _, _) = q(1);
        q.set_conflate();
        for i in 0..5 {
            q.push(Msg::new(format!("{i}"), false)).unwrap();
        }
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop().unwrap(), m("4", false));
        q.push(m("a1", true)).unwrap();
        q.push(m("a2", false)).unwrap();
        assert_eq!(q.pop().unwrap(), m("a1", true));
        q.push(m("b", false)).unwrap();
        q.push(m("c", false)).unwrap();
        assert_eq!(q.pop().unwrap(), m("a2", false), "the message being read is kept whole");
        assert_eq!(q.pop().unwrap(), m("c", false));
        assert!(q.pop().is_none());
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
