//! `zeromqrs_remote_thr`: libzmq's `remote_thr` over zeromqrs (see src/zeromqrs.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("zeromqrs_remote_thr <endpoint> <message-size> <count>");
    oxmq_peers_perf::zeromqrs::remote_thr(a);
}
