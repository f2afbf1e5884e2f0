//! `zeromqrs_local_thr`: libzmq's `local_thr` over zeromqrs (see src/zeromqrs.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("zeromqrs_local_thr <endpoint> <message-size> <count>");
    oxmq_peers_perf::zeromqrs::local_thr(a);
}
