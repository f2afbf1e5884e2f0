//! `omq_remote_lat`: libzmq's `remote_lat` over omq (see src/omq.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("omq_remote_lat <endpoint> <message-size> <count>");
    oxmq_peers_perf::omq::remote_lat(a);
}
