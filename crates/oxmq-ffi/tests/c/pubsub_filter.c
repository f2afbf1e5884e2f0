/* PUB/SUB over tcp with a prefix filter: only the subscribed topic arrives. The subscription
   reaches the publisher asynchronously, so the publisher repeats until the subscriber hears. */

#include "check.h"

int main (void)
{
    require_oxmq ();
    void *ctx = zmq_ctx_new ();
    void *pub = zmq_socket (ctx, ZMQ_PUB);
    void *sub = zmq_socket (ctx, ZMQ_SUB);
    CHECK (zmq_bind (pub, "tcp://127.0.0.1:*") == 0);
    char endpoint[256];
    last_endpoint (pub, endpoint, sizeof endpoint);
    CHECK (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "weather.", 8) == 0);
    CHECK (zmq_connect (sub, endpoint) == 0);

    zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
    int heard = 0;
    for (int i = 0; i < 2000 && !heard; i++) {
        CHECK (zmq_send (pub, "sports.score 3:1", 16, 0) == 16);
        CHECK (zmq_send (pub, "weather.today sunny", 19, 0) == 19);
        int n = zmq_poll (&item, 1, 10);
        CHECK (n >= 0);
        heard = n == 1;
    }
    CHECK (heard);
    /* Everything that arrives is weather; sports never does. */
    char buf[64];
    int weather = 0;
    for (;;) {
        int n = zmq_recv (sub, buf, sizeof buf, ZMQ_DONTWAIT);
        if (n == -1) {
            CHECK (zmq_errno () == EAGAIN);
            break;
        }
        CHECK (n == 19 && memcmp (buf, "weather.today sunny", 19) == 0);
        weather++;
    }
    CHECK (weather >= 1);

    int linger = 0;
    CHECK (zmq_setsockopt (pub, ZMQ_LINGER, &linger, sizeof linger) == 0);
    CHECK (zmq_close (sub) == 0);
    CHECK (zmq_close (pub) == 0);
    CHECK (zmq_ctx_term (ctx) == 0);
    printf ("pubsub_filter ok (%d weather messages)\n", weather);
    return 0;
}
