//! ZMTP 3.1 heartbeats of one connection (HEARTBEAT_IVL, HEARTBEAT_TIMEOUT, HEARTBEAT_TTL).
//!
//! The ZMTP engine ([`super::zmtp`]) runs [`run`] as a third branch beside its read and write
//! loops, only when HEARTBEAT_IVL is set: it asks the writer for a PING every interval
//! ([`Owed`]) and ends the connection when the reader reports nothing received
//! ([`Liveness`]) within HEARTBEAT_TIMEOUT of one. The reader answers the peer's PINGs with
//! PONGs (through [`Owed`] too) and enforces their TTL on its next read itself, so that a
//! socket without heartbeats of its own has no timer at all.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::time::Instant;

use super::End;
use crate::options::Options;
use crate::signal::Signal;

/// What the writer owes the peer besides messages.
#[derive(Default)]
pub(crate) struct Owed {
    /// The context of the PONG owed to the peer: only the latest is kept, so a peer that floods
    /// PINGs and reads nothing costs no memory.
    pub pong: Option<Bytes>,
    /// A PING is due, with this TTL (deciseconds).
    pub ping: Option<u16>,
}

/// What the reader tells the heartbeat about the peer.
#[derive(Default)]
pub(crate) struct Liveness {
    /// Successful reads so far (written by the reader only).
    pub reads: AtomicU64,
    /// The reader waits for room in the socket's queue and reads nothing meanwhile: silence
    /// then says nothing about the peer.
    pub paused: AtomicBool,
}

/// A connection's heartbeat settings.
#[derive(Clone, Copy)]
pub(crate) struct Heartbeat {
    ivl: Duration,
    /// HEARTBEAT_TIMEOUT (HEARTBEAT_IVL when -1); `None` when 0 (PINGs only).
    timeout: Option<Duration>,
    /// HEARTBEAT_TTL in deciseconds, sent in each PING.
    ttl: u16,
}

impl Heartbeat {
    /// The settings for a connection to a peer of `peer_version`; `None` when HEARTBEAT_IVL
    /// is 0, or for a ZMTP 3.0 peer, which would not understand PING and PONG.
    pub fn new(o: &Options, peer_version: (u8, u8)) -> Option<Heartbeat> {
        if o.heartbeat_ivl <= 0 || peer_version < (3, 1) {
            return None;
        }
        let timeout = if o.heartbeat_timeout < 0 { o.heartbeat_ivl } else { o.heartbeat_timeout };
        Some(Heartbeat {
            ivl: Duration::from_millis(o.heartbeat_ivl as u64),
            timeout: (timeout > 0).then(|| Duration::from_millis(timeout as u64)),
            ttl: (o.heartbeat_ttl / 100).clamp(0, u16::MAX as i32) as u16,
        })
    }
}

/// Send a PING every HEARTBEAT_IVL (through `owed`, waking the writer on `signal`); end the
/// connection when nothing arrives within HEARTBEAT_TIMEOUT of a PING. As libzmq: the timeout
/// starts with a PING sent while none is pending, and anything received cancels it. Never
/// completes without heartbeats.
pub(crate) async fn run(hb: Option<Heartbeat>, alive: &Liveness, owed: &Mutex<Owed>, signal: &Signal) -> End {
    let Some(hb) = hb else { return std::future::pending().await };
    let mut next_ping = Instant::now() + hb.ivl;
    // The pending timeout: its deadline, and the read count when it started.
    let mut expect: Option<(Instant, u64)> = None;
    loop {
        let wake = expect.map_or(next_ping, |(deadline, _)| deadline.min(next_ping));
        tokio::time::sleep_until(wake).await;
        let now = Instant::now();
        if let Some((deadline, seen)) = expect {
            if alive.reads.load(Relaxed) != seen || alive.paused.load(Relaxed) {
                expect = None;
            } else if now >= deadline {
                return End::Disconnected(format!(
                    "nothing received within HEARTBEAT_TIMEOUT ({:?}) of a PING",
                    hb.timeout.unwrap_or_default()
                ));
            }
        }
        if now >= next_ping {
            owed.lock().ping = Some(hb.ttl);
            signal.notify();
            if let (None, Some(timeout)) = (expect, hb.timeout) {
                expect = Some((now + timeout, alive.reads.load(Relaxed)));
            }
            next_ping = now + hb.ivl;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(ivl: i32, timeout: i32, ttl: i32) -> Options {
        Options { heartbeat_ivl: ivl, heartbeat_timeout: timeout, heartbeat_ttl: ttl, ..Options::default() }
    }

    #[test]
    fn settings_follow_the_options() {
        assert!(Heartbeat::new(&opts(0, -1, 0), (3, 1)).is_none(), "off without HEARTBEAT_IVL");
        assert!(Heartbeat::new(&opts(100, -1, 0), (3, 0)).is_none(), "off for ZMTP 3.0 peers");
        let hb = Heartbeat::new(&opts(100, -1, 1500), (3, 1)).unwrap();
        assert_eq!((hb.ivl, hb.timeout, hb.ttl), (Duration::from_millis(100), Some(Duration::from_millis(100)), 15));
        let hb = Heartbeat::new(&opts(100, 0, 0), (3, 1)).unwrap();
        assert_eq!(hb.timeout, None, "HEARTBEAT_TIMEOUT 0: PINGs but no timeout");
    }

    /// Drive `run` on a paused clock: the first PING is due after one interval, and the
    /// connection ends one timeout later unless something is read.
    #[test]
    fn pings_every_interval_and_times_out_without_traffic() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        rt.block_on(async {
            let hb = Heartbeat::new(&opts(100, 250, 0), (3, 1));
            let (alive, owed, signal) = (Liveness::default(), Mutex::new(Owed::default()), Signal::new());
            let start = Instant::now();
            let end = run(hb, &alive, &owed, &signal).await;
            assert!(matches!(end, End::Disconnected(_)));
            // First PING at 100 ms arms the timeout; it expires at 350 ms.
            assert_eq!(start.elapsed(), Duration::from_millis(350));
            assert_eq!(owed.lock().ping, Some(0));
        });
    }

    #[test]
    fn reads_cancel_the_timeout() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        rt.block_on(async {
            let hb = Heartbeat::new(&opts(100, 150, 0), (3, 1));
            let (alive, owed, signal) = (Liveness::default(), Mutex::new(Owed::default()), Signal::new());
            let start = Instant::now();
            let reader = async {
                // Something arrives every 120 ms for 1 s, then nothing.
                for n in 1..=8 {
                    tokio::time::sleep(Duration::from_millis(120)).await;
                    alive.reads.store(n, Relaxed);
                }
                std::future::pending::<()>().await
            };
            tokio::select! {
                end = run(hb, &alive, &owed, &signal) => assert!(matches!(end, End::Disconnected(_))),
                () = reader => unreachable!(),
            }
            // The last read (960 ms) cancels the timeout armed at 900 ms; the PING at 1000 ms
            // arms one that expires at 1150 ms.
            assert_eq!(start.elapsed(), Duration::from_millis(1150));
        });
    }
}
