//! The timers of an established connection: our PINGs and their timeout, the
//! peer's PING TTL, and the reading-paused exemption.

use std::time::{Duration, Instant};

use super::config::Heartbeat;
use super::error::ConnectionError;

/// Heartbeat and TTL state. Inputs never read a clock: every instant comes
/// from the driver.
#[derive(Debug, Default)]
pub(super) struct Timers {
    /// Our heartbeat settings; `None` without HEARTBEAT_IVL or with a ZMTP
    /// 3.0 peer.
    heartbeat: Option<Heartbeat>,
    /// When the next PING is due.
    next_ping: Option<Instant>,
    /// The pending HEARTBEAT_TIMEOUT: fail at this instant unless something
    /// is received first.
    heartbeat_deadline: Option<Instant>,
    /// The running TTL of the peer's last PING: its length and deadline.
    peer_ttl: Option<(Duration, Instant)>,
    /// The driver stopped reading because the socket's queue is full.
    paused: bool,
    /// A PING is owed to the peer, with this TTL (deciseconds).
    pub(super) owed_ping: Option<u16>,
}

impl Timers {
    /// Starts our heartbeats (if any) at `now`, the end of the handshake.
    pub(super) fn start(&mut self, heartbeat: Option<Heartbeat>, now: Instant) {
        self.heartbeat = heartbeat;
        self.next_ping = heartbeat.map(|hb| now + hb.interval);
    }

    /// Something was received: it cancels the heartbeat timeout and the TTL.
    #[inline]
    pub(super) fn on_read(&mut self) {
        self.heartbeat_deadline = None;
        self.peer_ttl = None;
    }

    /// The peer's PING asked for a TTL of `ttl` deciseconds (0: none), in
    /// input processed at `now`. As the engine did: the TTL starts after the
    /// batch that held the PING, and any later read stops it.
    pub(super) fn on_peer_ping(&mut self, ttl: u16, now: Instant) {
        self.peer_ttl = (ttl > 0).then(|| {
            let ttl = Duration::from_millis(u64::from(ttl) * 100);
            (ttl, now + ttl)
        });
    }

    /// While paused, silence says nothing about the peer: the pending
    /// heartbeat timeout is dropped (the next PING after the pause arms a new
    /// one) and the peer's TTL is suspended, then restarted in full when
    /// reading resumes (a dead peer sends no further PING to re-arm it).
    pub(super) fn set_paused(&mut self, paused: bool, now: Instant) {
        if paused == self.paused {
            return;
        }
        self.paused = paused;
        if paused {
            self.heartbeat_deadline = None;
        } else if let Some((ttl, deadline)) = &mut self.peer_ttl {
            *deadline = now + *ttl;
        }
    }

    pub(super) fn paused(&self) -> bool {
        self.paused
    }

    /// The earliest instant at which [`Timers::on_timeout`] has work.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let liveness = if self.paused { None } else { min(self.heartbeat_deadline, self.peer_ttl.map(|(_, at)| at)) };
        min(self.next_ping, liveness)
    }

    /// Fails on an expired liveness deadline (not while paused); owes a PING
    /// when one is due, arming HEARTBEAT_TIMEOUT if none is pending.
    pub(super) fn on_timeout(&mut self, now: Instant) -> Result<(), ConnectionError> {
        if !self.paused {
            if let Some(at) = self.heartbeat_deadline
                && now >= at
            {
                let timeout = self.heartbeat.and_then(|hb| hb.timeout).unwrap_or_default();
                return Err(ConnectionError::HeartbeatTimeout(timeout));
            }
            if let Some((ttl, at)) = self.peer_ttl
                && now >= at
            {
                return Err(ConnectionError::PeerTtlExpired(ttl));
            }
        }
        if let (Some(hb), Some(at)) = (self.heartbeat, self.next_ping)
            && now >= at
        {
            self.owed_ping = Some(hb.ttl_deciseconds());
            if let (None, Some(timeout), false) = (self.heartbeat_deadline, hb.timeout, self.paused) {
                self.heartbeat_deadline = Some(now + timeout);
            }
            self.next_ping = Some(now + hb.interval);
        }
        Ok(())
    }
}

fn min(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
