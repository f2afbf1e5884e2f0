//! What the phases measured, the checks that judge it ([`verdict`]), and the summary as text
//! or JSON.

use super::Transport;
use std::fmt::Write as _;
use std::time::Duration;

/// What the pipeline phase measured.
pub(super) struct PipelineReport {
    pub(super) transport: Transport,
    pub(super) workers: u32,
    pub(super) sent: u64,
    pub(super) received: u64,
    pub(super) lost: u64,
    pub(super) duplicated: u64,
    pub(super) corrupt: u64,
    pub(super) stalls: u64,
    pub(super) body_bytes: u64,
    pub(super) elapsed: Duration,
    pub(super) rss_baseline_kib: u64,
    pub(super) rss_peak_sampled_kib: u64,
    pub(super) vm_hwm_kib: u64,
    pub(super) rss_bound_kib: u64,
    pub(super) queued_msgs_bound: u64,
    pub(super) bound_overridden: bool,
    pub(super) first_lost: Vec<u64>,
    /// Nothing reached the sink for --drain-timeout while the producer was still sending.
    pub(super) stuck: bool,
}

/// What the churn phase measured.
pub(super) struct ChurnReport {
    pub(super) cycles: u64,
    pub(super) warmup: u64,
    pub(super) failed: u64,
    pub(super) first_failure: Option<String>,
    pub(super) elapsed: Duration,
    pub(super) rss_start_kib: u64,
    pub(super) rss_warmup_kib: u64,
    pub(super) rss_end_kib: u64,
    pub(super) rss_max_kib: u64,
    pub(super) rss_tolerance_kib: u64,
    pub(super) fds_start: u64,
    pub(super) fds_warmup: u64,
    pub(super) fds_end: u64,
    pub(super) fds_max: u64,
}

pub(super) fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The checks; each failed one is a reason.
pub(super) fn verdict(p: Option<&PipelineReport>, c: Option<&ChurnReport>) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(p) = p {
        if p.stuck {
            reasons.push(format!(
                "pipeline: stuck, nothing arrived for the drain timeout after {} of {} messages",
                p.received, p.sent
            ));
        }
        if p.lost > 0 {
            reasons.push(format!("pipeline: {} of {} messages lost (the first: {:?})", p.lost, p.sent, p.first_lost));
        }
        if p.duplicated > 0 {
            reasons.push(format!("pipeline: {} messages duplicated", p.duplicated));
        }
        if p.corrupt > 0 {
            reasons.push(format!("pipeline: {} messages corrupt (bad header, length or checksum)", p.corrupt));
        }
        let peak = p.vm_hwm_kib.max(p.rss_peak_sampled_kib);
        if peak > p.rss_bound_kib {
            reasons.push(format!("pipeline: peak RSS {} over the bound {}", mib(peak), mib(p.rss_bound_kib)));
        }
    }
    if let Some(c) = c {
        if c.failed > 0 {
            reasons.push(format!(
                "churn: {} of {} cycles failed, first: {}",
                c.failed,
                c.cycles,
                c.first_failure.as_deref().unwrap_or("?")
            ));
        }
        if c.rss_end_kib > c.rss_warmup_kib + c.rss_tolerance_kib {
            reasons.push(format!(
                "churn: RSS grew from {} after warm-up to {} at the end (tolerance {} KiB)",
                mib(c.rss_warmup_kib),
                mib(c.rss_end_kib),
                c.rss_tolerance_kib
            ));
        }
        if c.fds_end > c.fds_start {
            reasons.push(format!(
                "churn: {} descriptors open at the end, {} before the first cycle",
                c.fds_end, c.fds_start
            ));
        }
    }
    reasons
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

pub(super) fn summary_json(
    seed: u64,
    p: Option<&PipelineReport>,
    c: Option<&ChurnReport>,
    reasons: &[String],
) -> String {
    let mut o = format!("{{\"ok\":{},\"seed\":{seed},\"reasons\":[", reasons.is_empty());
    o += &reasons.iter().map(|r| json_str(r)).collect::<Vec<_>>().join(",");
    o += "]";
    if let Some(p) = p {
        let secs = p.elapsed.as_secs_f64();
        let _ = write!(
            o,
            ",\"pipeline\":{{\"transport\":\"{}\",\"workers\":{},\"sent\":{},\"received\":{},\"lost\":{},\"duplicated\":{},\"corrupt\":{},\"stalls\":{},\"body_bytes\":{},\"elapsed_s\":{:.3},\"msgs_per_s\":{:.0},\"rss_baseline_kib\":{},\"rss_peak_sampled_kib\":{},\"vm_hwm_kib\":{},\"rss_bound_kib\":{},\"rss_bound_overridden\":{},\"queued_msgs_bound\":{},\"stuck\":{}}}",
            format!("{:?}", p.transport).to_lowercase(),
            p.workers,
            p.sent,
            p.received,
            p.lost,
            p.duplicated,
            p.corrupt,
            p.stalls,
            p.body_bytes,
            secs,
            p.received as f64 / secs.max(1e-9),
            p.rss_baseline_kib,
            p.rss_peak_sampled_kib,
            p.vm_hwm_kib,
            p.rss_bound_kib,
            p.bound_overridden,
            p.queued_msgs_bound,
            p.stuck
        );
    }
    if let Some(c) = c {
        let _ = write!(
            o,
            ",\"churn\":{{\"cycles\":{},\"warmup\":{},\"failed\":{},\"elapsed_s\":{:.3},\"rss_start_kib\":{},\"rss_warmup_kib\":{},\"rss_end_kib\":{},\"rss_max_kib\":{},\"rss_tolerance_kib\":{},\"fds_start\":{},\"fds_warmup\":{},\"fds_end\":{},\"fds_max\":{}}}",
            c.cycles,
            c.warmup,
            c.failed,
            c.elapsed.as_secs_f64(),
            c.rss_start_kib,
            c.rss_warmup_kib,
            c.rss_end_kib,
            c.rss_max_kib,
            c.rss_tolerance_kib,
            c.fds_start,
            c.fds_warmup,
            c.fds_end,
            c.fds_max
        );
    }
    o + "}"
}

pub(super) fn summary_text(
    seed: u64,
    p: Option<&PipelineReport>,
    c: Option<&ChurnReport>,
    reasons: &[String],
) -> String {
    let mut o = String::new();
    if let Some(p) = p {
        let secs = p.elapsed.as_secs_f64();
        let _ = writeln!(
            o,
            "pipeline ({}, {} workers): sent {}, received {}, lost {}, duplicated {}, corrupt {}\n  \
             {:.1} s, {:.0} msgs/s, {:.1} MB of bodies, {} stalls\n  \
             RSS before traffic {}, peak {} (VmHWM {}), bound {}{} (queues hold at most {} messages)",
            format!("{:?}", p.transport).to_lowercase(),
            p.workers,
            p.sent,
            p.received,
            p.lost,
            p.duplicated,
            p.corrupt,
            secs,
            p.received as f64 / secs.max(1e-9),
            p.body_bytes as f64 / 1e6,
            p.stalls,
            mib(p.rss_baseline_kib),
            mib(p.rss_peak_sampled_kib),
            mib(p.vm_hwm_kib),
            mib(p.rss_bound_kib),
            if p.bound_overridden { " (--rss-bound-mib)" } else { "" },
            p.queued_msgs_bound,
        );
    }
    if let Some(c) = c {
        let _ = writeln!(
            o,
            "churn: {} connect/disconnect cycles in {:.1} s, {} failed\n  \
             RSS at start {}, after {} warm-up cycles {}, at the end {}, largest {} (tolerance {} KiB)\n  \
             fds at start {}, after warm-up {}, at the end {}, most {}",
            c.cycles,
            c.elapsed.as_secs_f64(),
            c.failed,
            mib(c.rss_start_kib),
            c.warmup,
            mib(c.rss_warmup_kib),
            mib(c.rss_end_kib),
            mib(c.rss_max_kib),
            c.rss_tolerance_kib,
            c.fds_start,
            c.fds_warmup,
            c.fds_end,
            c.fds_max,
        );
    }
    let _ = write!(o, "seed {seed}: ");
    if reasons.is_empty() {
        o += "OK";
    } else {
        o += "FAILED\n  ";
        o += &reasons.join("\n  ");
    }
    o
}
