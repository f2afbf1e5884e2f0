//! `omq_remote_thr`: libzmq's `remote_thr` over omq (see src/omq.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("omq_remote_thr <endpoint> <message-size> <count>");
    oxmq_peers_perf::omq::remote_thr(a);
}
