//! `monocoque_remote_thr`: libzmq's `remote_thr` over monocoque (see src/monocoque.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("monocoque_remote_thr <endpoint> <message-size> <count>");
    oxmq_peers_perf::monocoque::remote_thr(a);
}
