//! Argument parsing and result printing for the libzmq perf tools: the very functions the oxmq
//! tools of `oxmq-cli` use, so both sides take libzmq's `perf/` arguments and print its lines
//! identically and pair across processes in either direction.

pub use oxmq_cli::{
    PERF_PLAIN_USER, PerfSecurity, ZapThread, args, check_size, fail, number, perf_security, pin_thread_from_env,
    print_lat_header, print_lat_result, print_thr_header, print_thr_result, serve_zap, time_receives, time_roundtrips,
};

pub use oxmq_cli::{
    Pattern, RecvCounter, Role, SCALE_USAGE, SETUP_TIMEOUT, ScaleArgs, parse_vm_rss, print_conn_result, print_figure,
    raise_nofile_limit, settled_rss, vm_rss_kib,
};

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
