//! `rzmq_remote_thr`: libzmq's `remote_thr` over rzmq (see src/rzmq.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("rzmq_remote_thr <endpoint> <message-size> <count>");
    oxmq_peers_perf::rzmq::remote_thr(a);
}
