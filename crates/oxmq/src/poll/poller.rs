//! [`Poller`]: libzmq's `zmq_poller` interface (add, modify and remove sockets and file
//! descriptors, then wait for the ready ones) over [`poll`](super::poll), for loops that keep
//! one set of things to watch and change it as they go.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use super::{PollEvents, PollItem, Target};
use crate::error::{Error, Result};
use crate::socket::SocketBase;

/// A set of sockets and file descriptors to wait on, each with the events wanted and a value
/// of the caller's (`T`: an index, a name, a handler id), as `zmq_poller_new`/`_add`/`_modify`/
/// `_remove`/`_wait_all`. A socket or descriptor is in the set at most once.
///
/// ```
/// use oxmq::{Context, PollEvents, Poller, SocketType};
/// let ctx = Context::new();
/// let (a, b) = (ctx.socket(SocketType::Pull)?, ctx.socket(SocketType::Pull)?);
/// a.bind("inproc://poller-a")?;
/// b.bind("inproc://poller-b")?;
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect("inproc://poller-b")?;
/// push.send("hello")?;
///
/// let mut poller = Poller::new();
/// poller.add(&a, PollEvents::IN, "a")?;
/// poller.add(&b, PollEvents::IN, "b")?;
/// let ready = poller.wait(Some(std::time::Duration::from_secs(5)))?;
/// assert_eq!(ready, [(&"b", PollEvents::IN)]);
/// # Ok::<(), oxmq::Error>(())
/// ```
pub struct Poller<'a, T> {
    items: Vec<PollItem<'a>>,
    data: Vec<T>,
}

impl<T> Default for Poller<'_, T> {
    fn default() -> Self {
        Poller { items: Vec::new(), data: Vec::new() }
    }
}

impl<'a, T> Poller<'a, T> {
    /// An empty set.
    pub fn new() -> Poller<'a, T> {
        Poller::default()
    }

    /// How many sockets and descriptors are in the set.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Watch `socket` for `events`, [`wait`](Self::wait) reporting it with `data`; EINVAL if
    /// it is in the set already (as `zmq_poller_add`).
    pub fn add(&mut self, socket: &'a SocketBase, events: PollEvents, data: T) -> Result<()> {
        if self.find_socket(socket).is_some() {
            return Err(Error::InvalidArgument("the socket is in the poller already".into()));
        }
        self.items.push(PollItem::socket(socket, events));
        self.data.push(data);
        Ok(())
    }

    /// Watch the descriptor `fd` for `events` (level-triggered, as poll(2)); EINVAL if it is
    /// in the set already (as `zmq_poller_add_fd`).
    pub fn add_fd(&mut self, fd: BorrowedFd<'a>, events: PollEvents, data: T) -> Result<()> {
        if self.find_fd(fd.as_raw_fd()).is_some() {
            return Err(Error::InvalidArgument("the descriptor is in the poller already".into()));
        }
        self.items.push(PollItem::fd(fd, events));
        self.data.push(data);
        Ok(())
    }

    /// Change the events wanted of `socket` (empty: watch nothing for now, but keep it); EINVAL
    /// if it is not in the set.
    pub fn modify(&mut self, socket: &SocketBase, events: PollEvents) -> Result<()> {
        let i = self.find_socket(socket).ok_or_else(not_in_set)?;
        self.items[i].set_events(events);
        Ok(())
    }

    /// Change the events wanted of the descriptor `fd`; EINVAL if it is not in the set.
    pub fn modify_fd(&mut self, fd: BorrowedFd<'_>, events: PollEvents) -> Result<()> {
        let i = self.find_fd(fd.as_raw_fd()).ok_or_else(not_in_set)?;
        self.items[i].set_events(events);
        Ok(())
    }

    /// Stop watching `socket`; returns its value. EINVAL if it is not in the set.
    pub fn remove(&mut self, socket: &SocketBase) -> Result<T> {
        let i = self.find_socket(socket).ok_or_else(not_in_set)?;
        self.items.remove(i);
        Ok(self.data.remove(i))
    }

    /// Stop watching the descriptor `fd`; returns its value. EINVAL if it is not in the set.
    pub fn remove_fd(&mut self, fd: BorrowedFd<'_>) -> Result<T> {
        let i = self.find_fd(fd.as_raw_fd()).ok_or_else(not_in_set)?;
        self.items.remove(i);
        Ok(self.data.remove(i))
    }

    /// Wait until at least one member is ready for what it is watched for, or `timeout`
    /// passes (`None`: no limit); returns every ready member's value and the events that
    /// occurred, in the order they were added. [`Error::Again`] if none became ready in time
    /// (as `zmq_poller_wait_all`'s EAGAIN); [`Error::InvalidArgument`] for an empty set
    /// without a timeout, which could only wait forever.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<(&T, PollEvents)>> {
        if self.items.is_empty() && timeout.is_none() {
            return Err(Error::InvalidArgument("waiting forever on an empty poller".into()));
        }
        if super::poll(&mut self.items, timeout)? == 0 {
            return Err(Error::Again);
        }
        Ok(self
            .items
            .iter()
            .zip(&self.data)
            .filter(|(item, _)| !item.revents().is_empty())
            .map(|(item, data)| (data, item.revents()))
            .collect())
    }

    fn find_socket(&self, socket: &SocketBase) -> Option<usize> {
        self.items.iter().position(|item| matches!(item.target, Target::Socket(s) if std::ptr::eq(s, socket)))
    }

    fn find_fd(&self, fd: i32) -> Option<usize> {
        self.items.iter().position(|item| matches!(item.target, Target::Fd(f) if f.as_raw_fd() == fd))
    }
}

fn not_in_set() -> Error {
    Error::InvalidArgument("not in the poller".into())
}
