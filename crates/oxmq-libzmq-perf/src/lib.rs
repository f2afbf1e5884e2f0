//! Argument parsing and result printing for the libzmq perf tools: the very functions the oxmq
//! tools of `oxmq-cli` use, so both sides take libzmq's `perf/` arguments and print its lines
//! identically and pair across processes in either direction.

pub use oxmq_cli::{
    args, check_size, fail, number, pin_thread_from_env, print_lat_header, print_lat_result, print_thr_header,
    print_thr_result, time_receives, time_roundtrips,
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
