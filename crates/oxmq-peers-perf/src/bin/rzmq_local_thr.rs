//! `rzmq_local_thr`: libzmq's `local_thr` over rzmq (see src/rzmq.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("rzmq_local_thr <endpoint> <message-size> <count>");
    oxmq_peers_perf::rzmq::local_thr(a);
}
