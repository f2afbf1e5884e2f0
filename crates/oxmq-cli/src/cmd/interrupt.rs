//! SIGINT and SIGTERM as a pyzmq program meets them: the first one terminates the command's
//! context, so that every blocked send or receive returns at once, the command closes its
//! sockets, LINGER delivers what they had accepted, and the tool exits 130 (SIGINT) or 143
//! (SIGTERM). A second signal exits at once.
//!
//! Waits that are not on a socket (stdin, `--delay`, `--interval`) look at [`interrupted`].

use oxmq::Context;
use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The contexts of the running command.
static CONTEXTS: Mutex<Vec<Context>> = Mutex::new(Vec::new());
/// The first signal received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Messages the command's sockets accepted (sends that returned), for the interrupted message.
static SENT: AtomicU64 = AtomicU64::new(0);

/// Counts one message accepted by a socket.
pub fn count_sent() {
    SENT.fetch_add(1, Ordering::Relaxed);
}

/// How many messages the sockets accepted.
pub fn sent() -> u64 {
    SENT.load(Ordering::Relaxed)
}

/// Installs the handlers (once, before the command runs).
pub fn install() -> std::io::Result<()> {
    let first_seen = Arc::new(AtomicBool::new(false));
    for (sig, code) in [(SIGINT, 130), (SIGTERM, 143)] {
        // The order matters: the exit is armed only once the flag is set, by the first signal.
        signal_hook::flag::register_conditional_shutdown(sig, code, Arc::clone(&first_seen))?;
        signal_hook::flag::register(sig, Arc::clone(&first_seen))?;
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new().name("oxmq-signals".into()).spawn(move || {
        if let Some(sig) = signals.forever().next() {
            SIGNAL.store(sig, Ordering::SeqCst);
            // Held until every socket is closed and has lingered: `finish` waits for that.
            let contexts = CONTEXTS.lock().unwrap_or_else(|e| e.into_inner());
            for ctx in contexts.iter() {
                ctx.term();
            }
        }
    })?;
    Ok(())
}

/// A new context whose sockets a signal interrupts.
pub fn context() -> Context {
    let ctx = Context::new();
    CONTEXTS.lock().unwrap_or_else(|e| e.into_inner()).push(ctx.clone());
    if interrupted() {
        // The signal came before this context: its sockets must not block either.
        ctx.term();
    }
    ctx
}

/// Whether a signal has come.
pub fn interrupted() -> bool {
    SIGNAL.load(Ordering::SeqCst) != 0
}

/// After the command: drops the contexts (waiting for their sockets' LINGER) and returns the
/// exit code a signal calls for (130 for SIGINT, 143 for SIGTERM), with the signal's name.
pub fn finish() -> Option<(u8, &'static str)> {
    let contexts = std::mem::take(&mut *CONTEXTS.lock().unwrap_or_else(|e| e.into_inner()));
    drop(contexts);
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        SIGTERM => Some((143, "SIGTERM")),
        _ => Some((130, "SIGINT")),
    }
}

/// Sleeps `ms` milliseconds, or less if a signal comes.
pub fn sleep_ms(ms: u64) {
    let end = Instant::now() + Duration::from_millis(ms);
    while !interrupted() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}
