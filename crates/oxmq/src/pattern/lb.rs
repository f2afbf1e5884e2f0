//! Load balancing: each message goes to the next pipe, in turn, that has room.
//!
//! A pipe that refused a message because it was full keeps refusing, by a flag and without its
//! lock, until it has drained to its low-water mark and woken this socket (the pipe's rule,
//! libzmq's deactivated pipe): with many peers at their HWM a send costs a flag read per full
//! pipe.

use crate::pipe::{Msg, Pipe, PipeId, PushError};

use super::SendError;
use super::next;

#[derive(Default)]
pub(crate) struct LoadBalancer {
    pipes: Vec<Pipe>,
    /// The pipe the next message goes to (or the current message is going to).
    current: usize,
    /// In the middle of a multipart message on `pipes[current]`.
    more: bool,
    /// The pipe of the current multipart message went away: drop the rest of it.
    dropping: bool,
}

impl LoadBalancer {
    pub fn attach(&mut self, pipe: Pipe) {
        self.pipes.push(pipe);
    }

    pub fn detach(&mut self, id: PipeId) {
        let Some(i) = self.pipes.iter().position(|p| p.id == id) else { return };
        self.pipes.remove(i);
        if self.more && i == self.current {
            self.more = false;
            self.dropping = true;
        }
        if i < self.current {
            self.current -= 1;
        }
        if self.current >= self.pipes.len() {
            self.current = 0;
        }
    }

    /// Send one frame; on success, the id of the pipe it went to (0 when it was dropped
    /// because its message's pipe went away mid-message). (Always inlined: see `Queue::push`.)
    #[inline(always)]
    pub fn send(&mut self, msg: Msg) -> Result<PipeId, SendError> {
        let more = msg.more();
        if self.dropping {
            self.dropping = more;
            return Ok(0);
        }
        if self.more {
            let pipe = &self.pipes[self.current];
            let id = pipe.id;
            // Parts after the first are always accepted unless the peer went away.
            if pipe.out.push(msg).is_err() {
                self.dropping = more;
            }
            self.finish_part(more);
            return Ok(id);
        }
        let mut msg = msg;
        for _ in 0..self.pipes.len() {
            let i = self.current;
            match self.pipes[i].out.push(msg) {
                Ok(()) => {
                    let id = self.pipes[i].id;
                    self.finish_part(more);
                    return Ok(id);
                }
                // Full, or the peer is gone (its detach command is on the way): try the next.
                Err(PushError::Full(m) | PushError::Closed(m)) => {
                    msg = m;
                    self.current = next(i, self.pipes.len());
                }
            }
        }
        Err(SendError::Again(msg))
    }

    /// Would [`send`](Self::send) accept a message now: some pipe has room (or a message is
    /// under way, whose other frames are always accepted)?
    pub fn has_out(&self) -> bool {
        // Every pipe asked says "full" (and arranges a wake-up) before this answers false.
        self.more || self.dropping || self.pipes.iter().any(|p| p.out.can_push())
    }

    fn finish_part(&mut self, more: bool) {
        self.more = more;
        if !more && !self.pipes.is_empty() {
            self.current = next(self.current, self.pipes.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::Signal;
    use std::sync::Arc;

    fn pipe(hwm: usize) -> (Pipe, Pipe) {
        Pipe::pair(Arc::new(Signal::new()), Arc::new(Signal::new()), hwm, hwm)
    }

    #[test]
    fn round_robin_over_pipes_skipping_full_ones() {
        let mut lb = LoadBalancer::default();
        let (a, pa) = pipe(1);
        let (b, pb) = pipe(0);
        lb.attach(a);
        lb.attach(b);
        for i in 0..4u8 {
            lb.send(Msg::new(vec![i], false)).unwrap();
        }
        // a takes one (HWM 1), the rest go to b.
        assert_eq!(pa.inp.len(), 1);
        assert_eq!(pb.inp.len(), 3);
    }

    #[test]
    fn a_full_pipe_is_passed_by_until_it_drains_to_its_low_water_mark() {
        let mut lb = LoadBalancer::default();
        let (a, pa) = pipe(4); // low-water mark 2
        let (b, pb) = pipe(0);
        lb.attach(a.clone());
        lb.attach(b);
        // a takes 4 and then refuses one (it is full): from then on it is passed by.
        for i in 0..12u8 {
            lb.send(Msg::new(vec![i], false)).unwrap();
        }
        assert_eq!((pa.inp.len(), pb.inp.len()), (4, 8));
        assert!(a.out.waits_for_room());
        assert!(lb.has_out(), "b has room");
        // One read makes room in a, but it is still above its low-water mark: a keeps refusing.
        pa.inp.test_pop().unwrap();
        assert!(a.out.waits_for_room());
        for i in 0..4u8 {
            lb.send(Msg::new(vec![i], false)).unwrap();
        }
        assert_eq!((pa.inp.len(), pb.inp.len()), (3, 12));
        // Drained to the mark: the reader wakes the writer, and a is in the turn again.
        pa.inp.test_pop().unwrap();
        assert!(!a.out.waits_for_room());
        for i in 0..4u8 {
            lb.send(Msg::new(vec![i], false)).unwrap();
        }
        assert_eq!((pa.inp.len(), pb.inp.len()), (4, 14));
    }

    #[test]
    fn with_every_pipe_waiting_for_room_nothing_is_writable() {
        let mut lb = LoadBalancer::default();
        let (a, pa) = pipe(2); // low-water mark 1
        lb.attach(a.clone());
        lb.send(Msg::new("1", false)).unwrap();
        lb.send(Msg::new("2", false)).unwrap();
        assert!(matches!(lb.send(Msg::new("3", false)), Err(SendError::Again(_))));
        assert!(!lb.has_out());
        pa.inp.test_pop().unwrap();
        assert!(lb.has_out(), "drained to the low-water mark");
        lb.send(Msg::new("3", false)).unwrap();
    }

    #[test]
    fn multipart_stays_on_one_pipe() {
        let mut lb = LoadBalancer::default();
        let (a, pa) = pipe(0);
        let (b, pb) = pipe(0);
        lb.attach(a);
        lb.attach(b);
        lb.send(Msg::new("1a", true)).unwrap();
        lb.send(Msg::new("1b", false)).unwrap();
        lb.send(Msg::new("2a", true)).unwrap();
        lb.send(Msg::new("2b", false)).unwrap();
        assert_eq!(pa.inp.len(), 1);
        assert_eq!(pb.inp.len(), 1);
        assert_eq!(pa.inp.test_pop().unwrap().data, "1a");
        assert_eq!(pa.inp.test_pop().unwrap().data, "1b");
    }

    #[test]
    fn no_pipes_is_would_block() {
        let mut lb = LoadBalancer::default();
        assert!(matches!(lb.send(Msg::new("x", false)), Err(SendError::Again(_))));
    }

    #[test]
    fn detach_mid_message_drops_the_rest() {
        let mut lb = LoadBalancer::default();
        let (a, _pa) = pipe(0);
        let (b, pb) = pipe(0);
        let aid = a.id;
        lb.attach(a);
        lb.attach(b);
        lb.send(Msg::new("1a", true)).unwrap();
        lb.detach(aid);
        lb.send(Msg::new("1b", false)).unwrap();
        lb.send(Msg::new("2", false)).unwrap();
        assert_eq!(pb.inp.test_pop().unwrap().data, "2");
    }
}
