//! The pipeline's memory: VmRSS and VmHWM from /proc, a thread that samples VmRSS, and the
//! bound ([`MemoryBound`]) the peak must stay under.

use super::{SoakArgs, Transport};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// A field of /proc/self/status in KiB (VmRSS, VmHWM); 0 where there is no /proc.
pub(super) fn status_kib(field: &str) -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else { return 0 };
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The most memory the pipeline may use, and what it is made of.
///
/// Messages: every queue is bounded by its HWM, so at most
/// `Q = workers * (producer SNDHWM + worker RCVHWM + worker SNDHWM + sink RCVHWM) + workers + 1`
/// messages exist at once (the `+ workers + 1` are the ones in the workers' and the sink's
/// hands). Each costs at most `max_size + 16` bytes of frames plus `PER_MSG` of bookkeeping
/// (two `Msg`s in a queue, the header frame's allocation), and `FACTOR` covers a tcp/ipc
/// body pinning the rest of the 64 KiB read buffer it was decoded from and the allocator
/// keeping freed memory for reuse.
/// Connections: a tcp or ipc engine may hold one write batch (512 KiB) and a read buffer
/// (64 KiB, up to twice while the old one is still referenced) beyond its pipe: `PER_ENGINE`
/// each, and both ends of each of the `2 * workers` connections are in this process.
/// Slack: the runtime's and allocator's own growth once traffic starts (thread arenas).
/// All on top of the RSS measured just before the first message is sent.
pub(super) struct MemoryBound {
    pub(super) queued_msgs: u64,
    pub(super) bound_kib: u64,
}

const PER_MSG: u64 = 256;
const FACTOR: u64 = 2;
const PER_ENGINE_KIB: u64 = 1024;
const SLACK_KIB: u64 = 16 * 1024;

impl MemoryBound {
    pub(super) fn new(a: &SoakArgs, baseline_kib: u64) -> MemoryBound {
        let w = u64::from(a.workers);
        let hwms = [a.producer_sndhwm, a.worker_rcvhwm, a.worker_sndhwm, a.sink_rcvhwm];
        let queued_msgs = w * hwms.iter().map(|&h| u64::from(h)).sum::<u64>() + w + 1;
        let per_msg = a.max_size as u64 + 16 + PER_MSG;
        let engines = if a.transport == Transport::Inproc { 0 } else { 4 * w };
        let bound_kib =
            baseline_kib + (FACTOR * queued_msgs * per_msg).div_ceil(1024) + engines * PER_ENGINE_KIB + SLACK_KIB;
        MemoryBound { queued_msgs, bound_kib }
    }
}

/// Samples VmRSS every 50 ms on a thread of its own, keeping the largest value.
pub(super) struct Sampler {
    peak: Arc<AtomicU64>,
    last: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    pub(super) fn start() -> Sampler {
        let (peak, last, stop) =
            (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (p, l, s) = (peak.clone(), last.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Relaxed) {
                let rss = status_kib("VmRSS");
                l.store(rss, Relaxed);
                p.fetch_max(rss, Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Sampler { peak, last, stop, thread: Some(thread) }
    }
    pub(super) fn peak(&self) -> u64 {
        self.peak.load(Relaxed)
    }
    pub(super) fn last(&self) -> u64 {
        self.last.load(Relaxed)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
