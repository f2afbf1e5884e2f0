//! Phase A, the pipeline: a PUSH producer, the workers (PULL in, PUSH out) and a PULL sink,
//! each on a thread of its own and pausing at random, and the sink's loop that accounts for
//! every message while the RSS is sampled.

use super::memory::{MemoryBound, Sampler, status_kib};
use super::messages::{Window, check, header};
use super::report::{PipelineReport, mib};
use super::{Progress, SoakArgs, Transport, bound_socket};
use crate::cmd::{Exit, setup_err};
use oxmq::{Bytes, Context, Error, Socket, SocketType};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};
use std::time::{Duration, Instant};

/// xorshift64*: enough randomness for sizes and pauses, and repeatable from `--seed`.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // Spread the seed (splitmix64) so that small and related seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo { lo } else { lo + self.next() % (hi - lo + 1) }
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// Sleeps a random while with probability `p`; returns whether it did.
fn maybe_stall(rng: &mut Rng, p: f64, max_ms: u64) -> bool {
    if max_ms == 0 || !rng.chance(p) {
        return false;
    }
    std::thread::sleep(Duration::from_micros(rng.range(100, max_ms * 1000)));
    true
}

fn endpoints(t: Transport) -> [String; 2] {
    let tag = format!("oxmq-soak-{}", std::process::id());
    match t {
        Transport::Tcp => ["tcp://127.0.0.1:*".into(), "tcp://127.0.0.1:*".into()],
        Transport::Ipc => {
            let dir = std::env::temp_dir();
            [format!("ipc://{}/{tag}-front.sock", dir.display()), format!("ipc://{}/{tag}-back.sock", dir.display())]
        }
        Transport::Inproc => [format!("inproc://{tag}-front"), format!("inproc://{tag}-back")],
    }
}

/// How far the producer has got, as the sink reads it. The producer always leaves DONE or
/// FAILED behind (FAILED also when it panics), so the sink never has to guess from the
/// thread having ended: a thread that has just said DONE and returned is not a failure.
const RUNNING: u8 = 0;
const DONE: u8 = 1;
const FAILED: u8 = 2;

/// Sets the producer's state to FAILED if it is still RUNNING when the thread unwinds.
struct FailedUnlessDone(Arc<AtomicU8>);

impl Drop for FailedUnlessDone {
    fn drop(&mut self) {
        let _ = self.0.compare_exchange(RUNNING, FAILED, Release, Relaxed);
    }
}

/// Phase A.
pub(super) fn pipeline(a: &SoakArgs, seed: u64) -> Result<PipelineReport, Exit> {
    let ctx = Context::new();
    let [front, back] = endpoints(a.transport);
    let (sink, back) = bound_socket(&ctx, SocketType::Pull, &back, |s| {
        s.set_rcvhwm(a.sink_rcvhwm as i32)?;
        s.set_rcvtimeo(100)?;
        s.set_linger(0)
    })?;
    let (producer, front) = bound_socket(&ctx, SocketType::Push, &front, |s| {
        s.set_sndhwm(a.producer_sndhwm as i32)?;
        s.set_sndtimeo(100)?;
        s.set_linger(0)
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let stalls = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for i in 0..a.workers {
        let pull = ctx.socket(SocketType::Pull).map_err(setup_err("cannot create a PULL socket"))?;
        let push = ctx.socket(SocketType::Push).map_err(setup_err("cannot create a PUSH socket"))?;
        (|| {
            pull.set_rcvhwm(a.worker_rcvhwm as i32)?;
            pull.set_rcvtimeo(100)?;
            pull.set_linger(0)?;
            push.set_sndhwm(a.worker_sndhwm as i32)?;
            push.set_sndtimeo(100)?;
            push.set_linger(0)?;
            pull.connect(&front)?;
            push.connect(&back)
        })()
        .map_err(setup_err(format_args!("cannot set up worker {i}")))?;
        let (stop, stalls) = (stop.clone(), stalls.clone());
        let (p, ms) = (a.stall_prob, a.stall_ms);
        let mut rng = Rng::new(seed ^ (u64::from(i) + 1).wrapping_mul(0x1000_0000_01B3));
        workers.push(std::thread::spawn(move || -> Result<(), String> {
            while !stop.load(Relaxed) {
                let frames = match pull.recv_multipart() {
                    Ok(f) => f,
                    Err(Error::Again) => continue,
                    Err(e) => return Err(format!("worker {i}: receive failed: {e}")),
                };
                if maybe_stall(&mut rng, p, ms) {
                    stalls.fetch_add(1, Relaxed);
                }
                loop {
                    match push.send_multipart(frames.iter().cloned()) {
                        Ok(()) => break,
                        Err(Error::Again) if !stop.load(Relaxed) => continue,
                        Err(Error::Again) => return Ok(()),
                        Err(e) => return Err(format!("worker {i}: send failed: {e}")),
                    }
                }
            }
            Ok(())
        }));
    }

    // Random bodies are slices of one pool (no per-message fill); sizes and offsets vary.
    let mut rng = Rng::new(seed);
    let pool_len = (1 << 20) + a.max_size;
    let pool: Bytes = (0..pool_len).map(|_| rng.next() as u8).collect::<Vec<u8>>().into();
    let mut window = Window::new();
    let sent = Arc::new(AtomicU64::new(0));
    let state = Arc::new(AtomicU8::new(RUNNING));
    let sampler = Sampler::start();
    let baseline_kib = status_kib("VmRSS");
    let computed = MemoryBound::new(a, baseline_kib);
    let bound_kib = a.rss_bound_mib.map_or(computed.bound_kib, |m| (m * 1024.0) as u64);

    let start = Instant::now();
    let count = a.messages.or(if a.duration.is_some() { None } else { Some(1_000_000) });
    let deadline = a.duration.map(|d| start + d);
    let (min, max) = (a.min_size as u64, a.max_size as u64);
    let body_bytes = Arc::new(AtomicU64::new(0));
    let producer_thread = {
        let (sent, state, stop, body_bytes) = (sent.clone(), state.clone(), stop.clone(), body_bytes.clone());
        let mut rng = rng.clone();
        // The thread hands its socket back: closing it here would drop what is still queued
        // (LINGER 0) before the sink has it.
        std::thread::spawn(move || -> (Result<(), String>, Socket) {
            let _on_panic = FailedUnlessDone(state.clone());
            let mut seq = 0u64;
            let mut bytes = 0u64;
            let result = 'send: loop {
                if count.is_some_and(|n| seq >= n) || (seq % 1024 == 0 && deadline.is_some_and(|d| Instant::now() >= d))
                {
                    break Ok(());
                }
                let len = rng.range(min, max) as usize;
                let off = rng.range(0, (pool.len() - len) as u64) as usize;
                let body = pool.slice(off..off + len);
                let head = Bytes::copy_from_slice(&header(seq, &body));
                loop {
                    match producer.send_multipart([head.clone(), body.clone()]) {
                        Ok(()) => break,
                        Err(Error::Again) if !stop.load(Relaxed) => continue,
                        Err(Error::Again) => break 'send Err("stopped while sending".into()),
                        Err(e) => break 'send Err(format!("producer: send failed: {e}")),
                    }
                }
                seq += 1;
                bytes += len as u64;
                if seq % 256 == 0 {
                    sent.store(seq, Relaxed);
                    body_bytes.store(bytes, Relaxed);
                }
            };
            sent.store(seq, Relaxed);
            body_bytes.store(bytes, Relaxed);
            state.store(if result.is_ok() { DONE } else { FAILED }, Release);
            (result, producer)
        })
    };

    let mut sink_rng = Rng::new(seed ^ 0x5EED_51C4);
    let mut corrupt = 0u64;
    // The bar counts messages received, or seconds with --duration.
    let (len, unit) = match (a.messages, a.duration) {
        (Some(n), _) => (n, "messages"),
        (None, Some(d)) => (d.as_secs(), "s"),
        (None, None) => (0, "messages"),
    };
    let mut progress = Progress::new(a.report_secs, len, unit);
    let mut last_arrival = Instant::now();
    let mut failure = None;
    let mut stuck = false;
    loop {
        match sink.recv_multipart() {
            Ok(frames) => {
                last_arrival = Instant::now();
                match check(&frames) {
                    Some(seq) => window.record(seq),
                    None => corrupt += 1,
                }
                if maybe_stall(&mut sink_rng, a.stall_prob, a.stall_ms) {
                    stalls.fetch_add(1, Relaxed);
                }
            }
            Err(Error::Again) => {}
            Err(e) => {
                failure = Some(format!("sink: receive failed: {e}"));
                break;
            }
        }
        match state.load(Acquire) {
            DONE => {
                let total = sent.load(Relaxed);
                if window.base() >= total || last_arrival.elapsed() >= a.drain_timeout {
                    break;
                }
            }
            // Its error (or panic) is collected below.
            FAILED => break,
            _ if last_arrival.elapsed() >= a.drain_timeout => {
                // The producer is still trying, and nothing gets through.
                stuck = true;
                break;
            }
            _ => {}
        }
        if progress.due() {
            let secs = start.elapsed().as_secs_f64();
            let pos = if a.messages.is_some() { window.received } else { secs as u64 };
            progress.report(pos, format!(
                "oxmq soak: pipeline {secs:.0}s: sent {}, received {} ({:.0}/s), lost {}, duplicated {}, corrupt {corrupt}, rss {} (peak {}, bound {})",
                sent.load(Relaxed),
                window.received,
                window.received as f64 / secs,
                window.lost,
                window.duplicated,
                mib(sampler.last()),
                mib(sampler.peak()),
                mib(bound_kib),
            ));
        }
    }
    let elapsed = start.elapsed();
    stop.store(true, Relaxed);
    let mut errors: Vec<String> = failure.into_iter().collect();
    let producer = producer_thread.join().map_err(|_| "producer panicked".to_string());
    let producer = match producer {
        Ok((result, socket)) => {
            errors.extend(result.err());
            Some(socket)
        }
        Err(e) => {
            errors.push(e);
            None
        }
    };
    for w in workers {
        errors.extend(w.join().map_err(|_| "a worker panicked".to_string()).and_then(|r| r).err());
    }
    let total = sent.load(Relaxed);
    window.finish(total);
    let vm_hwm_kib = status_kib("VmHWM");
    let rss_peak_sampled_kib = sampler.peak();
    drop(sampler);
    drop((sink, producer));
    ctx.term();
    if let Some(e) = errors.into_iter().next() {
        return Err(Exit::failed(e));
    }
    if a.transport == Transport::Ipc {
        for ep in [&front, &back] {
            let _ = std::fs::remove_file(ep.trim_start_matches("ipc://"));
        }
    }
    Ok(PipelineReport {
        transport: a.transport,
        workers: a.workers,
        sent: total,
        received: window.received,
        lost: window.lost,
        duplicated: window.duplicated,
        corrupt,
        stalls: stalls.load(Relaxed),
        body_bytes: body_bytes.load(Relaxed),
        elapsed,
        rss_baseline_kib: baseline_kib,
        rss_peak_sampled_kib,
        vm_hwm_kib,
        rss_bound_kib: bound_kib,
        queued_msgs_bound: computed.queued_msgs,
        bound_overridden: a.rss_bound_mib.is_some(),
        stuck,
        first_lost: window.first_lost.clone(),
    })
}
