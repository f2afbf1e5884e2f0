//! Phase B, churn: one client after another connects to a ROUTER or a REP, does one request
//! and reply, and goes, while the RSS and the open descriptors are watched.

use super::memory::status_kib;
use super::report::{ChurnReport, mib};
use super::{Progress, SoakArgs, bound_socket};
use crate::cmd::{Exit, setup_err};
use oxmq::{Context, Error, Socket, SocketType};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Open file descriptors (entries of /proc/self/fd, less the one reading it).
fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64).saturating_sub(1)
}

/// Waits (at most 5 s) for the open descriptors to come down to `target`: a closed
/// connection's descriptor is closed by its engine a moment after the socket is. Returns the
/// count seen last.
fn settled_fds(target: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = open_fds();
        if n <= target || Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The default growth the churn's RSS may show from the warm-up to the end.
///
/// Measured on a loaded 2-core machine (glibc malloc, release build): over 100,000 cycles
/// the RSS went from 4648 KiB after 1000 warm-up cycles to 4680 KiB at the end (+32 KiB; the
/// 5000-cycle test in crates/oxmq/tests/load.rs sees +12 to +24 KiB). 2 MiB is far above
/// that noise and far below what a leak of a socket's or connection's state shows (hundreds
/// of bytes to kilobytes per cycle, i.e. tens of megabytes over 100,000 cycles); a long run
/// may pass a tighter `--rss-tolerance-kib`.
const DEFAULT_RSS_TOLERANCE_KIB: u64 = 2048;

/// Phase B.
pub(super) fn churn(a: &SoakArgs) -> Result<ChurnReport, Exit> {
    let ctx = Context::new();
    let tag = format!("oxmq-soak-{}", std::process::id());
    let dir = std::env::temp_dir();
    let router_ipc = format!("ipc://{}/{tag}-router.sock", dir.display());
    let rep_ipc = format!("ipc://{}/{tag}-rep.sock", dir.display());
    let server_opts = |s: &Socket| -> oxmq::Result<()> {
        s.set_rcvtimeo(100)?;
        s.set_sndtimeo(1000)?;
        s.set_linger(0)
    };
    let (router, router_tcp) = bound_socket(&ctx, SocketType::Router, "tcp://127.0.0.1:*", server_opts)?;
    router.bind(&router_ipc).map_err(setup_err(format_args!("cannot bind to {router_ipc:?}")))?;
    let (rep, rep_tcp) = bound_socket(&ctx, SocketType::Rep, "tcp://127.0.0.1:*", server_opts)?;
    rep.bind(&rep_ipc).map_err(setup_err(format_args!("cannot bind to {rep_ipc:?}")))?;
    let stop = Arc::new(AtomicBool::new(false));
    let servers: Vec<_> = [router, rep]
        .into_iter()
        .map(|s| {
            let stop = stop.clone();
            std::thread::spawn(move || -> Result<(), String> {
                while !stop.load(Relaxed) {
                    match s.recv_multipart() {
                        Ok(m) => match s.send_multipart(m) {
                            // A peer that is gone by now is not this server's failure; the
                            // client counts its missing reply.
                            Ok(()) | Err(Error::Again) | Err(Error::HostUnreachable) => {}
                            Err(e) => return Err(format!("{} server: send failed: {e}", s.socket_type())),
                        },
                        Err(Error::Again) => {}
                        Err(e) => return Err(format!("{} server: receive failed: {e}", s.socket_type())),
                    }
                }
                Ok(())
            })
        })
        .collect();

    let warmup = a.warmup.unwrap_or((a.cycles / 10).min(1000)).min(a.cycles);
    let tolerance = a.rss_tolerance_kib.unwrap_or(DEFAULT_RSS_TOLERANCE_KIB);
    let fds_start = open_fds();
    let rss_start = status_kib("VmRSS");
    let (mut rss_warmup, mut fds_warmup) = (rss_start, fds_start);
    let mut rss_max = rss_start;
    let mut fds_max = fds_start;
    let mut failed = 0u64;
    let mut first_failure = None;
    let mut progress = Progress::new(a.report_secs, a.cycles, "cycles");
    let start = Instant::now();
    for i in 0..a.cycles {
        if i == warmup && warmup > 0 {
            fds_warmup = settled_fds(fds_start);
            rss_warmup = status_kib("VmRSS");
        }
        // Four kinds in turn: DEALER/ROUTER and REQ/REP, each over tcp and ipc; and every
        // other pair of cycles disconnects before closing.
        let (ty, ep) = match i % 4 {
            0 => (SocketType::Dealer, &router_tcp),
            1 => (SocketType::Req, &rep_ipc),
            2 => (SocketType::Dealer, &router_ipc),
            _ => (SocketType::Req, &rep_tcp),
        };
        let disconnect = (i / 4) % 2 == 0;
        if let Err(e) = one_cycle(&ctx, ty, ep, i, disconnect) {
            failed += 1;
            first_failure.get_or_insert_with(|| format!("cycle {i} ({ty} to {ep}): {e}"));
        }
        if i % 64 == 0 {
            rss_max = rss_max.max(status_kib("VmRSS"));
            fds_max = fds_max.max(open_fds());
        }
        if progress.due() {
            progress.report(
                i,
                format!(
                    "oxmq soak: churn {:.0}s: cycle {i} of {}, failed {failed}, rss {} (after warm-up {}), fds {}",
                    start.elapsed().as_secs_f64(),
                    a.cycles,
                    mib(status_kib("VmRSS")),
                    mib(rss_warmup),
                    open_fds()
                ),
            );
        }
    }
    let elapsed = start.elapsed();
    let fds_end = settled_fds(fds_start);
    let rss_end = status_kib("VmRSS");
    rss_max = rss_max.max(rss_end);
    stop.store(true, Relaxed);
    let mut errors = Vec::new();
    for s in servers {
        errors.extend(s.join().map_err(|_| "a server panicked".to_string()).and_then(|r| r).err());
    }
    ctx.term();
    for ep in [&router_ipc, &rep_ipc] {
        let _ = std::fs::remove_file(ep.trim_start_matches("ipc://"));
    }
    if let Some(e) = errors.into_iter().next() {
        return Err(Exit::failed(e));
    }
    Ok(ChurnReport {
        cycles: a.cycles,
        warmup,
        failed,
        first_failure,
        elapsed,
        rss_start_kib: rss_start,
        rss_warmup_kib: rss_warmup,
        rss_end_kib: rss_end,
        rss_max_kib: rss_max,
        rss_tolerance_kib: tolerance,
        fds_start,
        fds_warmup,
        fds_end,
        fds_max,
    })
}

/// One client: connect, one request and its reply (5 s at most), then disconnect and close,
/// or just close.
fn one_cycle(ctx: &Context, ty: SocketType, ep: &str, i: u64, disconnect: bool) -> Result<(), String> {
    let s = ctx.socket(ty).map_err(|e| format!("socket: {e}"))?;
    s.set_rcvtimeo(5000).map_err(|e| e.to_string())?;
    s.set_sndtimeo(5000).map_err(|e| e.to_string())?;
    s.set_linger(0).map_err(|e| e.to_string())?;
    s.connect(ep).map_err(|e| format!("connect: {e}"))?;
    let body = i.to_le_bytes();
    let reply = if ty == SocketType::Dealer {
        // DEALER talks to the ROUTER with an empty delimiter, as REQ would.
        s.send_multipart([&b""[..], &body[..]]).map_err(|e| format!("send: {e}"))?;
        s.recv_multipart().map_err(|e| format!("no reply: {e}"))?
    } else {
        s.send(&body[..]).map_err(|e| format!("send: {e}"))?;
        s.recv_multipart().map_err(|e| format!("no reply: {e}"))?
    };
    let want: &[&[u8]] = if ty == SocketType::Dealer { &[b"", &body] } else { &[&body] };
    if reply.len() != want.len() || reply.iter().zip(want).any(|(r, w)| r.as_ref() != *w) {
        return Err(format!("wrong reply {reply:?}"));
    }
    if disconnect {
        s.disconnect(ep).map_err(|e| format!("disconnect: {e}"))?;
    }
    drop(s);
    Ok(())
}
