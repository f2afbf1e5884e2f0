//! Distribution: each message to a chosen set of pipes (PUB, XPUB; XSUB upstream).
//!
//! The set is chosen at a message's first frame; a pipe that is full then (at its HWM) is
//! left out of the whole message, which is PUB's promise: a slow subscriber loses messages,
//! it never slows the others or blocks the sender. A pipe that refused a message keeps
//! refusing until it has drained to its low-water mark (the pipe's rule, libzmq's deactivated
//! pipe), so a slow subscriber costs the sender a flag read per message. Frames are `Bytes`, so
//! sending one message to many pipes shares its body instead of copying it.

use rustc_hash::FxHashMap;

use crate::pipe::{Msg, Pipe, PipeId, PushError};

#[derive(Default)]
pub(crate) struct Dist {
    /// Keyed by pipe id with a fast hasher: the ids are our own counters, and each message
    /// looks its targets up here.
    pipes: FxHashMap<PipeId, Pipe>,
    /// The pipes taking the current (or next) message.
    targets: Vec<PipeId>,
    /// Between a message's first and last frame.
    in_msg: bool,
}

impl Dist {
    pub fn attach(&mut self, pipe: Pipe) {
        self.pipes.insert(pipe.id, pipe);
    }

    pub fn detach(&mut self, id: PipeId) {
        self.pipes.remove(&id);
        self.targets.retain(|&t| t != id);
    }

    pub fn get(&self, id: PipeId) -> Option<&Pipe> {
        self.pipes.get(&id)
    }

    pub fn pipes(&self) -> impl Iterator<Item = &Pipe> {
        self.pipes.values()
    }

    /// Between a message's first and last frame: its targets are chosen.
    pub fn in_message(&self) -> bool {
        self.in_msg
    }

    /// Choose the next message's targets: `f` fills the list (duplicates allowed).
    pub fn select(&mut self, f: impl FnOnce(&FxHashMap<PipeId, Pipe>, &mut Vec<PipeId>)) {
        self.targets.clear();
        f(&self.pipes, &mut self.targets);
        self.targets.sort_unstable();
        self.targets.dedup();
    }

    /// The next message goes to every pipe.
    pub fn select_all(&mut self) {
        self.select(|pipes, t| t.extend(pipes.keys()));
    }

    /// XPUB_NODROP: send a message's first frame to every target, or, if one of them is full,
    /// to none and hand it back. (A pipe whose reader is gone counts as having room: it is
    /// dropped from the message, as [`send`](Self::send) drops it.)
    ///
    /// Every target but one is asked first; the remaining one is pushed to first, its push
    /// being its own room check (one lock instead of two), and only then the others.
    pub fn send_first_to_all_or_none(&mut self, msg: Msg) -> Result<(), Msg> {
        let Some(first) = self.targets.pop() else {
            self.in_msg = msg.more();
            return Ok(());
        };
        let room = |id: &PipeId| self.pipes.get(id).is_none_or(|p| p.out.can_push() || p.out.is_reader_closed());
        if !self.targets.iter().all(room) {
            self.targets.push(first);
            return Err(msg);
        }
        let rest = (!self.targets.is_empty()).then(|| msg.clone());
        let more = msg.more();
        let taken = match self.pipes.get(&first).map(|p| p.out.push(msg)) {
            Some(Err(PushError::Full(msg))) => {
                self.targets.push(first);
                return Err(msg);
            }
            Some(Ok(())) => true,
            None | Some(Err(PushError::Closed(_))) => false,
        };
        if let Some(rest) = rest {
            self.send(rest);
        }
        if taken {
            // Back at the end: the targets stay sorted.
            self.targets.push(first);
        }
        self.in_msg = more;
        Ok(())
    }

    /// Send one frame to the targets chosen for its message. A target that refuses the first
    /// frame (full, or gone), or still waits for room since it last refused one, is dropped
    /// from the message.
    ///
    /// The last target gets the frame itself, the others a clone: a clone of a body that is
    /// not yet shared allocates its reference count, which a single subscriber never needs.
    pub fn send(&mut self, msg: Msg) {
        let more = msg.more();
        let pipes = &self.pipes;
        if !self.in_msg {
            // A target still waiting for room would refuse the frame: leave it out before
            // cloning the frame for it.
            self.targets.retain(|id| pipes.get(id).is_some_and(|p| !p.out.waits_for_room()));
        }
        let last = self.targets.len().saturating_sub(1);
        let mut msg = Some(msg);
        let mut i = 0;
        // `retain` visits each target once, in order.
        self.targets.retain(|id| {
            let m = if i == last { msg.take() } else { msg.clone() };
            i += 1;
            let m = m.expect("the frame is taken by the last target only");
            pipes.get(id).is_some_and(|p| p.out.push(m).is_ok())
        });
        self.in_msg = more;
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
    fn a_full_pipe_misses_the_whole_message_and_the_others_get_it() {
        let mut d = Dist::default();
        let (a, pa) = pipe(1);
        let (b, pb) = pipe(0);
        d.attach(a);
        d.attach(b);
        for round in 0..2 {
            d.select_all();
            d.send(Msg::new(format!("{round}a"), true));
            d.send(Msg::new(format!("{round}b"), false));
        }
        assert_eq!(pa.inp.len(), 1, "a took the first message, then was full");
        assert_eq!(pb.inp.len(), 2);
        assert_eq!(pa.inp.test_pop().unwrap().data, "0a");
        assert_eq!(pa.inp.test_pop().unwrap().data, "0b");
        assert!(pa.inp.test_pop().is_none(), "no tail of the dropped message");
    }

    /// A pipe that refused a message misses every message until it drains to its low-water
    /// mark, even when a read has made room for one before that (libzmq's deactivated pipe);
    /// NODROP waits for it the same way.
    #[test]
    fn a_pipe_that_refused_is_left_out_until_its_low_water_mark() {
        let mut d = Dist::default();
        let (a, pa) = pipe(4); // low-water mark 2
        let (b, pb) = pipe(0);
        d.attach(a.clone());
        d.attach(b);
        let send = |d: &mut Dist, text: &str| {
            d.select_all();
            d.send(Msg::new(text.to_string(), false));
        };
        for i in 0..5 {
            send(&mut d, &format!("{i}"));
        }
        assert_eq!((pa.inp.len(), pb.inp.len()), (4, 5), "a refused the fifth");
        pa.inp.test_pop().unwrap();
        send(&mut d, "5");
        assert_eq!(pa.inp.len(), 3, "room for one, but a is still above its low-water mark");
        d.select_all();
        assert!(d.send_first_to_all_or_none(Msg::new("x", false)).is_err(), "NODROP waits for a");
        assert_eq!(pb.inp.len(), 6, "and b did not get it either");
        pa.inp.test_pop().unwrap();
        assert!(!a.out.waits_for_room(), "drained to the mark: the writer is woken");
        send(&mut d, "6");
        assert_eq!((pa.inp.len(), pb.inp.len()), (3, 7));
        let got: Vec<_> = std::iter::from_fn(|| pa.inp.test_pop()).map(|m| m.data).collect();
        assert_eq!(got, ["2", "3", "6"]);
    }

    /// The last target gets the frame itself and the others clones: all get the same frames,
    /// also when the last one refuses it.
    #[test]
    fn every_target_gets_the_frames_whichever_is_last() {
        let mut d = Dist::default();
        let ends: Vec<_> = [0, 0, 1].into_iter().map(pipe).collect();
        for (p, _) in &ends {
            d.attach(p.clone());
        }
        let full = &ends[2].1;
        for round in 0..2 {
            d.select_all();
            d.send(Msg::new(format!("{round}a"), true));
            d.send(Msg::new(format!("{round}b"), false));
        }
        assert_eq!(full.inp.len(), 1, "the HWM 1 pipe took the first message only");
        for (_, peer) in &ends[..2] {
            let got: Vec<_> = std::iter::from_fn(|| peer.inp.test_pop()).map(|m| m.data).collect();
            assert_eq!(got, ["0a", "0b", "1a", "1b"]);
        }
    }

    /// XPUB_NODROP: a full target refuses the whole message for everyone, with one target (its
    /// push is the check) and with several (each is asked first); a target whose reader is
    /// gone is dropped from the message instead.
    #[test]
    fn nodrop_sends_to_all_targets_or_none() {
        let mut d = Dist::default();
        let (a, pa) = pipe(1);
        d.attach(a);
        d.select_all();
        d.send_first_to_all_or_none(Msg::new("1", false)).unwrap();
        d.select_all();
        let back = d.send_first_to_all_or_none(Msg::new("2", false)).expect_err("a is full");
        assert_eq!(back.data, "2", "handed back");
        assert!(!d.in_message());

        let (b, pb) = pipe(0);
        d.attach(b);
        d.select_all();
        assert!(d.send_first_to_all_or_none(Msg::new("2", false)).is_err(), "a is still full");
        assert_eq!(pb.inp.len(), 0, "so b did not get it either");
        assert_eq!(pa.inp.test_pop().unwrap().data, "1");
        d.select_all();
        d.send_first_to_all_or_none(Msg::new("2a", true)).unwrap();
        d.send(Msg::new("2b", false));
        for p in [&pa, &pb] {
            let got: Vec<_> = std::iter::from_fn(|| p.inp.test_pop()).map(|m| m.data).collect();
            assert_eq!(got, ["2a", "2b"]);
        }

        let (c, pc) = pipe(1);
        let cid = c.id;
        d.attach(c);
        pc.close();
        d.select(|_, t| t.push(cid));
        d.send_first_to_all_or_none(Msg::new("3a", true)).expect("a closed reader is not full");
        d.send(Msg::new("3b", false));
        assert!(!d.in_message());

        // The target pushed to first (the one not asked) is full: nobody gets the message.
        let mut d = Dist::default();
        let (x, px) = pipe(0);
        let (y, py) = pipe(1);
        assert!(x.id < y.id, "y is last in the sorted targets");
        d.attach(x);
        d.attach(y);
        d.select(|_, t| t.push(py.id));
        d.send_first_to_all_or_none(Msg::new("fill", false)).unwrap();
        d.select_all();
        assert_eq!(d.send_first_to_all_or_none(Msg::new("4", false)).expect_err("y is full").data, "4");
        assert_eq!(px.inp.len(), 0, "x was not sent what y refused");
        assert_eq!(py.inp.test_pop().unwrap().data, "fill");
        d.select_all();
        d.send_first_to_all_or_none(Msg::new("4", false)).unwrap();
        assert_eq!((px.inp.len(), py.inp.len()), (1, 1));
    }

    #[test]
    fn targets_are_chosen_per_message() {
        let mut d = Dist::default();
        let (a, pa) = pipe(0);
        let (b, pb) = pipe(0);
        let bid = b.id;
        d.attach(a);
        d.attach(b);
        d.select(|_, t| t.extend([bid, bid]));
        d.send(Msg::new("x", false));
        assert_eq!(pa.inp.len(), 0);
        assert_eq!(pb.inp.len(), 1, "duplicates in the selection send once");
    }
}
