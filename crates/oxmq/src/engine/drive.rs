//! Who writes a connection: the engine on its I/O thread, or the caller that sends.
//!
//! Handing every message to the I/O thread costs a wake-up and a context switch on each side
//! of the hop; on a core shared by the caller and the I/O thread that is most of a small
//! message's cost. So a caller whose send finds the engine idle encodes the message and
//! writes it itself, on its own thread, and the I/O thread never hears of it. The I/O thread
//! keeps everything the caller cannot do: finishing a write the kernel did not take whole,
//! heartbeats and PONGs, writing while the caller is away, one-way streams, the end of the
//! connection.
//!
//! **The rule** (one party writes a connection at a time, and nothing is left unwritten
//! without the engine knowing):
//! 1. [`Drive::out`] is the right to write. Whoever holds it pops the pipe, encodes and
//!    writes; bytes are written in the order they were encoded, by whoever holds it. The
//!    engine holds it only between two awaits ([`Drive::engine_step`]), a caller only within
//!    its send and only by `try_lock` ([`Drive::drain`]): a caller never waits for the engine.
//! 2. A caller is offered the pipe only when its push completes a message for an idle
//!    reader, i.e. exactly when the pipe would otherwise wake the engine ([`Drain`]): if it
//!    takes anything it takes everything queued, so the pipe is idle again when it is done.
//!    Or when the engine is already woken and owes the pipe a look: over ipc (and tcp the
//!    kernel does not pace), when its push takes a stream's queued bytes past
//!    [`CALLER_WRITES_QUEUED`] (or that much more since
//!    the last offer), and when its push finds the pipe full ([`Drain::write_queued`], see
//!    "Packing"). Then it takes one batch (at the HWM, unless bytes already wait for the
//!    kernel) and leaves the reader marked busy (`Queue::pop_for_woken_reader`): the engine's look,
//!    owed already, finds the pipe empty and marks it idle.
//! 3. Whatever a caller does not finish (the right was taken, the kernel's buffer is full, a
//!    write failed, a stream's message), it leaves in [`Out`] or in the pipe and hands to the
//!    engine by notifying the engine's signal *after* letting go of the right (the queue does
//!    that when `drain` returns false). The engine reads the signal's sequence number before
//!    it takes the right, so a hand-over that comes while it holds the right makes it step
//!    again.
//! 4. The engine decides that the connection is done (the socket let go of the pipe and
//!    everything is written) under the right, so nothing a caller left is behind; and it ends
//!    by marking [`Out::closed`] under the right, after the pipe stopped offering itself: no
//!    caller writes a connection the engine has finished.
//!
//! `loom_models` checks the rule with this file's code and the real pipe `Queue` (every
//! message written once, in order, whoever writes it, with the kernel refusing writes at any
//! point).
//!
//! **Streams.** Writing every message as it is sent is right for request-reply (the sender
//! then waits for an answer) and wrong for a one-way stream of small messages (a system call
//! each, where the engine writes thousands in one). So a caller writes at once unless the
//! connection looks like a stream: callers wrote [`DIRECT_BURST`] times and nothing has
//! arrived on the connection since. Then the caller leaves the message in the pipe and wakes
//! the engine, as if there were no drive: woken once, the engine takes everything queued by
//! then in one batch, and so on while the stream lasts. (A short burst, a client's first
//! messages, goes out whole at once: were only its first message written at once, the rest
//! would follow an engine's wake-up later, and a peer that received the first would not find
//! the others there yet, as it would with libzmq, whose I/O thread writes them together.)
//!
//! A large message ([`DIRECT_MIN_BODY`], 32 KiB, or more) is the exception: its sender writes
//! it even in a stream, whenever no bytes are waiting for the kernel. A system call per such
//! message costs little beside copying its body, and a body handed to the I/O thread is
//! freed there: with glibc's malloc, a block one thread allocated and another freed goes
//! back under the arena's lock, and the top of the heap, grown by the blocks in flight and
//! trimmed as they come back, is faulted in again page by page (a 64 KiB sender took one or
//! two page faults per message that way; BENCHMARKS.md). Written by its sender, the body is
//! freed on the thread that made it, before it makes the next one. The copy into the kernel
//! is then the sender's, as for any message a caller writes (a PUB's fan-out of large
//! messages too). Once the kernel's buffer is full, the engine writes as before until it has
//! caught up. (Over tcp the wire writes such a lone message in two parts, as libzmq does, so
//! that a kernel that paces TCP does not pace each message: `engine::zmtp::first_write`.)
//!
//! A batch is as large as what the sender queued before the engine ran. Where the two share a
//! core and the sender is the slower of the two (the C ABI's sender, at 64 B), the woken
//! engine takes the CPU at once, finds a few messages, writes them and sleeps again: a
//! wake-up, two context switches and a system call for every few messages, which slows the
//! sender further. So an engine woken for a stream's message ([`Drive::take_streamed`]) on an
//! I/O thread that went to sleep less than [`HOT_STREAM_GAP`] before first offers the CPU to
//! whatever else is ready on its core (`sched_yield`): a sender there goes on queueing for
//! the rest of its turn, and the engine then writes it in one batch. On a core of its own the
//! yield returns at once. The gap is the I/O thread's, not the connection's, and only the
//! first such engine after a wake-up yields ([`crate::io_thread`]): a PUB (or a PUSH, or DEALERs)
//! with many peers on one I/O thread wakes it for each connection in turn, each connection
//! seldom, and with a gap per connection the thread was woken for every message sent, wrote
//! one connection and slept again (two context switches per message, BENCHMARKS.md); now
//! the sender queues for all of them and the thread writes them all when it runs. Nothing
//! else yields: a stream's message that comes after a longer pause (one message now and
//! then, which the engine sends as soon as it is woken), a message a caller could not write
//! itself (the kernel's buffer full, the engine busy), everything else the engine is woken
//! for.
//!
//! **Packing.** A stream's message queued as a frame costs the sender little, but the engine
//! then pops it, encodes it and frees its body on the I/O thread: a block the sending thread
//! allocated, freed on another, goes back to the allocator's shared arena under its lock, and
//! the sender's next allocation misses its thread's cache (a third of a 64 B sender's time,
//! see BENCHMARKS.md). So while the connection is a stream (`Drive::streaming`, dropped as
//! soon as the peer says something) and its frames go on the wire in the clear ([`Wire::packs`]:
//! NULL or PLAIN, no subscription becoming a command), the sending caller *packs* a one-frame
//! message instead of queueing it: under the pipe's lock, which its push takes anyway, it
//! appends the message's wire form to the pipe's packed bytes and drops the body on its own
//! thread ([`Drain::pack`](crate::pipe::Drain::pack)). A message is packed only when no frame
//! is queued, so packed bytes are older than every frame; whoever holds the right to write
//! takes them first, in the same look as the frames it takes
//! ([`Queue::pop_packed_and_batch`]), which keeps rule 1's order. Packed messages
//! count for the HWM as queued ones do, until taken; they wake the engine as a queued message
//! would (rule 3 unchanged). Bodies of [`PACK_MAX_BODY`] or more, which the encoder would not
//! copy, are queued as frames, and so is everything once [`WRITE_BATCH`] bytes are packed.
//!
//! Over ipc, and over tcp where the kernel does not pace the connection (its congestion
//! control is not BBR's: `FdStream::paced`), the sender also writes what is queued, when its
//! push takes the bytes pushed since the engine last took any (packed, or frames' bodies) to
//! [`CALLER_WRITES_QUEUED`] (128 KiB,
//! and each 128 KiB more until some are taken) and it gets the right at once; what the kernel
//! refuses it leaves to the engine, woken again (rule 3).
//! Left to the engine, a stream whose sender shares the engine's core was written only in
//! the engine's turns on that core, and the kernel's ipc buffer is small (208 KiB, writable
//! again at a quarter): ipc 1 KiB ran at 2.2–2.8M msg/s with 10–12k context switches on the
//! sending side per 2M messages and 616–698 ms of its CPU; written by the sender, 3.8–4.5M,
//! 0.8k switches, 445–531 ms (BENCHMARKS.md, two sets of rounds). Over tcp under cubic
//! (Linux's default) the same: 1 KiB 3.6–4.1M msg/s became 4.1–4.4M, 16 KiB 238–320k became
//! 329–396k, the sending side's CPU 4–31% lower. Not where BBR paces the connection: there
//! each write's packets go out by a timer, and the sender's 128 KiB writes cost the sending
//! side 1.45–2.1x the CPU of the engine's larger batches, at 0.47–0.69x the rate (tcp 1 KiB;
//! BENCHMARKS.md, eighth session of 2026-12-07). Large bodies, queued as frames, count
//! too: with the engine writing them, an ipc 64 KiB stream's bodies piled up cold and were
//! freed in bursts on the I/O thread, and the sender took 20–36k page faults per 20k messages
//! refilling a heap glibc had trimmed; written by the sender, 2–7k, and 33–47k msg/s became
//! 73–76k (16 KiB: 207–240k, 315–329k; BENCHMARKS.md).
//!
//! Over tcp and ipc alike, a push refused because the pipe is full (at its HWM, 1000
//! messages by default: 66 KB of 64 B messages, well before 128 KiB) with fewer than
//! [`CALLER_WRITES_QUEUED`] bytes queued offers them to the sender the same way, before it
//! waits for room: what the engine would write in its next turn, the sender writes in this
//! one, and its take makes the room it waits for. It takes one batch and leaves the reader
//! marked busy (`Queue::pop_for_woken_reader`): a take that marked it idle made the sender's
//! next message wake the engine for a look that found nothing, once per HWM. Where the two
//! share a core, a 64 B stream was otherwise a wake-up, two context switches and two yields
//! per HWM's worth: per 10M messages 17k context switches on each thread and 460 ms of the
//! sending side's CPU, tcp and ipc; now 0.6k (tcp) and 1.7k (ipc), 392 and 387 ms (`perf
//! stat` per thread; BENCHMARKS.md). While bytes wait for the kernel the offer is declined
//! (over tcp, writes tried then took 12–20k page faults per 10M messages more). Only a pipe
//! full of small messages: one of 1 KiB messages fills at 1 MB, over ipc the 128 KiB offers
//! come first, and over tcp the engine's large batches cost the sender less than its own
//! large writes (session 30; with the offer at any size, tcp 1 KiB ran in the slower of its
//! two modes in 8 of 9 rounds, the build before in 3 of 9, but in later rounds every build
//! ran there most of the time: not settled, BENCHMARKS.md). The 128 KiB offers take until
//! the pipe is idle, as before: taken one batch at a time, ipc 1 KiB fell from 4.2–4.6M to
//! 3.9–4.3M msg/s.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering::Relaxed;

use bytes::BytesMut;

use crate::pipe::{Drain, Msg, Queue, ReaderCache};
use crate::sync::{AtomicU64, Mutex};

/// How much one step takes from the pipe before writing: large messages go out 16 x 64 KiB
/// per writev.
pub(crate) const WRITE_BATCH: usize = 1024 * 1024;

/// The writes callers make at once, with nothing arriving from the peer meanwhile, before
/// the connection counts as a one-way stream (see "Streams" above). One in the loom models,
/// whose few messages then go both ways, as before there was a burst.
pub(crate) const DIRECT_BURST: u32 = if cfg!(oxmq_loom) { 1 } else { 16 };

/// A stream's message with a body this large is written by its sender all the same, when no
/// bytes are waiting for the kernel (see "Streams" above).
pub(crate) const DIRECT_MIN_BODY: usize = 32 * 1024;

/// Over ipc and unpaced tcp, a stream's queued bytes are written by the sending caller when
/// they reach this (and each time this much more is queued before some are taken; see
/// "Packing" above).
pub(crate) const CALLER_WRITES_QUEUED: usize = 128 * 1024;

/// A stream's message with a body this large is queued as a frame, not packed: the encoder
/// writes such a body without copying it (`Transmit::ZERO_COPY_MIN`).
const PACK_MAX_BODY: usize = oxmq_wire::Transmit::ZERO_COPY_MIN;

/// An engine woken for a stream's message within this long of going idle yields its core
/// before stepping (see "Streams" above): the stream is hot, the sender still queueing.
pub(crate) const HOT_STREAM_GAP: std::time::Duration = std::time::Duration::from_micros(200);

/// The protocol and the byte stream under a [`Drive`]: encodes messages into a buffer and
/// writes the buffer without waiting. (The ZMTP engine's is a connection and a tcp or ipc
/// socket; the loom models' a vector.)
pub(crate) trait Wire: Send + Sync {
    type Buf: Send;
    /// Append `batch` (emptied), and whatever the protocol owes the peer, to `buf`.
    fn encode(&self, batch: &mut VecDeque<Msg>, buf: &mut Self::Buf);
    /// Bytes in `buf` not yet written.
    fn pending(buf: &Self::Buf) -> usize;
    /// Write from the front of `buf` until it is empty (`Ok`) or the kernel takes no more
    /// (`WouldBlock`, with what was written gone from `buf`).
    fn try_write(&self, buf: &mut Self::Buf) -> io::Result<()>;
    /// A whole message's wire form depends on nothing but the message (see "Packing"
    /// above): asked once, when the drive is made.
    fn packs(&self) -> bool;
    /// Append the wire form of the one-frame message `msg` to `packed`.
    fn pack(msg: &Msg, packed: &mut BytesMut);
    /// Append what [`Wire::pack`] made to `buf`, leaving `packed` empty.
    fn append_packed(packed: &mut BytesMut, buf: &mut Self::Buf);
    /// Queued bytes this many or more (and each time this much more is queued before some
    /// are taken) are written by the sending caller itself rather than left for the engine
    /// (see "Packing" above); `None`: always left for the engine. Asked when the drive is
    /// offered to the pipe (`Drain::writes_queued_at`).
    fn caller_writes_queued(&self) -> Option<usize>;
    /// A push that finds the pipe full with fewer bytes than this queued is offered to the
    /// sending caller to write them before it waits (`Drain::writes_when_full`); `None`:
    /// never.
    fn caller_writes_when_full(&self) -> Option<usize>;
}

/// What the holder of the right to write works on.
pub(crate) struct Out<B> {
    /// Encoded, not yet written.
    tx: B,
    /// Frames popped from the pipe, being encoded (kept for its capacity).
    batch: VecDeque<Msg>,
    /// The pipe's reader's cache: the right to write is the right to read the pipe.
    reader: ReaderCache,
    /// Callers' writes since the connection had decoded this many batches (`Drive::inputs`):
    /// [`DIRECT_BURST`] of them with that unchanged, and the callers are streaming. (The
    /// engine's writes leave it as it is: a stream stays one until the peer says something.)
    direct_at: u64,
    direct_writes: u32,
    /// A caller's write failed: the engine ends the connection with this.
    failed: Option<io::Error>,
    /// The engine has ended: nobody writes any more.
    closed: bool,
}

/// The writing side of one connection, shared by its engine and the callers that send to it
/// (through the pipe, as its [`Drain`]).
pub(crate) struct Drive<W: Wire> {
    pub wire: W,
    out: Mutex<Out<W::Buf>>,
    /// Batches decoded from the peer, ever (the reader counts them): input since a caller's
    /// write says the connection is not a one-way stream.
    inputs: AtomicU64,
    /// A caller left a one-way stream's message for the engine since the engine last looked
    /// (see "Streams" above). A hint, not part of the rule: a lost one costs a yield.
    streamed: std::sync::atomic::AtomicBool,
    /// [`Wire::packs`].
    packs: bool,
    /// The connection is a one-way stream whose messages are packed (see "Packing" above): set
    /// where a caller finds it a stream (`Out::direct_writes`), cleared by input, read without
    /// the right to write. A hint, not part of the rule: read late, it packs a message that
    /// would have been written at once, or queues one that could have been packed.
    streaming: std::sync::atomic::AtomicBool,
    /// A caller wrote since the reader last decoded a batch ([`Drive::awaits_answer`]). A
    /// hint, not part of the rule.
    answer_due: std::sync::atomic::AtomicBool,
}

/// What the engine's step came to.
#[derive(Debug)]
pub(crate) enum Step {
    /// Everything taken was written and the pipe was found idle: wait for its signal.
    Idle,
    /// Everything was written and the pipe's writer is gone: the connection is done.
    Finished,
    /// Something was taken and written, and more may be queued: step again.
    Again,
    /// The kernel's buffer is full: wait until the stream is writable, then step again.
    Blocked,
    /// A write failed (the engine's or a caller's).
    Failed(io::Error),
}

impl<W: Wire> Drive<W> {
    pub fn new(wire: W, tx: W::Buf) -> Drive<W> {
        let packs = wire.packs();
        Drive {
            wire,
            out: Mutex::new(Out {
                tx,
                batch: VecDeque::new(),
                reader: ReaderCache::default(),
                direct_at: 0,
                direct_writes: 0,
                failed: None,
                closed: false,
            }),
            inputs: AtomicU64::new(0),
            streamed: std::sync::atomic::AtomicBool::new(false),
            packs,
            streaming: std::sync::atomic::AtomicBool::new(false),
            answer_due: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Was the engine woken for a one-way stream's message (since it last asked)? Then it
    /// yields its core before stepping (see "Streams" above).
    pub fn take_streamed(&self) -> bool {
        self.streamed.load(Relaxed) && self.streamed.swap(false, Relaxed)
    }

    /// The reader decoded a batch from the peer.
    pub fn note_input(&self) {
        self.inputs.fetch_add(1, Relaxed);
        if self.streaming.load(Relaxed) {
            self.streaming.store(false, Relaxed);
        }
        if self.answer_due.load(Relaxed) {
            self.answer_due.store(false, Relaxed);
        }
    }

    /// Did a caller write the connection since the reader last decoded a batch from the peer
    /// (a request or a reply sent, its answer not read yet)? A receiving caller on one CPU
    /// then lets the peer run before it reads (`feed`).
    pub fn awaits_answer(&self) -> bool {
        self.answer_due.load(Relaxed)
    }

    /// The engine's turn: take one batch of what is queued (and what the protocol owes),
    /// write what the kernel takes. Read the signal's sequence number before calling this.
    /// (One batch, not everything: a pipe found empty is marked idle, and the sender's next
    /// push then wakes the engine again; a step that took something steps again instead, as
    /// a write loop would.)
    pub fn engine_step(&self, queue: &Queue) -> Step {
        let mut out = self.out.lock();
        if let Some(e) = out.failed.take() {
            return Step::Failed(e);
        }
        let Out { tx, batch, reader, .. } = &mut *out;
        let room = WRITE_BATCH.saturating_sub(W::pending(tx));
        // Packed messages first: they are older than every frame queued.
        let (packed, taken) = if room > 0 {
            queue.pop_packed_and_batch(reader, Some(&mut |p| self.append_packed(p, tx)), batch, room)
        } else {
            (false, 0)
        };
        // Encoded even when nothing was taken: a PONG or PING may be owed.
        self.wire.encode(batch, tx);
        if W::pending(tx) > 0 {
            match self.wire.try_write(tx) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Blocked,
                Err(e) => return Step::Failed(e),
            }
        }
        if taken > 0 || packed || room == 0 {
            Step::Again
        } else if queue.is_finished() {
            // Decided under the right to write: nothing a caller left in `tx` is behind.
            Step::Finished
        } else {
            Step::Idle
        }
    }

    /// Messages packed in the pipe, to `tx`. They were packed by a drive of this pipe that
    /// [`Wire::packs`], perhaps over an earlier connection (the pipe of a connecting socket
    /// outlives a reconnection). A socket's connections share its mechanism, so the next one
    /// packs too, but for a SUB or XSUB whose peer turns from ZMTP 3.0 into 3.1 (its
    /// subscriptions then go as commands): then they are dropped, and counted read, rather
    /// than sent in a form this connection does not speak, like the bytes a dead connection
    /// had not written (a SUB re-sends its subscriptions after a reconnection anyway).
    fn append_packed(&self, packed: &mut BytesMut, tx: &mut W::Buf) {
        if self.packs {
            W::append_packed(packed, tx);
        }
    }

    /// The engine has ended: from now on callers leave everything to the pipe. Call after
    /// the pipe stopped offering this drive (`Queue::set_drain(None)`).
    pub fn close(&self) {
        self.out.lock().closed = true;
    }
}

impl<W: Wire> Drain for Drive<W> {
    fn pack(&self, msg: &Msg, packed: &mut BytesMut) -> bool {
        if !self.streaming.load(Relaxed) || msg.data.len() >= PACK_MAX_BODY || packed.len() >= WRITE_BATCH {
            return false;
        }
        W::pack(msg, packed);
        true
    }

    fn drain(&self, queue: &Queue, last: usize) -> bool {
        let Some(mut out) = self.out.try_lock() else {
            // The engine is stepping: it will see the message (rule 3).
            return false;
        };
        if out.closed || out.failed.is_some() {
            return false;
        }
        let inputs = self.inputs.load(Relaxed);
        if out.direct_at != inputs {
            // The peer spoke since: request-reply, or a new burst.
            out.direct_at = inputs;
            out.direct_writes = 0;
        }
        if out.direct_writes >= DIRECT_BURST && !(last >= DIRECT_MIN_BODY && W::pending(&out.tx) == 0) {
            // A one-way stream: the message stays in the pipe for the engine, woken now, to
            // take with whatever follows it in one batch; what follows is packed.
            self.streamed.store(true, Relaxed);
            if self.packs {
                self.streaming.store(true, Relaxed);
            }
            return false;
        }
        let (more, wrote) = self.take_and_write(&mut out, queue, false);
        match wrote {
            Wrote::Nothing => !more,
            Wrote::All => {
                out.direct_writes += 1;
                if !self.answer_due.load(Relaxed) {
                    self.answer_due.store(true, Relaxed);
                }
                !more
            }
            Wrote::Left => {
                // The engine finishes the write once the stream is writable (or ends); until
                // the peer says something, what follows is a stream the engine writes (a
                // sender faster than the peer reads would otherwise encode and try again
                // each time the engine empties the pipe).
                out.direct_writes = DIRECT_BURST;
                false
            }
        }
    }

    fn writes_queued_at(&self) -> usize {
        self.wire.caller_writes_queued().unwrap_or(usize::MAX)
    }

    fn writes_when_full(&self) -> usize {
        self.wire.caller_writes_when_full().unwrap_or(0)
    }

    fn write_queued(&self, queue: &Queue, full: bool) -> bool {
        let Some(mut out) = self.out.try_lock() else {
            // The engine is stepping: it takes them (rule 3).
            return false;
        };
        if out.closed || out.failed.is_some() {
            return false;
        }
        if full && W::pending(&out.tx) > 0 {
            // Bytes wait for the kernel: the engine, woken for them, writes them and then what
            // is queued; the sender waits for room.
            return true;
        }
        // As the engine would: the stream stays one, and what the kernel refuses waits in
        // `tx` for the engine, already woken for these messages and notified again (rule 3).
        // At the HWM, one batch, leaving the engine marked busy
        // (`Queue::pop_for_woken_reader`): its look is owed already, and the sender's next
        // messages need no wake-up of their own (see "Packing" above).
        match self.take_and_write(&mut out, queue, full) {
            (more, Wrote::Nothing | Wrote::All) => !more,
            (_, Wrote::Left) => false,
        }
    }
}

/// What a caller's [`Drive::take_and_write`] came to.
enum Wrote {
    /// Nothing was waiting to be written.
    Nothing,
    /// Everything taken was written.
    All,
    /// Bytes are left in `tx` for the engine: the kernel took no more, or the write failed
    /// (then in `Out::failed`, for the engine to end the connection with).
    Left,
}

impl<W: Wire> Drive<W> {
    /// A caller's turn under the right to write: take everything queued, until the pipe is
    /// found idle (rule 2) or enough waits (then `more`), what was packed first, and write it
    /// without waiting.
    fn take_and_write(&self, out: &mut Out<W::Buf>, queue: &Queue, for_woken: bool) -> (bool, Wrote) {
        let Out { tx, batch, reader, failed, .. } = out;
        let more = loop {
            let room = WRITE_BATCH.saturating_sub(W::pending(tx));
            if room == 0 {
                break true;
            }
            let mut append = |p: &mut BytesMut| self.append_packed(p, tx);
            let append: Option<&mut dyn FnMut(&mut BytesMut)> = Some(&mut append);
            let (_, taken) = if for_woken {
                queue.pop_for_woken_reader(reader, append, batch, room)
            } else {
                queue.pop_packed_and_batch(reader, append, batch, room)
            };
            self.wire.encode(batch, tx);
            // For a woken engine, one batch (its owed look takes the rest); else until idle.
            if for_woken || taken == 0 {
                break false;
            }
        };
        if W::pending(tx) == 0 {
            return (more, Wrote::Nothing);
        }
        match self.wire.try_write(tx) {
            Ok(()) => (more, Wrote::All),
            Err(e) => {
                if e.kind() != io::ErrorKind::WouldBlock {
                    *failed = Some(e);
                }
                (more, Wrote::Left)
            }
        }
    }
}

/// How the test wires (`tests` below, `loom_models`) pack: a length byte and the body, turned
/// back into frames when appended.
#[cfg(test)]
pub(crate) mod test_packing {
    use super::*;
    use bytes::Buf;

    pub fn pack(msg: &Msg, packed: &mut BytesMut) {
        packed.extend_from_slice(&[u8::try_from(msg.data.len()).expect("a short test body")]);
        packed.extend_from_slice(&msg.data);
    }

    pub fn append_packed(packed: &mut BytesMut, buf: &mut VecDeque<Msg>) {
        while !packed.is_empty() {
            let n = usize::from(packed[0]);
            packed.advance(1);
            buf.push_back(Msg::new(packed.split_to(n).freeze(), false));
        }
    }
}

#[cfg(all(test, not(oxmq_loom)))]
mod tests {
    use super::*;
    use crate::pipe::PushError;
    use crate::signal::Signal;
    use bytes::Bytes;
    use std::sync::Arc;

    /// Frames "encode" to themselves; a write moves them all onto `wire`, unless `full`.
    /// Packs (`test_packing`) unless `no_packing`; the caller writes queued bytes at
    /// `caller_writes` (as over ipc) if set.
    #[derive(Default)]
    struct VecWire {
        wire: parking_lot::Mutex<Vec<Bytes>>,
        full: std::sync::atomic::AtomicBool,
        no_packing: bool,
        caller_writes: Option<usize>,
        when_full: Option<usize>,
    }

    impl Wire for VecWire {
        type Buf = VecDeque<Msg>;
        fn encode(&self, batch: &mut VecDeque<Msg>, buf: &mut VecDeque<Msg>) {
            buf.extend(batch.drain(..));
        }
        fn pending(buf: &VecDeque<Msg>) -> usize {
            buf.iter().map(|m| m.data.len()).sum()
        }
        fn try_write(&self, buf: &mut VecDeque<Msg>) -> io::Result<()> {
            if self.full.load(Relaxed) {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.wire.lock().extend(buf.drain(..).map(|m| m.data));
            Ok(())
        }
        fn packs(&self) -> bool {
            !self.no_packing
        }
        fn pack(msg: &Msg, packed: &mut BytesMut) {
            test_packing::pack(msg, packed)
        }
        fn append_packed(packed: &mut BytesMut, buf: &mut VecDeque<Msg>) {
            test_packing::append_packed(packed, buf)
        }
        fn caller_writes_when_full(&self) -> Option<usize> {
            self.when_full
        }

        fn caller_writes_queued(&self) -> Option<usize> {
            self.caller_writes
        }
    }

    fn setup() -> (Arc<Queue>, Arc<Signal>, Arc<Drive<VecWire>>) {
        setup_hwm(0)
    }

    fn setup_hwm(hwm: usize) -> (Arc<Queue>, Arc<Signal>, Arc<Drive<VecWire>>) {
        setup_wire(hwm, VecWire::default())
    }

    fn setup_wire(hwm: usize, wire: VecWire) -> (Arc<Queue>, Arc<Signal>, Arc<Drive<VecWire>>) {
        let engine = Arc::new(Signal::new());
        let q = Arc::new(Queue::new(hwm, Arc::new(Signal::new()), engine.clone()));
        let drive = Arc::new(Drive::new(wire, VecDeque::new()));
        q.set_drain(Some(drive.clone()));
        (q, engine, drive)
    }

    fn msg(s: &'static str) -> Msg {
        Msg::new(Bytes::from_static(s.as_bytes()), false)
    }

    fn written(d: &Drive<VecWire>) -> Vec<Bytes> {
        d.wire.wire.lock().clone()
    }

    /// The engine's steps until it waits (or the connection is done).
    fn engine_runs(q: &Queue, d: &Drive<VecWire>) -> Step {
        loop {
            match d.engine_step(q) {
                Step::Again => {}
                other => return other,
            }
        }
    }

    #[test]
    fn a_send_to_an_idle_connection_is_written_by_the_caller() {
        let (q, engine, drive) = setup();
        let seen = engine.seq();
        q.push(msg("a")).unwrap();
        assert_eq!(written(&drive), ["a"]);
        assert_eq!(engine.seq(), seen, "the engine was not woken");
    }

    #[test]
    fn a_callers_write_awaits_an_answer_until_the_peer_speaks() {
        let (q, _engine, drive) = setup();
        assert!(!drive.awaits_answer(), "nothing written yet");
        q.push(msg("request")).unwrap();
        assert_eq!(written(&drive), ["request"]);
        assert!(drive.awaits_answer(), "a request went out");
        drive.note_input();
        assert!(!drive.awaits_answer(), "the reply came");
        // The engine's writes (a refused one finished, a stream) await nothing: not a
        // caller's request.
        drive.wire.full.store(true, Relaxed);
        q.push(msg("refused")).unwrap();
        drive.wire.full.store(false, Relaxed);
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        assert_eq!(written(&drive), ["request", "refused"]);
        assert!(!drive.awaits_answer());
    }

    /// `n` one-letter messages from `from`, each pushed (so offered to the drive) on its own.
    fn push_each(q: &Queue, from: u8, n: u8) -> Vec<Bytes> {
        (from..from + n)
            .map(|c| {
                let b = Bytes::from(vec![c]);
                q.push(Msg::new(b.clone(), false)).unwrap();
                b
            })
            .collect()
    }

    #[test]
    fn a_one_way_stream_is_left_to_the_engine_after_a_burst_and_input_ends_it() {
        let (q, engine, drive) = setup();
        let seen = engine.seq();
        // A short burst (ten sends, as pyzmq's test_shadow_socket_close makes before its
        // peer's receive): written by the caller, each as it comes, the engine never woken.
        let mut sent = push_each(&q, b'A', 10);
        assert_eq!(written(&drive), sent);
        // And so on up to DIRECT_BURST writes.
        sent.extend(push_each(&q, b'K', (DIRECT_BURST as u8).saturating_sub(10)));
        assert_eq!(written(&drive), sent);
        assert_eq!(engine.seq(), seen, "the engine was not woken");
        assert!(!drive.take_streamed(), "written by the caller: not a stream's hand-over");
        // Nothing arrived since all those writes: a stream. Left in the pipe, the engine woken
        // once for both, and told that it was a stream's (so that it may yield first).
        let more = push_each(&q, b'a', 2);
        assert_eq!(written(&drive), sent);
        assert_eq!(engine.seq(), seen + 1, "woken once for the batch");
        assert!(drive.take_streamed());
        assert!(!drive.take_streamed(), "told once");
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        sent.extend(more);
        assert_eq!(written(&drive), sent);
        // Still a stream: the engine takes the next one too.
        let more = push_each(&q, b'c', 1);
        assert_eq!(written(&drive), sent);
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        sent.extend(more);
        // An answer arrives (request-reply): the next sends are the caller's again.
        drive.note_input();
        let seen = engine.seq();
        sent.extend(push_each(&q, b'd', 2));
        assert_eq!(written(&drive), sent);
        assert_eq!(engine.seq(), seen, "the engine was not woken");
    }

    /// A burst written by the caller, then the stream's first message left to the engine,
    /// which writes it: the connection is a stream. Returns what was written.
    fn into_a_stream(q: &Queue, drive: &Drive<VecWire>) -> Vec<Bytes> {
        let mut sent = push_each(q, b'A', DIRECT_BURST as u8);
        sent.extend(push_each(q, b'a', 1));
        assert_eq!(written(drive).len(), DIRECT_BURST as usize, "the first of the stream is left");
        assert!(matches!(engine_runs(q, drive), Step::Idle));
        assert_eq!(written(drive), sent);
        sent
    }

    #[test]
    fn a_streams_messages_are_packed_by_the_sender_and_written_in_order_by_the_engine() {
        let (q, engine, drive) = setup();
        let mut sent = into_a_stream(&q, &drive);
        // Packed as they are sent: the engine woken once, for the first.
        let seen = engine.seq();
        let packed = push_each(&q, b'b', 3);
        assert_eq!(engine.seq(), seen + 1, "woken once");
        assert_eq!((q.len(), q.packed()), (3, 3), "packed, and counted as queued");
        // A body the encoder would not copy goes as a frame, and what follows it too (a
        // message is packed only when no frame is queued).
        let big = Bytes::from(vec![b'z'; PACK_MAX_BODY]);
        q.push(Msg::new(big.clone(), false)).unwrap();
        let after = push_each(&q, b'e', 1);
        assert_eq!((q.len(), q.packed()), (5, 3));
        assert_eq!(written(&drive), sent, "nothing written before the engine runs");
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        sent.extend(packed);
        sent.push(big);
        sent.extend(after);
        assert_eq!(written(&drive), sent);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn a_streams_packed_bytes_are_written_by_the_sender_each_time_they_pass_its_size() {
        // Each test message packs into 2 bytes (a length and the letter): 3 messages pass 5.
        let (q, engine, drive) = setup_wire(0, VecWire { caller_writes: Some(5), ..VecWire::default() });
        let mut sent = into_a_stream(&q, &drive);
        let seen = engine.seq();
        let first = push_each(&q, b'b', 2);
        assert_eq!(written(&drive), sent, "4 bytes packed: left for the engine");
        assert_eq!(engine.seq(), seen + 1, "woken once, for the first");
        // The third passes 5 bytes: the sender writes all three, in order, on its thread.
        let third = push_each(&q, b'd', 1);
        sent.extend(first);
        sent.extend(third);
        assert_eq!(written(&drive), sent);
        assert_eq!((q.len(), q.packed()), (0, 0));
        assert_eq!(engine.seq(), seen + 1, "not woken again: nothing left for it");
        // Still a stream: packed again, and the engine, woken for the first of them, finds
        // nothing left once the sender has written them.
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        let next = push_each(&q, b'e', 3);
        sent.extend(next);
        assert_eq!(written(&drive), sent);
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        assert_eq!(written(&drive), sent, "nothing written twice");
        // The kernel's buffer full: what the sender could not write is the engine's, woken
        // again for it.
        drive.wire.full.store(true, Relaxed);
        let seen = engine.seq();
        let refused = push_each(&q, b'h', 3);
        assert_eq!(written(&drive), sent);
        assert_eq!(engine.seq(), seen + 2, "woken for the first, and for what was refused");
        drive.wire.full.store(false, Relaxed);
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        sent.extend(refused);
        assert_eq!(written(&drive), sent);
    }

    #[test]
    fn a_streams_unpacked_frames_are_written_by_the_sender_each_time_they_pass_its_size() {
        // Frames, not packed (as a large body is): a byte each, so the third passes 3.
        let wire = VecWire { caller_writes: Some(3), no_packing: true, ..VecWire::default() };
        let (q, engine, drive) = setup_wire(0, wire);
        let mut sent = into_a_stream(&q, &drive);
        let seen = engine.seq();
        let first = push_each(&q, b'b', 2);
        assert_eq!(written(&drive), sent, "2 bytes queued: left for the engine");
        assert_eq!(engine.seq(), seen + 1, "woken once, for the first");
        let third = push_each(&q, b'd', 1);
        sent.extend(first);
        sent.extend(third);
        assert_eq!(written(&drive), sent, "written by the sender, in order");
        assert_eq!(q.len(), 0);
        assert_eq!(engine.seq(), seen + 1, "not woken again: nothing left for it");
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        assert_eq!(written(&drive), sent, "nothing written twice");
    }

    #[test]
    fn without_a_size_a_streams_packed_bytes_are_the_engines() {
        let (q, _engine, drive) = setup();
        let mut sent = into_a_stream(&q, &drive);
        let packed = push_each(&q, b'b', 100);
        assert_eq!(written(&drive), sent, "200 bytes packed, none written by the sender");
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        sent.extend(packed);
        assert_eq!(written(&drive), sent);
    }

    #[test]
    fn a_streams_large_message_is_written_by_its_sender_unless_bytes_wait_for_the_kernel() {
        let (q, engine, drive) = setup();
        let mut sent = into_a_stream(&q, &drive);
        let large = |c: u8| Bytes::from(vec![c; DIRECT_MIN_BODY]);
        // A stream, but a large message: written at once, the engine not woken.
        let seen = engine.seq();
        q.push(Msg::new(large(b'1'), false)).unwrap();
        sent.push(large(b'1'));
        assert_eq!(written(&drive), sent);
        assert_eq!(engine.seq(), seen, "the engine was not woken");
        // The kernel's buffer full: the caller's write is left to the engine, and so is the
        // next large message, while those bytes wait.
        drive.wire.full.store(true, Relaxed);
        q.push(Msg::new(large(b'2'), false)).unwrap();
        assert_eq!(engine.seq(), seen + 1, "handed to the engine");
        q.push(Msg::new(large(b'3'), false)).unwrap();
        q.push(msg("s")).unwrap();
        assert_eq!(written(&drive), sent);
        assert_eq!(q.len(), 2, "queued behind the bytes waiting");
        assert!(matches!(engine_runs(&q, &drive), Step::Blocked));
        drive.wire.full.store(false, Relaxed);
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        sent.extend([large(b'2'), large(b'3'), Bytes::from_static(b"s")]);
        assert_eq!(written(&drive), sent, "in order");
        // Caught up: the sender's again.
        let seen = engine.seq();
        q.push(Msg::new(large(b'4'), false)).unwrap();
        sent.push(large(b'4'));
        assert_eq!(written(&drive), sent);
        assert_eq!(engine.seq(), seen, "the engine was not woken");
        // A small one is still the stream's, left to the engine.
        q.push(msg("t")).unwrap();
        assert_eq!(written(&drive), sent);
        assert_eq!(engine.seq(), seen + 1);
    }

    #[test]
    fn a_stream_that_fills_its_pipe_is_written_by_its_sender_which_then_has_room() {
        let hwm = DIRECT_BURST as usize + 4;
        let (writer, engine) = (Arc::new(Signal::new()), Arc::new(Signal::new()));
        let q = Queue::new(hwm, writer.clone(), engine.clone());
        let drive =
            Arc::new(Drive::new(VecWire { when_full: Some(usize::MAX), ..VecWire::default() }, VecDeque::new()));
        q.set_drain(Some(drive.clone()));
        let mut sent = into_a_stream(&q, &drive);
        let seen = engine.seq();
        let packed = push_each(&q, b'b', hwm as u8);
        assert_eq!(written(&drive), sent, "left for the engine until the pipe is full");
        assert_eq!(engine.seq(), seen + 1, "woken once, for the first");
        // Full: the refused push writes what is queued, on the sender's thread, and the
        // sender's signal moves (room again), so a blocking send tries again at once.
        let writer_seen = writer.seq();
        assert!(matches!(q.push(msg("x")), Err(PushError::Full(_))));
        sent.extend(packed);
        assert_eq!(written(&drive), sent, "written by the sender, in order");
        assert_ne!(writer.seq(), writer_seen, "the sender is told there is room");
        sent.extend(push_each(&q, b'x', 1));
        assert_eq!(engine.seq(), seen + 1, "not woken again: it owes a look already");
        assert_eq!(written(&drive), sent[..sent.len() - 1], "the next one queued");
        // The engine, woken for the first, writes what followed and then finds the pipe
        // idle: the next message wakes it again.
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        assert_eq!(written(&drive), sent);
        sent.extend(push_each(&q, b'y', 1));
        assert_eq!(engine.seq(), seen + 2);
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        // The kernel's buffer full: the sender's write at the HWM is refused and left to the
        // engine (woken again for it); while those bytes wait, a full pipe is not written
        // by the sender, and the engine writes everything once the kernel takes it.
        drive.wire.full.store(true, Relaxed);
        let seen = engine.seq();
        let refused = push_each(&q, b'c', hwm as u8);
        assert!(matches!(q.push(msg("z")), Err(PushError::Full(_))));
        assert_eq!(engine.seq(), seen + 2, "woken for the first, and for what was refused");
        assert_eq!(written(&drive), sent);
        let more = push_each(&q, b'd', hwm as u8);
        assert!(matches!(q.push(msg("z")), Err(PushError::Full(_))));
        assert_eq!(engine.seq(), seen + 2, "bytes wait for the kernel: the sender left them");
        assert_eq!(written(&drive), sent);
        drive.wire.full.store(false, Relaxed);
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        sent.extend(refused);
        sent.extend(more);
        assert_eq!(written(&drive), sent);
    }

    #[test]
    fn a_pipe_full_of_more_bytes_than_its_size_is_left_to_the_engine() {
        // Test messages pack into 2 bytes each: a full pipe holds 2 * hwm, past the size.
        let hwm = DIRECT_BURST as usize + 4;
        let wire = VecWire { when_full: Some(2 * hwm), ..VecWire::default() };
        let (q, engine, drive) = setup_wire(hwm, wire);
        let mut sent = into_a_stream(&q, &drive);
        let seen = engine.seq();
        let packed = push_each(&q, b'b', hwm as u8);
        assert!(matches!(q.push(msg("x")), Err(PushError::Full(_))));
        assert_eq!(written(&drive), sent, "not written by the sender");
        assert_eq!(engine.seq(), seen + 1, "woken once, for the first");
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        sent.extend(packed);
        assert_eq!(written(&drive), sent);
    }

    #[test]
    fn packed_messages_count_for_the_hwm() {
        let (q, _engine, drive) = setup_hwm(DIRECT_BURST as usize + 4);
        let mut sent = into_a_stream(&q, &drive);
        let packed = push_each(&q, b'b', DIRECT_BURST as u8 + 4);
        assert_eq!(q.packed(), DIRECT_BURST as u64 + 4);
        assert!(matches!(q.push(msg("x")), Err(PushError::Full(_))), "at the HWM");
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        sent.extend(packed);
        assert_eq!(written(&drive), sent);
        assert!(q.push(msg("x")).is_ok(), "room again once the engine took them");
    }

    #[test]
    fn the_peer_speaking_ends_packing_after_what_was_packed() {
        let (q, _engine, drive) = setup();
        let mut sent = into_a_stream(&q, &drive);
        sent.extend(push_each(&q, b'p', 2));
        assert_eq!(q.packed(), 2);
        drive.note_input();
        // Queued behind the packed ones (the engine, already woken, takes both in order).
        sent.extend(push_each(&q, b'q', 1));
        assert_eq!((q.len(), q.packed()), (3, 2));
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        assert_eq!(written(&drive), sent);
        // Request-reply again: the caller writes, nothing is packed.
        sent.extend(push_each(&q, b'r', 1));
        assert_eq!(written(&drive), sent);
    }

    #[test]
    fn packed_bytes_the_next_connection_does_not_speak_are_dropped_and_counted_read() {
        let (q, _engine, drive) = setup();
        let sent = into_a_stream(&q, &drive);
        push_each(&q, b'p', 2);
        assert_eq!((q.len(), q.packed()), (2, 2));
        // The connection ends with them unwritten; the pipe's next connection does not pack
        // (a SUB whose peer turned from ZMTP 3.0 into 3.1).
        q.set_drain(None);
        drive.close();
        let next = Arc::new(Drive::new(VecWire { no_packing: true, ..VecWire::default() }, VecDeque::new()));
        q.set_drain(Some(next.clone()));
        assert!(matches!(engine_runs(&q, &next), Step::Idle));
        assert!(written(&next).is_empty(), "sent in a form this connection does not speak");
        assert_eq!((q.len(), q.packed()), (0, 0), "counted read");
        assert_eq!(written(&drive), sent);
    }

    #[test]
    fn a_write_the_kernel_refuses_is_left_to_the_engine() {
        let (q, engine, drive) = setup();
        drive.wire.full.store(true, Relaxed);
        let seen = engine.seq();
        q.push(msg("a")).unwrap();
        assert_eq!(engine.seq(), seen + 1, "the engine was handed the write");
        assert!(!drive.take_streamed(), "a refused write is not a stream's hand-over");
        assert!(matches!(drive.engine_step(&q), Step::Blocked));
        drive.wire.full.store(false, Relaxed);
        assert!(matches!(engine_runs(&q, &drive), Step::Idle));
        assert_eq!(written(&drive), ["a"]);
        // A sender the kernel refused is ahead of its peer: what follows is a stream, left to
        // the engine, until the peer says something.
        let seen = engine.seq();
        q.push(msg("b")).unwrap();
        assert_eq!(written(&drive), ["a"]);
        assert_eq!(engine.seq(), seen + 1);
        assert!(drive.take_streamed());
        q.close_writer();
        assert!(matches!(engine_runs(&q, &drive), Step::Finished));
        assert_eq!(written(&drive), ["a", "b"]);
    }

    #[test]
    fn a_closed_drive_refuses_and_leaves_messages_in_the_pipe() {
        // As for a push that took the drive from the pipe just before the engine ended.
        let (q, engine, drive) = setup();
        drive.close();
        let seen = engine.seq();
        q.push(msg("a")).unwrap();
        assert!(written(&drive).is_empty());
        assert_eq!(engine.seq(), seen + 1);
        assert!(q.test_has_msg());
    }
}
