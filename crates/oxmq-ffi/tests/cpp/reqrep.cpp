// REQ/REP over tcp with cppzmq: typed options (zmq::sockopt), buffers, recv results,
// RCVTIMEO giving an empty result, and a REQ socket's state errors as zmq::error_t.

#include "check.hpp"
#include <string>

int main()
{
    require_oxmq();
    zmq::context_t ctx;
    zmq::socket_t rep(ctx, zmq::socket_type::rep);
    zmq::socket_t req(ctx, zmq::socket_type::req);
    rep.set(zmq::sockopt::linger, 0);
    req.set(zmq::sockopt::linger, 0);
    rep.set(zmq::sockopt::rcvtimeo, 10000);
    req.set(zmq::sockopt::rcvtimeo, 10000);
    CHECK(rep.get(zmq::sockopt::type) == ZMQ_REP);
    rep.bind("tcp://127.0.0.1:*");
    std::string endpoint = rep.get(zmq::sockopt::last_endpoint);
    CHECK(endpoint.rfind("tcp://127.0.0.1:", 0) == 0);
    req.connect(endpoint);

    for (int i = 0; i < 10; i++) {
        std::string request = "Hello " + std::to_string(i);
        auto sent = req.send(zmq::buffer(request), zmq::send_flags::none);
        CHECK(sent && *sent == request.size());
        zmq::message_t msg;
        auto got = rep.recv(msg, zmq::recv_flags::none);
        CHECK(got && msg.to_string() == request);
        CHECK(!msg.more());
        CHECK(std::string(msg.gets("Socket-Type")) == "REQ");
        rep.send(zmq::str_buffer("World"), zmq::send_flags::none);
        char buf[16];
        auto reply = req.recv(zmq::buffer(buf), zmq::recv_flags::none);
        CHECK(reply && reply->size == 5 && !reply->truncated());
        CHECK(std::memcmp(buf, "World", 5) == 0);
    }

    // A REQ may not send twice: zmq::error_t with EFSM.
    req.send(zmq::str_buffer("once"), zmq::send_flags::none);
    bool refused = false;
    try {
        req.send(zmq::str_buffer("twice"), zmq::send_flags::none);
    } catch (const zmq::error_t &e) {
        refused = e.num() == EFSM;
    }
    CHECK(refused);

    // Nothing more to read: RCVTIMEO (or dontwait) gives an empty result, not an exception.
    zmq::message_t msg;
    CHECK(rep.recv(msg) && msg.to_string_view() == "once");
    CHECK(rep.send(zmq::str_buffer("done"), zmq::send_flags::none));
    CHECK(req.recv(msg) && msg.to_string_view() == "done");
    rep.set(zmq::sockopt::rcvtimeo, 50);
    CHECK(!rep.recv(msg, zmq::recv_flags::none));
    CHECK(!rep.recv(msg, zmq::recv_flags::dontwait) && zmq_errno() == EAGAIN);

    req.close();
    rep.close();
    ctx.close();
    std::printf("reqrep ok\n");
    return 0;
}
