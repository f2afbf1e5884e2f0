//! Argument parsing and result printing for the libzmq perf tools: the very functions the oxmq
//! tools of `oxmq-cli` use, so both sides take libzmq's `perf/` arguments and print its lines
//! identically and pair across processes in either direction.

pub use oxmq_cli::{
    PERF_PLAIN_USER, PerfSecurity, ZapThread, check_size, fail, number, perf_security, pin_thread_from_env,
    print_lat_header, print_lat_result, print_thr_header, print_thr_result, serve_zap, time_receives, time_roundtrips,
};

pub use oxmq_cli::{
    Pattern, RecvCounter, Role, SCALE_USAGE, SETUP_TIMEOUT, ScaleArgs, parse_vm_rss, print_conn_result, print_figure,
    raise_nofile_limit, settled_rss, vm_rss_kib,
};

/// The library `oxmq bench --abi` runs these tools on: `PERF_EXPECT_LIBZMQ=oxmq` asks that the
/// `libzmq.so.5` this process loaded be oxmq's (crates/oxmq-ffi), `libzmq` that it be anything
/// else; unset, nothing is checked. `LD_LIBRARY_PATH` picks the library, and one left over or
/// a missing file would otherwise measure libzmq under oxmq's name without a word.
pub const EXPECT_LIBZMQ_VAR: &str = "PERF_EXPECT_LIBZMQ";

/// Reads exactly `N` positional arguments, as `oxmq_cli::args`, after checking which
/// `libzmq.so.5` the process loaded (`PERF_EXPECT_LIBZMQ`, [`check_loaded_library`]).
pub fn args<const N: usize>(usage: &str) -> [String; N] {
    check_loaded_library();
    oxmq_cli::args::<N>(usage)
}

/// Exits 1 if the loaded libzmq is not the one `PERF_EXPECT_LIBZMQ` names: oxmq's library
/// exports `oxmq_ffi_version`, which no libzmq has.
pub fn check_loaded_library() {
    let Ok(want) = std::env::var(EXPECT_LIBZMQ_VAR) else { return };
    let oxmq = loaded_oxmq_version();
    let path = loaded_library_path().unwrap_or_else(|| "an unknown library".into());
    match (want.as_str(), oxmq) {
        ("oxmq", Some(v)) => eprintln!("libzmq ABI: {v} ({path})"),
        ("libzmq", None) => {}
        ("oxmq", None) => fail(
            "PERF_EXPECT_LIBZMQ=oxmq",
            format!("this process loaded {path}, which is not oxmq's libzmq.so.5 (no oxmq_ffi_version symbol)"),
        ),
        ("libzmq", Some(v)) => {
            fail("PERF_EXPECT_LIBZMQ=libzmq", format!("this process loaded oxmq's libzmq.so.5, {v} ({path})"))
        }
        (other, _) => fail("PERF_EXPECT_LIBZMQ", format!("{other:?}: expected oxmq or libzmq")),
    }
}

/// `oxmq_ffi_version()` of the loaded library, if it is oxmq's.
fn loaded_oxmq_version() -> Option<String> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only looks the symbol up.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"oxmq_ffi_version".as_ptr()) };
    if sym.is_null() {
        return None;
    }
    // SAFETY: oxmq-ffi exports `oxmq_ffi_version` as `extern "C" fn() -> *const c_char`,
    // returning a static NUL-terminated string.
    let f: extern "C" fn() -> *const std::os::raw::c_char = unsafe { std::mem::transmute(sym) };
    let p = f();
    if p.is_null() {
        return Some("?".into());
    }
    // SAFETY: a static NUL-terminated string (above).
    Some(unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// The file the process's `zmq_version` comes from.
fn loaded_library_path() -> Option<String> {
    // SAFETY: looking a symbol up by a NUL-terminated name.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"zmq_version".as_ptr()) };
    if sym.is_null() {
        return None;
    }
    // SAFETY: Dl_info is a plain C struct for which all-zero bytes is valid; dladdr fills it.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: sym is an address in a loaded object; info is a live out-parameter.
    if unsafe { libc::dladdr(sym, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr's file name is a NUL-terminated string owned by the loader.
    Some(unsafe { std::ffi::CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned())
}

/// `zmq_setsockopt` of an int option rust-zmq 0.9 has no setter for (e.g. ZMQ_XPUB_NODROP).
pub fn set_int_option(s: &mut zmq::Socket, option: u32, value: i32) -> Result<(), zmq::Error> {
    let opt = std::os::raw::c_int::try_from(option).map_err(|_| zmq::Error::EINVAL)?;
    // SAFETY: the socket pointer is live for the borrow; value points to a live c_int
    // whose size is passed along.
    let rc = unsafe {
        zmq_sys::zmq_setsockopt(
            s.as_mut_ptr(),
            opt,
            (&value as *const i32).cast::<std::os::raw::c_void>(),
            std::mem::size_of::<i32>(),
        )
    };
    if rc == 0 { Ok(()) } else { Err(zmq::Error::from_raw(unsafe { zmq_sys::zmq_errno() })) }
}

/// Watches a socket's ZMQ_EVENT_HANDSHAKE_SUCCEEDED events through `zmq_socket_monitor`.
pub struct HandshakeMonitor {
    pair: zmq::Socket,
}

impl HandshakeMonitor {
    /// Starts monitoring `s` (call before bind/connect).
    pub fn new(ctx: &zmq::Context, s: &zmq::Socket, name: &str) -> Result<HandshakeMonitor, zmq::Error> {
        let ep = format!("inproc://monitor-{name}");
        s.monitor(&ep, zmq::SocketEvent::HANDSHAKE_SUCCEEDED as i32)?;
        let pair = ctx.socket(zmq::PAIR)?;
        // RCVHWM 0 makes the inproc pipe from the monitor unbounded, so that no event is
        // dropped while thousands of handshakes complete.
        pair.set_rcvhwm(0)?;
        pair.connect(&ep)?;
        Ok(HandshakeMonitor { pair })
    }

    /// Waits up to `timeout` for the next event; true if it was a handshake success.
    pub fn next(&self, timeout: std::time::Duration) -> bool {
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        if self.pair.set_rcvtimeo(ms).is_err() {
            return false;
        }
        let Ok(frames) = self.pair.recv_multipart(0) else { return false };
        frames.first().and_then(|f| f.get(..2)).map(|b| u16::from_ne_bytes([b[0], b[1]]))
            == Some(zmq::SocketEvent::HANDSHAKE_SUCCEEDED as u16)
    }
}

/// Configures a libzmq socket of a perf tool for [`perf_security`] (`PERF_MECHANISM`), as
/// `oxmq_cli::secure_oxmq` does an oxmq one: `server` for the binding side. Returns the ZAP
/// handler a PLAIN server needs; keep it until the socket is closed.
pub fn secure(ctx: &zmq::Context, s: &zmq::Socket, server: bool) -> Option<ZapThread> {
    let check = |what: &str, r: Result<(), zmq::Error>| r.unwrap_or_else(|e| fail(what, e));
    match perf_security() {
        PerfSecurity::Null => None,
        PerfSecurity::Plain if server => {
            check("zmq_setsockopt(ZMQ_PLAIN_SERVER)", s.set_plain_server(true));
            let rep = ctx.socket(zmq::REP).unwrap_or_else(|e| fail("zmq_socket", e));
            check("zmq_setsockopt(ZMQ_LINGER)", rep.set_linger(0));
            check("zmq_setsockopt(ZMQ_RCVTIMEO)", rep.set_rcvtimeo(100));
            check("zmq_bind(zap)", rep.bind("inproc://zeromq.zap.01"));
            Some(ZapThread::spawn(move |stop| {
                serve_zap(
                    stop,
                    || rep.recv_multipart(0).ok(),
                    |reply| rep.send_multipart(reply, 0).unwrap_or_else(|e| fail("zmq_send(zap)", e)),
                )
            }))
        }
        PerfSecurity::Plain => {
            check("zmq_setsockopt(ZMQ_PLAIN_USERNAME)", s.set_plain_username(Some(PERF_PLAIN_USER.0)));
            check("zmq_setsockopt(ZMQ_PLAIN_PASSWORD)", s.set_plain_password(Some(PERF_PLAIN_USER.1)));
            None
        }
        PerfSecurity::Curve { server_public, server_secret } => {
            if server {
                check("zmq_setsockopt(ZMQ_CURVE_SERVER)", s.set_curve_server(true));
                check("zmq_setsockopt(ZMQ_CURVE_SECRETKEY)", s.set_curve_secretkey(server_secret.as_bytes()));
            } else {
                let pair = zmq::CurveKeyPair::new().unwrap_or_else(|e| fail("zmq_curve_keypair", e));
                check("zmq_setsockopt(ZMQ_CURVE_SERVERKEY)", s.set_curve_serverkey(server_public.as_bytes()));
                check("zmq_setsockopt(ZMQ_CURVE_PUBLICKEY)", s.set_curve_publickey(&pair.public_key));
                check("zmq_setsockopt(ZMQ_CURVE_SECRETKEY)", s.set_curve_secretkey(&pair.secret_key));
            }
            None
        }
    }
}
