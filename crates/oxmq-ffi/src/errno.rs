//! errno: set and read through the C library's thread-local `errno`, so C code that reads
//! `errno` directly after a failed call sees what `zmq_errno` returns; and libzmq's texts.

use std::ffi::{c_char, c_int};

/// libzmq's base for its own errno values.
pub const ZMQ_HAUSNUMERO: c_int = 156_384_712;
/// Not possible in the socket's current state.
pub const EFSM: c_int = ZMQ_HAUSNUMERO + 51;
/// The transport and the socket type do not fit.
pub const ENOCOMPATPROTO: c_int = ZMQ_HAUSNUMERO + 52;
/// The context was terminated.
pub const ETERM: c_int = ZMQ_HAUSNUMERO + 53;
/// No I/O thread available.
pub const EMTHREAD: c_int = ZMQ_HAUSNUMERO + 54;

/// Set the calling thread's errno.
pub(crate) fn set(e: c_int) {
    // SAFETY: __errno_location returns the calling thread's errno slot, valid for the
    // thread's life.
    unsafe { *libc::__errno_location() = e }
}

/// The calling thread's errno.
pub(crate) fn get() -> c_int {
    // SAFETY: as in `set`.
    unsafe { *libc::__errno_location() }
}

/// The errno of the calling thread's last failed call.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_errno() -> c_int {
    get()
}

/// A text for `errnum`: libzmq's for its own errors, the C library's (`strerror`) for the
/// others.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_strerror(errnum: c_int) -> *const c_char {
    let own: &'static [u8] = match errnum {
        EFSM => b"Operation cannot be accomplished in current state\0",
        ENOCOMPATPROTO => b"The protocol is not compatible with the socket type\0",
        ETERM => b"Context was terminated\0",
        EMTHREAD => b"No thread available\0",
        // SAFETY: strerror returns a pointer to a static (or thread-local) NUL-terminated
        // text for any value, as libzmq's zmq_strerror hands it out.
        _ => return unsafe { libc::strerror(errnum) },
    };
    own.as_ptr().cast()
}
