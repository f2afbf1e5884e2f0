//! `FdStream`: a tcp or ipc connection that any thread may read and write with plain
//! non-blocking calls, while the I/O thread waits on it through tokio.
//!
//! A ZMTP connection runs on one after its handshake, so that a sending caller can write it and
//! a receiving caller can read it on its own thread (`engine::drive`, `engine::feed`, where
//! the rules of who does what are). Two things differ from a tokio stream:
//!
//! - **Reads and writes need no readiness.** tokio's `try_read` refuses to read until its
//!   reactor has seen the socket become readable; a caller woken by its own poll(2) must read
//!   at once. Reads and writes here are the system calls themselves.
//! - **The engine's read wake-ups can be switched off.** The socket is registered with tokio
//!   for writability only, and only once a write was refused ([`FdStream::writable`]): a unix
//!   socket registered for writability wakes its reactor each time the peer reads (the kernel
//!   announces the room every read frees), which on ipc woke the I/O thread once per
//!   request-reply round trip. Readability comes through an epoll set of its own, [`Self::input`],
//!   which holds the socket for input, level-triggered, and which tokio watches. A caller that
//!   reads the connection itself takes the socket's events out of that set for the while
//!   ([`FdStream::disarm`]): the bytes it waits for then wake only the caller, not also the
//!   I/O thread (on a core the two share, that second wake-up costs as much as the read).
//!   Putting them back ([`FdStream::arm`]) wakes the engine at once if bytes are waiting: the
//!   kernel decides, so nothing that arrived meanwhile is left unread.

use std::io::{self, IoSlice, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, OnceLock};
use std::task::Waker;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use rustix::event::epoll;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::signal::Signal;
use crate::wake_fd::WakeFd;

/// The connection's socket.
pub(crate) enum Sock {
    Tcp(std::net::TcpStream),
    Ipc(std::os::unix::net::UnixStream),
}

impl AsFd for Sock {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Sock::Tcp(s) => s.as_fd(),
            Sock::Ipc(s) => s.as_fd(),
        }
    }
}

/// [`FdStream::paced`] for `sock`.
fn is_paced(sock: &Sock) -> bool {
    match sock {
        Sock::Tcp(s) => paced_by(socket2::SockRef::from(s).tcp_congestion().ok().as_deref()),
        Sock::Ipc(_) => false,
    }
}

/// Does a tcp connection whose congestion control is named `cc` (`TCP_CONGESTION`, padded with
/// NULs; `None`: unreadable) pace its writes? BBR's family does; unreadable is taken as paced,
/// which keeps the engine's batches, the choice that is never far off.
fn paced_by(cc: Option<&[u8]>) -> bool {
    cc.is_none_or(|name| name.starts_with(b"bbr"))
}

/// Register `inner`'s descriptor with the runtime's reactor for `interest` (inside the
/// runtime). An `OwnedFd` owns its descriptor and is never swapped for another
/// while registered (nothing here calls `get_mut`), which is what tokio asks.
#[allow(unsafe_code, reason = "tokio's registration of a raw descriptor is unsafe (I/O safety); the one block in oxmq")]
fn register(inner: OwnedFd, interest: Interest) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: `inner` owns its descriptor (an `OwnedFd`), so it is open and refers
    // to the same file description until `inner` is dropped, which happens only when the
    // `AsyncFd` is; `as_raw_fd` always returns that one descriptor; and the `AsyncFd` is
    // private to `FdStream`, which never hands out `&mut` access to `inner`.
    unsafe { AsyncFd::register_with_interest(inner, interest) }.map_err(|e| e.into())
}

/// What the socket is registered for in [`FdStream::input`] while the engine reads.
fn input_events() -> epoll::EventFlags {
    epoll::EventFlags::IN | epoll::EventFlags::RDHUP
}

pub(crate) struct FdStream {
    /// A duplicate of the socket's descriptor registered with tokio for writability, made the
    /// first time a write is refused (see the module's doc).
    writer: OnceLock<AsyncFd<OwnedFd>>,
    /// The socket (non-blocking).
    sock: Sock,
    /// An epoll set holding `sock` for input (see the module's doc), registered with tokio
    /// for readability.
    input: AsyncFd<OwnedFd>,
    /// What wakes a caller waiting in [`FdStream::wait`] when a signal moves (made at the
    /// first wait; one caller waits at a time).
    wake: OnceLock<Arc<WakeFd>>,
    /// See [`FdStream::paced`].
    paced: bool,
}

/// What a caller's [`FdStream::wait`] came to.
pub(crate) enum Woken {
    /// The socket has bytes, or has ended.
    Readable,
    /// The signal moved (or the wait could not be made).
    Signalled,
    /// The deadline passed.
    TimedOut,
    /// A signal handler ran (EINTR).
    Interrupted,
}

impl FdStream {
    /// Take over `sock` (already non-blocking, as tokio left it). Inside the runtime.
    pub fn new(sock: Sock) -> io::Result<FdStream> {
        let set = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        epoll::add(&set, &sock, epoll::EventData::new_u64(0), input_events())?;
        let paced = is_paced(&sock);
        Ok(FdStream {
            writer: OnceLock::new(),
            sock,
            input: register(set, Interest::READABLE)?,
            wake: OnceLock::new(),
            paced,
        })
    }

    /// The socket's descriptor, for a caller's poll(2).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// One read into `buf`'s spare room, `grow` more reserved first when less than `need` is
    /// left, without waiting: `WouldBlock` when nothing is there, `Ok(0)` at the end of the
    /// stream.
    pub fn read_buf(&self, buf: &mut BytesMut, need: usize, grow: usize) -> io::Result<usize> {
        // Read into a vector's spare capacity (rustix sets its length; no zero-filling and
        // no `unsafe` here), then hand the bytes back as the `BytesMut` the decoder splits
        // frames from. Both conversions keep the allocation when nothing else shares it; when
        // frames split from it are still alive, the vector is a copy of what is left (a frame
        // not whole yet) and the reservation a new allocation, where a read into the
        // `BytesMut` itself would reuse its room (which needs `unsafe` to say how much a read
        // filled).
        let mut v = Vec::from(std::mem::take(buf));
        if v.capacity() - v.len() < need {
            v.reserve(grow);
        }
        let read = self.read_vec(&mut v);
        *buf = BytesMut::from(Bytes::from(v));
        read
    }

    /// One read into `v`'s spare capacity, without waiting (as [`FdStream::read_buf`]).
    pub fn read_vec(&self, v: &mut Vec<u8>) -> io::Result<usize> {
        loop {
            match rustix::io::read(self.fd(), rustix::buffer::spare_capacity(v)) {
                Ok(n) => return Ok(n),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// One read into `buf`, without waiting.
    pub fn read_slice(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match rustix::io::read(self.fd(), &mut *buf) {
                Ok(n) => return Ok(n),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A tcp stream (whose kernel may pace what is written, see `engine::zmtp::first_write`)?
    pub fn is_tcp(&self) -> bool {
        matches!(self.sock, Sock::Tcp(_))
    }

    /// Does the kernel pace what is written here? A tcp connection whose congestion control is
    /// BBR's (`TCP_CONGESTION` "bbr", read when the connection was made; assumed so when it
    /// cannot be read): BBR spaces the packets out at the rate it estimates, by a timer per
    /// packet, over loopback too. Who should write a stream depends on it (`engine::drive`,
    /// "Packing"). Neither cubic (Linux's default) nor reno paces, nor does a unix socket.
    pub fn paced(&self) -> bool {
        self.paced
    }

    /// Write what the kernel takes now, without waiting (`WouldBlock` when it takes nothing).
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match &self.sock {
            Sock::Tcp(s) => (&*s).write_vectored(bufs),
            Sock::Ipc(s) => (&*s).write_vectored(bufs),
        }
    }

    /// Shut the sending side down (the peer reads the end of the stream).
    pub fn shutdown_write(&self) -> io::Result<()> {
        socket2::SockRef::from(&self.sock).shutdown(std::net::Shutdown::Write)
    }

    /// Wait until the kernel may take more, after a write it refused. Inside the runtime.
    pub async fn writable(&self) -> io::Result<()> {
        let writer = match self.writer.get() {
            Some(w) => w,
            // Registered now, after the refusal: the kernel reports the room there is at
            // registration, so room freed since the refusal is not missed.
            None => {
                let made = register(self.sock.as_fd().try_clone_to_owned()?, Interest::WRITABLE)?;
                self.writer.get_or_init(|| made)
            }
        };
        // Cleared at once: a write that is refused again makes the next wait a real one, and
        // room that frees up after the clear is a new event (tokio clears only the readiness
        // this guard saw).
        writer.writable().await?.clear_ready();
        Ok(())
    }

    /// Wait until the socket may have bytes to read (or has ended) while armed: the engine's
    /// wait. Then read until `WouldBlock` before waiting again: readiness seen here is
    /// cleared here, and only bytes that arrive after that wake the next wait.
    pub async fn readable(&self) -> io::Result<()> {
        self.input.readable().await?.clear_ready();
        Ok(())
    }

    /// A caller's wait (one at a time): in poll(2) until the socket is readable, `signal`
    /// moves past `seen` (through a waker that writes this stream's wake-up descriptor), or
    /// `deadline` passes.
    pub fn wait(&self, signal: &Signal, seen: u64, deadline: Option<Instant>) -> Woken {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let wake = match self.wake.get() {
            Some(w) => w,
            None => match WakeFd::new() {
                Ok(made) => self.wake.get_or_init(|| Arc::new(made)),
                // No descriptor to spare: the caller waits on the signal instead.
                Err(_) => return Woken::Signalled,
            },
        };
        let waker = Waker::from(wake.clone());
        let mut key = None;
        if !signal.register(&waker, seen, &mut key) {
            signal.unregister(&mut key);
            return Woken::Signalled;
        }
        let timeout = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            Timespec { tv_sec: left.as_secs() as i64, tv_nsec: left.subsec_nanos() as _ }
        });
        let fd = self.fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN), PollFd::new(&**wake, PollFlags::IN)];
        let polled = rustix::event::poll(&mut fds, timeout.as_ref());
        signal.unregister(&mut key);
        let readable = !fds[0].revents().is_empty();
        if !fds[1].revents().is_empty() {
            wake.drain();
        }
        match polled {
            Ok(0) => Woken::TimedOut,
            Ok(_) if readable => Woken::Readable,
            Err(rustix::io::Errno::INTR) => Woken::Interrupted,
            _ => Woken::Signalled,
        }
    }

    /// A caller reads the socket itself from now on: its bytes stop waking the engine. (Out of
    /// the set, not left in it with no events: see [`FdStream::arm`].)
    pub fn disarm(&self) -> io::Result<()> {
        epoll::delete(self.input.get_ref(), &self.sock).map_err(Into::into)
    }

    /// The engine reads the socket again (after [`FdStream::disarm`]); if bytes are waiting,
    /// it is woken now. Added afresh rather than re-enabled: an entry the set still holds as
    /// ready from an earlier event (nobody waits on the set itself, so it stays so) is not
    /// announced again when re-enabled, and the engine would sleep on waiting bytes; a new
    /// entry that is ready always is.
    pub fn arm(&self) -> io::Result<()> {
        epoll::add(self.input.get_ref(), &self.sock, epoll::EventData::new_u64(0), input_events()).map_err(Into::into)
    }

    /// [`FdStream::arm`], unless the socket is in the set already: for the engine's last wait,
    /// whoever had the connection before.
    pub fn ensure_armed(&self) -> io::Result<()> {
        match self.arm() {
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::EXIST.raw_os_error()) => Ok(()),
            other => other,
        }
    }
}

#[cfg(all(test, not(oxmq_loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pair() -> (FdStream, std::os::unix::net::UnixStream) {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        (FdStream::new(Sock::Ipc(a)).unwrap(), b)
    }

    async fn woken(s: &FdStream) -> bool {
        tokio::time::timeout(Duration::from_millis(100), s.readable()).await.is_ok()
    }

    /// Bytes that arrive while a caller has the socket do not wake the engine; arming again
    /// wakes it when bytes are waiting, and not when the caller read them all.
    #[tokio::test]
    async fn disarmed_input_wakes_nobody_and_arming_wakes_the_engine_for_what_waits() {
        use std::io::Write as _;
        let (s, mut peer) = pair();
        let mut buf = [0u8; 16];
        assert_eq!(s.read_slice(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        s.disarm().unwrap();
        peer.write_all(b"one").unwrap();
        assert!(!woken(&s).await, "disarmed: the engine is not woken");
        s.arm().unwrap();
        assert!(woken(&s).await, "armed with bytes waiting: woken");
        assert_eq!(s.read_slice(&mut buf).unwrap(), 3);
        // A caller that reads everything before arming leaves nothing to wake the engine for.
        s.disarm().unwrap();
        peer.write_all(b"two").unwrap();
        assert_eq!(s.read_slice(&mut buf).unwrap(), 3);
        s.arm().unwrap();
        assert!(!woken(&s).await);
        // Armed, new bytes wake it; the end of the stream too.
        peer.write_all(b"3").unwrap();
        assert!(woken(&s).await);
        let mut v = Vec::with_capacity(8);
        assert_eq!(s.read_vec(&mut v).unwrap(), 1);
        assert_eq!(v, b"3");
        drop(peer);
        assert!(woken(&s).await);
        let mut b = BytesMut::new();
        assert_eq!(s.read_buf(&mut b, 64, 64).unwrap(), 0);
    }

    /// Bytes that came while the socket was out of the set wake the engine when it is put
    /// back, even when the set still held it as ready from bytes read long before (an entry
    /// re-enabled in place was not announced again: a lost wake-up the hostile tests found).
    #[tokio::test]
    async fn arming_announces_waiting_bytes_after_an_earlier_wake() {
        use std::io::Write as _;
        let (s, mut peer) = pair();
        let mut buf = [0u8; 16];
        peer.write_all(b"a").unwrap();
        assert!(woken(&s).await);
        assert_eq!(s.read_slice(&mut buf).unwrap(), 1);
        s.disarm().unwrap();
        peer.write_all(b"b").unwrap();
        assert!(!woken(&s).await);
        s.arm().unwrap();
        assert!(woken(&s).await, "the byte that came while disarmed is announced");
        assert_eq!(s.read_slice(&mut buf).unwrap(), 1);
    }

    /// A write the kernel refuses makes `writable` wait until the peer reads, registering the
    /// socket with the reactor only then (also when the room came before the registration).
    #[tokio::test]
    async fn writable_waits_for_room_after_a_refused_write() {
        use std::io::Read as _;
        let (s, mut peer) = pair();
        let chunk = [7u8; 4096];
        let mut sent = 0usize;
        loop {
            match s.try_write_vectored(&[IoSlice::new(&chunk)]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(s.writer.get().is_none(), "not registered before a refusal");
        let quick = Duration::from_millis(100);
        assert!(tokio::time::timeout(quick, s.writable()).await.is_err(), "full: no room yet");
        // The peer drains everything: room, announced.
        let mut got = vec![0u8; sent];
        peer.read_exact(&mut got).unwrap();
        tokio::time::timeout(Duration::from_secs(5), s.writable()).await.expect("woken for the room").unwrap();
        assert!(s.try_write_vectored(&[IoSlice::new(&chunk)]).unwrap() > 0);
        // Room that came before the first registration is seen too.
        let (s, mut peer) = pair();
        let mut sent = 0usize;
        while let Ok(n) = s.try_write_vectored(&[IoSlice::new(&chunk)]) {
            sent += n;
        }
        let mut got = vec![0u8; sent];
        peer.read_exact(&mut got).unwrap();
        tokio::time::timeout(Duration::from_secs(5), s.writable()).await.expect("room seen at registration").unwrap();
    }

    /// `read_buf` appends after what the buffer holds and keeps an unshared allocation.
    #[tokio::test]
    async fn read_buf_appends_and_keeps_the_allocation() {
        use std::io::Write as _;
        let (s, mut peer) = pair();
        let mut b = BytesMut::with_capacity(1024);
        b.extend_from_slice(b"ab");
        let at = b.as_ptr();
        peer.write_all(b"cd").unwrap();
        assert_eq!(s.read_buf(&mut b, 16, 16).unwrap(), 2);
        assert_eq!(&b[..], b"abcd");
        assert_eq!(b.as_ptr(), at);
    }

    /// Which congestion controls pace: BBR's family, and an unreadable one (kept on the
    /// engine's batches); not cubic or reno.
    #[test]
    fn bbr_and_an_unreadable_congestion_control_pace_and_the_others_do_not() {
        assert!(paced_by(Some(b"bbr\0\0\0\0\0\0\0\0\0\0\0\0\0")));
        assert!(paced_by(Some(b"bbr2")));
        assert!(paced_by(None));
        assert!(!paced_by(Some(b"cubic\0\0\0\0\0\0\0\0\0\0\0")));
        assert!(!paced_by(Some(b"reno")));
    }

    /// A connection reads its own congestion control, whatever the system's default (reno,
    /// which every Linux has and lets every user set, on a system whose default may be BBR);
    /// a unix socket never paces.
    #[tokio::test]
    async fn a_connection_reads_its_own_congestion_control() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_tcp_congestion(b"reno").unwrap();
        s.connect(&listener.local_addr().unwrap().into()).unwrap();
        let s: std::net::TcpStream = s.into();
        s.set_nonblocking(true).unwrap();
        let s = FdStream::new(Sock::Tcp(s)).unwrap();
        assert!(s.is_tcp() && !s.paced(), "reno does not pace");
        // BBR too, where the kernel has it (a module, not always loaded).
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        match s.set_tcp_congestion(b"bbr") {
            Ok(()) => {
                s.connect(&listener.local_addr().unwrap().into()).unwrap();
                let s: std::net::TcpStream = s.into();
                s.set_nonblocking(true).unwrap();
                let s = FdStream::new(Sock::Tcp(s)).unwrap();
                assert!(s.is_tcp() && s.paced(), "bbr paces");
            }
            Err(e) => skip(&format!("bbr cannot be set on this machine ({e}): only reno's connection checked")),
        }
        let (s, _peer) = pair();
        assert!(!s.is_tcp() && !s.paced());
    }

    /// Say, where CI's log shows it, that a test checked less: `SKIPPED ...` to stderr and to
    /// `<target dir>/tmp/skipped.txt`, the file the integration tests' `common::skip` writes
    /// and `.ci/run` prints after `cargo test` (a unit test's own output is captured).
    fn skip(reason: &str) {
        use std::io::Write as _;
        let line = format!("SKIPPED oxmq::{}: {reason}\n", std::thread::current().name().unwrap_or("?"));
        eprint!("{line}");
        // The test binary is <target dir>/<profile>/deps/<name>.
        let exe = std::env::current_exe().unwrap();
        let Some(target) = exe.ancestors().nth(3) else { return };
        let dir = target.join("tmp");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("skipped.txt")) {
            let _ = f.write_all(line.as_bytes());
        }
    }
}
