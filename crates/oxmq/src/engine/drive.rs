//! Who writes a connection: the engine on its I/O thread, or the caller that sends.
//!
//! Handing every message to the I/O thread costs a wake-up and a context switch on each side
//! of the hop; on a core shared by the caller and the I/O thread that is most of a small
//! message's cost. So a caller whose send finds the engine idle encodes the message and
//! writes it itself, on its own thread, and the I/O thread never hears of it. The I/O thread
//! keeps everything the caller cannot do: finishing a write the kernel did not take whole,
//! heartbeats and PONGs, writing while the caller is away, the end of the connection.
//!
//! **The rule** (one party writes a connection at a time, and nothing is left unwritten
//! without the engine knowing):
//! 1. [`Drive::out`] is the right to write. Whoever holds it pops the pipe, encodes and
//!    writes; bytes are written in the order they were encoded, by whoever holds it. The
//!    engine holds it only between two awaits ([`Drive::engine_step`]), a caller only within
//!    its send and only by `try_lock` ([`Drive::drain`]): a caller never waits for the engine.
//! 2. A caller is offered the pipe only when its push completes a message for an idle
//!    reader, i.e. exactly when the pipe would otherwise wake the engine ([`Drain`]); it
//!    takes everything queued, so the pipe is idle again when it is done.
//! 3. Whatever a caller does not finish (the right was taken, the kernel's buffer is full,
//!    the batch is corked, a write failed), it leaves in [`Out`] and hands to the engine by
//!    notifying the engine's signal *after* letting go of the right (the queue does that when
//!    `drain` returns false). The engine reads the signal's sequence number before it takes
//!    the right, so a hand-over that comes while it holds the right makes it step again.
//! 4. The engine ends by marking [`Out::closed`] under the right, after the pipe stopped
//!    offering itself: no caller writes a connection the engine has finished.
//!
//! `loom_models` checks the rule with this file's code and the real pipe `Queue` (every
//! message written once, in order, whoever writes it, with the kernel refusing writes at any
//! point).
//!
//! **Corking.** Writing every message as it is sent is right for request-reply (the sender
//! then waits for an answer) and wrong for a stream of small messages (one system call each,
//! where the engine writes thousands in one). A caller writes at once unless the connection
//! looks like a stream: its previous write was a caller's and nothing has arrived on the
//! connection since. Then the batch is left for the engine (woken once per batch, not per
//! message) and the caller only writes it itself once it reaches [`CORK`] bytes.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering::Relaxed;

use crate::pipe::{Drain, Msg, Queue};
use crate::sync::{AtomicU64, Mutex};

/// How much one step takes from the pipe before writing: large messages go out 16 x 64 KiB
/// per writev.
pub(crate) const WRITE_BATCH: usize = 1024 * 1024;
/// A corked batch a caller writes itself once it reaches this many bytes.
pub(crate) const CORK: usize = 64 * 1024;

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
}

/// What the holder of the right to write works on.
pub(crate) struct Out<B> {
    /// Encoded, not yet written.
    tx: B,
    /// Frames popped from the pipe, being encoded (kept for its capacity).
    batch: VecDeque<Msg>,
    /// A caller left `tx` to the engine and woke it; the engine has not stepped since.
    armed: bool,
    /// The last write was a caller's, made when the connection had decoded this many
    /// batches (`Drive::inputs`): if that has not changed, the caller is streaming.
    direct_at: Option<u64>,
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
}

/// What the engine's step came to.
#[derive(Debug)]
pub(crate) enum Step {
    /// Everything taken was written and the pipe was found idle: wait for its signal.
    Idle,
    /// Everything was written and the pipe's writer is gone: the connection is done.
    Finished,
    /// Written, and more may be queued: step again.
    Again,
    /// The kernel's buffer is full: wait until the stream is writable, then step again.
    Blocked,
    /// A write failed (the engine's or a caller's).
    Failed(io::Error),
}

impl<W: Wire> Drive<W> {
    pub fn new(wire: W, tx: W::Buf) -> Drive<W> {
        Drive {
            wire,
            out: Mutex::new(Out {
                tx,
                batch: VecDeque::new(),
                armed: false,
                direct_at: None,
                failed: None,
                closed: false,
            }),
            inputs: AtomicU64::new(0),
        }
    }

    /// The reader decoded a batch from the peer.
    pub fn note_input(&self) {
        self.inputs.fetch_add(1, Relaxed);
    }

    /// Pop what `queue` holds and encode it after `out.tx`, until [`WRITE_BATCH`] bytes wait
    /// to be written. True if it stopped there (more may be queued and the pipe was not
    /// found idle): what the kernel has not taken stays bounded, and the rest waits in the
    /// pipe, under its HWM.
    fn fill(&self, queue: &Queue, out: &mut Out<W::Buf>) -> bool {
        let Out { tx, batch, .. } = out;
        loop {
            let room = WRITE_BATCH.saturating_sub(W::pending(tx));
            if room == 0 {
                return true;
            }
            let n = queue.pop_batch(batch, room);
            self.wire.encode(batch, tx);
            if n == 0 {
                return false;
            }
        }
    }

    /// The engine's turn: take everything queued (and what the protocol owes), write what
    /// the kernel takes. Read the signal's sequence number before calling this.
    pub fn engine_step(&self, queue: &Queue) -> Step {
        let mut out = self.out.lock();
        if let Some(e) = out.failed.take() {
            return Step::Failed(e);
        }
        let more = self.fill(queue, &mut out);
        out.armed = false;
        out.direct_at = None;
        if W::pending(&out.tx) > 0 {
            match self.wire.try_write(&mut out.tx) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Blocked,
                Err(e) => return Step::Failed(e),
            }
        }
        if more {
            Step::Again
        } else if queue.is_finished() {
            // Decided under the right to write: nothing a caller corked is left behind.
            Step::Finished
        } else {
            Step::Idle
        }
    }

    /// The engine has ended: from now on callers leave everything to the pipe. Call after
    /// the pipe stopped offering this drive (`Queue::set_drain(None)`).
    pub fn close(&self) {
        self.out.lock().closed = true;
    }
}

impl<W: Wire> Drain for Drive<W> {
    fn drain(&self, queue: &Queue) -> bool {
        let Some(mut out) = self.out.try_lock() else {
            // The engine is stepping: it will see the message (rule 3).
            return false;
        };
        if out.closed || out.failed.is_some() {
            return false;
        }
        let more = self.fill(queue, &mut out);
        let pending = W::pending(&out.tx);
        if pending == 0 {
            return !more;
        }
        let inputs = self.inputs.load(Relaxed);
        let streaming = out.armed || out.direct_at == Some(inputs);
        if streaming && pending < CORK && !more {
            // Corked: the engine writes the batch when it runs (woken once per batch).
            let first = !out.armed;
            out.armed = true;
            out.direct_at = None;
            return !first;
        }
        match self.wire.try_write(&mut out.tx) {
            // If armed, the engine was woken already and finds nothing to do.
            Ok(()) => {
                out.direct_at = Some(inputs);
                !more
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::WouldBlock {
                    out.failed = Some(e);
                }
                // The engine finishes the write once the stream is writable (or ends).
                out.direct_at = None;
                false
            }
        }
    }
}
