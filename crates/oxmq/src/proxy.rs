//! The built-in proxy (libzmq's `zmq_proxy` and `zmq_proxy_steerable`): moves whole messages
//! between a frontend and a backend socket, both ways, until the context is terminated or a
//! control socket says TERMINATE.
//!
//! Back-pressure goes through it: a message is taken from one side only when the other side is
//! writable (`POLLOUT`, as libzmq 4.3 checks), so a full backend leaves messages queued at the
//! frontend (and so pushes back on the senders) instead of losing them. While it cannot move
//! anything the proxy sleeps in [`poll`] on exactly what it lacks (one side's input, or the
//! other side's room), so it never spins.

use bytes::Bytes;
use oxmq_wire::SocketType;

use crate::error::Result;
use crate::pipe::Msg;
use crate::poll::{PollEvents, PollItem, poll, poll_interruptible};
use crate::socket::SocketBase;

/// Messages moved one way in a turn before the other way (and the control socket) gets its
/// turn.
const BURST: usize = 1000;

/// Frames and bytes through one socket in one direction.
#[derive(Default)]
struct Count {
    frames: u64,
    bytes: u64,
}

impl Count {
    fn add(&mut self, first: &Msg, rest: &[Msg]) {
        self.frames += 1 + rest.len() as u64;
        self.bytes += (first.data.len() + rest.iter().map(|m| m.data.len()).sum::<usize>()) as u64;
    }
}

#[derive(Default)]
struct Stats {
    frontend_in: Count,
    frontend_out: Count,
    backend_in: Count,
    backend_out: Count,
}

/// Why [`forward`] stopped.
enum Stop {
    /// Nothing more to read.
    Input,
    /// The destination is not writable.
    Output,
    /// A burst was moved; there may be more.
    Burst,
}

/// Move messages between `frontend` and `backend` in both directions, as `zmq_proxy`: each
/// message read from one is sent whole to the other and, if `capture` is given, each of its
/// frames is also sent there (a PUB, PUSH, PAIR or DEALER, say) before it is forwarded.
///
/// Runs until the context is terminated (then returns [`Error::ContextTerminated`]) or an
/// error happens on one of the sockets, which it returns. `frontend` and `backend` may be the
/// same socket (a ROUTER routing between its own peers). Forwarding and capture sends block
/// as any send does (SNDTIMEO); a message is read from one side only when the other side is
/// writable, so back-pressure propagates instead of messages being lost.
///
/// [`Error::ContextTerminated`]: crate::Error::ContextTerminated
///
/// The classic request-reply broker:
/// ```no_run
/// use oxmq::{Context, Dealer, Router};
/// let ctx = Context::new();
/// let frontend = Router::new(&ctx)?;
/// frontend.bind("tcp://*:5559")?; // REQ clients connect here
/// let backend = Dealer::new(&ctx)?;
/// backend.bind("tcp://*:5560")?; // REP workers connect here
/// oxmq::proxy(&frontend, &backend, None)?;
/// # Ok::<(), oxmq::Error>(())
/// ```
pub fn proxy(frontend: &SocketBase, backend: &SocketBase, capture: Option<&SocketBase>) -> Result<()> {
    run(frontend, backend, capture, None, false)
}

/// [`proxy`], steered by commands received on `control` (a REP or a PAIR), as
/// `zmq_proxy_steerable`:
///
/// - `PAUSE`: stop moving messages (they stay queued); `RESUME`: move them again.
/// - `TERMINATE`: return `Ok(())`.
/// - `STATISTICS`: reply with 8 frames of one native-endian `u64` each: frames received by the
///   frontend, bytes received by the frontend, frames sent by the frontend, bytes sent by the
///   frontend, then the same four for the backend. As libzmq counts them, each frame of a
///   multipart message counts as one.
///
/// A REP control socket is answered with an empty message for the other commands (and any
/// unknown one, which is otherwise ignored), so that it can take the next one; a PAIR gets
/// no answer to them.
pub fn proxy_steerable(
    frontend: &SocketBase,
    backend: &SocketBase,
    capture: Option<&SocketBase>,
    control: &SocketBase,
) -> Result<()> {
    run(frontend, backend, capture, Some(control), false)
}

/// [`proxy`], or [`proxy_steerable`] with a `control` socket, for callers that take signals
/// as C programs do (`zmq_proxy`, `zmq_proxy_steerable`): a signal handler that runs while
/// the proxy waits makes it return [`Error::Io`](crate::Error::Io) with the OS error `EINTR`
/// (it waits with [`poll_interruptible`](crate::poll_interruptible)). Messages are never
/// lost: the proxy only stops between them, and can be called again.
pub fn proxy_interruptible(
    frontend: &SocketBase,
    backend: &SocketBase,
    capture: Option<&SocketBase>,
    control: Option<&SocketBase>,
) -> Result<()> {
    run(frontend, backend, capture, control, true)
}

fn run(
    frontend: &SocketBase,
    backend: &SocketBase,
    capture: Option<&SocketBase>,
    control: Option<&SocketBase>,
    interruptible: bool,
) -> Result<()> {
    let same = std::ptr::eq(frontend, backend);
    let mut stats = Stats::default();
    let mut paused = false;
    loop {
        if let Some(control) = control {
            while let Some(cmd) = read_command(control, &stats)? {
                match cmd {
                    Command::Pause => paused = true,
                    Command::Resume => paused = false,
                    Command::Terminate => return Ok(()),
                    Command::Other => {}
                }
            }
        }
        // What to wait for: for each direction, the first thing it lacks.
        let mut wait_front = PollEvents::empty();
        let mut wait_back = PollEvents::empty();
        if !paused {
            let s = &mut stats;
            let f2b = forward(frontend, backend, same, capture, &mut s.frontend_in, &mut s.backend_out)?;
            let b2f = if same {
                Stop::Input
            } else {
                forward(backend, frontend, false, capture, &mut s.backend_in, &mut s.frontend_out)?
            };
            match f2b {
                Stop::Burst => continue,
                Stop::Input => wait_front |= PollEvents::IN,
                Stop::Output => wait_back |= PollEvents::OUT,
            }
            match b2f {
                Stop::Burst => continue,
                Stop::Input if !same => wait_back |= PollEvents::IN,
                Stop::Input => {}
                Stop::Output => wait_front |= PollEvents::OUT,
            }
        }
        let mut items = [
            PollItem::socket(frontend, wait_front),
            PollItem::socket(backend, wait_back),
            // Without a control socket, the frontend again, asking for nothing.
            PollItem::socket(
                control.unwrap_or(frontend),
                if control.is_some() { PollEvents::IN } else { PollEvents::empty() },
            ),
        ];
        if interruptible {
            poll_interruptible(&mut items, None)?;
        } else {
            poll(&mut items, None)?;
        }
    }
}

/// Move up to [`BURST`] whole messages from `from` to `to` (and `capture`), each only once
/// `to` is writable.
fn forward(
    from: &SocketBase,
    to: &SocketBase,
    same: bool,
    capture: Option<&SocketBase>,
    received: &mut Count,
    sent: &mut Count,
) -> Result<Stop> {
    for _ in 0..BURST {
        if !same && !to.events()?.contains(PollEvents::OUT) {
            return Ok(Stop::Output);
        }
        let mut rest: Vec<Msg> = Vec::new();
        let Some(first) = from.try_recv_parts(Some(&mut rest))? else { return Ok(Stop::Input) };
        received.add(&first, &rest);
        if let Some(capture) = capture {
            capture.send_parts(first.clone(), rest.clone(), true)?;
        }
        sent.add(&first, &rest);
        to.send_parts(first, rest, true)?;
    }
    Ok(Stop::Burst)
}

enum Command {
    Pause,
    Resume,
    Terminate,
    /// STATISTICS (answered already) or an unknown command.
    Other,
}

/// Read one command from the control socket, if one is there, and answer it as
/// `zmq_proxy_steerable` does.
fn read_command(control: &SocketBase, stats: &Stats) -> Result<Option<Command>> {
    let mut rest: Vec<Bytes> = Vec::new();
    let Some(first) = control.try_recv_parts(Some(&mut rest))? else { return Ok(None) };
    let cmd = match first.data.as_ref() {
        b"PAUSE" => Command::Pause,
        b"RESUME" => Command::Resume,
        b"TERMINATE" => Command::Terminate,
        b"STATISTICS" => {
            let values = [&stats.frontend_in, &stats.frontend_out, &stats.backend_in, &stats.backend_out]
                .into_iter()
                .flat_map(|c| [c.frames, c.bytes]);
            let mut frames = values.map(|v| Msg::new(Bytes::copy_from_slice(&v.to_ne_bytes()), true));
            let first = frames.next().expect("8 values");
            let mut rest: Vec<Msg> = frames.collect();
            rest.last_mut().expect("8 values").set_more(false);
            control.send_parts(first, rest, true)?;
            return Ok(Some(Command::Other));
        }
        other => {
            tracing::warn!("proxy: ignoring unknown control command {:?}", String::from_utf8_lossy(other));
            Command::Other
        }
    };
    if control.socket_type() == SocketType::Rep {
        control.send_parts(Msg::new(Bytes::new(), false), Vec::new(), true)?;
    }
    Ok(Some(cmd))
}
