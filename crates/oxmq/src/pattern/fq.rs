//! Fair queueing: take whole messages from each pipe in turn.

use crate::pipe::{Msg, Pipe, PipeId};

struct Entry {
    pipe: Pipe,
    /// The peer is gone; remove the pipe once its last messages have been read.
    detached: bool,
}

#[derive(Default)]
pub(crate) struct FairQueue {
    pipes: Vec<Entry>,
    current: usize,
    /// In the middle of a message from `pipes[current]`.
    more: bool,
}

impl FairQueue {
    pub fn attach(&mut self, pipe: Pipe) {
        self.pipes.push(Entry { pipe, detached: false });
    }

    pub fn detach(&mut self, id: PipeId) {
        if let Some(i) = self.pipes.iter().position(|e| e.pipe.id == id) {
            self.pipes[i].detached = true;
            let mid_message = self.more && i == self.current;
            if !mid_message && !self.pipes[i].pipe.inp.has_msg() {
                self.remove(i);
            }
        }
    }

    fn remove(&mut self, i: usize) {
        self.pipes.remove(i);
        if i < self.current {
            self.current -= 1;
        }
        if self.current >= self.pipes.len() {
            self.current = 0;
        }
    }

    /// The next frame and the pipe it came from.
    pub fn recv(&mut self) -> Option<(Msg, PipeId)> {
        if self.more {
            let e = &self.pipes[self.current];
            let id = e.pipe.id;
            // A reader sees only complete messages, so the rest of this one is queued.
            let msg = e.pipe.inp.pop().expect("rest of a complete message");
            self.more = msg.more;
            if !msg.more {
                self.advance();
            }
            return Some((msg, id));
        }
        let mut i = 0;
        while i < self.pipes.len() {
            let idx = (self.current + i) % self.pipes.len();
            let e = &self.pipes[idx];
            if let Some(msg) = e.pipe.inp.pop() {
                let id = e.pipe.id;
                self.current = idx;
                self.more = msg.more;
                if !msg.more {
                    self.advance();
                }
                return Some((msg, id));
            }
            if e.detached {
                self.current = idx;
                self.remove(idx);
                continue;
            }
            i += 1;
        }
        None
    }

    fn advance(&mut self) {
        let i = self.current;
        if self.pipes[i].detached && !self.pipes[i].pipe.inp.has_msg() {
            self.remove(i);
        } else {
            self.current = (i + 1) % self.pipes.len();
        }
    }

    /// Is a frame ready to be read (the rest of the current message, or a complete message
    /// from some pipe)?
    pub fn has_in(&self) -> bool {
        self.more || self.pipes.iter().any(|e| e.pipe.inp.has_msg())
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
