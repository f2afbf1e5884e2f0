//! What the runs measured: the samples of each workload and variant, their medians, spread
//! and CPU cost per million, and oxmq's figures of them for the baseline.

use super::Kind;
use super::baseline;
use super::plan::Workload;
use std::time::Duration;

/// One successful run.
#[derive(Debug, Clone)]
pub(super) struct Sample {
    /// msg/s for throughput, one-way µs for latency.
    pub(super) value: f64,
    /// user+sys seconds of all processes of the run.
    pub(super) cpu: f64,
    /// A second figure of the run: the sender's RSS growth in KiB for hwm.
    pub(super) extra: Option<f64>,
    /// Set when the run measured fine but something went wrong around it.
    pub(super) note: Option<String>,
}

#[derive(Debug, Default)]
pub(super) struct Cell {
    pub(super) samples: Vec<Sample>,
    pub(super) failures: Vec<String>,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

pub(super) type Results = Vec<(Workload, Vec<Cell>)>;

/// oxmq's figures of a run, named for the baseline: medians of every workload.
pub(super) fn oxmq_figures(results: &Results) -> Vec<baseline::Figure> {
    let mut v = Vec::new();
    for (w, cells) in results {
        if w.shared() {
            continue;
        }
        let Some(cell) = cells.first() else { continue };
        let s = summarize(cell, w.count);
        let label = w.label();
        let mut push = |what: &str, value: Option<f64>, higher_is_better: bool| {
            if let Some(value) = value {
                v.push(baseline::Figure { name: format!("{label} {what}"), value, higher_is_better });
            }
        };
        match w.kind {
            Kind::Lat => {
                push("us", s.value, false);
                push("cpu s/1M", s.cpu_per_m, false);
            }
            Kind::Hwm => {
                let mut rss: Vec<f64> = cell.samples.iter().filter_map(|s| s.extra).collect();
                push("sender rss KiB", median(&mut rss), false);
            }
            Kind::Conns | Kind::Subs => push("KiB/conn", s.value, false),
            _ => {
                push("msg/s", s.value, true);
                push("cpu s/1M", s.cpu_per_m, false);
            }
        }
    }
    v
}

/// Wall time spent on each kind of workload.
pub(super) type Durations = Vec<(Kind, Duration)>;

pub(super) struct Summary {
    pub(super) value: Option<f64>,
    pub(super) spread: Option<f64>,
    pub(super) cpu_per_m: Option<f64>,
}

pub(super) fn summarize(cell: &Cell, count: usize) -> Summary {
    let mut values: Vec<f64> = cell.samples.iter().map(|s| s.value).collect();
    let mut cpus: Vec<f64> = cell.samples.iter().map(|s| s.cpu / count as f64 * 1e6).collect();
    let value = median(&mut values);
    let spread = match (value, values.first(), values.last()) {
        (Some(m), Some(lo), Some(hi)) if values.len() > 1 && m > 0.0 => Some((hi - lo) / 2.0 / m * 100.0),
        _ => None,
    };
    Summary { value, spread, cpu_per_m: median(&mut cpus) }
}

pub(super) fn median_of(cell: &Cell, f: impl Fn(&Sample) -> Option<f64>) -> Option<f64> {
    let mut v: Vec<f64> = cell.samples.iter().filter_map(f).collect();
    median(&mut v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Transport;
    use crate::bench::plan::{HWM, RAW_CHUNK};

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    fn cell(values: &[(f64, f64)]) -> Cell {
        Cell {
            samples: values
                .iter()
                .map(|&(value, cpu)| Sample { value, cpu, extra: Some(value / 10.0), note: None })
                .collect(),
            failures: Vec::new(),
        }
    }

    #[test]
    fn summaries_are_medians_with_spread_and_cpu_per_million() {
        let s = summarize(&cell(&[(100.0, 2.0), (300.0, 4.0), (200.0, 3.0)]), 2_000_000);
        assert_eq!(s.value, Some(200.0));
        assert_eq!(s.spread, Some(50.0));
        assert_eq!(s.cpu_per_m, Some(1.5));
        let s = summarize(&cell(&[]), 1000);
        assert_eq!((s.value, s.spread, s.cpu_per_m), (None, None, None));
        assert_eq!(median_of(&cell(&[(10.0, 0.0), (30.0, 0.0)]), |s| s.extra), Some(2.0));
    }

    #[test]
    fn baseline_figures_name_workloads_and_directions() {
        let mut thr = Workload::new(Kind::Thr, Transport::Tcp, 64, 1_000_000);
        thr.count = 1_000_000;
        let hwm = Workload::new(Kind::Hwm, Transport::Tcp, 64, HWM);
        let raw = Workload::new(Kind::Raw, Transport::Tcp, RAW_CHUNK, 100);
        let conns = Workload::new(Kind::Conns, Transport::Tcp, 0, 10);
        let results: Results = vec![
            (thr, vec![cell(&[(5e6, 1.0)]), cell(&[(4e6, 1.0)])]),
            (hwm, vec![cell(&[(2000.0, 0.0)])]),
            (raw, vec![cell(&[(2000.0, 1.0)])]),
            (conns, vec![cell(&[(12.5, 0.0)])]),
        ];
        let figs = oxmq_figures(&results);
        let names: Vec<(&str, f64, bool)> =
            figs.iter().map(|f| (f.name.as_str(), f.value, f.higher_is_better)).collect();
        assert_eq!(
            names,
            [
                ("thr tcp 64 B msg/s", 5e6, true),
                ("thr tcp 64 B cpu s/1M", 1.0, false),
                ("hwm tcp 64 B sender rss KiB", 200.0, false),
                ("conns 10 KiB/conn", 12.5, false),
            ]
        );
    }
}
