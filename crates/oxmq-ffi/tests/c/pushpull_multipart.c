/* PUSH/PULL over tcp, multipart messages through the zmq_msg_* calls: frames arrive whole,
   in order, with ZMQ_MORE on all but the last; zmq_send_const and zmq_sendmsg too. */

#include "check.h"

static const char constant[] = "constant data";

int main (void)
{
    require_oxmq ();
    void *ctx = zmq_ctx_new ();
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    CHECK (zmq_bind (pull, "tcp://127.0.0.1:*") == 0);
    char endpoint[256];
    last_endpoint (pull, endpoint, sizeof endpoint);
    CHECK (zmq_connect (push, endpoint) == 0);

    for (int round = 0; round < 100; round++) {
        /* Three frames: "frame-0", "frame-1", then a 100000-byte one. */
        for (int f = 0; f < 3; f++) {
            zmq_msg_t msg;
            if (f < 2) {
                char text[16];
                int n = snprintf (text, sizeof text, "frame-%d", f);
                CHECK (zmq_msg_init_size (&msg, n) == 0);
                memcpy (zmq_msg_data (&msg), text, n);
            } else {
                CHECK (zmq_msg_init_size (&msg, 100000) == 0);
                memset (zmq_msg_data (&msg), round, 100000);
            }
            int size = (int) zmq_msg_size (&msg);
            CHECK (zmq_msg_send (&msg, push, f < 2 ? ZMQ_SNDMORE : 0) == size);
            CHECK (zmq_msg_close (&msg) == 0);
        }
        zmq_msg_t msg;
        CHECK (zmq_msg_init (&msg) == 0);
        for (int f = 0; f < 3; f++) {
            CHECK (zmq_msg_recv (&msg, pull, 0) >= 0);
            CHECK (zmq_msg_more (&msg) == (f < 2));
            int more = -1;
            size_t len = sizeof more;
            CHECK (zmq_getsockopt (pull, ZMQ_RCVMORE, &more, &len) == 0 && more == (f < 2));
            if (f < 2) {
                char text[16];
                int n = snprintf (text, sizeof text, "frame-%d", f);
                CHECK (zmq_msg_size (&msg) == (size_t) n);
                CHECK (memcmp (zmq_msg_data (&msg), text, n) == 0);
            } else {
                CHECK (zmq_msg_size (&msg) == 100000);
                const unsigned char *d = zmq_msg_data (&msg);
                CHECK (d[0] == (unsigned char) round && d[99999] == (unsigned char) round);
            }
        }
        CHECK (zmq_msg_close (&msg) == 0);
    }

    /* zmq_send_const and the old zmq_sendmsg/zmq_recvmsg. */
    CHECK (zmq_send_const (push, constant, sizeof constant, ZMQ_SNDMORE) == sizeof constant);
    zmq_msg_t last;
    CHECK (zmq_msg_init_size (&last, 4) == 0);
    memcpy (zmq_msg_data (&last), "last", 4);
    CHECK (zmq_sendmsg (push, &last, 0) == 4);
    CHECK (zmq_msg_close (&last) == 0);
    zmq_msg_t in;
    CHECK (zmq_msg_init (&in) == 0);
    CHECK (zmq_recvmsg (pull, &in, 0) == sizeof constant);
    CHECK (strcmp (zmq_msg_data (&in), constant) == 0 && zmq_msg_more (&in));
    CHECK (zmq_recvmsg (pull, &in, 0) == 4 && !zmq_msg_more (&in));
    CHECK (zmq_msg_close (&in) == 0);

    CHECK (zmq_close (push) == 0);
    CHECK (zmq_close (pull) == 0);
    CHECK (zmq_ctx_term (ctx) == 0);
    printf ("pushpull_multipart ok\n");
    return 0;
}
