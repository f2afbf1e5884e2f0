//! The context: owns the I/O threads (a tokio runtime), knows every socket so that
//! [`Context::term`] can wake them, and holds the inproc endpoint registry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Condvar, Mutex};

use crate::socket::mailbox::SocketShared;
use crate::transport::inproc::InprocRegistry;

/// A handle on an oxmq context. Clones share it; it ends when the last clone and the last
/// socket are gone (waiting, like `term`, for lingering messages to be flushed).
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<ContextInner>,
}

pub(crate) struct ContextInner {
    runtime: Option<tokio::runtime::Runtime>,
    pub handle: tokio::runtime::Handle,
    pub registry: Arc<Registry>,
    pub inproc: InprocRegistry,
}

/// Which sockets exist, and which closed ones still flush their lingering messages.
#[derive(Default)]
pub(crate) struct Registry {
    pub terminated: AtomicBool,
    next_id: AtomicU64,
    state: Mutex<RegistryState>,
    changed: Condvar,
}

#[derive(Default)]
struct RegistryState {
    live: HashMap<u64, Weak<SocketShared>>,
    lingering: usize,
}

impl Registry {
    pub fn next_socket_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn add(&self, id: u64, s: &Arc<SocketShared>) {
        self.state.lock().live.insert(id, Arc::downgrade(s));
    }

    /// A socket closed (call after its connections started lingering, if any).
    pub fn closed(&self, id: u64) {
        let mut st = self.state.lock();
        st.live.remove(&id);
        self.changed.notify_all();
    }

    /// Connections of a closed socket or endpoint are flushing; `term` waits for
    /// [`Registry::linger_done`].
    pub fn linger_begin(&self) {
        self.state.lock().lingering += 1;
    }

    pub fn linger_done(&self) {
        let mut st = self.state.lock();
        st.lingering -= 1;
        self.changed.notify_all();
    }

    fn terminate(&self) {
        self.terminated.store(true, Ordering::SeqCst);
        let live: Vec<_> = self.state.lock().live.values().filter_map(Weak::upgrade).collect();
        for s in live {
            s.signal.notify();
        }
    }

    /// Wait until every socket is closed and done lingering.
    fn wait_idle(&self) {
        let mut st = self.state.lock();
        while !st.live.is_empty() || st.lingering > 0 {
            self.changed.wait(&mut st);
        }
    }

    fn wait_lingering(&self) {
        let mut st = self.state.lock();
        while st.lingering > 0 {
            self.changed.wait(&mut st);
        }
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl Context {
    /// A context with one I/O thread, as libzmq's default.
    pub fn new() -> Context {
        Context::with_io_threads(1)
    }

    /// A context whose I/O runs on `n` threads (at least one).
    pub fn with_io_threads(n: usize) -> Context {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n.max(1))
            .thread_name("oxmq-io")
            .enable_all()
            .build()
            .expect("cannot start the I/O threads");
        let handle = runtime.handle().clone();
        Context {
            inner: Arc::new(ContextInner {
                runtime: Some(runtime),
                handle,
                registry: Arc::new(Registry::default()),
                inproc: InprocRegistry::default(),
            }),
        }
    }

    /// Terminate the context: every blocking call on its sockets returns
    /// [`Error::ContextTerminated`](crate::Error::ContextTerminated) at once, and so does every
    /// later call. Returns once every socket has been closed (dropped) and has finished
    /// lingering.
    pub fn term(&self) {
        self.inner.registry.terminate();
        self.inner.registry.wait_idle();
    }

    /// Shut the context down without waiting (libzmq's `zmq_ctx_shutdown`): every blocking
    /// call on its sockets returns [`Error::ContextTerminated`](crate::Error::ContextTerminated)
    /// at once, and so does every later call but closing them. [`term`](Self::term) still
    /// waits for the sockets to be closed.
    pub fn shutdown(&self) {
        self.inner.registry.terminate();
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.inner.registry.terminated.load(Ordering::SeqCst)
    }
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        // Every socket is gone (each holds a Context); wait for their lingering flushes.
        self.registry.wait_lingering();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
