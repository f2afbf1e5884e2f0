//! Fair queueing: take whole messages from each pipe in turn.

use super::next;
use crate::error::Error;
use crate::pipe::{Msg, Pipe, PipeId, ReaderCache};

struct Entry {
    pipe: Pipe,
    /// This reader's cache of the pipe's input (see `ReaderCache`).
    cache: ReaderCache,
    /// The peer is gone; remove the pipe once its last messages have been read.
    detached: bool,
}

impl Entry {
    fn has_msg(&self) -> bool {
        self.pipe.inp.has_msg(&self.cache)
    }
}

#[derive(Default)]
pub(crate) struct FairQueue {
    pipes: Vec<Entry>,
    current: usize,
    /// In the middle of a message from `pipes[current]`.
    more: bool,
    /// The pipe the last frame received came from.
    last: Option<PipeId>,
    /// That pipe, if its peer was gone and reading its last message removed it.
    retired: Option<Pipe>,
}

impl FairQueue {
    pub fn attach(&mut self, pipe: Pipe) {
        self.pipes.push(Entry { pipe, cache: ReaderCache::default(), detached: false });
    }

    pub fn detach(&mut self, id: PipeId) {
        if let Some(i) = self.pipes.iter().position(|e| e.pipe.id == id) {
            self.pipes[i].detached = true;
            let mid_message = self.more && i == self.current;
            if !mid_message && !self.pipes[i].has_msg() {
                self.remove(i);
            }
        }
    }

    fn remove(&mut self, i: usize) {
        let gone = self.pipes.remove(i).pipe;
        if self.last == Some(gone.id) {
            self.retired = Some(gone);
        }
        if i < self.current {
            self.current -= 1;
        }
        if self.current >= self.pipes.len() {
            self.current = 0;
        }
    }

    /// The pipe the last frame received came from (even if reading it removed that pipe).
    pub fn last_peer(&self) -> Option<&Pipe> {
        self.pipe(self.last?)
    }

    /// The id of the pipe the last frame received came from.
    pub fn last_peer_id(&self) -> Option<PipeId> {
        self.last
    }

    /// The pipe `id`, if it is one of ours or the one whose last message was read last.
    pub fn pipe(&self, id: PipeId) -> Option<&Pipe> {
        let live = self.pipes.iter().find(|e| e.pipe.id == id).map(|e| &e.pipe);
        live.or(self.retired.as_ref().filter(|p| p.id == id))
    }

    /// [`FairQueue::recv`] for a pattern's `recv`: [`Error::Again`] when nothing is ready.
    /// (A match, not `ok_or(Error::Again)`, which builds and drops an `Error` per message.)
    #[inline]
    pub fn recv_or_again(&mut self) -> Result<(Msg, PipeId), Error> {
        match self.recv() {
            Some(got) => Ok(got),
            None => Err(Error::Again),
        }
    }

    /// The next frame and the pipe it came from. (Always inlined: see `Queue::pop`.)
    #[inline(always)]
    pub fn recv(&mut self) -> Option<(Msg, PipeId)> {
        if self.more {
            let e = &mut self.pipes[self.current];
            let id = e.pipe.id;
            // A reader sees only complete messages, so the rest of this one is queued.
            let msg = e.pipe.inp.pop(&mut e.cache).expect("rest of a complete message");
            self.more = msg.more();
            self.last = Some(id);
            if !msg.more() {
                self.advance();
            }
            return Some((msg, id));
        }
        // Visit every pipe once, starting at `current` (a wrap instead of a `%` per message).
        let mut i = 0;
        let mut idx = self.current;
        while i < self.pipes.len() {
            if idx >= self.pipes.len() {
                idx = 0;
            }
            let e = &mut self.pipes[idx];
            if let Some(msg) = e.pipe.inp.pop(&mut e.cache) {
                let id = e.pipe.id;
                self.current = idx;
                self.more = msg.more();
                self.last = Some(id);
                if !msg.more() {
                    self.advance();
                }
                return Some((msg, id));
            }
            if e.detached {
                self.current = idx;
                self.remove(idx);
                idx = self.current;
                continue;
            }
            i += 1;
            idx += 1;
        }
        None
    }

    /// Past a whole message from `pipes[current]`: on to the next pipe. (Inlined into every
    /// receive: a call of its own cost a 64 B receiver more in saved registers than its body.)
    #[inline(always)]
    fn advance(&mut self) {
        let i = self.current;
        if self.pipes[i].detached {
            self.advance_detached(i);
        } else {
            self.current = next(i, self.pipes.len());
        }
    }

    /// [`advance`](Self::advance) from a pipe whose peer is gone: removed once drained.
    #[cold]
    fn advance_detached(&mut self, i: usize) {
        if self.pipes[i].has_msg() {
            self.current = next(i, self.pipes.len());
        } else {
            self.remove(i);
        }
    }

    /// Is a frame ready to be read (the rest of the current message, or a complete message
    /// from some pipe)?
    pub fn has_in(&self) -> bool {
        self.more || self.pipes.iter().any(Entry::has_msg)
    }

    /// Drop the rest of the message being read.
    pub fn discard_rest(&mut self) {
        while self.more {
            self.recv();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::Signal;
    use std::sync::Arc;

    fn pipe() -> (Pipe, Pipe) {
        Pipe::pair(Arc::new(Signal::new()), Arc::new(Signal::new()), 0, 0)
    }

    #[test]
    fn takes_whole_messages_from_each_pipe_in_turn() {
        let mut fq = FairQueue::default();
        let (a, pa) = pipe();
        let (b, pb) = pipe();
        fq.attach(a);
        fq.attach(b);
        for p in [&pa, &pb] {
            p.out.push(Msg::new("x", true)).unwrap();
            p.out.push(Msg::new("y", false)).unwrap();
            p.out.push(Msg::new("z", false)).unwrap();
        }
        let order: Vec<_> = std::iter::from_fn(|| fq.recv()).map(|(m, id)| (m.data, id)).collect();
        let (ia, ib) = (pa.id, pb.id);
        let want = [("x", ia), ("y", ia), ("x", ib), ("y", ib), ("z", ia), ("z", ib)];
        assert_eq!(order.len(), want.len());
        for ((d, id), (wd, wid)) in order.iter().zip(want) {
            assert_eq!((d.as_ref(), *id), (wd.as_bytes(), wid));
        }
    }

    #[test]
    fn a_pipe_after_a_removed_one_is_still_visited() {
        // Removing a drained, detached pipe mid-scan must not skip the pipe that slides into
        // its place (the scan used to jump past it and report nothing ready).
        let mut fq = FairQueue::default();
        let ends: Vec<(Pipe, Pipe)> = (0..4).map(|_| pipe()).collect();
        for (ours, _) in &ends {
            fq.attach(ours.clone());
        }
        let (b, pb) = &ends[1];
        pb.out.push(Msg::new("old", false)).unwrap();
        pb.close();
        fq.detach(b.id);
        assert_eq!(b.inp.test_pop().unwrap().data, "old", "drained behind the queue's back");
        ends[2].1.out.push(Msg::new("c", false)).unwrap();
        let (msg, id) = fq.recv().expect("c's message is found");
        assert_eq!((msg.data.as_ref(), id), (&b"c"[..], ends[2].0.id));
        assert_eq!(fq.pipes.len(), 3);
    }

    #[test]
    fn detached_pipe_is_drained_before_removal() {
        let mut fq = FairQueue::default();
        let (a, pa) = pipe();
        let id = a.id;
        fq.attach(a);
        pa.out.push(Msg::new("last", false)).unwrap();
        pa.close();
        fq.detach(id);
        assert_eq!(fq.recv().unwrap().0.data, "last");
        assert!(fq.recv().is_none());
        assert!(fq.pipes.is_empty());
    }
}
