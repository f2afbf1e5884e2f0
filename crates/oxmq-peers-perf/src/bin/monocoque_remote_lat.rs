//! `monocoque_remote_lat`: libzmq's `remote_lat` over monocoque (see src/monocoque.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("monocoque_remote_lat <endpoint> <message-size> <count>");
    oxmq_peers_perf::monocoque::remote_lat(a);
}
