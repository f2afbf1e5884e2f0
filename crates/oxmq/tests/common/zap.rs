//! A ZAP handler (RFC 27) for tests: a REP socket bound at `inproc://zeromq.zap.01`, answering
//! on a thread of its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use oxmq::{Bytes, Context, SocketType};

/// A ZAP handler (RFC 27) bound in `ctx`, answering each request with what `verdict` says of
/// its mechanism and credentials: `Ok(user_id)` admits, `Err(status)` refuses. Stops and
/// unbinds when dropped.
pub struct ZapHandler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Every request's frames, as the handler got them.
    pub seen: Arc<Mutex<Vec<Vec<Bytes>>>>,
}

impl ZapHandler {
    pub fn start(
        ctx: &Context,
        verdict: impl Fn(&str, &[Bytes]) -> Result<&'static str, &'static str> + Send + 'static,
    ) -> ZapHandler {
        let rep = ctx.socket(SocketType::Rep).unwrap();
        rep.bind("inproc://zeromq.zap.01").unwrap();
        rep.set_rcvtimeo(20).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop2, seen2) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                let Ok(req) = rep.recv_multipart() else { continue };
                seen2.lock().unwrap().push(req.clone());
                // version, request id, domain, address, identity, mechanism, credentials...
                let mechanism = String::from_utf8_lossy(&req[5]).into_owned();
                let (status, text, user) = match verdict(&mechanism, &req[6..]) {
                    Ok(user) => ("200", "OK", user),
                    Err(status) => (status, "refused", ""),
                };
                // An admission carries one property of the handler's, X-Zap: yes (ZMTP metadata:
                // name length, name, 4-byte value length, value).
                let metadata: &[u8] = if status == "200" { b"\x05X-Zap\x00\x00\x00\x03yes" } else { b"" };
                rep.send_multipart([
                    &req[0][..],
                    &req[1][..],
                    status.as_bytes(),
                    text.as_bytes(),
                    user.as_bytes(),
                    metadata,
                ])
                .unwrap();
            }
        });
        ZapHandler { stop, thread: Some(thread), seen }
    }

    /// Admits everyone, as user "anyone".
    pub fn admit_all(ctx: &Context) -> ZapHandler {
        ZapHandler::start(ctx, |_, _| Ok("anyone"))
    }
}

impl Drop for ZapHandler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}
