//! `omq_local_lat`: libzmq's `local_lat` over omq (see src/omq.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("omq_local_lat <endpoint> <message-size> <count>");
    oxmq_peers_perf::omq::local_lat(a);
}
