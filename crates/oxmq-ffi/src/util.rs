//! The rest of the API: `zmq_version`, `zmq_has`, Z85 and CURVE keys, atomic counters, the
//! stopwatch, `zmq_sleep`, threads; and `oxmq_ffi_version`, the one symbol libzmq does not
//! have, which tells a program (or a test) that oxmq is the library it loaded.

use std::ffi::{c_char, c_int, c_ulong, c_void};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{c_str, guard, zerr};

/// The libzmq version whose API this library provides: 4.3.5.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_version(major: *mut c_int, minor: *mut c_int, patch: *mut c_int) {
    let (maj, min, pat) = oxmq::version();
    for (p, v) in [(major, maj), (minor, min), (patch, pat)] {
        if !p.is_null() {
            // SAFETY: zmq.h's contract: each non-NULL pointer points to an int.
            unsafe { *p = v };
        }
    }
}

/// Not in libzmq: `"oxmq <version>"`, so that a program can tell that oxmq, not libzmq, is the
/// `libzmq.so.5` it loaded (zmq_version says 4.3.5 either way).
#[unsafe(no_mangle)]
pub extern "C" fn oxmq_ffi_version() -> *const c_char {
    concat!("oxmq ", env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// 1 if this build has `capability` ("ipc", "curve", "draft" when built with the feature
/// `draft`), 0 if not ("pgm", "tipc", "norm", "gssapi", anything else).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_has(capability: *const c_char) -> c_int {
    guard(0, || {
        // SAFETY: zmq.h's contract: NULL or a NUL-terminated string.
        let capability = unsafe { c_str(capability) }?;
        Ok((oxmq::has(capability) || (cfg!(feature = "draft") && capability == "draft")) as c_int)
    })
}

/// Copy `text` and a NUL to `dest`.
///
/// # Safety
/// `dest` points to at least `text.len() + 1` writable bytes.
unsafe fn put_c_string(dest: *mut c_char, text: &[u8]) {
    // SAFETY: the caller's contract.
    unsafe {
        ptr::copy_nonoverlapping(text.as_ptr(), dest.cast::<u8>(), text.len());
        *dest.add(text.len()) = 0;
    }
}

/// Z85-encode `size` bytes (a multiple of 4) into `dest` (`size * 5 / 4 + 1` bytes); returns
/// `dest`, or NULL with `EINVAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_z85_encode(dest: *mut c_char, data: *const u8, size: usize) -> *mut c_char {
    guard(ptr::null_mut(), || {
        if dest.is_null() || (data.is_null() && size > 0) {
            return Err(libc::EINVAL);
        }
        let data = if size == 0 {
            &[][..]
        } else {
            // SAFETY: zmq.h's contract: `data` points to `size` bytes.
            unsafe { std::slice::from_raw_parts(data, size) }
        };
        let text = oxmq::z85_encode(data).map_err(zerr)?;
        // SAFETY: zmq.h's contract: `dest` has room for the text and its NUL.
        unsafe { put_c_string(dest, text.as_bytes()) };
        Ok(dest)
    })
}

/// Decode Z85 `string` (its length a multiple of 5) into `dest` (`strlen * 4 / 5` bytes);
/// returns `dest`, or NULL with `EINVAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_z85_decode(dest: *mut u8, string: *const c_char) -> *mut u8 {
    guard(ptr::null_mut(), || {
        if dest.is_null() {
            return Err(libc::EINVAL);
        }
        // SAFETY: zmq.h's contract: a NUL-terminated string.
        let text = unsafe { c_str(string) }?;
        let bytes = oxmq::z85_decode(text).map_err(zerr)?;
        // SAFETY: zmq.h's contract: `dest` has room for the decoded bytes.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), dest, bytes.len()) };
        Ok(dest)
    })
}

/// A new CURVE key pair, each key as 40 Z85 characters and a NUL (41-byte buffers).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_curve_keypair(z85_public_key: *mut c_char, z85_secret_key: *mut c_char) -> c_int {
    guard(-1, || {
        if z85_public_key.is_null() || z85_secret_key.is_null() {
            return Err(libc::EINVAL);
        }
        let (public, secret) = oxmq::curve_keypair().map_err(zerr)?;
        // SAFETY: zmq.h's contract: two 41-byte buffers; each key is 40 characters.
        unsafe {
            put_c_string(z85_public_key, public.as_bytes());
            put_c_string(z85_secret_key, secret.as_bytes());
        }
        Ok(0)
    })
}

/// The public key (Z85, into 41 bytes) of the Z85 secret key `z85_secret_key`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_curve_public(z85_public_key: *mut c_char, z85_secret_key: *const c_char) -> c_int {
    guard(-1, || {
        if z85_public_key.is_null() {
            return Err(libc::EINVAL);
        }
        // SAFETY: zmq.h's contract: a NUL-terminated key.
        let secret = unsafe { c_str(z85_secret_key) }?;
        let public = oxmq::curve_public(secret).map_err(zerr)?;
        // SAFETY: zmq.h's contract: a 41-byte buffer; the key is 40 characters.
        unsafe { put_c_string(z85_public_key, public.as_bytes()) };
        Ok(0)
    })
}

// ---- atomic counters ----
//
// A counter is a heap AtomicI32. Its pointer cannot be checked (a freed or foreign pointer is
// undefined behaviour, as with libzmq); NULL is refused: 0 and errno EFAULT, or nothing done.

#[unsafe(no_mangle)]
pub extern "C" fn zmq_atomic_counter_new() -> *mut c_void {
    Box::into_raw(Box::new(AtomicI32::new(0))).cast()
}

/// The counter at `c`, unless NULL.
///
/// # Safety
/// `c` is NULL or a counter from `zmq_atomic_counter_new` not yet destroyed.
unsafe fn counter<'a>(c: *mut c_void) -> Option<&'a AtomicI32> {
    // SAFETY: the caller's contract.
    unsafe { c.cast::<AtomicI32>().as_ref() }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_atomic_counter_set(c: *mut c_void, value: c_int) {
    // SAFETY: zmq.h's contract: a live counter (or NULL, ignored).
    if let Some(c) = unsafe { counter(c) } {
        c.store(value, Ordering::SeqCst);
    }
}

/// Add one; returns the value before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_atomic_counter_inc(c: *mut c_void) -> c_int {
    // SAFETY: zmq.h's contract: a live counter (or NULL, refused).
    match unsafe { counter(c) } {
        Some(c) => c.fetch_add(1, Ordering::SeqCst),
        None => {
            crate::errno::set(libc::EFAULT);
            0
        }
    }
}

/// Subtract one; returns 1 if the counter is not zero afterwards, 0 if it is.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_atomic_counter_dec(c: *mut c_void) -> c_int {
    // SAFETY: zmq.h's contract: a live counter (or NULL, refused).
    match unsafe { counter(c) } {
        Some(c) => (c.fetch_sub(1, Ordering::SeqCst) - 1 != 0) as c_int,
        None => {
            crate::errno::set(libc::EFAULT);
            0
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_atomic_counter_value(c: *mut c_void) -> c_int {
    // SAFETY: zmq.h's contract: a live counter (or NULL, refused).
    match unsafe { counter(c) } {
        Some(c) => c.load(Ordering::SeqCst),
        None => {
            crate::errno::set(libc::EFAULT);
            0
        }
    }
}

/// Free the counter `*counter_p` and set `*counter_p` to NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_atomic_counter_destroy(counter_p: *mut *mut c_void) {
    if counter_p.is_null() {
        return;
    }
    // SAFETY: zmq.h's contract: `counter_p` points to a counter pointer (NULL or live).
    let c = unsafe { ptr::replace(counter_p, ptr::null_mut()) };
    if !c.is_null() {
        // SAFETY: a counter from zmq_atomic_counter_new, freed once (the pointer is cleared).
        drop(unsafe { Box::from_raw(c.cast::<AtomicI32>()) });
    }
}

// ---- stopwatch, sleep, threads ----

#[unsafe(no_mangle)]
pub extern "C" fn zmq_stopwatch_start() -> *mut c_void {
    Box::into_raw(Box::new(Instant::now())).cast()
}

/// Microseconds since `zmq_stopwatch_start` (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_stopwatch_intermediate(watch: *mut c_void) -> c_ulong {
    // SAFETY: zmq.h's contract: NULL or a stopwatch not yet stopped.
    match unsafe { watch.cast::<Instant>().as_ref() } {
        Some(t) => t.elapsed().as_micros() as c_ulong,
        None => 0,
    }
}

/// Microseconds since `zmq_stopwatch_start`; frees the stopwatch.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_stopwatch_stop(watch: *mut c_void) -> c_ulong {
    if watch.is_null() {
        return 0;
    }
    // SAFETY: zmq.h's contract: a stopwatch from zmq_stopwatch_start, stopped once.
    let t = unsafe { Box::from_raw(watch.cast::<Instant>()) };
    t.elapsed().as_micros() as c_ulong
}

#[unsafe(no_mangle)]
pub extern "C" fn zmq_sleep(seconds: c_int) {
    std::thread::sleep(Duration::from_secs(seconds.max(0) as u64));
}

/// The argument handed to a thread's function.
struct ThreadArg(*mut c_void);
// SAFETY: zmq_threadstart's contract: the argument is for the new thread to use.
unsafe impl Send for ThreadArg {}

/// Run `func(arg)` on a new thread; `zmq_threadclose` joins it. NULL (`EINVAL`) for a NULL
/// function, or if the thread cannot be started.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_threadstart(func: Option<unsafe extern "C" fn(*mut c_void)>, arg: *mut c_void) -> *mut c_void {
    guard(ptr::null_mut(), || {
        let func = func.ok_or(libc::EINVAL)?;
        let arg = ThreadArg(arg);
        let handle = std::thread::Builder::new()
            .spawn(move || {
                let arg = arg;
                // SAFETY: the caller's function, with its argument, as zmq_threadstart promises.
                unsafe { func(arg.0) }
            })
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EAGAIN))?;
        Ok(Box::into_raw(Box::new(handle)).cast())
    })
}

/// Wait for a thread from `zmq_threadstart` to end, and free its handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_threadclose(thread: *mut c_void) {
    if thread.is_null() {
        return;
    }
    // SAFETY: zmq.h's contract: a handle from zmq_threadstart, closed once.
    let handle = unsafe { Box::from_raw(thread.cast::<JoinHandle<()>>()) };
    let _ = handle.join();
}

/// Z85 and the atomic counters, without sockets (Miri runs them: `scripts/miri.sh ffi`).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z85_encodes_and_decodes_rfc_32s_example_and_refuses_bad_sizes() {
        let bytes = [0x86u8, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        let mut text = [0 as c_char; 11];
        // SAFETY: 8 bytes in, 8 * 5 / 4 + 1 = 11 bytes out.
        let p = unsafe { zmq_z85_encode(text.as_mut_ptr(), bytes.as_ptr(), bytes.len()) };
        assert_eq!(p, text.as_mut_ptr());
        // SAFETY: NUL-terminated by zmq_z85_encode.
        assert_eq!(unsafe { std::ffi::CStr::from_ptr(text.as_ptr()) }.to_bytes(), b"HelloWorld");
        let mut back = [0u8; 8];
        // SAFETY: a 10-character string in, 8 bytes out.
        assert_eq!(unsafe { zmq_z85_decode(back.as_mut_ptr(), text.as_ptr()) }, back.as_mut_ptr());
        assert_eq!(back, bytes);
        // SAFETY: refused before anything is written (3 bytes is not a multiple of 4).
        assert!(unsafe { zmq_z85_encode(text.as_mut_ptr(), bytes.as_ptr(), 3) }.is_null());
        assert_eq!(crate::errno::get(), libc::EINVAL);
        // SAFETY: a NUL-terminated string of 4 characters (not a multiple of 5): refused.
        assert!(unsafe { zmq_z85_decode(back.as_mut_ptr(), c"Hell".as_ptr()) }.is_null());
    }

    #[test]
    fn atomic_counters_count_from_any_thread_and_refuse_null() {
        let c = zmq_atomic_counter_new();
        let addr = c as usize;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        // SAFETY: the counter lives until every thread is joined.
                        unsafe { zmq_atomic_counter_inc(addr as *mut c_void) };
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut c = c;
        // SAFETY: a live counter, destroyed once at the end.
        unsafe {
            assert_eq!(zmq_atomic_counter_value(c), 100);
            zmq_atomic_counter_set(c, 2);
            assert_eq!(zmq_atomic_counter_dec(c), 1);
            assert_eq!(zmq_atomic_counter_dec(c), 0);
            assert_eq!(zmq_atomic_counter_value(ptr::null_mut()), 0);
            assert_eq!(crate::errno::get(), libc::EFAULT);
            zmq_atomic_counter_destroy(&mut c);
            assert!(c.is_null());
            zmq_atomic_counter_destroy(&mut c);
        }
    }
}
