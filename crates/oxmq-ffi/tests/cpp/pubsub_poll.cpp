// PUB/SUB over tcp with a topic filter, read with zmq::poll: one SUB takes topic "A" only, the
// other everything. The publisher goes on sending both topics until each subscriber has ten
// messages (subscriptions reach a PUB some time after connect); the filtered one never gets a
// "B".

#include "check.hpp"
#include <chrono>
#include <string>
#include <vector>
#include <zmq_addon.hpp>

int main()
{
    require_oxmq();
    zmq::context_t ctx;
    zmq::socket_t pub(ctx, zmq::socket_type::pub);
    zmq::socket_t only_a(ctx, zmq::socket_type::sub);
    zmq::socket_t all(ctx, zmq::socket_type::sub);
    for (auto *s : {&pub, &only_a, &all}) {
        s->set(zmq::sockopt::linger, 0);
    }
    pub.bind("tcp://127.0.0.1:*");
    std::string endpoint = pub.get(zmq::sockopt::last_endpoint);
    only_a.set(zmq::sockopt::subscribe, "A");
    all.set(zmq::sockopt::subscribe, "");
    only_a.connect(endpoint);
    all.connect(endpoint);

    std::vector<zmq::pollitem_t> items = {{only_a.handle(), 0, ZMQ_POLLIN, 0}, {all.handle(), 0, ZMQ_POLLIN, 0}};
    int got_a = 0, got_all = 0, seen_b = 0;
    for (int round = 0; got_a < 10 || got_all < 10; round++) {
        CHECK(round < 10000);
        // Topic frame, then the update.
        for (const char *topic : {"A", "B"}) {
            zmq::multipart_t update;
            update.addstr(topic);
            update.addstr("update " + std::to_string(round));
            CHECK(update.send(pub));
        }
        zmq::poll(items, std::chrono::milliseconds(10));
        if (items[0].revents & ZMQ_POLLIN) {
            zmq::multipart_t m(only_a);
            CHECK(m.size() == 2);
            CHECK(m.popstr() == "A");
            got_a++;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            zmq::multipart_t m(all);
            CHECK(m.size() == 2);
            std::string topic = m.popstr();
            CHECK(topic == "A" || topic == "B");
            seen_b += topic == "B";
            got_all++;
        }
    }
    // Whatever is left: still only "A" on the filtered socket.
    zmq::multipart_t m;
    while (m.recv(only_a, ZMQ_DONTWAIT)) {
        CHECK(m.popstr() == "A");
        m.clear();
    }
    CHECK(got_a >= 10 && got_all >= 10);
    std::printf("pubsub_poll ok (%d on A, %d on all, %d of them B)\n", got_a, got_all, seen_b);
    return 0;
}
