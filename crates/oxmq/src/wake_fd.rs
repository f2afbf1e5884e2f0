//! `WakeFd`: a file descriptor that a wake makes readable and a drain makes unreadable again,
//! for code that waits with poll(2) or an event loop rather than on a [`Signal`].
//!
//! An eventfd on Linux (one descriptor, a counter: readable while it is not zero), a
//! non-blocking pipe elsewhere. Two users: [`crate::poll`] wakes its own poll(2) with one when
//! a socket's signal moves, and a socket's readiness descriptor (ZMQ_FD, see
//! [`Signal`](crate::signal::Signal)) is one. Neither keeps a count of wakes: a wake makes the
//! descriptor readable (if it was already, it stays so), a drain empties it.
//!
//! [`Signal`]: crate::signal::Signal

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::task::Wake;

pub(crate) struct WakeFd {
    read: OwnedFd,
    /// The write end of a pipe; `None` for an eventfd (written through `read`).
    write: Option<OwnedFd>,
}

impl WakeFd {
    /// A new descriptor, not readable.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn new() -> std::io::Result<WakeFd> {
        use rustix::event::{EventfdFlags, eventfd};
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(WakeFd { read: fd, write: None })
    }

    /// A new descriptor, not readable.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub fn new() -> std::io::Result<WakeFd> {
        use rustix::io::{FdFlags, fcntl_setfd, ioctl_fionbio};
        let (read, write) = rustix::pipe::pipe()?;
        for fd in [&read, &write] {
            fcntl_setfd(fd, FdFlags::CLOEXEC)?;
            ioctl_fionbio(fd, true)?;
        }
        Ok(WakeFd { read, write: Some(write) })
    }

    /// Make it readable (it stays readable until [`drain`](Self::drain)).
    pub fn wake(&self) {
        // An eventfd takes exactly 8 bytes (a counter increment); a pipe takes any. A full
        // pipe or counter is readable already, so a failed write loses nothing.
        let _ = rustix::io::write(self.write.as_ref().unwrap_or(&self.read), &1u64.to_ne_bytes());
    }

    /// Make it non-readable again (until the next [`wake`](Self::wake)).
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        // One read takes an eventfd's whole count; a pipe is read until it is empty.
        while matches!(rustix::io::read(&self.read, &mut buf), Ok(n) if n > 0) && self.write.is_some() {}
    }

    /// Readable now? (poll(2) with a zero timeout.)
    #[cfg(test)]
    pub fn is_readable(&self) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let mut fds = [PollFd::new(&self.read, PollFlags::IN)];
        rustix::event::poll(&mut fds, Some(&Timespec { tv_sec: 0, tv_nsec: 0 })).expect("poll(2)") == 1
    }
}

/// The descriptor to wait on: readable after a wake.
impl AsFd for WakeFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}

/// As a task's waker: waking it makes the descriptor readable.
impl Wake for WakeFd {
    fn wake(self: Arc<Self>) {
        WakeFd::wake(&self);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        WakeFd::wake(self);
    }
}

#[cfg(all(test, not(oxmq_loom)))]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot call ppoll (a foreign function)")]
    fn becomes_readable_when_woken_and_drains() {
        let wake = Arc::new(WakeFd::new().unwrap());
        let waker = std::task::Waker::from(wake.clone());
        assert!(!wake.is_readable());
        waker.wake_by_ref();
        waker.wake_by_ref();
        assert!(wake.is_readable());
        wake.drain();
        assert!(!wake.is_readable());
    }
}
