/* REQ/REP over tcp: ten request-reply round trips, and REQ's state machine (EFSM). */

#include "check.h"

int main (void)
{
    require_oxmq ();
    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    void *rep = zmq_socket (ctx, ZMQ_REP);
    void *req = zmq_socket (ctx, ZMQ_REQ);
    CHECK (rep && req);
    CHECK (zmq_bind (rep, "tcp://127.0.0.1:*") == 0);
    char endpoint[256];
    last_endpoint (rep, endpoint, sizeof endpoint);
    CHECK (zmq_connect (req, endpoint) == 0);

    for (int i = 0; i < 10; i++) {
        char buf[32];
        CHECK (zmq_send (req, "Hello", 5, 0) == 5);
        /* A REQ must wait for the reply before sending again. */
        CHECK (zmq_send (req, "again", 5, ZMQ_DONTWAIT) == -1 && zmq_errno () == EFSM);
        CHECK (zmq_recv (rep, buf, sizeof buf, 0) == 5);
        CHECK (memcmp (buf, "Hello", 5) == 0);
        CHECK (zmq_send (rep, "World", 5, 0) == 5);
        CHECK (zmq_recv (req, buf, sizeof buf, 0) == 5);
        CHECK (memcmp (buf, "World", 5) == 0);
    }

    CHECK (zmq_close (req) == 0);
    CHECK (zmq_close (rep) == 0);
    CHECK (zmq_ctx_term (ctx) == 0);
    printf ("reqrep_tcp ok\n");
    return 0;
}
