//! The context: owns the I/O threads (a tokio runtime), knows every socket so that
//! [`Context::term`] can wake them, and holds the inproc endpoint registry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::Waker;

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
    /// Woken at the next change, for [`Context::poll_term`].
    term_wakers: Vec<Waker>,
}

impl RegistryState {
    /// Something `term` waits for changed: wake whoever asked through `poll_term`.
    fn changed(&mut self) {
        for w in self.term_wakers.drain(..) {
            w.wake();
        }
    }
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
        st.changed();
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
        st.changed();
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

/// What a thread-start hook is: called on each I/O thread as it starts, before it runs
/// anything.
type ThreadHook = Arc<dyn Fn() + Send + Sync>;

/// How a [`Context`]'s I/O threads are started ([`Context::builder`]). The settings apply
/// to every thread the context's runtime starts: its `io_threads` workers, which start in
/// [`build`](Self::build), and the threads it starts later for blocking work (name lookups).
///
/// ```
/// let ctx = oxmq::Context::builder()
///     .io_threads(2)
///     .thread_name(|i| format!("app/io/{i}"))
///     .cpu_affinity([0])
///     .build()
///     .unwrap();
/// # drop(ctx);
/// ```
#[derive(Clone)]
pub struct ContextBuilder {
    io_threads: usize,
    thread_name: Arc<dyn Fn(usize) -> String + Send + Sync>,
    cpu_affinity: Vec<usize>,
    on_thread_start: Option<ThreadHook>,
}

impl Default for ContextBuilder {
    fn default() -> ContextBuilder {
        ContextBuilder {
            io_threads: 1,
            thread_name: Arc::new(|_| "oxmq-io".to_string()),
            cpu_affinity: Vec::new(),
            on_thread_start: None,
        }
    }
}

impl ContextBuilder {
    /// How many threads run the I/O (at least one; one by default, as libzmq's).
    pub fn io_threads(mut self, n: usize) -> ContextBuilder {
        self.io_threads = n.max(1);
        self
    }

    /// The name of the `i`th thread the context starts (0, 1, ...); `oxmq-io` by default.
    /// The system keeps the first 15 bytes of it.
    pub fn thread_name(mut self, name: impl Fn(usize) -> String + Send + Sync + 'static) -> ContextBuilder {
        self.thread_name = Arc::new(name);
        self
    }

    /// Run the I/O threads on these CPUs only (their numbers, as `sched_setaffinity(2)`
    /// takes them); empty (the default) leaves them where the process may run. A set the
    /// system refuses (no CPU of it available) leaves the threads as they were.
    pub fn cpu_affinity(mut self, cpus: impl IntoIterator<Item = usize>) -> ContextBuilder {
        self.cpu_affinity = cpus.into_iter().collect();
        self
    }

    /// Call `hook` on each I/O thread as it starts, after the affinity is applied and before
    /// the thread runs anything (to set a scheduling policy, say).
    pub fn on_thread_start(mut self, hook: impl Fn() + Send + Sync + 'static) -> ContextBuilder {
        self.on_thread_start = Some(Arc::new(hook));
        self
    }

    /// Start the I/O threads and make the context.
    pub fn build(self) -> std::io::Result<Context> {
        let started = Arc::new(AtomicUsize::new(0));
        let name = self.thread_name;
        let affinity = cpu_set(&self.cpu_affinity);
        let hook = self.on_thread_start;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.io_threads)
            .thread_name_fn(move || name(started.fetch_add(1, Ordering::Relaxed)))
            .on_thread_start(move || {
                if let Some(set) = &affinity {
                    // Refused (no CPU of the set available): the thread stays where it was.
                    let _ = rustix::thread::sched_setaffinity(None, set);
                }
                if let Some(hook) = &hook {
                    hook();
                }
            })
            .on_thread_park(crate::io_thread::note_parked)
            .enable_all()
            .build()?;
        Ok(Context::from_runtime(runtime))
    }
}

/// The CPU set of `cpus` (numbers past what the system can name are left out), or `None`
/// for no restriction.
fn cpu_set(cpus: &[usize]) -> Option<rustix::thread::CpuSet> {
    if cpus.is_empty() {
        return None;
    }
    let mut set = rustix::thread::CpuSet::new();
    for &cpu in cpus.iter().filter(|&&c| c < rustix::thread::CpuSet::MAX_CPU) {
        set.set(cpu);
    }
    Some(set)
}

impl Context {
    /// A context with one I/O thread, as libzmq's default.
    pub fn new() -> Context {
        Context::with_io_threads(1)
    }

    /// A context whose I/O runs on `n` threads (at least one).
    pub fn with_io_threads(n: usize) -> Context {
        Context::builder().io_threads(n).build().expect("cannot start the I/O threads")
    }

    /// A builder for a context whose I/O threads are named, pinned to CPUs or otherwise set
    /// up as the application asks (libzmq's ZMQ_THREAD_* context options).
    pub fn builder() -> ContextBuilder {
        ContextBuilder::default()
    }

    fn from_runtime(runtime: tokio::runtime::Runtime) -> Context {
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

    /// [`term`](Self::term) without blocking, for callers that wait their own way (the C
    /// API waits in poll(2), so that a signal handler interrupts `zmq_ctx_term` as libzmq's):
    /// terminates the context (the first call), then returns `true` once every socket is
    /// closed and done lingering; until then `false`, and `waker` is woken at the next change
    /// (a socket closed, a linger ended), when it is worth asking again.
    pub fn poll_term(&self, waker: &Waker) -> bool {
        let registry = &self.inner.registry;
        if !registry.terminated.load(Ordering::SeqCst) {
            registry.terminate();
        }
        let mut st = registry.state.lock();
        if st.live.is_empty() && st.lingering == 0 {
            return true;
        }
        if !st.term_wakers.iter().any(|w| w.will_wake(waker)) {
            st.term_wakers.push(waker.clone());
        }
        false
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

#[cfg(all(test, not(oxmq_loom)))]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn the_io_threads_note_when_they_go_to_sleep() {
        let ctx = Context::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        // An idle I/O thread sleeps; a task run on it after that finds the time noted.
        loop {
            std::thread::sleep(Duration::from_millis(10));
            let noted = ctx
                .inner
                .handle
                .block_on(async { tokio::spawn(async { crate::io_thread::parked_since_asked() }).await.unwrap() });
            if noted {
                break;
            }
            assert!(Instant::now() < deadline, "the runtime's park hook never ran");
        }
    }
}
