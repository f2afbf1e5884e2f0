//! `monocoque_local_thr`: libzmq's `local_thr` over monocoque (see src/monocoque.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("monocoque_local_thr <endpoint> <message-size> <count>");
    oxmq_peers_perf::monocoque::local_thr(a);
}
