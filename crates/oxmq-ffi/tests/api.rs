//! The C ABI called from Rust, as a C program would call it: errors and errno for bad input,
//! context termination, messages (zero copy, close, copy, move, properties), truncation,
//! poll, proxies, and the utilities.
//!
//! Every call goes through an `unsafe` block: the functions are `unsafe extern "C"`. The
//! pointers passed are either valid ones made here or the bad ones under test, which the
//! library must refuse without reading them.

use std::ffi::{CStr, c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use zmq::ctx::*;
use zmq::errno::*;
use zmq::msg::*;
use zmq::poll::*;
use zmq::socket::*;
use zmq::util::*;
use zmq::{zmq_msg_t, zmq_pollitem_t};

mod capi;
use capi::*;

/// A handler installed with SA_RESTART: libzmq's (and here oxmq's) waits are poll(2), which a
/// handler interrupts all the same.
const RESTART: Interrupt = Interrupt { restart: true, block: false };

const ZMQ_PAIR: c_int = 0;
const ZMQ_PUB: c_int = 1;
const ZMQ_SUB: c_int = 2;
const ZMQ_REP: c_int = 4;
const ZMQ_PULL: c_int = 7;
const ZMQ_PUSH: c_int = 8;
const ZMQ_LINGER: c_int = 17;
const ZMQ_SUBSCRIBE: c_int = 6;
const ZMQ_RCVMORE: c_int = 13;
const ZMQ_RCVTIMEO: c_int = 27;
const ZMQ_POLLIN: i16 = 1;

#[test]
fn bad_socket_pointers_are_enotsock_and_never_read() {
    let ctx = ctx();
    fails_with(zmq_close(ptr::null_mut()), libc::ENOTSOCK);
    // A pointer to something else entirely: refused, and (registry lookup) never read.
    let mut not_a_socket = [0xAAu8; 64];
    let foreign: *mut c_void = not_a_socket.as_mut_ptr().cast();
    fails_with(zmq_close(foreign), libc::ENOTSOCK);
    fails_with(send(foreign, b"x", 0), libc::ENOTSOCK);
    fails_with(bind(foreign, "inproc://x"), libc::ENOTSOCK);
    fails_with(set_int(foreign, ZMQ_LINGER, 0), libc::ENOTSOCK);
    // A closed socket, then closed again.
    let s = socket(ctx, ZMQ_PUSH);
    assert_eq!(zmq_close(s), 0);
    fails_with(zmq_close(s), libc::ENOTSOCK);
    fails_with(send(s, b"x", ZMQ_DONTWAIT), libc::ENOTSOCK);
    let mut buf = [0u8; 4];
    fails_with(recv(s, &mut buf, ZMQ_DONTWAIT), libc::ENOTSOCK);
    // A context pointer is not a socket, and a socket pointer is not a context.
    fails_with(zmq_close(ctx), libc::ENOTSOCK);
    let s = socket(ctx, ZMQ_PUSH);
    assert!(zmq_socket(s, ZMQ_PUSH).is_null());
    assert_eq!(zmq_errno(), libc::EFAULT);
    fails_with(zmq_ctx_term(s), libc::EFAULT);
    assert!(zmq_socket(ptr::null_mut(), ZMQ_PUSH).is_null());
    assert_eq!(zmq_errno(), libc::EFAULT);
    // Unknown socket type.
    assert!(zmq_socket(ctx, 99).is_null());
    assert_eq!(zmq_errno(), libc::EINVAL);
    // NULL strings and buffers.
    // SAFETY: NULL is what is under test.
    fails_with(unsafe { zmq_bind(s, ptr::null()) }, libc::EINVAL);
    // SAFETY: as above.
    fails_with(unsafe { zmq_send(s, ptr::null(), 5, ZMQ_DONTWAIT) }, libc::EFAULT);
    assert_eq!(zmq_close(s), 0);
    assert_eq!(zmq_ctx_term(ctx), 0);
    // The terminated context's pointer is refused too.
    assert!(zmq_socket(ctx, ZMQ_PUSH).is_null());
    assert_eq!(zmq_errno(), libc::EFAULT);
    fails_with(zmq_ctx_term(ctx), libc::EFAULT);
}

/// Once another thread closes a socket this thread has used, this thread's next call on it is
/// refused, and the socket really is closed (its endpoint is free again), not kept open by a
/// lookup this thread made before.
#[test]
fn a_socket_closed_by_another_thread_is_enotsock_here_and_really_closed() {
    let ctx = ctx();
    let s = socket(ctx, ZMQ_PULL);
    assert_eq!(bind(s, "tcp://127.0.0.1:*"), 0);
    let ep = last_endpoint(s);
    let mut buf = [0u8; 4];
    // Used by this thread first.
    fails_with(recv(s, &mut buf, ZMQ_DONTWAIT), libc::EAGAIN);
    let handle = s as usize;
    std::thread::spawn(move || assert_eq!(zmq_close(handle as *mut c_void), 0)).join().unwrap();
    fails_with(recv(s, &mut buf, ZMQ_DONTWAIT), libc::ENOTSOCK);
    fails_with(set_int(s, ZMQ_LINGER, 0), libc::ENOTSOCK);
    let again = socket(ctx, ZMQ_PULL);
    assert_eq!(bind(again, &ep), 0, "{ep} is free once the socket is closed");
    // The same on this thread, with a new socket between: the new one is found, the closed
    // one is not.
    fails_with(recv(again, &mut buf, ZMQ_DONTWAIT), libc::EAGAIN);
    assert_eq!(zmq_close(again), 0);
    fails_with(recv(again, &mut buf, ZMQ_DONTWAIT), libc::ENOTSOCK);
    assert_eq!(zmq_ctx_term(ctx), 0);
}

/// A receive blocked in one thread ends with ENOTSOCK when another thread closes its socket
/// (libzmq leaves that undefined), over tcp with a peer (whose connection the blocked thread
/// may be reading itself) and with none.
#[test]
fn a_receive_blocked_in_a_socket_another_thread_closes_ends_with_enotsock() {
    for with_peer in [false, true] {
        let ctx = ctx();
        let pull = socket(ctx, ZMQ_PULL);
        assert_eq!(bind(pull, "tcp://127.0.0.1:*"), 0);
        let push = socket(ctx, ZMQ_PUSH);
        let mut buf = [0u8; 8];
        if with_peer {
            assert_eq!(connect(push, &last_endpoint(pull)), 0);
            assert_eq!(send(push, b"first", 0), 5);
            assert_eq!(recv(pull, &mut buf, 0), 5);
        }
        let handle = pull as usize;
        let receiver = std::thread::spawn(move || {
            let mut buf = [0u8; 8];
            let rc = recv(handle as *mut c_void, &mut buf, 0);
            (rc, zmq_errno())
        });
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(zmq_close(pull), 0);
        assert_eq!(receiver.join().unwrap(), (-1, libc::ENOTSOCK), "with_peer {with_peer}");
        assert_eq!(zmq_close(push), 0);
        assert_eq!(zmq_ctx_term(ctx), 0);
    }
}

#[test]
fn option_sizes_and_values_are_checked_as_libzmq() {
    let ctx = ctx();
    let s = socket(ctx, ZMQ_PUSH);
    let two = [0u8; 2];
    // SAFETY: a 2-byte buffer with its length: a wrong size, under test.
    fails_with(unsafe { zmq_setsockopt(s, ZMQ_LINGER, two.as_ptr().cast(), 2) }, libc::EINVAL);
    // SAFETY: NULL with a length: refused.
    fails_with(unsafe { zmq_setsockopt(s, ZMQ_LINGER, ptr::null(), 4) }, libc::EINVAL);
    fails_with(set_int(s, ZMQ_LINGER, -2), libc::EINVAL);
    fails_with(set_int(s, 9999, 1), libc::EINVAL);
    // The kernel-buffer and IP options are taken; THREAD_SAFE is read-only (0 for this type).
    for option in [11 /* SNDBUF */, 12 /* RCVBUF */, 57 /* TOS */] {
        assert_eq!(set_int(s, option, 65536), 0, "option {option}: errno {}", zmq_errno());
    }
    fails_with(set_int(s, 81 /* THREAD_SAFE */, 1), libc::EINVAL);
    // Transports oxmq does not have, and draft socket types.
    fails_with(bind(s, "pgm://eth0;239.192.1.1:5555"), libc::EPROTONOSUPPORT);
    fails_with(connect(s, "ws://127.0.0.1:5555"), libc::EPROTONOSUPPORT);
    // An ipc path longer than sun_path: ENAMETOOLONG, as libzmq (pyzmq's tests check it).
    fails_with(bind(s, &format!("ipc:///tmp/{}", "a".repeat(120))), libc::ENAMETOOLONG);
    fails_with(connect(s, &format!("ipc://@{}", "a".repeat(120))), libc::ENAMETOOLONG);
    assert!(zmq_socket(ctx, 12 /* ZMQ_SERVER */).is_null());
    assert_eq!(zmq_errno(), libc::EINVAL);
    assert_eq!(set_int(s, ZMQ_LINGER, 250), 0);
    let mut v: i64 = 0;
    let mut len = 8usize;
    // SAFETY: an 8-byte buffer: the wrong size for an int option, refused.
    fails_with(unsafe { zmq_getsockopt(s, ZMQ_LINGER, (&mut v as *mut i64).cast(), &mut len) }, libc::EINVAL);
    let mut v: c_int = 0;
    let mut len = 4usize;
    // SAFETY: a 4-byte int and its length.
    assert_eq!(unsafe { zmq_getsockopt(s, ZMQ_LINGER, (&mut v as *mut c_int).cast(), &mut len) }, 0);
    assert_eq!((v, len), (250, 4));
    // SAFETY: NULL length pointer: refused.
    fails_with(unsafe { zmq_getsockopt(s, ZMQ_LINGER, (&mut v as *mut c_int).cast(), ptr::null_mut()) }, libc::EFAULT);
    // ZMQ_FD and ZMQ_EVENTS are ints that libzmq writes into any buffer of at least an int
    // (its socket code answers them, not its options code), and refuses a smaller one.
    let mut wide: i64 = 0;
    let mut len = 8usize;
    // SAFETY: an 8-byte buffer and its length.
    assert_eq!(unsafe { zmq_getsockopt(s, ZMQ_EVENTS, (&mut wide as *mut i64).cast(), &mut len) }, 0);
    assert_eq!(len, 4);
    let mut len = 2usize;
    // SAFETY: as above, with a length under an int's: refused.
    fails_with(unsafe { zmq_getsockopt(s, ZMQ_FD, (&mut wide as *mut i64).cast(), &mut len) }, libc::EINVAL);
    // A string option into a buffer too small for its NUL.
    assert_eq!(bind(s, "tcp://127.0.0.1:*"), 0);
    let ep = last_endpoint(s);
    assert!(ep.starts_with("tcp://127.0.0.1:"), "{ep}");
    let mut small = [0u8; 8];
    let mut len = small.len();
    // SAFETY: an 8-byte buffer and its length.
    fails_with(unsafe { zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, small.as_mut_ptr().cast(), &mut len) }, libc::EINVAL);
    assert_eq!(zmq_close(s), 0);
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn context_options() {
    let ctx = ctx();
    assert_eq!(zmq_ctx_get(ctx, ZMQ_MSG_T_SIZE), 64);
    assert_eq!(zmq_ctx_get(ctx, ZMQ_IO_THREADS), 1);
    assert_eq!(zmq_ctx_get(ctx, ZMQ_MAX_SOCKETS), 1023);
    assert_eq!(zmq_ctx_get(ctx, ZMQ_BLOCKY), 1);
    assert_eq!(zmq_ctx_set(ctx, ZMQ_IO_THREADS, 2), 0);
    assert_eq!(zmq_ctx_get(ctx, ZMQ_IO_THREADS), 2);
    fails_with(zmq_ctx_set(ctx, ZMQ_IO_THREADS, -1), libc::EINVAL);
    fails_with(zmq_ctx_get(ctx, 999), libc::EINVAL);
    assert_eq!(zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 2), 0);
    let a = socket(ctx, ZMQ_PUSH);
    let b = socket(ctx, ZMQ_PUSH);
    assert!(zmq_socket(ctx, ZMQ_PUSH).is_null());
    assert_eq!(zmq_errno(), libc::EMFILE);
    assert_eq!(zmq_close(a), 0);
    let a = socket(ctx, ZMQ_PUSH);
    // ZMQ_BLOCKY off: new sockets do not linger.
    assert_eq!(zmq_ctx_set(ctx, ZMQ_BLOCKY, 0), 0);
    assert_eq!(zmq_close(b), 0);
    let b = socket(ctx, ZMQ_PUSH);
    let (mut v, mut len) = (-5 as c_int, 4usize);
    // SAFETY: a 4-byte int and its length.
    assert_eq!(unsafe { zmq_getsockopt(b, ZMQ_LINGER, (&mut v as *mut c_int).cast(), &mut len) }, 0);
    assert_eq!(v, 0);
    for s in [a, b] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
    // The old API.
    let old = zmq_init(1);
    assert!(!old.is_null());
    assert_eq!(zmq_term(old), 0);
    assert!(zmq_init(-1).is_null());
}

#[test]
fn thread_options_are_taken_and_read_back_as_libzmq() {
    let ctx = ctx();
    // ZMQ_THREAD_PRIORITY is 3, as ZMQ_SOCKET_LIMIT: zmq_ctx_set takes the priority,
    // zmq_ctx_get reads the socket limit (libzmq cannot read the priority back).
    assert_eq!(zmq_ctx_set(ctx, ZMQ_THREAD_PRIORITY, 5), 0);
    assert_eq!(zmq_ctx_get(ctx, ZMQ_SOCKET_LIMIT), 65535);
    fails_with(zmq_ctx_set(ctx, ZMQ_THREAD_PRIORITY, -1), libc::EINVAL);
    assert_eq!(zmq_ctx_get(ctx, ZMQ_THREAD_SCHED_POLICY), -1);
    assert_eq!(zmq_ctx_set(ctx, ZMQ_THREAD_SCHED_POLICY, libc::SCHED_BATCH), 0);
    assert_eq!(zmq_ctx_get(ctx, ZMQ_THREAD_SCHED_POLICY), libc::SCHED_BATCH);
    fails_with(zmq_ctx_set(ctx, ZMQ_THREAD_SCHED_POLICY, -2), libc::EINVAL);
    // The affinity set: added, removed; removing a CPU not in it fails; not readable.
    assert_eq!(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_ADD, 0), 0);
    fails_with(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_REMOVE, 1), libc::EINVAL);
    assert_eq!(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_REMOVE, 0), 0);
    fails_with(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_REMOVE, 0), libc::EINVAL);
    fails_with(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_ADD, -1), libc::EINVAL);
    fails_with(zmq_ctx_get(ctx, ZMQ_THREAD_AFFINITY_CPU_ADD), libc::EINVAL);
    // The name prefix through zmq_ctx_set is a number (any, as libzmq), read back as one.
    assert_eq!(zmq_ctx_get(ctx, ZMQ_THREAD_NAME_PREFIX), 0);
    assert_eq!(zmq_ctx_set(ctx, ZMQ_THREAD_NAME_PREFIX, 42), 0);
    assert_eq!(zmq_ctx_get(ctx, ZMQ_THREAD_NAME_PREFIX), 42);
    assert_eq!(zmq_ctx_set(ctx, ZMQ_THREAD_NAME_PREFIX, -7), 0);
    assert_eq!(zmq_ctx_get(ctx, ZMQ_THREAD_NAME_PREFIX), -7);
    // ZMQ_MAX_MSGSZ: stored and read back (libzmq 4.3.5 applies it nowhere).
    assert_eq!(zmq_ctx_get(ctx, ZMQ_MAX_MSGSZ), c_int::MAX);
    assert_eq!(zmq_ctx_set(ctx, ZMQ_MAX_MSGSZ, 100), 0);
    assert_eq!(zmq_ctx_get(ctx, ZMQ_MAX_MSGSZ), 100);
    fails_with(zmq_ctx_set(ctx, ZMQ_MAX_MSGSZ, -1), libc::EINVAL);
    assert_eq!(zmq_ctx_term(ctx), 0);
}

/// The threads of this process whose name (`comm`) starts with `prefix`, by name; waits
/// until there are `n` of them (a context's threads start with its first socket, and their
/// names are set as they start running).
fn threads_named(prefix: &str, n: usize) -> Vec<(String, libc::pid_t)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut found = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let Ok(comm) = std::fs::read_to_string(task.path().join("comm")) else { continue };
            let comm = comm.trim_end().to_string();
            if comm.starts_with(prefix) {
                found.push((comm, task.file_name().to_str().unwrap().parse().unwrap()));
            }
        }
        found.sort();
        if found.len() >= n {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "threads {prefix}*: only {found:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Wait until `cond` holds (failing after 30 s, a bound no healthy run comes near).
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The CPUs thread `tid` may run on.
fn affinity(tid: libc::pid_t) -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t filled by sched_getaffinity, of the size given.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(libc::sched_getaffinity(tid, size_of::<libc::cpu_set_t>(), &mut set), 0);
        (0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &set)).collect()
    }
}

#[test]
fn io_threads_are_named_pinned_and_scheduled_as_the_context_options_say() {
    // SAFETY: gettid has no preconditions.
    let me = unsafe { libc::gettid() };
    let cpu = affinity(me)[0];
    let ctx = ctx();
    assert_eq!(zmq_ctx_set(ctx, ZMQ_IO_THREADS, 2), 0);
    assert_eq!(zmq_ctx_set(ctx, ZMQ_THREAD_NAME_PREFIX, 4711), 0);
    assert_eq!(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_ADD, cpu as c_int), 0);
    // SCHED_BATCH: a policy any process may choose for its threads.
    assert_eq!(zmq_ctx_set(ctx, ZMQ_THREAD_SCHED_POLICY, libc::SCHED_BATCH), 0);
    let s = socket(ctx, ZMQ_PAIR);
    let threads = threads_named("4711/", 2);
    let names: Vec<&str> = threads.iter().map(|(n, _)| n.as_str()).collect();
    // libzmq's names, cut at 15 bytes as the system keeps them.
    assert_eq!(names, ["4711/ZMQbg/IO/0", "4711/ZMQbg/IO/1"]);
    let batch = may_use_sched_batch();
    if !batch {
        skip("this system refuses SCHED_BATCH: the policy is not checked");
    }
    for &(_, tid) in &threads {
        // Applied as the thread starts, just after its name is set.
        // SAFETY: sched_getscheduler takes a thread id.
        eventually("the I/O thread's affinity and policy", || {
            affinity(tid) == [cpu] && (!batch || unsafe { libc::sched_getscheduler(tid) } == libc::SCHED_BATCH)
        });
    }
    // Options set after the first socket change nothing that is running.
    assert_eq!(zmq_ctx_set(ctx, ZMQ_THREAD_NAME_PREFIX, 4712), 0);
    assert_eq!(zmq_close(s), 0);
    assert_eq!(zmq_ctx_term(ctx), 0);
}

/// Say that the calling test checks nothing because this machine lacks something, as
/// `SKIPPED api::<test>: <reason>`, also in `<target dir>/tmp/skipped.txt`, which `.ci/run`
/// prints after the tests (cargo hides what a passing test prints).
fn skip(reason: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let line = format!("SKIPPED api::{test}: {reason}\n");
    eprint!("{line}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped.txt");
    let file = std::fs::OpenOptions::new().create(true).append(true).open(&path);
    if let Err(e) = file.and_then(|mut f| f.write_all(line.as_bytes())) {
        eprintln!("(cannot record the skip in {}: {e})", path.display());
    }
}

/// Does the system let a thread take SCHED_BATCH (any process may, where the scheduler
/// policies are implemented)? Tried on a scratch thread.
fn may_use_sched_batch() -> bool {
    std::thread::spawn(|| {
        // SAFETY: a zeroed sched_param (priority 0, as SCHED_BATCH needs) for the calling thread.
        unsafe {
            let param: libc::sched_param = std::mem::zeroed();
            libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_BATCH, &param) == 0
        }
    })
    .join()
    .unwrap()
}

/// May this process raise a thread's scheduling precedence (CAP_SYS_NICE, or a generous
/// RLIMIT_NICE)? Tried on a scratch thread.
fn may_raise_priority() -> bool {
    std::thread::spawn(|| {
        // SAFETY: setpriority/getpriority on the calling thread (id 0 is the caller).
        unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, -20) == 0 }
    })
    .join()
    .unwrap()
}

#[test]
fn thread_priority_raises_the_io_threads_precedence_where_permitted() {
    if !may_raise_priority() {
        skip("this process may not raise a thread's priority (no CAP_SYS_NICE)");
        return;
    }
    let ctx = ctx();
    assert_eq!(zmq_ctx_set(ctx, ZMQ_THREAD_NAME_PREFIX, 4713), 0);
    // Under the default policy a priority means nice -20, as libzmq.
    assert_eq!(zmq_ctx_set(ctx, ZMQ_THREAD_PRIORITY, 1), 0);
    let s = socket(ctx, ZMQ_PAIR);
    let threads = threads_named("4713/", 1);
    let tid = threads[0].1;
    // The nice value is set as the thread starts, just after its name.
    // SAFETY: getpriority takes a thread id.
    eventually("the I/O thread's nice value -20", || unsafe {
        libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t) == -20
    });
    assert_eq!(zmq_close(s), 0);
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn io_threads_zero_allows_inproc_only() {
    let ctx = ctx();
    assert_eq!(zmq_ctx_set(ctx, ZMQ_IO_THREADS, 0), 0);
    let (a, b) = (socket(ctx, ZMQ_PAIR), socket(ctx, ZMQ_PAIR));
    fails_with(bind(a, "tcp://127.0.0.1:*"), EMTHREAD);
    fails_with(connect(a, "ipc:///tmp/oxmq-no-io-threads"), EMTHREAD);
    assert_eq!(bind(a, "inproc://no-io-threads"), 0);
    assert_eq!(connect(b, "inproc://no-io-threads"), 0);
    assert_eq!(send(b, b"hi", 0), 2);
    let mut buf = [0u8; 4];
    assert_eq!(recv(a, &mut buf, 0), 2);
    for s in [a, b] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn a_blocked_receive_returns_eterm_when_the_context_is_terminated() {
    let ctx = ctx();
    let s = socket(ctx, ZMQ_PULL);
    assert_eq!(bind(s, "inproc://eterm"), 0);
    let started = Arc::new(Barrier::new(2));
    let (sp, b) = (P(s), started.clone());
    let receiver = std::thread::spawn(move || {
        let sp = sp;
        b.wait();
        let mut buf = [0u8; 8];
        let rc = recv(sp.0, &mut buf, 0);
        let errno = zmq_errno();
        // libzmq's rule: after ETERM, close the socket so that zmq_ctx_term can return.
        assert_eq!(zmq_close(sp.0), 0);
        (rc, errno)
    });
    started.wait();
    // Whether the receive is already blocked or not yet, it must end with ETERM.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(zmq_ctx_term(ctx), 0);
    assert_eq!(receiver.join().unwrap(), (-1, ETERM));
}

#[test]
fn after_shutdown_calls_fail_with_eterm_and_close_still_works() {
    let ctx = ctx();
    let s = socket(ctx, ZMQ_PUSH);
    assert_eq!(zmq_ctx_shutdown(ctx), 0);
    fails_with(send(s, b"x", 0), ETERM);
    fails_with(bind(s, "inproc://after-shutdown"), ETERM);
    assert!(zmq_socket(ctx, ZMQ_PUSH).is_null());
    assert_eq!(zmq_errno(), ETERM);
    assert_eq!(zmq_close(s), 0);
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn zmq_recv_truncates_and_returns_the_full_size() {
    let ctx = ctx();
    let (pull, push) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH));
    assert_eq!(bind(pull, "inproc://trunc"), 0);
    assert_eq!(connect(push, "inproc://trunc"), 0);
    assert_eq!(send(push, b"0123456789", ZMQ_SNDMORE), 10);
    assert_eq!(send(push, b"", 0), 0);
    let mut buf = [0u8; 4];
    assert_eq!(recv(pull, &mut buf, 0), 10);
    assert_eq!(&buf, b"0123");
    let (mut more, mut len) = (0 as c_int, 4usize);
    // SAFETY: a 4-byte int and its length.
    assert_eq!(unsafe { zmq_getsockopt(pull, ZMQ_RCVMORE, (&mut more as *mut c_int).cast(), &mut len) }, 0);
    assert_eq!(more, 1);
    assert_eq!(recv(pull, &mut buf, 0), 0);
    // Nothing left: EAGAIN without blocking; and with RCVTIMEO, EAGAIN after it.
    fails_with(recv(pull, &mut buf, ZMQ_DONTWAIT), libc::EAGAIN);
    assert_eq!(set_int(pull, ZMQ_RCVTIMEO, 20), 0);
    fails_with(recv(pull, &mut buf, 0), libc::EAGAIN);
    for s in [pull, push] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn messages_after_close_are_efault_not_undefined() {
    let mut m = zmq_msg_t::new();
    // Never initialised (zeroed): refused.
    // SAFETY: a zmq_msg_t's storage; the library must refuse it as not live.
    unsafe {
        fails_with(zmq_msg_close(&mut m), libc::EFAULT);
        assert_eq!(zmq_msg_init_size(&mut m, 5), 0);
        assert_eq!(zmq_msg_size(&m), 5);
        assert!(!zmq_msg_data(&mut m).is_null());
        assert_eq!(zmq_msg_close(&mut m), 0);
        // Double close, and every use after close.
        fails_with(zmq_msg_close(&mut m), libc::EFAULT);
        assert_eq!(zmq_msg_size(&m), 0);
        assert_eq!(zmq_errno(), libc::EFAULT);
        assert!(zmq_msg_data(&mut m).is_null());
        fails_with(zmq_msg_get(&m, ZMQ_MORE), libc::EFAULT);
        let mut other = zmq_msg_t::new();
        assert_eq!(zmq_msg_init(&mut other), 0);
        fails_with(zmq_msg_copy(&mut other, &mut m), libc::EFAULT);
        fails_with(zmq_msg_move(&mut other, &mut m), libc::EFAULT);
        assert_eq!(zmq_msg_close(&mut other), 0);
        // NULL.
        fails_with(zmq_msg_init(ptr::null_mut()), libc::EFAULT);
        fails_with(zmq_msg_close(ptr::null_mut()), libc::EFAULT);
        // Unknown properties.
        assert_eq!(zmq_msg_init(&mut m), 0);
        fails_with(zmq_msg_get(&m, 42), libc::EINVAL);
        fails_with(zmq_msg_set(&mut m, ZMQ_MORE, 1), libc::EINVAL);
        assert_eq!(zmq_msg_get(&m, ZMQ_SRCFD), -1);
        assert_eq!(zmq_msg_close(&mut m), 0);
    }
}

/// zmq_msg_init_size's bytes are the caller's to write, all of them, at sizes below, at and
/// across page boundaries (the library writes one byte per page of a new block, `settle` in
/// src/msg.rs), and a block handed back and out again holds what the new caller writes.
#[test]
fn a_new_message_of_a_size_holds_what_its_caller_writes() {
    for size in [1, 63, 4095, 4096, 4097, 12289, 65536, 1 << 20] {
        for round in 0..3u8 {
            let mut m = zmq_msg_t::new();
            let mut copy = zmq_msg_t::new();
            // SAFETY: zmq_msg_t's made here, the first's `size` bytes written and read through
            // zmq_msg_data while it is live, the copy read while it is.
            unsafe {
                assert_eq!(zmq_msg_init_size(&mut m, size), 0);
                assert_eq!(zmq_msg_size(&m), size);
                let bytes = std::slice::from_raw_parts_mut(zmq_msg_data(&mut m).cast::<u8>(), size);
                for (i, b) in bytes.iter_mut().enumerate() {
                    *b = (i as u8).wrapping_mul(31).wrapping_add(round);
                }
                assert_eq!(zmq_msg_init(&mut copy), 0);
                assert_eq!(zmq_msg_copy(&mut copy, &mut m), 0);
                assert_eq!(zmq_msg_close(&mut m), 0);
                let shared = std::slice::from_raw_parts(zmq_msg_data(&mut copy).cast::<u8>(), size);
                let wrong =
                    shared.iter().enumerate().find(|&(i, &b)| b != (i as u8).wrapping_mul(31).wrapping_add(round));
                assert_eq!(wrong, None, "{size} B, round {round}");
                assert_eq!(zmq_msg_close(&mut copy), 0);
            }
        }
    }
}

static RELEASED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_release(_data: *mut c_void, _hint: *mut c_void) {
    RELEASED.fetch_add(1, Ordering::SeqCst);
}

/// libzmq's receive closes the message before it looks, and leaves it empty when nothing
/// comes (checked against Debian's libzmq 4.3.4): so does oxmq's, which also keeps a loop
/// receiving into one message from holding the last frame (and the read buffer it came from)
/// while it reads the next.
#[test]
fn a_receive_releases_what_the_message_held_first() {
    static DATA: [u8; 5] = *b"hello";
    let ctx = ctx();
    let (pull, push) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH));
    assert_eq!(bind(pull, "inproc://release-first"), 0);
    assert_eq!(connect(push, "inproc://release-first"), 0);
    let mut m = zmq_msg_t::new();
    // SAFETY: a zmq_msg_t made here over static bytes, whose free function only counts.
    unsafe {
        assert_eq!(
            zmq_msg_init_data(&mut m, DATA.as_ptr().cast_mut().cast(), 5, Some(count_release), ptr::null_mut()),
            0
        );
        fails_with(zmq_msg_recv(&mut m, pull, ZMQ_DONTWAIT), libc::EAGAIN);
        assert_eq!(zmq_msg_size(&m), 0, "left empty");
        assert_eq!(zmq_msg_more(&m), 0);
        assert_eq!(RELEASED.load(Ordering::SeqCst), 1, "what it held was released");
        // A message received into it later is the new frame, whole.
        assert_eq!(send(push, b"abc", 0), 3);
        assert_eq!(zmq_msg_recv(&mut m, pull, 0), 3);
        assert_eq!(std::slice::from_raw_parts(zmq_msg_data(&mut m).cast::<u8>(), 3), b"abc");
        assert_eq!(zmq_msg_close(&mut m), 0);
    }
    assert_eq!(RELEASED.load(Ordering::SeqCst), 1, "released once");
    for s in [pull, push] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

static FREED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn free_box(data: *mut c_void, hint: *mut c_void) {
    assert_eq!(hint as usize, 0x1234);
    // SAFETY: the Box<[u8; 1000]> leaked by the test below, freed here once.
    drop(unsafe { Box::from_raw(data.cast::<[u8; 1000]>()) });
    FREED.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn zero_copy_free_fn_runs_once_from_the_thread_that_drops_the_last_reference() {
    let ctx = ctx();
    let (pull, push) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH));
    assert_eq!(bind(pull, "inproc://zero-copy"), 0);
    assert_eq!(connect(push, "inproc://zero-copy"), 0);
    let buf: *mut [u8; 1000] = Box::into_raw(Box::new([7u8; 1000]));
    let mut m = zmq_msg_t::new();
    // SAFETY: the buffer lives until free_box frees it; the message storage is ours.
    unsafe {
        assert_eq!(zmq_msg_init_data(&mut m, buf.cast(), 1000, Some(free_box), 0x1234 as *mut c_void), 0);
        assert_eq!(zmq_msg_data(&mut m), buf.cast());
        assert_eq!(zmq_msg_send(&mut m, push, 0), 1000);
        // Sent: the message is empty again, and the buffer is still in use.
        assert_eq!(zmq_msg_size(&m), 0);
        assert_eq!(zmq_msg_close(&mut m), 0);
    }
    assert_eq!(FREED.load(Ordering::SeqCst), 0);
    // Receive on another thread; copy there; drop the copies on two more threads.
    let (pp, bp) = (P(pull), P(buf.cast()));
    let copies = std::thread::spawn(move || {
        let (pp, bp) = (pp, bp);
        let mut a = Box::new(zmq_msg_t::new());
        let mut b = Box::new(zmq_msg_t::new());
        // SAFETY: message storage owned here.
        unsafe {
            assert_eq!(zmq_msg_init(&mut *a), 0);
            assert_eq!(zmq_msg_recv(&mut *a, pp.0, 0), 1000);
            // inproc hands over the very buffer: no copy on the way.
            assert_eq!(zmq_msg_data(&mut *a), bp.0);
            assert_eq!(zmq_msg_init(&mut *b), 0);
            assert_eq!(zmq_msg_copy(&mut *b, &mut *a), 0);
            assert_eq!(zmq_msg_data(&mut *b), bp.0);
            assert_eq!(zmq_msg_get(&*b, ZMQ_SHARED), 1);
        }
        (a, b)
    })
    .join()
    .unwrap();
    assert_eq!(FREED.load(Ordering::SeqCst), 0);
    let (a, b) = copies;
    struct M(Box<zmq_msg_t>);
    // SAFETY: a message may be closed from any thread.
    unsafe impl Send for M {}
    let (a, b) = (M(a), M(b));
    std::thread::spawn(move || {
        let mut a = a;
        // SAFETY: a live message owned here.
        assert_eq!(unsafe { zmq_msg_close(&mut *a.0) }, 0);
    })
    .join()
    .unwrap();
    assert_eq!(FREED.load(Ordering::SeqCst), 0, "freed while a copy still refers to it");
    std::thread::spawn(move || {
        let mut b = b;
        // SAFETY: a live message owned here.
        assert_eq!(unsafe { zmq_msg_close(&mut *b.0) }, 0);
    })
    .join()
    .unwrap();
    assert_eq!(FREED.load(Ordering::SeqCst), 1);
    for s in [pull, push] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
    assert_eq!(FREED.load(Ordering::SeqCst), 1);
}

#[test]
fn a_failed_msg_send_leaves_the_message_and_move_empties_the_source() {
    let ctx = ctx();
    let push = socket(ctx, ZMQ_PUSH); // no peer: a send would block
    let (mut m, mut n) = (zmq_msg_t::new(), zmq_msg_t::new());
    // SAFETY: message storage owned here.
    unsafe {
        assert_eq!(zmq_msg_init_size(&mut m, 3), 0);
        ptr::copy_nonoverlapping(b"abc".as_ptr(), zmq_msg_data(&mut m).cast(), 3);
        fails_with(zmq_msg_send(&mut m, push, ZMQ_DONTWAIT), libc::EAGAIN);
        assert_eq!(zmq_msg_size(&m), 3);
        assert_eq!(zmq_msg_init(&mut n), 0);
        assert_eq!(zmq_msg_move(&mut n, &mut m), 0);
        assert_eq!(zmq_msg_size(&m), 0);
        assert_eq!(std::slice::from_raw_parts(zmq_msg_data(&mut n).cast::<u8>(), 3), b"abc");
        assert_eq!(zmq_msg_close(&mut m), 0);
        assert_eq!(zmq_msg_close(&mut n), 0);
    }
    assert_eq!(zmq_close(push), 0);
    assert_eq!(zmq_ctx_term(ctx), 0);
}

/// The bytes of every message [`failing_sends_keep`] sends.
const BODY: &[u8; 16] = b"0123456789abcdef";

/// Frees a `Box<[u8; 16]>` handed over as zero-copy data; the hint is the test's counter.
unsafe extern "C" fn count_free(data: *mut c_void, hint: *mut c_void) {
    // SAFETY: the Box leaked by `failing_sends_keep`, freed here once; the hint is a
    // `&'static AtomicUsize`.
    unsafe {
        drop(Box::from_raw(data.cast::<[u8; 16]>()));
        (*hint.cast::<AtomicUsize>()).fetch_add(1, Ordering::SeqCst);
    }
}

/// For a message from zmq_msg_init_size (filled through zmq_msg_data) and a zero-copy one
/// (zmq_msg_init_data with a free function): `send` fails with `errno`, and the message is
/// left as it was: the same bytes at the same address, writable still (init_size), its free
/// function not run. Then it is sent (by `ok` to `sink`) and received whole, and the free
/// function runs exactly once, when the receiver closes it.
fn failing_sends_keep(errno: c_int, ok: P, sink: P, mut send: impl FnMut(*mut zmq_msg_t) -> c_int) {
    static FREED: AtomicUsize = AtomicUsize::new(0);
    for zero_copy in [false, true] {
        FREED.store(0, Ordering::SeqCst);
        let m = Box::into_raw(Box::new(zmq_msg_t::new()));
        // SAFETY: message storage owned here (boxed: `send` may hand it to another thread,
        // which is done with it when `send` returns); the zero-copy buffer lives until
        // count_free frees it.
        unsafe {
            let data: *mut u8 = if zero_copy {
                let buf = Box::into_raw(Box::new(*BODY)).cast::<u8>();
                let hint = (&raw const FREED).cast_mut().cast::<c_void>();
                assert_eq!(zmq_msg_init_data(m, buf.cast(), 16, Some(count_free), hint), 0);
                buf
            } else {
                assert_eq!(zmq_msg_init_size(m, 16), 0);
                let p = zmq_msg_data(m).cast::<u8>();
                ptr::copy_nonoverlapping(BODY.as_ptr(), p, 16);
                p
            };
            fails_with(send(m), errno);
            assert_eq!(zmq_msg_size(m), 16, "errno {errno}, zero copy {zero_copy}");
            assert_eq!(zmq_msg_data(m).cast::<u8>(), data, "the same bytes, not a copy");
            assert_eq!(std::slice::from_raw_parts(data, 16), BODY);
            assert_eq!(FREED.load(Ordering::SeqCst), 0, "freed on a failed send");
            if !zero_copy {
                // Still the caller's to write into (as before the send).
                *zmq_msg_data(m).cast::<u8>() = b'0';
            }
            // A second failure changes nothing either.
            fails_with(send(m), errno);
            assert_eq!(zmq_msg_data(m).cast::<u8>(), data);
            assert_eq!(zmq_msg_send(m, ok.0, 0), 16);
            assert_eq!(zmq_msg_size(m), 0, "sent: empty");
            assert_eq!(zmq_msg_close(m), 0);
            let mut r = zmq_msg_t::new();
            assert_eq!(zmq_msg_init(&mut r), 0);
            assert_eq!(zmq_msg_recv(&mut r, sink.0, 0), 16);
            assert_eq!(std::slice::from_raw_parts(zmq_msg_data(&mut r).cast::<u8>(), 16), BODY);
            assert_eq!(FREED.load(Ordering::SeqCst), 0);
            assert_eq!(zmq_msg_close(&mut r), 0);
            assert_eq!(FREED.load(Ordering::SeqCst), usize::from(zero_copy), "freed exactly once");
            drop(Box::from_raw(m));
        }
    }
}

#[test]
fn every_failed_msg_send_leaves_the_message_whole_and_its_free_function_unrun() {
    const ZMQ_REQ: c_int = 3;
    const ZMQ_ROUTER: c_int = 6;
    const ZMQ_SNDTIMEO: c_int = 28;
    const ZMQ_ROUTER_MANDATORY: c_int = 33;
    let ctx = ctx();
    // Where each message goes once its failures are checked.
    let (sink, ok) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH));
    assert_eq!(bind(sink, "inproc://failed-sends"), 0);
    assert_eq!(connect(ok, "inproc://failed-sends"), 0);
    let (sink, ok) = (P(sink), P(ok));
    let pair = || (P(ok.0), P(sink.0));

    // EAGAIN: a PUSH without a peer, not waiting, and waiting for SNDTIMEO.
    let lonely = socket(ctx, ZMQ_PUSH);
    let (o, k) = pair();
    // SAFETY: `m` is the live message failing_sends_keep passes.
    failing_sends_keep(libc::EAGAIN, o, k, |m| unsafe { zmq_msg_send(m, lonely, ZMQ_DONTWAIT) });
    assert_eq!(set_int(lonely, ZMQ_SNDTIMEO, 20), 0);
    let (o, k) = pair();
    // SAFETY: as above.
    failing_sends_keep(libc::EAGAIN, o, k, |m| unsafe { zmq_msg_send(m, lonely, 0) });
    // The deprecated name, arguments swapped.
    let (o, k) = pair();
    // SAFETY: as above.
    failing_sends_keep(libc::EAGAIN, o, k, |m| unsafe { zmq_sendmsg(lonely, m, ZMQ_DONTWAIT) });

    // EINTR: a blocking send (no SNDTIMEO) that a signal handler interrupts.
    let blocked = P(socket(ctx, ZMQ_PUSH));
    let (o, k) = pair();
    failing_sends_keep(libc::EINTR, o, k, |m| {
        let (mp, bp) = (P(m.cast()), P(blocked.0));
        let (rc, errno) = interrupted(RESTART, move || {
            let (mp, bp) = (mp, bp);
            // SAFETY: the live message, not used by the test's thread meanwhile.
            unsafe { zmq_msg_send(mp.0.cast(), bp.0, 0) }
        });
        // SAFETY: this thread's errno, for fails_with to read.
        unsafe { *libc::__errno_location() = errno };
        rc
    });

    // EFSM: a REQ whose request is outstanding.
    let (rep, req) = (socket(ctx, ZMQ_REP), socket(ctx, ZMQ_REQ));
    assert_eq!(bind(rep, "inproc://failed-sends-req"), 0);
    assert_eq!(connect(req, "inproc://failed-sends-req"), 0);
    assert_eq!(send(req, b"request", 0), 7);
    let (o, k) = pair();
    // SAFETY: as above.
    failing_sends_keep(EFSM, o, k, |m| unsafe { zmq_msg_send(m, req, 0) });
    // ... and a REP that has no request to answer.
    let idle_rep = socket(ctx, ZMQ_REP);
    let (o, k) = pair();
    // SAFETY: as above.
    failing_sends_keep(EFSM, o, k, |m| unsafe { zmq_msg_send(m, idle_rep, 0) });

    // ENOTSUP: a PULL cannot send.
    let (o, k) = pair();
    // SAFETY: as above.
    failing_sends_keep(libc::ENOTSUP, o, k, |m| unsafe { zmq_msg_send(m, sink.0, 0) });

    // EHOSTUNREACH: a ROUTER_MANDATORY's routing id frame naming no peer.
    let router = socket(ctx, ZMQ_ROUTER);
    assert_eq!(set_int(router, ZMQ_ROUTER_MANDATORY, 1), 0);
    let (o, k) = pair();
    // SAFETY: as above.
    failing_sends_keep(libc::EHOSTUNREACH, o, k, |m| unsafe { zmq_msg_send(m, router, ZMQ_SNDMORE) });

    // ENOTSOCK: NULL, and a socket already closed.
    let closed = socket(ctx, ZMQ_PUSH);
    assert_eq!(zmq_close(closed), 0);
    let (o, k) = pair();
    // SAFETY: as above; the bad socket pointers are refused unread.
    failing_sends_keep(libc::ENOTSOCK, o, k, |m| unsafe { zmq_msg_send(m, ptr::null_mut(), 0) });
    let (o, k) = pair();
    // SAFETY: as above.
    failing_sends_keep(libc::ENOTSOCK, o, k, |m| unsafe { zmq_msg_send(m, closed, 0) });

    // ETERM: a context shut down. (The messages that then succeed go through a second
    // context, still up.)
    let ctx2 = capi::ctx();
    let (sink2, ok2) = (socket(ctx2, ZMQ_PULL), socket(ctx2, ZMQ_PUSH));
    assert_eq!(bind(sink2, "inproc://failed-sends-2"), 0);
    assert_eq!(connect(ok2, "inproc://failed-sends-2"), 0);
    assert_eq!(zmq_ctx_shutdown(ctx), 0);
    // SAFETY: as above.
    failing_sends_keep(ETERM, P(ok2), P(sink2), |m| unsafe { zmq_msg_send(m, lonely, 0) });

    for s in [sink.0, ok.0, lonely, blocked.0, rep, req, idle_rep, router, sink2, ok2] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
    assert_eq!(zmq_ctx_term(ctx2), 0);
}

#[test]
fn message_properties_over_tcp_and_multipart_more() {
    let ctx = ctx();
    let (pull, push) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH));
    assert_eq!(bind(pull, "tcp://127.0.0.1:*"), 0);
    assert_eq!(connect(push, &last_endpoint(pull)), 0);
    assert_eq!(send(push, b"a", ZMQ_SNDMORE), 1);
    assert_eq!(send(push, b"bc", 0), 2);
    let mut m = zmq_msg_t::new();
    // SAFETY: message storage owned here; NUL-terminated property names.
    unsafe {
        assert_eq!(zmq_msg_init(&mut m), 0);
        assert_eq!(zmq_msg_recv(&mut m, pull, 0), 1);
        assert_eq!(zmq_msg_more(&m), 1);
        assert_eq!(zmq_msg_get(&m, ZMQ_MORE), 1);
        let t = zmq_msg_gets(&raw mut m, c("Socket-Type").as_ptr());
        assert!(!t.is_null());
        assert_eq!(CStr::from_ptr(t).to_str().unwrap(), "PUSH");
        // Case does not matter, and the same pointer comes back.
        assert_eq!(zmq_msg_gets(&raw mut m, c("socket-type").as_ptr()), t);
        let addr = zmq_msg_gets(&raw mut m, c("Peer-Address").as_ptr());
        assert_eq!(CStr::from_ptr(addr).to_str().unwrap(), "127.0.0.1");
        assert!(zmq_msg_gets(&raw mut m, c("No-Such").as_ptr()).is_null());
        assert_eq!(zmq_errno(), libc::EINVAL);
        assert_eq!(zmq_msg_recv(&mut m, pull, 0), 2);
        assert_eq!(zmq_msg_more(&m), 0);
        assert_eq!(std::slice::from_raw_parts(zmq_msg_data(&mut m).cast::<u8>(), 2), b"bc");
        assert_eq!(zmq_msg_close(&mut m), 0);
    }
    for s in [pull, push] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

/// Frames received into one message from two connections in turn carry each its own
/// connection's properties (the message keeps the last ones only while they are the same).
#[test]
fn one_message_received_into_from_two_connections_has_each_ones_properties() {
    let ctx = ctx();
    let pull = socket(ctx, ZMQ_PULL);
    assert_eq!(bind(pull, "tcp://127.0.0.1:*"), 0);
    let ep = last_endpoint(pull);
    assert_eq!(bind(pull, "inproc://two-connections"), 0);
    let (over_tcp, over_inproc) = (socket(ctx, ZMQ_PUSH), socket(ctx, ZMQ_PUSH));
    assert_eq!(connect(over_tcp, &ep), 0);
    assert_eq!(connect(over_inproc, "inproc://two-connections"), 0);
    let mut m = zmq_msg_t::new();
    // SAFETY: message storage owned here; NUL-terminated property names; the data pointer is
    // read for the length the receive returned.
    unsafe {
        assert_eq!(zmq_msg_init(&mut m), 0);
        // One at a time, so that each receive comes over the other connection than the last.
        for i in 0..6 {
            if i % 2 == 0 {
                assert_eq!(send(over_tcp, b"tcp", 0), 3);
            } else {
                assert_eq!(send(over_inproc, b"inproc", 0), 6);
            }
            let n = zmq_msg_recv(&mut m, pull, 0);
            assert!(n > 0, "errno {}", zmq_errno());
            let body = std::slice::from_raw_parts(zmq_msg_data(&mut m).cast::<u8>(), n as usize);
            let addr = zmq_msg_gets(&raw mut m, c("Peer-Address").as_ptr());
            if body == b"tcp" {
                assert!(!addr.is_null(), "a tcp frame has its connection's properties");
                assert_eq!(CStr::from_ptr(addr).to_str().unwrap(), "127.0.0.1");
            } else {
                assert_eq!(body, b"inproc");
                assert!(addr.is_null(), "an inproc frame has no properties, not the last frame's");
            }
        }
        assert_eq!(zmq_msg_close(&mut m), 0);
    }
    for s in [pull, over_tcp, over_inproc] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn many_threads_closing_the_same_sockets_close_each_exactly_once() {
    let ctx = ctx();
    let sockets: Vec<P> = (0..200).map(|_| P(socket(ctx, ZMQ_PAIR))).collect();
    let sockets = Arc::new(sockets);
    let closed = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (sockets, closed) = (sockets.clone(), closed.clone());
            std::thread::spawn(move || {
                for s in sockets.iter() {
                    // Meanwhile another thread may be closing it: either this call closes
                    // it, or it is already closed (ENOTSOCK); a send sees one or the other.
                    let rc = send(s.0, b"x", ZMQ_DONTWAIT);
                    assert!(rc == -1 && [libc::EAGAIN, libc::ENOTSOCK].contains(&zmq_errno()));
                    match zmq_close(s.0) {
                        0 => {
                            closed.fetch_add(1, Ordering::SeqCst);
                        }
                        rc => fails_with(rc, libc::ENOTSOCK),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(closed.load(Ordering::SeqCst), 200);
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn poll_sockets_and_descriptors() {
    let ctx = ctx();
    let (pull, push) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH));
    assert_eq!(bind(pull, "inproc://poll"), 0);
    assert_eq!(connect(push, "inproc://poll"), 0);
    let mut fds = [0 as c_int; 2];
    // SAFETY: a 2-int array for pipe(2).
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let mut items = [
        zmq_pollitem_t { socket: pull, fd: 0, events: ZMQ_POLLIN, revents: 0 },
        zmq_pollitem_t { socket: ptr::null_mut(), fd: fds[0], events: ZMQ_POLLIN, revents: 0 },
    ];
    // SAFETY: `items` is an array of 2 poll items.
    unsafe {
        assert_eq!(zmq_poll(items.as_mut_ptr(), 2, 0), 0);
        assert_eq!(send(push, b"hi", 0), 2);
        assert_eq!(zmq_poll(items.as_mut_ptr(), 2, 10_000), 1);
        assert_eq!((items[0].revents, items[1].revents), (ZMQ_POLLIN, 0));
        assert_eq!(libc::write(fds[1], b"x".as_ptr().cast(), 1), 1);
        assert_eq!(zmq_poll(items.as_mut_ptr(), 2, -1), 2);
        assert_eq!(items[1].revents, ZMQ_POLLIN);
        // A bad socket in the items.
        items[0].socket = 8 as *mut c_void;
        fails_with(zmq_poll(items.as_mut_ptr(), 2, 0), libc::ENOTSOCK);
        fails_with(zmq_poll(ptr::null_mut(), 1, 0), libc::EFAULT);
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    for s in [pull, push] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn pub_sub_filter_and_steerable_proxy_terminate() {
    let ctx = ctx();
    // PUB -> (XSUB/XPUB would be the usual proxy; PULL/PUSH keeps it simple) and back.
    let (publ, sub) = (socket(ctx, ZMQ_PUB), socket(ctx, ZMQ_SUB));
    assert_eq!(bind(publ, "inproc://pubsub"), 0);
    assert_eq!(connect(sub, "inproc://pubsub"), 0);
    // SAFETY: the topic bytes and their length.
    assert_eq!(unsafe { zmq_setsockopt(sub, ZMQ_SUBSCRIBE, b"keep".as_ptr().cast(), 4) }, 0);
    assert_eq!(set_int(sub, ZMQ_RCVTIMEO, 10_000), 0);
    // The subscription reaches the PUB asynchronously: publish until a kept message arrives.
    let mut buf = [0u8; 16];
    let mut got = 0;
    for _ in 0..1000 {
        send(publ, b"drop this", 0);
        send(publ, b"keep this", 0);
        got = recv(sub, &mut buf, ZMQ_DONTWAIT);
        if got > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(&buf[..got as usize], b"keep this");
    // Everything received from now on matches the filter.
    while recv(sub, &mut buf, ZMQ_DONTWAIT) > 0 {
        assert!(buf.starts_with(b"keep"));
    }

    let (front, back, control) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH), socket(ctx, ZMQ_PAIR));
    let (client, worker, steer) = (socket(ctx, ZMQ_PUSH), socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PAIR));
    assert_eq!(bind(front, "inproc://front"), 0);
    assert_eq!(bind(back, "inproc://back"), 0);
    assert_eq!(bind(control, "inproc://control"), 0);
    assert_eq!(connect(client, "inproc://front"), 0);
    assert_eq!(connect(worker, "inproc://back"), 0);
    assert_eq!(connect(steer, "inproc://control"), 0);
    let (f, b, ctl) = (P(front), P(back), P(control));
    let proxy = std::thread::spawn(move || {
        let (f, b, ctl) = (f, b, ctl);
        zmq_proxy_steerable(f.0, b.0, ptr::null_mut(), ctl.0)
    });
    assert_eq!(send(client, b"through", 0), 7);
    assert_eq!(set_int(worker, ZMQ_RCVTIMEO, 10_000), 0);
    assert_eq!(recv(worker, &mut buf, 0), 7);
    assert_eq!(&buf[..7], b"through");
    assert_eq!(send(steer, b"TERMINATE", 0), 9);
    assert_eq!(proxy.join().unwrap(), 0);
    for s in [publ, sub, front, back, control, client, worker, steer] {
        assert_eq!(set_int(s, ZMQ_LINGER, 0), 0);
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn socket_monitor_reports_listening() {
    let ctx = ctx();
    let rep = socket(ctx, ZMQ_REP);
    // SAFETY: a NUL-terminated endpoint.
    assert_eq!(unsafe { zmq_socket_monitor(rep, c("inproc://mon").as_ptr(), 0xFFFF) }, 0);
    let mon = socket(ctx, ZMQ_PAIR);
    assert_eq!(connect(mon, "inproc://mon"), 0);
    assert_eq!(set_int(mon, ZMQ_RCVTIMEO, 10_000), 0);
    assert_eq!(bind(rep, "tcp://127.0.0.1:*"), 0);
    let mut ev = [0u8; 6];
    assert_eq!(recv(mon, &mut ev, 0), 6);
    assert_eq!(u16::from_ne_bytes([ev[0], ev[1]]), 0x0008, "ZMQ_EVENT_LISTENING");
    let mut ep = [0u8; 64];
    let n = recv(mon, &mut ep, 0) as usize;
    assert_eq!(std::str::from_utf8(&ep[..n]).unwrap(), last_endpoint(rep));
    // SAFETY: NULL stops monitoring.
    assert_eq!(unsafe { zmq_socket_monitor(rep, ptr::null(), 0) }, 0);
    for s in [rep, mon] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn version_errors_capabilities() {
    let (mut a, mut b, mut c_) = (0, 0, 0);
    // SAFETY: three ints.
    unsafe { zmq_version(&mut a, &mut b, &mut c_) };
    assert_eq!((a, b, c_), (4, 3, 5));
    // SAFETY: NULLs are allowed here.
    unsafe { zmq_version(ptr::null_mut(), ptr::null_mut(), ptr::null_mut()) };
    // SAFETY: the library's static NUL-terminated texts.
    unsafe {
        assert_eq!(CStr::from_ptr(zmq_strerror(ETERM)).to_str().unwrap(), "Context was terminated");
        assert_eq!(
            CStr::from_ptr(zmq_strerror(EFSM)).to_str().unwrap(),
            "Operation cannot be accomplished in current state"
        );
        assert_eq!(CStr::from_ptr(zmq_strerror(libc::EAGAIN)).to_str().unwrap(), "Resource temporarily unavailable");
        assert!(CStr::from_ptr(oxmq_ffi_version()).to_str().unwrap().starts_with("oxmq "));
        assert_eq!(zmq_has(c("curve").as_ptr()), 1);
        assert_eq!(zmq_has(c("ipc").as_ptr()), 1);
        // 1 only in a build with the draft API (cargo feature `draft`), as libzmq's.
        assert_eq!(zmq_has(c("draft").as_ptr()), cfg!(feature = "draft") as c_int);
        assert_eq!(zmq_has(ptr::null()), 0);
    }
    errno_is_the_c_errno();
}

fn errno_is_the_c_errno() {
    fails_with(zmq_close(ptr::null_mut()), libc::ENOTSOCK);
    // SAFETY: the calling thread's errno slot.
    assert_eq!(unsafe { *libc::__errno_location() }, libc::ENOTSOCK);
}

#[test]
fn z85_and_curve_keys() {
    // RFC 32's test vector.
    let data = [0x86u8, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
    let mut text = [0 as std::ffi::c_char; 11];
    let mut back = [0u8; 8];
    // SAFETY: buffers of the sizes zmq.h asks for.
    unsafe {
        assert_eq!(zmq_z85_encode(text.as_mut_ptr(), data.as_ptr(), 8), text.as_mut_ptr());
        assert_eq!(CStr::from_ptr(text.as_ptr()).to_str().unwrap(), "HelloWorld");
        assert_eq!(zmq_z85_decode(back.as_mut_ptr(), text.as_ptr()), back.as_mut_ptr());
        assert_eq!(back, data);
        assert!(zmq_z85_encode(text.as_mut_ptr(), data.as_ptr(), 7).is_null());
        assert_eq!(zmq_errno(), libc::EINVAL);
        assert!(zmq_z85_decode(back.as_mut_ptr(), c("Hell").as_ptr()).is_null());
        assert_eq!(zmq_errno(), libc::EINVAL);
        let (mut public, mut secret, mut derived) = ([0 as std::ffi::c_char; 41], [0; 41], [0; 41]);
        assert_eq!(zmq_curve_keypair(public.as_mut_ptr(), secret.as_mut_ptr()), 0);
        assert_eq!(CStr::from_ptr(public.as_ptr()).to_bytes().len(), 40);
        assert_eq!(zmq_curve_public(derived.as_mut_ptr(), secret.as_ptr()), 0);
        assert_eq!(public, derived);
    }
}

#[test]
fn atomic_counters_stopwatch_threads() {
    // SAFETY: a counter from zmq_atomic_counter_new, destroyed once.
    unsafe {
        let mut c = zmq_atomic_counter_new();
        assert_eq!(zmq_atomic_counter_value(c), 0);
        zmq_atomic_counter_set(c, 2);
        assert_eq!(zmq_atomic_counter_inc(c), 2);
        assert_eq!(zmq_atomic_counter_dec(c), 1);
        assert_eq!(zmq_atomic_counter_dec(c), 1);
        assert_eq!(zmq_atomic_counter_dec(c), 0);
        assert_eq!(zmq_atomic_counter_value(c), 0);
        zmq_atomic_counter_destroy(&mut c);
        assert!(c.is_null());
        zmq_atomic_counter_destroy(&mut c);
    }
    static RAN: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn body(arg: *mut c_void) {
        RAN.fetch_add(arg as usize, Ordering::SeqCst);
    }
    let watch = zmq_stopwatch_start();
    let t = zmq_threadstart(Some(body), 5 as *mut c_void);
    assert!(!t.is_null());
    // SAFETY: a thread handle and a stopwatch, each closed once.
    unsafe {
        zmq_threadclose(t);
        assert_eq!(RAN.load(Ordering::SeqCst), 5);
        std::thread::sleep(Duration::from_millis(2));
        assert!(zmq_stopwatch_stop(watch) >= 2000);
    }
    assert!(zmq_threadstart(None, ptr::null_mut()).is_null());
}

fn get_int(s: *mut c_void, opt: c_int) -> c_int {
    let (mut v, mut len) = (0 as c_int, 4usize);
    // SAFETY: a 4-byte int and its length.
    assert_eq!(unsafe { zmq_getsockopt(s, opt, (&mut v as *mut c_int).cast(), &mut len) }, 0, "getsockopt {opt}");
    v
}

/// Is `fd` readable within `ms` milliseconds?
fn readable(fd: c_int, ms: c_int) -> bool {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one pollfd.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    assert!(n >= 0);
    n == 1
}

#[test]
fn zmq_fd_is_edge_triggered_and_re_armed_by_zmq_events() {
    let ctx = ctx();
    let (pull, push) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH));
    assert_eq!(bind(pull, "tcp://127.0.0.1:*"), 0);
    let fd = get_int(pull, ZMQ_FD);
    assert!(fd >= 0);
    assert_eq!(get_int(pull, ZMQ_FD), fd, "the same descriptor every time");
    // Readable at first: the protocol starts with reading ZMQ_EVENTS.
    assert!(readable(fd, 0));
    assert_eq!(get_int(pull, ZMQ_EVENTS), 0);
    // Nothing changes, so nothing to read.
    assert!(!readable(fd, 50));
    assert_eq!(connect(push, &last_endpoint(pull)), 0);
    let mut buf = [0u8; 8];
    for round in 0..20 {
        assert_eq!(send(push, b"ping", 0), 4);
        // The message makes the descriptor readable (connection, then the message: keep
        // reading ZMQ_EVENTS until it says POLLIN, waiting on the descriptor in between).
        let mut events = get_int(pull, ZMQ_EVENTS);
        while events & ZMQ_POLLIN as c_int == 0 {
            assert!(readable(fd, 10_000), "round {round}: no wake-up for a message");
            events = get_int(pull, ZMQ_EVENTS);
        }
        assert_eq!(recv(pull, &mut buf, ZMQ_DONTWAIT), 4);
        // Edge-triggered: after the receive, ZMQ_EVENTS must be read again (it says no more
        // input, and re-arms the descriptor for the next message).
        assert_eq!(get_int(pull, ZMQ_EVENTS) & ZMQ_POLLIN as c_int, 0);
    }
    // A PUSH with a peer: writable, through ZMQ_EVENTS.
    assert_eq!(get_int(push, ZMQ_EVENTS) & 2, 2);
    for s in [pull, push] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn a_signal_interrupts_a_blocking_receive_with_eintr() {
    // A handler, as an application has for SIGINT; SA_RESTART does not matter: libzmq's (and
    // here oxmq's) wait is a poll(2), which a handler always interrupts. Over tcp the receive
    // waits reading the connection itself (one peer), over inproc on the socket's readiness.
    for ep in ["inproc://eintr", "tcp://127.0.0.1:*"] {
        let ctx = ctx();
        let (pull, push) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH));
        assert_eq!(bind(pull, ep), 0);
        assert_eq!(connect(push, &last_endpoint(pull)), 0);
        // The connection is up (the pull has its one peer).
        let mut buf = [0u8; 8];
        assert_eq!(send(push, b"warm", 0), 4);
        assert_eq!(recv(pull, &mut buf, 0), 4, "{ep}");
        let pp = P(pull);
        let (rc, errno) = interrupted(RESTART, move || {
            let pp = pp;
            let mut buf = [0u8; 8];
            recv(pp.0, &mut buf, 0)
        });
        assert_eq!((rc, errno), (-1, libc::EINTR), "{ep}");
        // The socket is fine afterwards.
        assert_eq!(send(push, b"after", 0), 5);
        assert_eq!(recv(pull, &mut buf, 0), 5, "{ep}");
        for s in [pull, push] {
            assert_eq!(zmq_close(s), 0);
        }
        assert_eq!(zmq_ctx_term(ctx), 0);
    }
}

#[test]
fn a_signal_interrupts_zmq_poll_and_termination_ends_it_with_eterm() {
    let ctx = ctx();
    let pull = socket(ctx, ZMQ_PULL);
    assert_eq!(bind(pull, "inproc://poll-eintr"), 0);
    let pp = P(pull);
    let (rc, errno) = interrupted(RESTART, move || {
        let pp = pp;
        let mut item = zmq_pollitem_t { socket: pp.0, fd: 0, events: ZMQ_POLLIN, revents: 0 };
        // SAFETY: one poll item.
        unsafe { zmq_poll(&mut item, 1, -1) }
    });
    assert_eq!((rc, errno), (-1, libc::EINTR));
    // No items and a timeout: a sleep, interruptible too.
    // SAFETY: no items.
    let (rc, errno) = interrupted(RESTART, || unsafe { zmq_poll(ptr::null_mut(), 0, 60_000) });
    assert_eq!((rc, errno), (-1, libc::EINTR));

    // A poll blocked when the context is terminated returns ETERM.
    let pp = P(pull);
    let poller = std::thread::spawn(move || {
        let pp = pp;
        let mut item = zmq_pollitem_t { socket: pp.0, fd: 0, events: ZMQ_POLLIN, revents: 0 };
        // SAFETY: one poll item.
        let rc = unsafe { zmq_poll(&mut item, 1, -1) };
        let errno = zmq_errno();
        assert_eq!(zmq_close(pp.0), 0);
        (rc, errno)
    });
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(zmq_ctx_term(ctx), 0);
    assert_eq!(poller.join().unwrap(), (-1, ETERM));
}

#[test]
fn a_signal_interrupts_proxies_and_context_termination_with_eintr() {
    let ctx = ctx();
    let (front, back, control) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH), socket(ctx, ZMQ_PAIR));
    assert_eq!(bind(front, "inproc://proxy-eintr-front"), 0);
    assert_eq!(bind(back, "inproc://proxy-eintr-back"), 0);
    assert_eq!(bind(control, "inproc://proxy-eintr-control"), 0);
    let (f, b, ctl) = (P(front), P(back), P(control));
    // Nothing to move: the proxies wait, and a signal handler ends the wait.
    let (rc, errno) = interrupted(RESTART, move || {
        let (f, b) = (f, b);
        zmq_proxy(f.0, b.0, ptr::null_mut())
    });
    assert_eq!((rc, errno), (-1, libc::EINTR));
    let (rc, errno) = interrupted(RESTART, move || {
        let (f, b, ctl) = (f, b, ctl);
        zmq_proxy_steerable(f.0, b.0, ptr::null_mut(), ctl.0)
    });
    assert_eq!((rc, errno), (-1, libc::EINTR));

    // A message still goes through a proxy called again afterwards, and TERMINATE ends it.
    let (push, pull, steer) = (socket(ctx, ZMQ_PUSH), socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PAIR));
    assert_eq!(connect(push, "inproc://proxy-eintr-front"), 0);
    assert_eq!(connect(pull, "inproc://proxy-eintr-back"), 0);
    assert_eq!(connect(steer, "inproc://proxy-eintr-control"), 0);
    let proxy = std::thread::spawn(move || {
        let (f, b, ctl) = (f, b, ctl);
        zmq_proxy_steerable(f.0, b.0, ptr::null_mut(), ctl.0)
    });
    assert_eq!(send(push, b"through", 0), 7);
    let mut buf = [0u8; 16];
    assert_eq!(recv(pull, &mut buf, 0), 7);
    assert_eq!(send(steer, b"TERMINATE", 0), 9);
    assert_eq!(proxy.join().unwrap(), 0);

    // zmq_ctx_term waits for the sockets to be closed: interrupted, it leaves the context
    // terminated (calls fail with ETERM) but not freed, and a second call finishes the job.
    let c = P(ctx);
    let (rc, errno) = interrupted(RESTART, move || {
        let c = c;
        zmq_ctx_term(c.0)
    });
    assert_eq!((rc, errno), (-1, libc::EINTR));
    fails_with(recv(pull, &mut buf, 0), ETERM);
    assert!(zmq_socket(ctx, ZMQ_PAIR).is_null());
    for s in [front, back, control, push, pull, steer] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

static FIRED: [AtomicUsize; 2] = [const { AtomicUsize::new(0) }; 2];

/// Counts its calls in the counter `arg` points to.
unsafe extern "C" fn on_timer(_id: c_int, arg: *mut c_void) {
    // SAFETY: the tests pass a pointer to one of the static FIRED counters.
    unsafe { &*arg.cast::<AtomicUsize>() }.fetch_add(1, Ordering::SeqCst);
}

fn counter_arg(i: usize) -> *mut c_void {
    (&FIRED[i] as *const AtomicUsize).cast_mut().cast()
}

#[test]
fn timers_fire_when_due_and_are_refused_when_bad() {
    use zmq::timers::*;
    let mut t = zmq_timers_new();
    assert!(!t.is_null());
    assert_eq!(zmq_timers_timeout(t), -1, "no timers");
    let fast = zmq_timers_add(t, 10, Some(on_timer), counter_arg(0));
    let slow = zmq_timers_add(t, 3_600_000, Some(on_timer), counter_arg(1));
    assert!(fast > 0 && slow > 0 && fast != slow);
    let left = zmq_timers_timeout(t);
    assert!((0..=10).contains(&left), "{left}");
    // After 20 ms the 10 ms timer is due and runs once; the hour-long one does not.
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(zmq_timers_execute(t), 0);
    assert_eq!(FIRED[0].load(Ordering::SeqCst), 1);
    assert_eq!(FIRED[1].load(Ordering::SeqCst), 0);
    // It repeats.
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(zmq_timers_execute(t), 0);
    assert_eq!(FIRED[0].load(Ordering::SeqCst), 2);
    assert_eq!(zmq_timers_set_interval(t, slow, 1), 0);
    assert_eq!(zmq_timers_reset(t, fast), 0);
    assert_eq!(zmq_timers_cancel(t, fast), 0);
    fails_with(zmq_timers_cancel(t, fast), libc::EINVAL);
    fails_with(zmq_timers_reset(t, fast), libc::EINVAL);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(zmq_timers_execute(t), 0);
    assert_eq!(FIRED[1].load(Ordering::SeqCst), 1);
    assert_eq!(FIRED[0].load(Ordering::SeqCst), 2, "cancelled");
    fails_with(zmq_timers_add(t, 1, None, ptr::null_mut()), libc::EFAULT);
    // Bad handles: EFAULT, never read.
    let mut junk = [0u8; 64];
    fails_with(zmq_timers_add(junk.as_mut_ptr().cast(), 1, Some(on_timer), ptr::null_mut()), libc::EFAULT);
    // SAFETY: a pointer to a handle variable.
    unsafe {
        assert_eq!(zmq_timers_destroy(&mut t), 0);
        assert!(t.is_null());
        fails_with(zmq_timers_destroy(&mut t), libc::EFAULT);
    }
    assert_eq!(zmq_timers_timeout(t), -1);
    assert_eq!(zmq_errno(), libc::EFAULT);
}

#[test]
fn sendiov_and_recviov_move_a_multipart_message() {
    let ctx = ctx();
    let (pull, push) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH));
    assert_eq!(bind(pull, "inproc://iov"), 0);
    assert_eq!(connect(push, "inproc://iov"), 0);
    let parts: [&[u8]; 3] = [b"one", b"", b"three"];
    let mut out: Vec<libc::iovec> =
        parts.iter().map(|p| libc::iovec { iov_base: p.as_ptr().cast_mut().cast(), iov_len: p.len() }).collect();
    let mut inbox = [libc::iovec { iov_base: ptr::null_mut(), iov_len: 0 }; 8];
    let mut count = inbox.len();
    // SAFETY: iovec arrays of the lengths given; the received buffers are freed below.
    unsafe {
        assert_eq!(zmq_sendiov(push, out.as_mut_ptr(), 3, ZMQ_SNDMORE), 5);
        assert_eq!(zmq_recviov(pull, inbox.as_mut_ptr(), &mut count, 0), 3);
        assert_eq!(count, 3);
        for (v, p) in inbox.iter().zip(parts) {
            assert_eq!(std::slice::from_raw_parts(v.iov_base.cast::<u8>(), v.iov_len), p);
            libc::free(v.iov_base);
        }
        fails_with(zmq_sendiov(push, out.as_mut_ptr(), 0, 0), libc::EINVAL);
        let mut zero = 0usize;
        fails_with(zmq_recviov(pull, inbox.as_mut_ptr(), &mut zero, ZMQ_DONTWAIT), libc::EINVAL);
        let mut count = inbox.len();
        fails_with(zmq_recviov(pull, inbox.as_mut_ptr(), &mut count, ZMQ_DONTWAIT), libc::EAGAIN);
        assert_eq!(count, 0);
    }
    for s in [pull, push] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

/// ZMQ_USE_FD: a bind takes the listening descriptor the application made (and owns it from
/// then on); a peer connecting to that descriptor's address reaches the socket.
#[test]
fn use_fd_binds_on_the_applications_listener() {
    use std::os::fd::IntoRawFd;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let fd: c_int = listener.into_raw_fd();
    let ctx = ctx();
    let pull = socket(ctx, ZMQ_PULL);
    let rc = unsafe { zmq_setsockopt(pull, ZMQ_USE_FD, (&fd as *const c_int).cast::<c_void>(), size_of::<c_int>()) };
    assert_eq!(rc, 0, "zmq_setsockopt(ZMQ_USE_FD): errno {}", zmq_errno());
    assert_eq!(bind(pull, "tcp://127.0.0.1:*"), 0, "zmq_bind on the handed-over descriptor: errno {}", zmq_errno());
    let push = socket(ctx, ZMQ_PUSH);
    assert_eq!(connect(push, &format!("tcp://127.0.0.1:{port}")), 0);
    assert_eq!(set_int(pull, ZMQ_RCVTIMEO, 5000), 0);
    assert_eq!(send(push, b"through the fd", 0), 14);
    let mut buf = [0u8; 32];
    assert_eq!(recv(pull, &mut buf, 0), 14);
    assert_eq!(&buf[..14], b"through the fd");
    assert_eq!(set_int(push, ZMQ_LINGER, 0), 0);
    assert_eq!(zmq_close(push), 0);
    assert_eq!(zmq_close(pull), 0);
    assert_eq!(zmq_ctx_term(ctx), 0);
}
