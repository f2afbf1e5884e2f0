//! `zmq_msg_t`: libzmq's 64-byte opaque message, holding an oxmq frame.
//!
//! The 64 bytes hold a `MsgRepr`: a tag saying whether the message is live, its flags, the
//! frame's [`Bytes`] (shared, never copied, by `zmq_msg_copy` and by sends and receives; a
//! `Vec` while a message from `zmq_msg_init_size` is being filled, until it is sent or
//! copied), and the properties of the connection it came over. Every call reads the tag first (as plain
//! bytes, which any memory may hold) and refuses a message that is not live with `EFAULT`:
//! one never initialised, closed (`zmq_msg_close` writes the closed tag), or moved from and
//! closed. What cannot be detected: a `zmq_msg_t` copied with `memcpy` or `=` and then both
//! copies used as messages (libzmq forbids it too; here the frame would be released twice).
//!
//! Zero copy: `zmq_msg_init_data` wraps the caller's buffer in a `Bytes` whose owner calls
//! the caller's free function when the last reference is dropped, from whichever thread that
//! is, exactly once. `zmq_msg_data` of a received message points into oxmq's own buffer.

use std::ffi::{CString, c_char, c_int, c_void};
use std::ptr;

use bytes::Bytes;
use oxmq::Properties;

use crate::socket::{self, send_frame};
use crate::{R, c_str, guard, int_size};

pub const ZMQ_MORE: c_int = 1;
pub const ZMQ_SRCFD: c_int = 2;
pub const ZMQ_SHARED: c_int = 3;

/// libzmq's `zmq_msg_t`: 64 bytes, aligned as a pointer.
///
/// The bytes are in an `UnsafeCell`: the message they hold has parts that change through a
/// shared reference (the reference counts of its buffer, zmq_msg_gets's cache), so a Rust
/// caller's `&zmq_msg_t` may be handed to the calls that take `const zmq_msg_t *`.
#[allow(non_camel_case_types)]
#[repr(C, align(8))]
pub struct zmq_msg_t {
    _opaque: std::cell::UnsafeCell<[u8; 64]>,
}

impl zmq_msg_t {
    /// Storage for a message, for Rust callers (the tests); `zmq_msg_init` it before use.
    pub const fn new() -> zmq_msg_t {
        zmq_msg_t { _opaque: std::cell::UnsafeCell::new([0; 64]) }
    }
}

impl Default for zmq_msg_t {
    fn default() -> zmq_msg_t {
        zmq_msg_t::new()
    }
}

/// The tag of a live message ("OXMQ" in ASCII, little-endian).
const LIVE: u32 = 0x514d_584f;
/// The tag `zmq_msg_close` leaves behind.
const CLOSED: u32 = 0x4445_4144;

/// What the 64 bytes hold. The tag comes first so that it can be read on its own.
#[repr(C)]
struct MsgRepr {
    tag: u32,
    more: bool,
    /// Copied by zmq_msg_copy (both copies), or constant data (zmq_msg_init_data without a
    /// free function): ZMQ_SHARED.
    shared: bool,
    data: Data,
    properties: Option<Properties>,
    /// What is rarely there: zmq_msg_gets's values and the draft API's routing id and group.
    extra: Option<Box<Extra>>,
}

/// A message's bytes.
enum Data {
    /// Shared with the copies of the message, and with the socket once sent: a `Bytes`.
    Shared(Bytes),
    /// Made by zmq_msg_init_size for the caller to fill through zmq_msg_data, until it is
    /// sent or copied: a `Vec`, whose pointer may be written through (a `Bytes` hands out
    /// only shared slices, which Rust's aliasing rules forbid writing through). Its length
    /// is its capacity, so that it becomes a `Bytes` without an allocation (and a plain
    /// `Vec` rather than a `BytesMut`: fewer steps on each message's way out, measured).
    Fill(Vec<u8>),
}

impl Data {
    fn len(&self) -> usize {
        match self {
            Data::Shared(b) => b.len(),
            Data::Fill(b) => b.len(),
        }
    }

    /// The bytes, shared from now on (a `Fill` becomes `Shared` without a copy).
    fn share(&mut self) -> Bytes {
        if let Data::Fill(b) = self {
            *self = Data::Shared(Bytes::from(std::mem::take(b)));
        }
        match self {
            Data::Shared(b) => b.clone(),
            Data::Fill(_) => unreachable!("shared just above"),
        }
    }

    /// No bytes: an empty `Fill`, which, unlike an empty `Bytes`, is dropped without a call
    /// through a vtable (a sent message is closed empty, once per message).
    const EMPTY: Data = Data::Fill(Vec::new());

    /// The bytes, taken out (the message is left empty): a `Fill` becomes a `Bytes` over the
    /// same buffer, without a copy.
    fn take(&mut self) -> Bytes {
        match std::mem::replace(self, Data::EMPTY) {
            Data::Shared(b) => b,
            Data::Fill(v) => Bytes::from(v),
        }
    }

    /// Bytes that [`take`](Self::take) took, put back: a `Fill` again if they were one (the
    /// same buffer: a `Bytes` that nothing else refers to becomes a `Vec` without a copy).
    fn put_back(bytes: Bytes, was_fill: bool) -> Data {
        if !was_fill {
            return Data::Shared(bytes);
        }
        match bytes.try_into_mut() {
            Ok(b) => Data::Fill(Vec::from(b)),
            Err(b) => Data::Shared(b),
        }
    }

    /// Where the bytes are, for zmq_msg_data: writable while being filled.
    fn as_mut_ptr(&mut self) -> *mut u8 {
        match self {
            Data::Shared(b) => b.as_ptr().cast_mut(),
            Data::Fill(b) => b.as_mut_ptr(),
        }
    }
}

/// Boxed: the message has 8 bytes for it.
#[derive(Default, Clone)]
struct Extra {
    /// NUL-terminated copies of the property values zmq_msg_gets handed out, which must live
    /// as long as the message, by property name.
    gets: Vec<(String, CString)>,
    /// The draft API's routing id (zmq_msg_set_routing_id; 0: none) and group
    /// (zmq_msg_set_group). oxmq has none of the socket types that use them; they are kept
    /// with the message and copied with it.
    routing_id: u32,
    group: Option<CString>,
}

const _: () = assert!(size_of::<MsgRepr>() <= size_of::<zmq_msg_t>());
const _: () = assert!(align_of::<MsgRepr>() <= align_of::<zmq_msg_t>());
const _: () = assert!(size_of::<zmq_msg_t>() == 64);

impl MsgRepr {
    fn with(data: Data) -> MsgRepr {
        MsgRepr { tag: LIVE, more: false, shared: false, data, properties: None, extra: None }
    }
}

/// Is `msg` a pointer that may hold a message (non-NULL, aligned)?
fn usable(msg: *const zmq_msg_t) -> R<()> {
    if msg.is_null() || (msg as usize) % align_of::<zmq_msg_t>() != 0 {
        return Err(libc::EFAULT);
    }
    Ok(())
}

/// The tag of the message at `msg`, if it is live (`EFAULT` if not, or if `msg` is NULL or
/// misaligned).
///
/// # Safety
/// `msg` is NULL or points to 64 readable bytes.
unsafe fn check_live(msg: *const zmq_msg_t) -> R<()> {
    usable(msg)?;
    // SAFETY: `msg` is non-NULL and aligned, and points to at least 64 bytes (the caller's
    // contract); any bit pattern is a valid u32.
    let tag = unsafe { ptr::read(msg.cast::<u32>()) };
    if tag != LIVE {
        return Err(libc::EFAULT);
    }
    Ok(())
}

/// The live message at `msg` to read, or `EFAULT`.
///
/// # Safety
/// `msg` is NULL or points to 64 bytes of a `zmq_msg_t` no other thread changes meanwhile.
unsafe fn live_ref<'a>(msg: *const zmq_msg_t) -> R<&'a MsgRepr> {
    // SAFETY: the caller's contract.
    unsafe { check_live(msg) }?;
    // SAFETY: the tag says a MsgRepr was written here by `init` and not dropped since.
    Ok(unsafe { &*msg.cast::<MsgRepr>() })
}

/// The live message at `msg` to change, or `EFAULT`.
///
/// # Safety
/// `msg` is NULL or points to 64 writable bytes of a `zmq_msg_t` not used by another thread
/// meanwhile.
unsafe fn live<'a>(msg: *mut zmq_msg_t) -> R<&'a mut MsgRepr> {
    // SAFETY: the caller's contract.
    unsafe { check_live(msg) }?;
    // SAFETY: the tag says a MsgRepr was written here by `init` and not dropped since; the
    // caller's contract gives this call exclusive use of it.
    Ok(unsafe { &mut *msg.cast::<MsgRepr>() })
}

/// Make `msg` a live message holding `data`, whatever it held (like libzmq, which does not
/// close what was there).
///
/// # Safety
/// As [`live`].
unsafe fn init(msg: *mut zmq_msg_t, data: Data) -> R<&'static mut MsgRepr> {
    usable(msg)?;
    // SAFETY: non-NULL, aligned, 64 bytes (caller's contract), and MsgRepr fits in them
    // (asserted at compile time); the old contents are not dropped, as libzmq's init.
    unsafe { ptr::write(msg.cast::<MsgRepr>(), MsgRepr::with(data)) };
    // SAFETY: just written.
    Ok(unsafe { &mut *msg.cast::<MsgRepr>() })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_init(msg: *mut zmq_msg_t) -> c_int {
    guard(-1, || {
        // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
        unsafe { init(msg, Data::EMPTY) }?;
        Ok(0)
    })
}

/// A message of `size` bytes for the caller to fill through `zmq_msg_data`.
///
/// As libzmq's, the bytes are whatever the allocator hands back until the caller writes them
/// (see `unfilled`): a C program fills the message anyway, and zeroing it first nearly
/// halved the ABI's rate at large messages (`zmq_inproc_thr` at 64 KiB: BENCHMARKS.md, the
/// fifth session of 2026-12-06).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_init_size(msg: *mut zmq_msg_t, size: usize) -> c_int {
    guard(-1, || {
        usable(msg)?;
        // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
        unsafe { init(msg, Data::Fill(unfilled(size)?)) }?;
        Ok(0)
    })
}

/// `size` bytes in one allocation of exactly `size`, or `ENOMEM` as libzmq's when there is no
/// memory for them; their values are unspecified (whatever the allocator hands back), but
/// they are initialised bytes as far as Rust is concerned: the frame is later read as a
/// `&[u8]` (by the encoder, by `zmq_msg_copy`'s sharers) whether or not the caller wrote it.
///
/// How they become initialised without a memset: [`settle`]. Where it cannot be used (Miri,
/// which runs no `asm!`; architectures without stable `asm!`) they are zeroed instead.
/// Straight from the allocator, not `Vec::try_reserve_exact` and `resize` (three calls deep
/// before the allocator, then a memset: 200 instructions of a 64 B message's 975 on the sending
/// side, callgrind of libzmq's remote_thr on this library).
fn unfilled(size: usize) -> R<Vec<u8>> {
    if size == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(size).map_err(|_| libc::ENOMEM)?;
    #[cfg(all(oxmq_asm, not(miri)))]
    // SAFETY: `layout` has a non-zero size (checked above); `settle` gets the whole block.
    let p = unsafe {
        let p = std::alloc::alloc(layout);
        if !p.is_null() {
            settle(p, size);
        }
        p
    };
    #[cfg(not(all(oxmq_asm, not(miri))))]
    // SAFETY: `layout` has a non-zero size (checked above).
    let p = unsafe { std::alloc::alloc_zeroed(layout) };
    if p.is_null() {
        return Err(libc::ENOMEM);
    }
    // SAFETY: `p` was allocated by the global allocator with the layout of `size` bytes
    // (capacity `size`, align 1), and all `size` of them are initialised (`settle`, or zeroed).
    Ok(unsafe { Vec::from_raw_parts(p, size, size) })
}

/// Make the `len` bytes at `p`, fresh from the allocator, initialised bytes of unspecified
/// value without writing them all.
///
/// The story Rust's rules are told (and every caller must stay correct under): the empty
/// `asm!` block below may write any bytes through the pointer it is given, as any `asm!`
/// without `nomem` or `readonly` may; so after it the compiler must treat all `len` bytes as
/// written, with values it cannot know, which is what the code after it assumes (nothing reads
/// them expecting particular values). This is the "freeze by inline assembly" the Rust
/// project discusses for uninitialised buffers (rust-lang/rfcs#3605, and
/// unsafe-code-guidelines#527 on memory from outside). Its one known hole is memory whose
/// values the kernel may still change without a write, pages an allocator gave back with
/// `MADV_FREE` and has not touched since: one byte written per page first makes each page the
/// process's again, so the values read later are the values there now.
#[cfg(all(oxmq_asm, not(miri)))]
unsafe fn settle(p: *mut u8, len: usize) {
    const PAGE: usize = 4096;
    // Every page the block overlaps: its first byte, then each page boundary inside it.
    let mut at = PAGE - (p as usize) % PAGE;
    // SAFETY: offset 0 and every offset below `len` are inside the block.
    unsafe {
        p.write(0);
        while at < len {
            p.add(at).write(0);
            at += PAGE;
        }
        // SAFETY: an empty template (a comment) that reads the pointer operand and nothing
        // else; no stack use, no flags changed. See above for why it is here.
        std::arch::asm!("/* {0} */", in(reg) p, options(nostack, preserves_flags));
    }
}

/// The caller's buffer, released by its free function when the last frame referring to it is
/// dropped.
struct Foreign {
    data: *mut u8,
    len: usize,
    ffn: Option<unsafe extern "C" fn(*mut c_void, *mut c_void)>,
    hint: *mut c_void,
}

// SAFETY: libzmq's contract for zmq_msg_init_data: the buffer may be read from, and the free
// function called from, any thread.
unsafe impl Send for Foreign {}

impl AsRef<[u8]> for Foreign {
    fn as_ref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: zmq_msg_init_data's contract: `data` points to `len` bytes that stay valid
        // until the free function is called, which happens only in `drop`.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }
}

impl Drop for Foreign {
    fn drop(&mut self) {
        if let Some(ffn) = self.ffn {
            // SAFETY: the caller's free function, called once (Bytes drops its owner once),
            // with the data and hint it was given.
            unsafe { ffn(self.data.cast(), self.hint) };
        }
    }
}

/// A message over the caller's `size` bytes at `data`, without a copy: `ffn(data, hint)` is
/// called once, from whichever thread drops the last reference to it (never, if `ffn` is
/// NULL: the data is then constant).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_init_data(
    msg: *mut zmq_msg_t,
    data: *mut c_void,
    size: usize,
    ffn: Option<unsafe extern "C" fn(*mut c_void, *mut c_void)>,
    hint: *mut c_void,
) -> c_int {
    guard(-1, || {
        usable(msg)?;
        if data.is_null() && size > 0 {
            return Err(libc::EINVAL);
        }
        let constant = ffn.is_none();
        let bytes = Bytes::from_owner(Foreign { data: data.cast(), len: size, ffn, hint });
        // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
        let m = unsafe { init(msg, Data::Shared(bytes)) }?;
        m.shared = constant;
        Ok(0)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_close(msg: *mut zmq_msg_t) -> c_int {
    guard(-1, || {
        // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
        let m: *mut MsgRepr = unsafe { live(msg) }?;
        // SAFETY: live, so a MsgRepr is there; it is dropped once, field by field (what is
        // rarely there only when it is: a sent message, empty, is closed in a few
        // instructions), and the closed tag (a plain u32) written over its first field stops
        // any later use.
        unsafe {
            ptr::drop_in_place(&raw mut (*m).data);
            if (*m).properties.is_some() {
                ptr::drop_in_place(&raw mut (*m).properties);
            }
            if (*m).extra.is_some() {
                ptr::drop_in_place(&raw mut (*m).extra);
            }
            ptr::write(msg.cast::<u32>(), CLOSED);
        }
        Ok(0)
    })
}

/// Move `src`'s contents to `dest` (whose old contents are released); `src` becomes empty.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_move(dest: *mut zmq_msg_t, src: *mut zmq_msg_t) -> c_int {
    guard(-1, || {
        if ptr::eq(dest, src) {
            // SAFETY: zmq.h's contract: a zmq_msg_t.
            unsafe { live(src) }?;
            return Ok(0);
        }
        // SAFETY: zmq.h's contract: two distinct zmq_msg_t.
        let (d, s) = unsafe { (live(dest)?, live(src)?) };
        *d = std::mem::replace(s, MsgRepr::with(Data::EMPTY));
        Ok(0)
    })
}

/// Make `dest` share `src`'s contents (no copy of the data).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_copy(dest: *mut zmq_msg_t, src: *mut zmq_msg_t) -> c_int {
    guard(-1, || {
        if ptr::eq(dest, src) {
            // SAFETY: zmq.h's contract: a zmq_msg_t.
            unsafe { live(src) }?;
            return Ok(0);
        }
        // SAFETY: zmq.h's contract: two distinct zmq_msg_t.
        let (d, s) = unsafe { (live(dest)?, live(src)?) };
        s.shared = true;
        // The draft routing id and group go with the copy; the gets cache does not.
        let extra = s.extra.as_ref().filter(|e| e.routing_id != 0 || e.group.is_some());
        *d = MsgRepr {
            tag: LIVE,
            more: s.more,
            shared: true,
            data: Data::Shared(s.data.share()),
            properties: s.properties.clone(),
            extra: extra.map(|e| Box::new(Extra { gets: Vec::new(), ..(**e).clone() })),
        };
        Ok(0)
    })
}

/// The message's bytes (NULL with `EFAULT` for a message that is not live).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_data(msg: *mut zmq_msg_t) -> *mut c_void {
    guard(ptr::null_mut(), || {
        // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
        let m = unsafe { live(msg) }?;
        // C fills a message from zmq_msg_init_size through this pointer: until the message is
        // sent or copied its bytes are a Vec, whose pointer may be written through.
        Ok(m.data.as_mut_ptr().cast::<c_void>())
    })
}

/// The message's size (0 with `EFAULT` for a message that is not live).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_size(msg: *const zmq_msg_t) -> usize {
    // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
    guard(0, || Ok(unsafe { live_ref(msg) }?.data.len()))
}

/// Do more frames of the same message follow this received one? (0 with `EFAULT` for a
/// message that is not live.)
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_more(msg: *const zmq_msg_t) -> c_int {
    // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
    guard(0, || Ok(unsafe { live_ref(msg) }?.more as c_int))
}

/// ZMQ_MORE, ZMQ_SHARED, or ZMQ_SRCFD (always -1: oxmq does not expose descriptors).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_get(msg: *const zmq_msg_t, property: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
        let m = unsafe { live_ref(msg) }?;
        match property {
            ZMQ_MORE => Ok(m.more as c_int),
            ZMQ_SHARED => Ok(m.shared as c_int),
            ZMQ_SRCFD => Ok(-1),
            _ => Err(libc::EINVAL),
        }
    })
}

/// No property can be set (as libzmq): `EINVAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_set(msg: *mut zmq_msg_t, _property: c_int, _optval: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
        unsafe { live_ref(msg) }?;
        Err(libc::EINVAL)
    })
}

/// A property of the connection the message came over ("Socket-Type", "Peer-Address",
/// "User-Id", "Identity", "X-..."), NUL-terminated and valid while the message is; NULL with
/// `EINVAL` if it has none by that name.
///
/// The value is cached in the message (as libzmq keeps it in its metadata), so the message is
/// written despite the `const` in zmq.h's signature, as libzmq's: a Rust caller passes a
/// pointer that may write (from `&mut`, not `&`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_gets(msg: *const zmq_msg_t, property: *const c_char) -> *const c_char {
    guard(ptr::null(), || {
        // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t, which (as in libzmq) the call
        // may write to, `const` or not.
        let m = unsafe { live(msg.cast_mut()) }?;
        // SAFETY: zmq.h's contract: a NUL-terminated property name.
        let name = unsafe { c_str(property) }?;
        let value = m.properties.as_ref().and_then(|p| p.get(name)).ok_or(libc::EINVAL)?;
        let cache = &mut m.extra.get_or_insert_with(Default::default).gets;
        if let Some((_, v)) = cache.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Ok(v.as_ptr());
        }
        // A value with a NUL in it reads, in C, as the text before it.
        let text = value.split(|&b| b == 0).next().unwrap_or_default();
        let v = CString::new(text).map_err(|_| libc::EINVAL)?;
        let p = v.as_ptr();
        cache.push((name.to_string(), v));
        Ok(p)
    })
}

/// Send the message as one frame; on success it is left empty and its size returned, on
/// failure it is unchanged (the caller still owns it, same bytes at the same address: pyzmq
/// and C programs close or resend it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_send(msg: *mut zmq_msg_t, s: *mut c_void, flags: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
        let m = unsafe { live(msg) }?;
        let sock = socket::lookup(s)?;
        let len = m.data.len();
        let was_fill = matches!(m.data, Data::Fill(_));
        // The frame goes by move; every failure hands it back, and it goes back in the message.
        match send_frame(&sock, m.data.take(), flags) {
            Ok(()) => {
                // Empty again, as after zmq_msg_init (the bytes are already taken); what is
                // rarely there is dropped only when it is.
                m.more = false;
                m.shared = false;
                if m.properties.is_some() {
                    m.properties = None;
                }
                if m.extra.is_some() {
                    m.extra = None;
                }
                Ok(int_size(len))
            }
            Err((e, frame)) => {
                m.data = Data::put_back(frame, was_fill);
                Err(e)
            }
        }
    })
}

/// Receive one frame into the message; returns its size. What the message held is released
/// first: a receive that fails leaves it empty, as libzmq's does.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_msg_recv(msg: *mut zmq_msg_t, s: *mut c_void, flags: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
        let m = unsafe { live(msg) }?;
        let sock = socket::lookup(s)?;
        // The frame the message held goes first, as libzmq's receive closes the message before
        // it looks (and leaves it empty when nothing comes): a loop receiving into one message
        // must not keep the last frame alive while the next is read, or the read buffer it
        // was split from stays shared and every read that thread makes goes to a fresh
        // buffer (when a caller's reads grew the buffer by 8 KiB, that made four times the
        // reads at tcp 1 KiB).
        m.data = Data::EMPTY;
        m.more = false;
        m.shared = false;
        if m.extra.is_some() {
            m.extra = None;
        }
        // The message's properties stay if the frame came over the same connection as the one
        // it held (a loop receiving into one message): nothing counted, nothing dropped.
        let mut properties = m.properties.take();
        // On failure the message stays empty, properties and all (they were the last frame's).
        let (data, more) = socket::recv_frame(&sock, flags, Some(&mut properties))?.into_parts();
        let len = data.len();
        // Field by field, not a whole new MsgRepr (whose writing and dropping cost more).
        m.data = Data::Shared(data);
        m.more = more;
        m.properties = properties;
        Ok(int_size(len))
    })
}

/// The old name of `zmq_msg_send`, arguments in another order.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_sendmsg(s: *mut c_void, msg: *mut zmq_msg_t, flags: c_int) -> c_int {
    // SAFETY: the same contract.
    unsafe { zmq_msg_send(msg, s, flags) }
}

/// The old name of `zmq_msg_recv`, arguments in another order.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_recvmsg(s: *mut c_void, msg: *mut zmq_msg_t, flags: c_int) -> c_int {
    // SAFETY: the same contract.
    unsafe { zmq_msg_recv(msg, s, flags) }
}

/// The draft API's message calls (`--features draft`): routing id, group, and
/// `zmq_msg_init_buffer`.
#[cfg(feature = "draft")]
pub mod draft {
    use super::*;

    /// libzmq's longest group name.
    pub const ZMQ_GROUP_MAX_LENGTH: usize = 255;

    /// A message holding a copy of the `size` bytes at `buf`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn zmq_msg_init_buffer(msg: *mut zmq_msg_t, buf: *const c_void, size: usize) -> c_int {
        guard(-1, || {
            usable(msg)?;
            let data = if size == 0 {
                Bytes::new()
            } else if buf.is_null() {
                return Err(libc::EFAULT);
            } else {
                // SAFETY: zmq.h's contract: `buf` points to `size` readable bytes; copied.
                Bytes::copy_from_slice(unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), size) })
            };
            // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
            unsafe { init(msg, Data::Shared(data)) }?;
            Ok(0)
        })
    }

    /// Set the routing id SERVER and PEER sockets route by (`EINVAL` for 0, as libzmq).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn zmq_msg_set_routing_id(msg: *mut zmq_msg_t, routing_id: u32) -> c_int {
        guard(-1, || {
            // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
            let m = unsafe { live(msg) }?;
            if routing_id == 0 {
                return Err(libc::EINVAL);
            }
            m.extra.get_or_insert_with(Default::default).routing_id = routing_id;
            Ok(0)
        })
    }

    /// The message's routing id; 0 if it has none.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn zmq_msg_routing_id(msg: *mut zmq_msg_t) -> u32 {
        // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
        guard(0, || Ok(unsafe { live(msg) }?.extra.as_ref().map_or(0, |e| e.routing_id)))
    }

    /// Set the group RADIO sockets publish to (at most 255 bytes: `EINVAL` past that).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn zmq_msg_set_group(msg: *mut zmq_msg_t, group: *const c_char) -> c_int {
        guard(-1, || {
            // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
            let m = unsafe { live(msg) }?;
            if group.is_null() {
                return Err(libc::EINVAL);
            }
            // SAFETY: zmq.h's contract: a NUL-terminated group name.
            let group = unsafe { std::ffi::CStr::from_ptr(group) };
            if group.to_bytes().len() > ZMQ_GROUP_MAX_LENGTH {
                return Err(libc::EINVAL);
            }
            m.extra.get_or_insert_with(Default::default).group = Some(group.to_owned());
            Ok(0)
        })
    }

    /// The message's group, NUL-terminated and valid while the message is; "" if it has none.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn zmq_msg_group(msg: *mut zmq_msg_t) -> *const c_char {
        guard(ptr::null(), || {
            // SAFETY: zmq.h's contract: `msg` points to a zmq_msg_t.
            let m = unsafe { live(msg) }?;
            Ok(match m.extra.as_ref().and_then(|e| e.group.as_ref()) {
                Some(g) => g.as_ptr(),
                None => c"".as_ptr(),
            })
        })
    }
}

/// The tag checks and the ownership of a message's bytes, without sockets (so that Miri can
/// run them: `scripts/miri.sh ffi`).
#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn get_errno() -> c_int {
        crate::errno::get()
    }

    #[test]
    fn a_message_lives_from_init_to_close_and_is_refused_otherwise() {
        let mut m = zmq_msg_t::new();
        // SAFETY: a zmq_msg_t of ours, initialised before use except where refusal is tested.
        unsafe {
            // Never initialised (zeroed): refused, not read as a message.
            assert_eq!(zmq_msg_size(&m), 0);
            assert_eq!(get_errno(), libc::EFAULT);
            assert_eq!(zmq_msg_close(&mut m), -1);
            assert_eq!(zmq_msg_init_size(&mut m, 5), 0);
            assert_eq!(zmq_msg_size(&m), 5);
            // Filled through zmq_msg_data's pointer, as C does.
            let data = zmq_msg_data(&mut m).cast::<u8>();
            ptr::copy_nonoverlapping(b"hello".as_ptr(), data, 5);
            let mut copy = zmq_msg_t::new();
            assert_eq!(zmq_msg_init(&mut copy), 0);
            assert_eq!(zmq_msg_copy(&mut copy, &mut m), 0);
            assert_eq!(zmq_msg_get(&copy, ZMQ_SHARED), 1);
            assert_eq!(zmq_msg_data(&mut copy).cast::<u8>(), data, "shared, not copied");
            assert_eq!(std::slice::from_raw_parts(zmq_msg_data(&mut copy).cast::<u8>(), 5), b"hello");
            let mut moved = zmq_msg_t::new();
            assert_eq!(zmq_msg_init(&mut moved), 0);
            assert_eq!(zmq_msg_move(&mut moved, &mut m), 0);
            assert_eq!(zmq_msg_size(&m), 0, "moved from: empty, still live");
            assert_eq!(zmq_msg_size(&moved), 5);
            assert_eq!(zmq_msg_more(&moved), 0);
            assert_eq!(zmq_msg_get(&moved, 99), -1);
            assert_eq!(zmq_msg_set(&mut moved, ZMQ_MORE, 1), -1);
            assert!(zmq_msg_gets(&raw mut moved, c"User-Id".as_ptr()).is_null(), "no properties");
            for msg in [&mut m, &mut copy, &mut moved] {
                assert_eq!(zmq_msg_close(msg), 0);
                // Closed: closing again, or any use, is refused.
                assert_eq!(zmq_msg_close(msg), -1);
                assert!(zmq_msg_data(msg).is_null());
                assert_eq!(get_errno(), libc::EFAULT);
            }
            assert_eq!(zmq_msg_init(ptr::null_mut()), -1);
        }
    }

    #[cfg(feature = "draft")]
    #[test]
    fn draft_routing_id_and_group_live_and_die_with_the_message() {
        use super::draft::*;
        let (mut m, mut copy) = (zmq_msg_t::new(), zmq_msg_t::new());
        // SAFETY: messages of ours, initialised before use and closed once.
        unsafe {
            assert_eq!(zmq_msg_init_buffer(&mut m, b"abc".as_ptr().cast(), 3), 0);
            assert_eq!(zmq_msg_set_routing_id(&mut m, 9), 0);
            assert_eq!(zmq_msg_set_group(&mut m, c"first".as_ptr()), 0);
            // Replaced: the first group's text is freed, the new one kept.
            assert_eq!(zmq_msg_set_group(&mut m, c"second".as_ptr()), 0);
            assert_eq!(zmq_msg_init(&mut copy), 0);
            assert_eq!(zmq_msg_copy(&mut copy, &mut m), 0);
            assert_eq!(zmq_msg_close(&mut m), 0);
            assert_eq!(std::ffi::CStr::from_ptr(zmq_msg_group(&mut copy)).to_bytes(), b"second");
            assert_eq!(zmq_msg_routing_id(&mut copy), 9);
            assert_eq!(std::slice::from_raw_parts(zmq_msg_data(&mut copy).cast::<u8>(), 3), b"abc");
            assert_eq!(zmq_msg_close(&mut copy), 0);
        }
    }

    #[test]
    fn bytes_taken_for_a_send_come_back_as_the_same_buffer_writable_again() {
        let mut d = Data::Fill(vec![0; 4]);
        let p = d.as_mut_ptr();
        let b = d.take();
        assert!(matches!(&d, Data::Fill(e) if e.is_empty()), "taken: empty");
        assert_eq!(b.as_ptr(), p, "frozen, not copied");
        let mut d = Data::put_back(b, true);
        assert!(matches!(d, Data::Fill(_)), "a Fill again");
        assert_eq!(d.as_mut_ptr(), p);
        // SAFETY: the Fill's own buffer, 4 bytes, referred to by nothing else.
        unsafe { *d.as_mut_ptr() = 1 };
        assert_eq!(d.take()[..], [1, 0, 0, 0]);
        // A buffer something else still refers to comes back shared (not to be written).
        let b = Bytes::from(vec![0u8; 4]);
        let other = b.clone();
        assert!(matches!(Data::put_back(b, true), Data::Shared(_)));
        assert!(matches!(Data::put_back(other, false), Data::Shared(_)));
    }

    #[test]
    fn a_misaligned_message_pointer_is_refused() {
        let mut buf = [0u64; 9];
        // One byte in: not aligned as a zmq_msg_t.
        let p = buf.as_mut_ptr().cast::<u8>().wrapping_add(1).cast::<zmq_msg_t>();
        // SAFETY: refused before anything is read or written through it.
        assert_eq!(unsafe { zmq_msg_init(p) }, -1);
        assert_eq!(get_errno(), libc::EFAULT);
    }

    static FREED: AtomicUsize = AtomicUsize::new(0);

    /// Frees a `Box<[u8; 4]>` handed over as zero-copy data, counting the calls.
    unsafe extern "C" fn free_box(data: *mut c_void, hint: *mut c_void) {
        assert_eq!(hint as usize, 7);
        // SAFETY: the data is the Box this test leaked, freed once.
        drop(unsafe { Box::from_raw(data.cast::<[u8; 4]>()) });
        FREED.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn zero_copy_data_is_freed_once_when_the_last_copy_is_closed() {
        let data = Box::into_raw(Box::new(*b"abcd"));
        let (mut m, mut copy) = (zmq_msg_t::new(), zmq_msg_t::new());
        // SAFETY: messages of ours; the data stays valid until free_box is called.
        unsafe {
            assert_eq!(zmq_msg_init_data(&mut m, data.cast(), 4, Some(free_box), 7 as *mut c_void), 0);
            assert_eq!(zmq_msg_get(&m, ZMQ_SHARED), 0);
            assert_eq!(zmq_msg_init(&mut copy), 0);
            assert_eq!(zmq_msg_copy(&mut copy, &mut m), 0);
            assert_eq!(zmq_msg_close(&mut m), 0);
            assert_eq!(FREED.load(Ordering::SeqCst), 0, "the copy still refers to it");
            assert_eq!(zmq_msg_data(&mut copy).cast::<u8>(), data.cast::<u8>(), "no copy made");
            assert_eq!(zmq_msg_close(&mut copy), 0);
        }
        assert_eq!(FREED.load(Ordering::SeqCst), 1);
        // Constant data (no free function) is shared and never freed.
        let constant: &'static [u8] = b"const";
        let mut c = zmq_msg_t::new();
        // SAFETY: a static buffer, never written.
        unsafe {
            assert_eq!(zmq_msg_init_data(&mut c, constant.as_ptr() as *mut c_void, 5, None, ptr::null_mut()), 0);
            assert_eq!(zmq_msg_get(&c, ZMQ_SHARED), 1);
            assert_eq!(zmq_msg_close(&mut c), 0);
        }
    }
}
