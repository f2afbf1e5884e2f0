//! `monocoque_local_lat`: libzmq's `local_lat` over monocoque (see src/monocoque.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("monocoque_local_lat <endpoint> <message-size> <count>");
    oxmq_peers_perf::monocoque::local_lat(a);
}
