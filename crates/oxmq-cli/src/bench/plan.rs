//! What a run measures: the workloads (kind, transport, size, count) chosen from the options,
//! the implementations that run each side (`Variant`), and the `Plan` that holds them with
//! the tool directories, pinning and timeout.

use super::units::fmt_size;
use super::{BenchArgs, Kind, Mech, Peer, Transport};
use oxmq_cli::Pattern;
use std::path::PathBuf;
use std::time::Duration;

pub(super) fn pattern_name(p: Pattern) -> &'static str {
    match p {
        Pattern::Push => "push",
        Pattern::Pub => "pub",
        Pattern::Router => "router",
    }
}

/// The chunk size of the raw-TCP runs.
pub(super) const RAW_CHUNK: usize = 1 << 20;
/// SNDHWM and RCVHWM of the hwm runs.
pub(super) const HWM: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Impl {
    Oxmq,
    Libzmq,
    /// libzmq's tools (`zmq_*`) on oxmq's `libzmq.so.5` (crates/oxmq-ffi): `--abi`.
    OxmqAbi,
    /// The other Rust implementations (`--peers`, crates/oxmq-peers-perf).
    Omq,
    Zeromq,
    Rzmq,
    Monocoque,
}

impl Impl {
    pub(super) fn name(self) -> &'static str {
        match self {
            Impl::Oxmq => "oxmq",
            Impl::Libzmq => "libzmq",
            Impl::OxmqAbi => "oxmq (libzmq ABI)",
            Impl::Omq => "omq.rs",
            Impl::Zeromq => "zmq.rs",
            Impl::Rzmq => "rzmq",
            Impl::Monocoque => "monocoque",
        }
    }
    pub(super) fn peer(p: Peer) -> Impl {
        match p {
            Peer::Omq => Impl::Omq,
            Peer::Zeromq => Impl::Zeromq,
            Peer::Rzmq => Impl::Rzmq,
            Peer::Monocoque => Impl::Monocoque,
        }
    }
    /// Whether this is one of the other Rust implementations (`--peers`).
    pub(super) fn is_peer(self) -> bool {
        matches!(self, Impl::Omq | Impl::Zeromq | Impl::Rzmq | Impl::Monocoque)
    }
    pub(super) fn prefix(self) -> &'static str {
        match self {
            Impl::Oxmq => "",
            Impl::Libzmq | Impl::OxmqAbi => "zmq_",
            Impl::Omq => "omq_",
            Impl::Zeromq => "zeromqrs_",
            Impl::Rzmq => "rzmq_",
            Impl::Monocoque => "monocoque_",
        }
    }
}

/// Which implementation runs each side: the binder (`local_*`, or the whole
/// inproc tool) and the connecter (`remote_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Variant {
    pub(super) local: Impl,
    pub(super) remote: Impl,
}

impl Variant {
    pub(super) const OXMQ: Variant = Variant { local: Impl::Oxmq, remote: Impl::Oxmq };
    pub(super) const LIBZMQ: Variant = Variant { local: Impl::Libzmq, remote: Impl::Libzmq };
    pub(super) const ABI: Variant = Variant { local: Impl::OxmqAbi, remote: Impl::OxmqAbi };

    fn name(self) -> String {
        if self.local == self.remote {
            self.local.name().to_string()
        } else {
            format!("{}+{}", self.local.name(), self.remote.name())
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Workload {
    pub(super) kind: Kind,
    pub(super) transport: Transport,
    pub(super) size: usize,
    /// Messages (roundtrips for lat, 1 MiB chunks for raw, connections for conns/subs).
    pub(super) count: usize,
    /// The pattern of pubsub and scale runs.
    pub(super) pattern: Option<Pattern>,
    /// Peers of scale runs (1 for pubsub).
    pub(super) peers: usize,
    /// The security mechanism (thr and lat over tcp and ipc; NULL otherwise).
    pub(super) mechanism: Mech,
}

impl Workload {
    pub(super) fn new(kind: Kind, transport: Transport, size: usize, count: usize) -> Workload {
        Workload { kind, transport, size, count, pattern: None, peers: 1, mechanism: Mech::Null }
    }

    pub(super) fn label(&self) -> String {
        match self.kind {
            Kind::Scale => {
                format!("scale {} x{} {}", self.pattern.map_or("?", pattern_name), self.peers, fmt_size(self.size))
            }
            Kind::Conns | Kind::Subs => format!("{} {}", self.kind.name(), self.count),
            Kind::Raw => format!("raw tcp {}", fmt_size(self.size)),
            Kind::RawLat => format!("rawlat tcp {}", fmt_size(self.size)),
            _ if self.mechanism != Mech::Null => format!(
                "{} {} {} {}",
                self.kind.name(),
                self.transport.name(),
                self.mechanism.name(),
                fmt_size(self.size)
            ),
            _ => format!("{} {} {}", self.kind.name(), self.transport.name(), fmt_size(self.size)),
        }
    }

    /// The transport column of the tables: `tcp`, or `tcp curve` for a run with a mechanism.
    pub(super) fn transport_label(&self) -> String {
        match self.mechanism {
            Mech::Null => self.transport.name().to_string(),
            m => format!("{} {}", self.transport.name(), m.name()),
        }
    }

    /// Whether only one implementation runs (the raw-TCP ceiling and floor).
    pub(super) fn shared(&self) -> bool {
        matches!(self.kind, Kind::Raw | Kind::RawLat)
    }
}

/// Message counts tuned so that one libzmq run lasts ~1.5 s on the 2-core
/// reference VM (measured with the oxmq-libzmq-perf tools).
fn default_count(kind: Kind, transport: Transport, size: usize) -> usize {
    use Kind::*;
    use Transport::*;
    match (kind, transport, size) {
        (Thr, Tcp | Ipc, 64) => 10_000_000,
        (Thr, Tcp | Ipc, 1024) => 2_000_000,
        (Thr, Tcp, 65536) => 75_000,
        (Thr, Ipc, 65536) => 20_000,
        (Thr, Inproc, 64) => 5_000_000,
        (Thr, Inproc, 1024) => 4_000_000,
        (Thr, Inproc, 65536) => 300_000,
        (Lat | RawLat, Tcp | Ipc, 64) => 75_000,
        (Lat, Inproc, 64) => 500_000,
        (Pubsub, Tcp | Ipc, 64) => 6_000_000,
        (Pubsub, Inproc, 64) => 3_000_000,
        (Pubsub, _, 1024) => 1_500_000,
        (Hwm | Conns | Subs | Mem, _, _) => 1,
        (Scale, _, _) => 5_000_000,
        _ => {
            // A rough cost model for other sizes: fixed cost + bytes / bandwidth.
            let s = size as f64;
            let per = match (kind, transport) {
                (Thr, Tcp) => 150e-9 + s / 2.5e9,
                (Thr, Ipc) => 150e-9 + s / 0.8e9,
                (Thr, Inproc) => 300e-9 + s / 15e9,
                (Lat | RawLat, Tcp | Ipc) => 19e-6 + 2.0 * s / 1e9,
                (Lat, Inproc) => 4e-6 + 2.0 * s / 5e9,
                (Pubsub, Tcp) => 170e-9 + s / 2.5e9,
                (Pubsub, Ipc) => 170e-9 + s / 0.8e9,
                (Pubsub, Inproc) => 330e-9 + s / 15e9,
                _ => 1e-6,
            };
            round2(1.5 / per).max(1000.0) as usize
        }
    }
}

/// Rounds to two significant digits.
fn round2(x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let m = 10f64.powi(x.log10().floor() as i32 - 1);
    (x / m).round() * m
}

/// Where `--abi` finds what it runs: libzmq's tools and a directory whose `libzmq.so.5` is
/// oxmq's library (the tools get it as `LD_LIBRARY_PATH`).
#[derive(Debug, Clone)]
pub(super) struct Abi {
    pub(super) tools_dir: PathBuf,
    pub(super) lib_dir: PathBuf,
}

pub(super) struct Plan {
    /// The CURVE server key pair (public, secret; Z85) of the run's CURVE workloads.
    pub(super) curve_server: Option<(String, String)>,
    pub(super) oxmq_dir: PathBuf,
    pub(super) libzmq_dir: Option<PathBuf>,
    /// `--abi`: the libzmq tools on oxmq's libzmq.so.5, thr and lat only.
    pub(super) abi: Option<Abi>,
    /// `--peers`: the other Rust implementations, thr and lat over tcp and ipc, NULL only.
    pub(super) peers: Vec<Impl>,
    pub(super) peers_dir: PathBuf,
    pub(super) pairs: usize,
    pub(super) pin: bool,
    pub(super) pin_note: String,
    pub(super) cross: bool,
    pub(super) timeout: Duration,
    pub(super) workloads: Vec<Workload>,
}

/// The workloads of a run, in order, from the options.
pub(super) fn plan_workloads(args: &BenchArgs) -> Vec<Workload> {
    let scale = if args.quick { args.scale / 50.0 } else { args.scale };
    let count =
        |kind, transport, size| ((default_count(kind, transport, size) as f64 * scale).round() as usize).max(1000);
    let mut kinds: Vec<Kind> = Vec::new();
    for &k in &args.workloads {
        let expanded: &[Kind] = if k == Kind::Mem { &[Kind::Hwm, Kind::Conns, Kind::Subs] } else { &[k] };
        for &k in expanded {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
    }
    // The raw ceiling is read against oxmq's tcp 64 KiB throughput.
    let needs_thr_64k = kinds.contains(&Kind::Raw)
        && !(kinds.contains(&Kind::Thr)
            && args.sizes.contains(&65536)
            && args.transports.contains(&Transport::Tcp)
            && args.mechanisms.contains(&Mech::Null));
    let mut workloads = Vec::new();
    for kind in kinds {
        match kind {
            Kind::Thr | Kind::Lat => {
                let sizes = if kind == Kind::Thr { &args.sizes } else { &args.lat_sizes };
                for &transport in &args.transports {
                    for &mechanism in &args.mechanisms {
                        if mechanism != Mech::Null && transport == Transport::Inproc {
                            continue;
                        }
                        for &size in sizes {
                            let mut w = Workload::new(kind, transport, size, count(kind, transport, size));
                            if mechanism == Mech::Curve && kind == Kind::Thr {
                                // Boxing costs about as much as the rest of a small message's
                                // trip: a CURVE run of NULL's count would last ~4x as long.
                                w.count = (w.count / 4).max(1000);
                            }
                            w.mechanism = mechanism;
                            workloads.push(w);
                        }
                    }
                }
                // The floor of the tcp REQ/REP rows: a plain TCP ping-pong of each size.
                if kind == Kind::Lat && args.transports.contains(&Transport::Tcp) {
                    for &size in sizes {
                        workloads.push(Workload::new(
                            Kind::RawLat,
                            Transport::Tcp,
                            size,
                            count(Kind::RawLat, Transport::Tcp, size),
                        ));
                    }
                }
            }
            Kind::Raw => {
                if needs_thr_64k {
                    workloads.push(Workload::new(
                        Kind::Thr,
                        Transport::Tcp,
                        65536,
                        count(Kind::Thr, Transport::Tcp, 65536),
                    ));
                }
                // About 3 GiB at the default 1 MiB.
                let chunk = args.raw_chunk.max(1);
                let n = ((3000.0 * RAW_CHUNK as f64 / chunk as f64 * scale).round() as usize).max(50);
                workloads.push(Workload::new(kind, Transport::Tcp, chunk, n));
            }
            Kind::Pubsub => {
                for &transport in &args.transports {
                    for &size in &args.pubsub_sizes {
                        let mut w = Workload::new(kind, transport, size, count(kind, transport, size));
                        w.pattern = Some(Pattern::Pub);
                        workloads.push(w);
                    }
                }
            }
            Kind::Scale => {
                for pattern in [Pattern::Push, Pattern::Pub, Pattern::Router] {
                    for &peers in &args.scale_peers {
                        let peers = peers.max(1);
                        // A multiple of the peers, so that every sender has the same share.
                        // More peers, fewer messages (100 peers run at about half the rate of 1).
                        let base = count(kind, Transport::Tcp, args.scale_size);
                        let base = if peers > 10 { base / 2 } else { base };
                        let n = base.div_ceil(peers) * peers;
                        let mut w = Workload::new(kind, Transport::Tcp, args.scale_size, n);
                        w.pattern = Some(pattern);
                        w.peers = peers;
                        workloads.push(w);
                    }
                }
            }
            Kind::Hwm => {
                for &size in &args.hwm_sizes {
                    workloads.push(Workload::new(kind, Transport::Tcp, size, HWM));
                }
            }
            Kind::Conns => {
                let n = args.conns.unwrap_or(if args.quick { 500 } else { 10_000 }).max(1);
                workloads.push(Workload::new(kind, Transport::Tcp, 0, n));
            }
            Kind::Subs => {
                let n = args.subs.unwrap_or(if args.quick { 100 } else { 1000 }).max(1);
                workloads.push(Workload::new(kind, Transport::Tcp, 0, n));
            }
            Kind::Mem | Kind::RawLat => {}
        }
    }
    workloads
}

/// The variants run for a workload; cells are indexed like this list:
/// oxmq first, then libzmq, then the mixed pairs, then oxmq through the libzmq ABI.
pub(super) fn variants(plan: &Plan, w: &Workload) -> Vec<Variant> {
    let mut v = vec![Variant::OXMQ];
    if plan.libzmq_dir.is_some() && !w.shared() {
        v.push(Variant::LIBZMQ);
        if plan.cross && w.transport != Transport::Inproc && matches!(w.kind, Kind::Thr | Kind::Lat) {
            v.push(Variant { local: Impl::Oxmq, remote: Impl::Libzmq });
            v.push(Variant { local: Impl::Libzmq, remote: Impl::Oxmq });
        }
    }
    if plan.abi.is_some() && matches!(w.kind, Kind::Thr | Kind::Lat) {
        v.push(Variant::ABI);
    }
    if peers_run(w) {
        v.extend(plan.peers.iter().map(|&p| Variant { local: p, remote: p }));
    }
    v
}

/// Whether the other Rust implementations (`--peers`) run `w`: their tools are the four
/// process pairs, so thr and lat over tcp and ipc, without a security mechanism.
pub(super) fn peers_run(w: &Workload) -> bool {
    matches!(w.kind, Kind::Thr | Kind::Lat) && w.transport != Transport::Inproc && w.mechanism == Mech::Null
}

/// The cell of `var` in a workload's cells (indexed like [`variants`]).
pub(super) fn cell_of<'a, T>(plan: &Plan, w: &Workload, cells: &'a [T], var: Variant) -> Option<&'a T> {
    variants(plan, w).iter().position(|&v| v == var).and_then(|i| cells.get(i))
}

/// The name of who runs `w`: an implementation, a mixed pair, or neither (raw TCP).
pub(super) fn variant_name(w: &Workload, var: Variant) -> String {
    if w.shared() { "plain TCP".into() } else { var.name() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_reasonable() {
        assert_eq!(default_count(Kind::Thr, Transport::Tcp, 64), 10_000_000);
        let c = default_count(Kind::Thr, Transport::Tcp, 4096);
        assert!((100_000..10_000_000).contains(&c), "{c}");
        assert_eq!(round2(123_456.0), 120_000.0);
    }

    fn args(cli: &[&str]) -> BenchArgs {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            bench: BenchArgs,
        }
        <Cli as clap::Parser>::parse_from(std::iter::once("bench").chain(cli.iter().copied())).bench
    }

    fn labels(ws: &[Workload]) -> Vec<String> {
        ws.iter().map(Workload::label).collect()
    }

    #[test]
    fn mem_selects_the_three_memory_workloads() {
        let ws = plan_workloads(&args(&["--workloads", "mem,hwm", "--hwm-sizes", "64"]));
        assert_eq!(labels(&ws), ["hwm tcp 64 B", "conns 10000", "subs 1000"]);
        let ws = plan_workloads(&args(&["--workloads", "conns,subs", "--quick"]));
        assert_eq!(labels(&ws), ["conns 500", "subs 100"]);
        let ws = plan_workloads(&args(&["--workloads", "conns", "--conns", "7"]));
        assert_eq!(ws[0].count, 7);
    }

    #[test]
    fn raw_brings_the_tcp_64k_row_it_is_read_against() {
        let ws = plan_workloads(&args(&["--workloads", "raw"]));
        assert_eq!(labels(&ws), ["thr tcp 64 KiB", "raw tcp 1024 KiB"]);
        assert_eq!(ws[1].count, 3000);
        // Not twice when thr has it already.
        let ws = plan_workloads(&args(&["--workloads", "thr,raw", "--transports", "tcp", "--sizes", "65536"]));
        assert_eq!(labels(&ws), ["thr tcp 64 KiB", "raw tcp 1024 KiB"]);
    }

    #[test]
    fn scale_counts_are_a_multiple_of_the_peers() {
        let ws = plan_workloads(&args(&["--workloads", "scale", "--scale-peers", "1,7,100", "--scale", "0.001"]));
        assert_eq!(ws.len(), 9);
        for w in &ws {
            assert_eq!(w.count % w.peers, 0, "{}: {}", w.label(), w.count);
            assert!(w.count >= 1000, "{}: {}", w.label(), w.count);
        }
        assert_eq!(labels(&ws)[..3], ["scale push x1 64 B", "scale push x7 64 B", "scale push x100 64 B"]);
        let ws = plan_workloads(&args(&["--workloads", "pubsub", "--transports", "tcp,inproc"]));
        assert_eq!(labels(&ws), ["pubsub tcp 64 B", "pubsub tcp 1 KiB", "pubsub inproc 64 B", "pubsub inproc 1 KiB"]);
        assert!(ws.iter().all(|w| w.pattern == Some(Pattern::Pub) && w.peers == 1));
    }

    #[test]
    fn mechanisms_add_tcp_and_ipc_rows_of_thr_and_lat() {
        let ws = plan_workloads(&args(&[
            "--workloads",
            "thr,lat",
            "--mechanisms",
            "null,curve",
            "--sizes",
            "64",
            "--transports",
            "tcp,inproc",
        ]));
        assert_eq!(
            labels(&ws),
            [
                "thr tcp 64 B",
                "thr tcp curve 64 B",
                "thr inproc 64 B",
                "lat tcp 64 B",
                "lat tcp curve 64 B",
                "lat inproc 64 B",
                "rawlat tcp 64 B"
            ]
        );
        assert_eq!(ws[1].count * 4, ws[0].count);
        assert!(ws.iter().all(|w| (w.mechanism == Mech::Curve) == w.label().contains("curve")));
    }

    #[test]
    fn tcp_latency_brings_its_plain_tcp_floor() {
        let ws = plan_workloads(&args(&["--workloads", "lat", "--lat-sizes", "64,1024", "--transports", "tcp,ipc"]));
        assert_eq!(
            labels(&ws),
            ["lat tcp 64 B", "lat tcp 1 KiB", "lat ipc 64 B", "lat ipc 1 KiB", "rawlat tcp 64 B", "rawlat tcp 1 KiB"]
        );
        assert_eq!(ws[4].count, ws[0].count, "as many roundtrips as the REQ/REP row");
        assert!(ws[4].shared());
        // No tcp, no floor.
        let ws = plan_workloads(&args(&["--workloads", "lat", "--transports", "ipc"]));
        assert_eq!(labels(&ws), ["lat ipc 64 B"]);
    }

    #[test]
    fn default_run_has_every_workload() {
        let ws = plan_workloads(&args(&[]));
        for kind in [Kind::Thr, Kind::Lat, Kind::Raw, Kind::Pubsub, Kind::Scale, Kind::Hwm, Kind::Conns, Kind::Subs] {
            assert!(ws.iter().any(|w| w.kind == kind), "{kind:?} missing");
        }
        // The tcp 64 KiB row comes from thr itself.
        assert_eq!(ws.iter().filter(|w| w.label() == "thr tcp 64 KiB").count(), 1);
    }
}
