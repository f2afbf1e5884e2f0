//! loom models of the wake-up code: the real [`Signal`] and [`Queue`], built over loom's
//! mutex, condvar and atomics (see `crate::sync`), run under every interleaving loom explores
//! (within `LOOM_MAX_PREEMPTIONS`). Run them with `scripts/loom.sh`; they exist only under
//! `--cfg oxmq_loom`.
//!
//! A lost wake-up shows up as a deadlock, which loom reports: every wait here is untimed (loom
//! has no clock, and `sync::Condvar::wait_until` never times out under it), so no model can
//! pass by timing out. Each waiter follows the protocol the sockets follow: read the signal's
//! `seq`, check the condition, wait only if it is not met.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Wake, Waker};

use bytes::Bytes;
use loom::sync::atomic::AtomicBool;
use loom::thread;

use crate::engine::drive::{Drive, Step, Wire};
use crate::pipe::{Msg, Pipe, PushError, Queue, ReaderCache};
use crate::signal::Signal;

fn m(s: &'static str, more: bool) -> Msg {
    Msg::new(Bytes::from_static(s.as_bytes()), more)
}

/// Counts wakes; a plain std atomic, since it is scaffolding, not code under test.
#[derive(Default)]
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Block on `signal` until `cond` holds, the way a blocking socket call does.
fn wait_for(signal: &Signal, mut cond: impl FnMut() -> bool) {
    loop {
        let seen = signal.seq();
        if cond() {
            return;
        }
        assert!(signal.wait(seen, None), "an untimed wait returned false");
    }
}

/// A thread that sets `ready`, then notifies `signal`: the change a waiter waits for.
fn make_ready_and_notify(signal: &Arc<Signal>, ready: &Arc<AtomicBool>) -> thread::JoinHandle<()> {
    let (s, ready) = (signal.clone(), ready.clone());
    thread::spawn(move || {
        ready.store(true, SeqCst);
        s.notify();
    })
}

/// Whatever a blocked `wait` and the notifier do in between, the notification is not lost:
/// the waiter returns.
#[test]
fn notify_racing_a_blocking_wait_is_not_lost() {
    loom::model(|| {
        let s = Arc::new(Signal::new());
        let ready = Arc::new(AtomicBool::new(false));
        let t = make_ready_and_notify(&s, &ready);
        wait_for(&s, || ready.load(SeqCst));
        t.join().unwrap();
    });
}

/// One notify wakes every thread blocked on the signal, not just one of them (a socket's
/// signal can have a blocked caller and a poller on it at once).
#[test]
fn notify_wakes_every_blocked_waiter() {
    loom::model(|| {
        let s = Arc::new(Signal::new());
        let ready = Arc::new(AtomicBool::new(false));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let (s, ready) = (s.clone(), ready.clone());
                thread::spawn(move || wait_for(&s, || ready.load(SeqCst)))
            })
            .collect();
        ready.store(true, SeqCst);
        s.notify();
        for t in waiters {
            t.join().unwrap();
        }
    });
}

/// An async waiter (the `Changed` future) whose waker registration races the notify is woken,
/// and once it has completed no waker is left stored.
#[test]
fn async_waiter_racing_notify_is_woken_and_leaves_no_waker() {
    loom::model(|| {
        let s = Arc::new(Signal::new());
        let ready = Arc::new(AtomicBool::new(false));
        let t = make_ready_and_notify(&s, &ready);
        // loom's block_on parks on loom's scheduler: a waker that is never woken is a deadlock.
        loom::future::block_on(async {
            loop {
                let seen = s.seq();
                if ready.load(SeqCst) {
                    break;
                }
                s.changed(seen).await;
            }
        });
        t.join().unwrap();
        assert_eq!(s.waiter_count(), 0);
        assert_eq!(s.stored_wakers(), 0);
    });
}

/// A pending `Changed` dropped while a notify runs (a timed-out async recv): whichever of the
/// two gets to the waker first, nothing is left behind (no stored waker, no waiter count, no
/// clone of the task's waker).
#[test]
fn unregister_racing_notify_leaves_nothing_behind() {
    loom::model(|| {
        let s = Arc::new(Signal::new());
        let flag = Arc::new(CountingWaker::default());
        let t = {
            let s = s.clone();
            thread::spawn(move || s.notify())
        };
        {
            let waker = Waker::from(flag.clone());
            let mut cx = Context::from_waker(&waker);
            let mut f = Box::pin(s.changed(s.seq()));
            let _ = f.as_mut().poll(&mut cx);
            drop(f);
        }
        t.join().unwrap();
        assert_eq!(s.waiter_count(), 0);
        assert_eq!(s.stored_wakers(), 0);
        assert_eq!(Arc::strong_count(&flag), 1, "a clone of the waker is still held");
    });
}

/// A reader racing a writer sees only whole multipart messages: once it has the first frame of
/// a message the rest is already there (it never waits mid-message), in order.
#[test]
fn pipe_reader_sees_only_whole_messages() {
    loom::model(|| {
        let mut c = ReaderCache::default();
        let (w, r) = (Arc::new(Signal::new()), Arc::new(Signal::new()));
        let q = Arc::new(Queue::new(0, w, r.clone()));
        let t = {
            let q = q.clone();
            thread::spawn(move || {
                q.push(m("a", true)).unwrap();
                q.push(m("b", false)).unwrap();
                let mut batch: VecDeque<Msg> = [m("c", true), m("d", false)].into_iter().collect();
                assert!(q.push_batch(&mut batch));
                assert!(batch.is_empty());
            })
        };
        let mut got = Vec::new();
        while got.len() < 4 {
            let mut frame = receive(&q, &r, &mut c);
            loop {
                let more = frame.more();
                got.push(frame);
                if !more {
                    break;
                }
                frame = q.pop(&mut c).expect("the rest of a message is there with its first frame");
            }
        }
        assert_eq!(got, [m("a", true), m("b", false), m("c", true), m("d", false)]);
        t.join().unwrap();
    });
}

/// A queue at its HWM (2, LWM 1) holding "1" and "2", and a writer thread sending "3", which
/// waits for room whenever it is refused. Returns the queue, the reader's signal and the
/// writer.
fn full_queue_and_a_writer() -> (Arc<Queue>, Arc<Signal>, thread::JoinHandle<()>) {
    let (w, r) = (Arc::new(Signal::new()), Arc::new(Signal::new()));
    let q = Arc::new(Queue::new(2, w.clone(), r.clone()));
    q.push(m("1", false)).unwrap();
    q.push(m("2", false)).unwrap();
    let t = {
        let q = q.clone();
        thread::spawn(move || {
            let mut msg = Some(m("3", false));
            wait_for(&w, || match q.push(msg.take().expect("not sent yet")) {
                Ok(()) => true,
                Err(PushError::Full(back)) => {
                    msg = Some(back);
                    false
                }
                Err(PushError::Closed(_)) => unreachable!("the reader stays"),
            });
        })
    };
    (q, r, t)
}

/// The next frame from `q`, waiting on the reader's signal `r` until there is one.
fn receive(q: &Queue, r: &Signal, c: &mut ReaderCache) -> Msg {
    let mut frame = None;
    wait_for(r, || {
        frame = q.pop(c);
        frame.is_some()
    });
    frame.expect("popped")
}

/// A writer that found the queue full is woken when the reader drains it to the low-water
/// mark (HWM 2, LWM 1): no lost wake-up between "full" and the drain.
#[test]
fn full_writer_is_woken_at_the_low_water_mark() {
    loom::model(|| {
        let mut c = ReaderCache::default();
        let (q, r, t) = full_queue_and_a_writer();
        for want in ["1", "2", "3"] {
            assert_eq!(receive(&q, &r, &mut c), m(want, false));
        }
        t.join().unwrap();
    });
}

/// The reader publishes its count of messages read with a plain store and meets the writer's
/// "full" flag in a `SeqCst` handshake only when its cache runs dry (`Queue::count_read`): a
/// writer refused on a count it saw late (HWM 2, both messages read, their count not yet
/// seen) is woken all the same. The reader takes both messages from its cache with nothing
/// in between (in `full_writer_is_woken_at_the_low_water_mark` each receive's look at the
/// signal puts a `SeqCst` fence there, in this file's model of `SeqCst`, which would hide a
/// missing one). Without the fence in `count_read`, loom finds the writer and the reader
/// both waiting.
#[test]
fn a_writer_refused_on_a_late_count_is_woken_when_the_readers_cache_runs_dry() {
    loom::model(|| {
        let mut c = ReaderCache::default();
        let (q, r, t) = full_queue_and_a_writer();
        assert_eq!(q.pop(&mut c), Some(m("1", false)));
        assert_eq!(q.pop(&mut c), Some(m("2", false)));
        assert_eq!(receive(&q, &r, &mut c), m("3", false));
        t.join().unwrap();
    });
}

/// The writer abandons a message mid-way and closes while the reader reads: the reader gets
/// the complete message, never the partial one, and learns that the writer is gone (it is
/// woken for the close, so it does not sleep forever on a finished queue).
#[test]
fn close_writer_racing_the_reader() {
    loom::model(|| {
        let mut c = ReaderCache::default();
        let (w, r) = (Arc::new(Signal::new()), Arc::new(Signal::new()));
        let q = Arc::new(Queue::new(0, w, r.clone()));
        q.push(m("x", false)).unwrap();
        let t = {
            let q = q.clone();
            thread::spawn(move || {
                q.push(m("partial", true)).unwrap();
                q.close_writer();
            })
        };
        let mut got = Vec::new();
        wait_for(&r, || {
            while let Some(frame) = q.pop(&mut c) {
                got.push(frame);
            }
            q.is_finished()
        });
        assert_eq!(got, [m("x", false)]);
        t.join().unwrap();
    });
}

/// An inproc pipe is handed to its binder (`rebind_signal`, on the binder's own thread, as
/// `transport::inproc` does) while the peer pushes into it; the binder then reads, waiting on
/// its new signal. Either the push came first and the binder finds the message, or the push
/// sees the new signal and its wake-up reaches the binder: never the old signal with the
/// binder asleep on the new one and a message queued.
#[test]
fn rebind_signal_racing_a_push_does_not_strand_the_reader() {
    loom::model(|| {
        let mut c = ReaderCache::default();
        let (old, peer, new) = (Arc::new(Signal::new()), Arc::new(Signal::new()), Arc::new(Signal::new()));
        let (end, peer_end) = Pipe::pair(old, peer, 0, 0);
        let writer = thread::spawn(move || peer_end.out.push(m("hello", false)).unwrap());
        end.rebind_signal(new.clone());
        let mut frame = None;
        wait_for(&new, || {
            frame = end.inp.pop(&mut c);
            frame.is_some()
        });
        assert_eq!(frame.unwrap(), m("hello", false));
        writer.join().unwrap();
    });
}

/// A writer blocked on a full queue is woken when the reader goes away, and its push then
/// fails as closed.
#[test]
fn close_reader_wakes_a_blocked_writer() {
    loom::model(|| {
        let (w, r) = (Arc::new(Signal::new()), Arc::new(Signal::new()));
        let q = Arc::new(Queue::new(1, w.clone(), r));
        q.push(m("1", false)).unwrap();
        let t = {
            let q = q.clone();
            thread::spawn(move || q.close_reader())
        };
        let mut msg = Some(m("2", false));
        wait_for(&w, || match q.push(msg.take().expect("not sent yet")) {
            Ok(()) => unreachable!("the queue is full until the reader closes it"),
            Err(PushError::Full(back)) => {
                msg = Some(back);
                false
            }
            Err(PushError::Closed(_)) => true,
        });
        t.join().unwrap();
    });
}

/// ZMQ_FD, the race that matters: the application reads ZMQ_EVENTS (the socket drains its
/// readiness descriptor, then looks at its pipe) and finds nothing, then waits on the
/// descriptor; a message completed by the peer in between must leave the descriptor readable.
/// And once the application has taken the message and read ZMQ_EVENTS again, with nothing new
/// since, the descriptor is not readable (an event loop would spin on it). loom cannot block on
/// a descriptor, so "waits on it" is: once the peer is done, it must be readable. After each
/// drain, a readable descriptor must be one the next drain clears (else the loop spins while
/// the notifier is descheduled).
#[test]
fn fd_wake_between_events_and_wait_is_not_lost() {
    loom::model(|| {
        let mut c = ReaderCache::default();
        let (w, r) = (Arc::new(Signal::new()), Arc::new(Signal::new()));
        r.readiness_fd().expect("eventfd");
        let q = Arc::new(Queue::new(0, w, r.clone()));
        // The application's first ZMQ_EVENTS: drain, look (the reader is idle from here on).
        r.drain_fd();
        assert!(!q.has_msg(&c));
        let t = {
            let q = q.clone();
            thread::spawn(move || q.push(m("hello", false)).unwrap())
        };
        r.drain_fd();
        assert!(r.fd_readable_implies_flag(), "readable, and the next drain would not clear it");
        if !q.has_msg(&c) {
            t.join().unwrap();
            assert!(r.fd_is_readable(), "a wake-up between ZMQ_EVENTS and the wait on ZMQ_FD was lost");
            r.drain_fd();
            assert!(q.has_msg(&c));
        } else {
            t.join().unwrap();
        }
        // The receive (drain, take), then ZMQ_EVENTS (drain, look): nothing new since.
        r.drain_fd();
        assert_eq!(q.pop(&mut c), Some(m("hello", false)));
        r.drain_fd();
        assert!(!q.has_msg(&c));
        assert!(!r.fd_is_readable(), "readable with nothing new: an event loop would spin");
    });
}

/// Two notifiers racing a drain (the readiness descriptor's own lock protocol): whatever the
/// look after the drain missed leaves the descriptor readable once the notifiers are done, and a
/// drain after everything was seen leaves it unreadable (no write left behind by a notify that
/// interleaved with the drain); and at every drain, a readable descriptor is one the next
/// drain clears.
#[test]
fn fd_notifies_racing_a_drain_leave_it_readable_exactly_while_a_change_is_unseen() {
    loom::model(|| {
        let s = Arc::new(Signal::new());
        s.readiness_fd().expect("eventfd");
        s.drain_fd();
        let (a, b) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let (ta, tb) = (make_ready_and_notify(&s, &a), make_ready_and_notify(&s, &b));
        s.drain_fd();
        assert!(s.fd_readable_implies_flag(), "readable, and the next drain would not clear it");
        let saw_both = a.load(SeqCst) && b.load(SeqCst);
        assert!(s.fd_readable_implies_flag(), "readable, and the next drain would not clear it");
        ta.join().unwrap();
        tb.join().unwrap();
        if !saw_both {
            assert!(s.fd_is_readable(), "a change the look missed left the descriptor unreadable");
        }
        s.drain_fd();
        assert!(a.load(SeqCst) && b.load(SeqCst));
        assert!(!s.fd_is_readable(), "readable after a drain with nothing new");
    });
}

/// The connection under the drive models: "encoding" appends the frames to the buffer,
/// "writing" moves them onto `wire`, and the kernel refuses the first `refusals` writes
/// (whoever makes them).
struct FakeWire {
    wire: crate::sync::Mutex<Vec<Msg>>,
    refusals: crate::sync::AtomicUsize,
    /// [`Wire::caller_writes_queued`].
    caller_writes: Option<usize>,
    /// [`Wire::caller_writes_when_full`].
    when_full: bool,
}

impl Wire for FakeWire {
    type Buf = VecDeque<Msg>;

    fn encode(&self, batch: &mut VecDeque<Msg>, buf: &mut VecDeque<Msg>) {
        buf.extend(batch.drain(..));
    }

    fn pending(buf: &VecDeque<Msg>) -> usize {
        buf.len()
    }

    fn try_write(&self, buf: &mut VecDeque<Msg>) -> std::io::Result<()> {
        if self.refusals.load(SeqCst) > 0 {
            self.refusals.fetch_sub(1, SeqCst);
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        self.wire.lock().extend(buf.drain(..));
        Ok(())
    }

    fn packs(&self) -> bool {
        true
    }

    fn pack(msg: &Msg, packed: &mut bytes::BytesMut) {
        crate::engine::drive::test_packing::pack(msg, packed)
    }

    fn append_packed(packed: &mut bytes::BytesMut, buf: &mut VecDeque<Msg>) {
        crate::engine::drive::test_packing::append_packed(packed, buf)
    }

    fn caller_writes_queued(&self) -> Option<usize> {
        self.caller_writes
    }

    fn caller_writes_when_full(&self) -> Option<usize> {
        self.when_full.then_some(usize::MAX)
    }
}

/// A sender pushing three messages (the first written by the sender itself, the next two,
/// a stream, left in the pipe for the engine or packed) and a two-frame one (queued, never
/// packed, behind a packed one) and then closing, racing the engine's steps,
/// with the kernel refusing `refusals` writes, and the sender writing queued bytes itself at
/// `caller_writes` (as over ipc; a packed test message counts 2 bytes, a frame its body's
/// one, so the two-frame one is offered too): every message reaches the
/// wire once, in order, and the engine sees the end only once everything is written (no lost
/// hand-over: a lost one is a deadlock, which loom reports).
fn drive_model(refusals: usize, caller_writes: Option<usize>) {
    drive_model_with(refusals, caller_writes, 0, false);
}

/// [`drive_model`] with a pipe of `hwm` messages (0: no limit), full pushes waiting for room
/// as a blocking send does, and the sender offered a full pipe to write (`when_full`).
fn drive_model_with(refusals: usize, caller_writes: Option<usize>, hwm: usize, when_full: bool) {
    // A sender that waits for room adds waits and wake-ups to explore: with a full pipe, at
    // most 3 preemptions (about two minutes each), unless the run asks for fewer.
    let mut builder = loom::model::Builder::new();
    if hwm > 0 && builder.preemption_bound.is_none_or(|p| p > 3) {
        builder.preemption_bound = Some(3);
    }
    builder.check(move || {
        let (w, r) = (Arc::new(Signal::new()), Arc::new(Signal::new()));
        let q = Arc::new(Queue::new(hwm, w.clone(), r.clone()));
        let refusals = crate::sync::AtomicUsize::new(refusals);
        let wire = FakeWire { wire: Default::default(), refusals, caller_writes, when_full };
        let drive = Arc::new(Drive::new(wire, VecDeque::new()));
        q.set_drain(Some(drive.clone()));
        let sender = {
            let q = q.clone();
            thread::spawn(move || {
                let push = |mut msg: Msg| {
                    loop {
                        let seen = w.seq();
                        match q.push(msg) {
                            Ok(()) => return,
                            Err(crate::pipe::PushError::Full(back)) => msg = back,
                            Err(crate::pipe::PushError::Closed(_)) => panic!("the reader closed"),
                        }
                        assert!(w.wait(seen, None), "an untimed wait returned false");
                    }
                };
                for s in ["a", "b", "c"] {
                    push(m(s, false));
                }
                // Never packed: queued as frames, after "c" (perhaps packed) on the wire.
                push(m("d", true));
                push(m("e", false));
                q.close_writer();
            })
        };
        loop {
            let seen = r.seq();
            match drive.engine_step(&q) {
                // Writable again at once, in the model.
                Step::Again | Step::Blocked => {}
                Step::Idle => assert!(r.wait(seen, None), "an untimed wait returned false"),
                Step::Finished => break,
                Step::Failed(e) => panic!("{e}"),
            }
        }
        q.set_drain(None);
        drive.close();
        sender.join().unwrap();
        // (The test wire's packing keeps no MORE flag: "d" comes back as a frame of its own
        // only if it was queued, which it always is.)
        assert_eq!(*drive.wire.wire.lock(), [m("a", false), m("b", false), m("c", false), m("d", true), m("e", false)]);
    });
}

#[test]
fn drive_writes_every_message_once_in_order_whoever_writes() {
    drive_model(0, None);
}

#[test]
fn drive_hands_a_refused_write_to_the_engine() {
    drive_model(1, None);
}

#[test]
fn drive_whose_sender_writes_queued_bytes_writes_every_message_once_in_order() {
    drive_model(0, Some(1));
}

/// Three refusals, so that in some interleavings the one refused is the sender's write of the
/// queued bytes (a change that drops what that write leaves is caught with three, not with
/// one or two).
#[test]
fn drive_whose_sender_writes_queued_bytes_hands_refused_writes_to_the_engine() {
    drive_model(3, Some(1));
}

/// The pipe holds one message, and a sender whose push finds it full writes what is queued
/// itself (`Drain::writes_when_full`) before it waits for room, as over tcp and ipc.
#[test]
fn drive_whose_sender_writes_a_full_pipe_writes_every_message_once_in_order() {
    drive_model_with(0, None, 1, true);
}

/// The same, with the kernel refusing writes: a refusal of the sender's write at the HWM is
/// the engine's to finish, and the sender, waiting for room, is woken when it has.
#[test]
fn drive_whose_sender_writes_a_full_pipe_hands_refused_writes_to_the_engine() {
    drive_model_with(3, None, 1, true);
}

/// The peer writes `n` one-byte messages and closes; a caller receives `n` messages with
/// blocking receives (reading the connection itself when nothing is queued and the feed is
/// free), racing the engine's reader; the pipe holds `hwm` messages. Every message arrives
/// once, in order, whoever read it; the engine learns of the end whoever read it (no lost
/// hand-over or read event: a lost one is a deadlock, which loom reports). A caller may
/// leave the connection lent to its next receive; the engine then ticks once per wait, and
/// the caller gives the connection back when done (as a socket does before it polls).
fn feed_model(n: u8, hwm: usize) {
    use crate::engine::feed::tests::fakes::{ByteInput, FakeSource, Kernel};
    use crate::engine::feed::{EngineStep, Feed, FeedState};
    use crate::pipe::Feed as _;
    // Three threads and many locks: at most 3 preemptions (about a minute each), unless the
    // run asks for fewer.
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none_or(|p| p > 3) {
        builder.preemption_bound = Some(3);
    }
    builder.check(move || {
        let (engine, socket, readable) = (Arc::new(Signal::new()), Arc::new(Signal::new()), Arc::new(Signal::new()));
        let q = Arc::new(Queue::new(hwm, engine.clone(), socket.clone()));
        let source = Arc::new(FakeSource {
            kernel: crate::sync::Mutex::new(Kernel { armed: true, ..Kernel::default() }),
            engine: engine.clone(),
            readable,
        });
        let feed = Arc::new(Feed::new(
            FeedState::default(),
            ByteInput,
            Some(source.clone()),
            engine.clone(),
            Default::default(),
        ));
        let peer = {
            let source = source.clone();
            thread::spawn(move || {
                for b in 0..n {
                    source.peer_writes(Some(b));
                }
                source.peer_writes(None);
            })
        };
        let reader = {
            let (q, feed, engine) = (q.clone(), feed.clone(), engine.clone());
            thread::spawn(move || {
                loop {
                    let seen = engine.seq();
                    match feed.engine_step(&q, false) {
                        EngineStep::End(_) => break,
                        EngineStep::Again => {}
                        // The connection is lent to the caller: one tick (the model's clock),
                        // then the wait (the caller's next receive, or its give-back, wakes
                        // the engine).
                        EngineStep::Wait { lent: true } => match feed.engine_step(&q, true) {
                            EngineStep::End(_) => break,
                            EngineStep::Again => {}
                            _ => assert!(engine.wait(seen, None), "an untimed wait returned false"),
                        },
                        EngineStep::Full | EngineStep::Wait { lent: false } => {
                            assert!(engine.wait(seen, None), "an untimed wait returned false")
                        }
                        EngineStep::Read => unreachable!("the model's stream is a source"),
                    }
                }
                feed.close();
            })
        };
        let mut got = Vec::new();
        let mut c = ReaderCache::default();
        while got.len() < n as usize {
            let seen = socket.seq();
            if let Some(m) = q.pop(&mut c) {
                got.push(m.data[0]);
                continue;
            }
            if feed.feed(&q, &socket, seen, None).is_none() {
                assert!(socket.wait(seen, None), "an untimed wait returned false");
            }
        }
        assert_eq!(got, (0..n).collect::<Vec<_>>());
        // The socket would now wait some other way (poll, say): what the caller left lent
        // goes back to the engine, which then meets the end of the stream.
        let _ = feed.give_back(&q, &socket);
        peer.join().unwrap();
        reader.join().unwrap();
    });
}

#[test]
fn feed_delivers_every_message_once_in_order_whoever_reads() {
    feed_model(2, 0);
}

#[test]
fn feed_hands_a_batch_the_pipe_had_no_room_for_to_the_engine() {
    feed_model(3, 1);
}
