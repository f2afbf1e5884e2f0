// zmq::message_t zero-copy: a buffer handed over with a free function is sent without a copy
// (inproc delivers the very buffer) and freed once, when the last message holding it is
// closed; over tcp it is freed once sent and the context is closed. Also the copy, move and
// rebuild of message_t, which map to zmq_msg_copy, zmq_msg_move and zmq_msg_init_size.

#include "check.hpp"
#include <string>
#include <utility>

static int freed = 0;

static void free_buffer(void *data, void *hint)
{
    CHECK(hint == reinterpret_cast<void *>(0x5eed));
    freed++;
    delete[] static_cast<char *>(data);
}

int main()
{
    require_oxmq();
    {
        zmq::context_t ctx;
        zmq::socket_t push(ctx, zmq::socket_type::push);
        zmq::socket_t pull(ctx, zmq::socket_type::pull);
        pull.bind("inproc://zerocopy");
        push.connect("inproc://zerocopy");

        char *buffer = new char[4096];
        std::memset(buffer, 'z', 4096);
        zmq::message_t out(buffer, 4096, free_buffer, reinterpret_cast<void *>(0x5eed));
        CHECK(out.data() == buffer);
        CHECK(push.send(out, zmq::send_flags::none));
        CHECK(out.size() == 0);  // sent: the message_t is empty again
        CHECK(freed == 0);

        zmq::message_t in;
        CHECK(pull.recv(in));
        CHECK(in.data() == buffer && in.size() == 4096);
        zmq::message_t copy;
        copy.copy(in);
        CHECK(copy.data() == buffer && copy.get(ZMQ_SHARED) == 1);
        zmq::message_t moved(std::move(in));
        CHECK(moved.data() == buffer);
        moved.rebuild(16);  // closes its reference: the copy still holds the buffer
        CHECK(moved.size() == 16 && freed == 0);
        CHECK(copy.data<char>()[4095] == 'z');
        copy.rebuild();
        CHECK(freed == 1);
    }
    {
        zmq::context_t ctx;
        zmq::socket_t rep(ctx, zmq::socket_type::rep);
        zmq::socket_t req(ctx, zmq::socket_type::req);
        rep.bind("tcp://127.0.0.1:*");
        req.connect(rep.get(zmq::sockopt::last_endpoint));
        for (int i = 0; i < 5; i++) {
            char *buffer = new char[1 << 20];
            std::memset(buffer, 'a' + i, 1 << 20);
            zmq::message_t request(buffer, 1 << 20, free_buffer, reinterpret_cast<void *>(0x5eed));
            CHECK(req.send(request, zmq::send_flags::none));
            zmq::message_t got;
            CHECK(rep.recv(got));
            CHECK(got.size() == 1 << 20 && got.data<char>()[12345] == 'a' + i);
            zmq::message_t reply(std::string("done"));
            CHECK(reply == zmq::message_t(std::string("done")));
            CHECK(rep.send(reply, zmq::send_flags::none));
            CHECK(req.recv(got) && got.to_string_view() == "done");
        }
        req.close();
        rep.close();
        ctx.close();
        CHECK(freed == 6);
    }
    std::printf("message_zerocopy ok\n");
    return 0;
}
