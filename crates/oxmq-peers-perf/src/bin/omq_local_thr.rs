//! `omq_local_thr`: libzmq's `local_thr` over omq (see src/omq.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("omq_local_thr <endpoint> <message-size> <count>");
    oxmq_peers_perf::omq::local_thr(a);
}
