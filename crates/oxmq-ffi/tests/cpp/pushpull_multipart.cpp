// PUSH/PULL over tcp with multipart messages: zmq::multipart_t (zmq_addon.hpp) one way and
// zmq::send_multipart / zmq::recv_multipart with standard containers the other; a PUSH spread
// over two PULLs round-robin.

#include "check.hpp"
#include <array>
#include <chrono>
#include <iterator>
#include <string>
#include <vector>
#include <zmq_addon.hpp>

int main()
{
    require_oxmq();
    zmq::context_t ctx(1);
    zmq::socket_t push(ctx, zmq::socket_type::push);
    zmq::socket_t pull(ctx, zmq::socket_type::pull);
    push.set(zmq::sockopt::linger, 0);
    pull.set(zmq::sockopt::rcvtimeo, 10000);
    pull.bind("tcp://127.0.0.1:*");
    push.connect(pull.get(zmq::sockopt::last_endpoint));

    // multipart_t: built part by part, sent, received whole.
    for (int i = 0; i < 100; i++) {
        zmq::multipart_t out;
        out.addstr("task");
        out.addtyp<int>(i);
        out.addmem(std::string(i * 100, 'x').data(), static_cast<size_t>(i) * 100);
        out.add(zmq::message_t());
        CHECK(out.send(push));
        CHECK(out.empty());
        zmq::multipart_t in;
        CHECK(in.recv(pull));
        CHECK(in.size() == 4);
        CHECK(in.popstr() == "task");
        CHECK(in.poptyp<int>() == i);
        zmq::message_t body = in.pop();
        CHECK(body.size() == static_cast<size_t>(i) * 100);
        CHECK(in.pop().empty() && in.empty());
    }

    // send_multipart of buffers, recv_multipart into a vector.
    std::array<zmq::const_buffer, 3> parts = {zmq::str_buffer("a"), zmq::str_buffer("bb"), zmq::str_buffer("ccc")};
    auto sent = zmq::send_multipart(push, parts);
    CHECK(sent && *sent == 3);
    std::vector<zmq::message_t> received;
    auto got = zmq::recv_multipart(pull, std::back_inserter(received));
    CHECK(got && *got == 3);
    CHECK(received[0].to_string() == "a" && received[1].to_string() == "bb" && received[2].to_string() == "ccc");

    // A second PULL: once both are connected, the PUSH alternates between them.
    zmq::socket_t pull2(ctx, zmq::socket_type::pull);
    pull2.set(zmq::sockopt::rcvtimeo, 10000);
    pull2.bind("tcp://127.0.0.1:*");
    push.connect(pull2.get(zmq::sockopt::last_endpoint));
    // Wait until the new connection takes messages: probe until one reaches pull2 (zmq::poll
    // tells which PULL each probe reached).
    for (int tries = 0;; tries++) {
        CHECK(tries < 1000);
        CHECK(push.send(zmq::str_buffer("probe"), zmq::send_flags::none));
        zmq::pollitem_t items[] = {{pull.handle(), 0, ZMQ_POLLIN, 0}, {pull2.handle(), 0, ZMQ_POLLIN, 0}};
        CHECK(zmq::poll(items, 2, std::chrono::milliseconds(10000)) == 1);
        zmq::message_t m;
        if (items[1].revents & ZMQ_POLLIN) {
            CHECK(pull2.recv(m));
            break;
        }
        CHECK(pull.recv(m));
    }
    int counts[2] = {0, 0};
    for (int i = 0; i < 20; i++) {
        CHECK(push.send(zmq::str_buffer("job"), zmq::send_flags::none));
    }
    zmq::message_t m;
    pull.set(zmq::sockopt::rcvtimeo, 200);
    pull2.set(zmq::sockopt::rcvtimeo, 200);
    while (pull.recv(m)) {
        counts[0]++;
    }
    while (pull2.recv(m)) {
        counts[1]++;
    }
    CHECK(counts[0] + counts[1] == 20);
    CHECK(counts[0] == 10 && counts[1] == 10);

    std::printf("pushpull_multipart ok\n");
    return 0;
}
