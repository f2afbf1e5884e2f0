// A request-reply broker in one process with cppzmq: zmq::proxy_steerable between a ROUTER
// (tcp, for three REQ clients) and a DEALER (inproc, for two REP worker threads), stopped by
// TERMINATE on its control socket; a zmq::monitor_t subclass on the ROUTER counts the
// listening, accepted and handshake events of the clients' connections.

#include "check.hpp"
#include <atomic>
#include <string>
#include <thread>
#include <vector>

struct counting_monitor : zmq::monitor_t {
    int listening = 0, accepted = 0, handshakes = 0;
    void on_event_listening(const zmq_event_t &, const char *) override { listening++; }
    void on_event_accepted(const zmq_event_t &, const char *addr) override
    {
        CHECK(std::string(addr).rfind("tcp://127.0.0.1:", 0) == 0);
        accepted++;
    }
    void on_event_handshake_succeeded(const zmq_event_t &, const char *) override { handshakes++; }
};

int main()
{
    require_oxmq();
    zmq::context_t ctx;
    zmq::socket_t frontend(ctx, zmq::socket_type::router);
    zmq::socket_t backend(ctx, zmq::socket_type::dealer);
    zmq::socket_t control(ctx, zmq::socket_type::pair);
    zmq::socket_t steer(ctx, zmq::socket_type::pair);
    counting_monitor monitor;
    monitor.init(frontend, "inproc://monitor-frontend",
                 ZMQ_EVENT_LISTENING | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    frontend.bind("tcp://127.0.0.1:*");
    std::string endpoint = frontend.get(zmq::sockopt::last_endpoint);
    backend.bind("inproc://workers");
    control.bind("inproc://control");
    steer.connect("inproc://control");

    std::atomic<bool> done{false};
    std::atomic<int> served{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < 2; w++) {
        workers.emplace_back([&ctx, &done, &served, w] {
            zmq::socket_t rep(ctx, zmq::socket_type::rep);
            rep.set(zmq::sockopt::rcvtimeo, 50);
            rep.connect("inproc://workers");
            while (!done) {
                zmq::message_t request;
                if (!rep.recv(request)) {
                    continue;
                }
                std::string reply = request.to_string() + " served by " + std::to_string(w);
                // Counted before the reply goes: the client may have it (and the main thread
                // check the count) before this thread runs again.
                served++;
                CHECK(rep.send(zmq::buffer(reply), zmq::send_flags::none));
            }
        });
    }
    std::thread proxy([&] { zmq::proxy_steerable(frontend, backend, zmq::socket_ref(), control); });

    std::vector<zmq::socket_t> clients;
    for (int c = 0; c < 3; c++) {
        clients.emplace_back(ctx, zmq::socket_type::req);
        clients.back().set(zmq::sockopt::rcvtimeo, 10000);
        clients.back().connect(endpoint);
    }
    for (int n = 0; n < 10; n++) {
        for (size_t c = 0; c < clients.size(); c++) {
            std::string request = "request " + std::to_string(c) + "." + std::to_string(n);
            CHECK(clients[c].send(zmq::buffer(request), zmq::send_flags::none));
        }
        for (auto &client : clients) {
            zmq::message_t reply;
            CHECK(client.recv(reply));
            CHECK(reply.to_string().find(" served by ") != std::string::npos);
        }
    }
    CHECK(served == 30);

    for (int i = 0; i < 1000 && (monitor.accepted < 3 || monitor.handshakes < 3); i++) {
        monitor.check_event(10);
    }
    CHECK(monitor.listening == 1 && monitor.accepted == 3 && monitor.handshakes == 3);

    CHECK(steer.send(zmq::str_buffer("TERMINATE"), zmq::send_flags::none));
    proxy.join();
    done = true;
    for (auto &w : workers) {
        w.join();
    }
    for (auto &client : clients) {
        client.set(zmq::sockopt::linger, 0);
        client.close();
    }
    monitor.abort();
    std::printf("broker_monitor ok\n");
    return 0;
}
