/* A forked child that closes the sockets and terminates the context it inherited, as libzmq's
   documentation asks of a child that will not use them, neither hangs nor harms the parent:
   the parent's connections keep working while and after the child does so. The child then
   uses a context of its own to send to the parent (libzmq's test_fork). */

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "child.h"

#define ROUNDS 50

/* Send `n` messages `text` on push and receive them on pull, in order. */
static void exchange (void *push, void *pull, const char *text, int n)
{
    size_t len = strlen (text);
    for (int i = 0; i < n; i++) {
        char buf[32];
        CHECK (zmq_send (push, text, len, 0) == (int) len);
        CHECK (zmq_recv (pull, buf, sizeof buf, 0) == (int) len);
        CHECK (memcmp (buf, text, len) == 0);
    }
}

int main (void)
{
    require_oxmq ();
    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    void *rep = zmq_socket (ctx, ZMQ_REP);
    void *req = zmq_socket (ctx, ZMQ_REQ);
    CHECK (pull && push && rep && req);
    int timeout = 20000;
    CHECK (zmq_setsockopt (pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout) == 0);
    CHECK (zmq_setsockopt (req, ZMQ_RCVTIMEO, &timeout, sizeof timeout) == 0);
    CHECK (zmq_bind (pull, "tcp://127.0.0.1:*") == 0);
    char endpoint[256];
    last_endpoint (pull, endpoint, sizeof endpoint);
    CHECK (zmq_connect (push, endpoint) == 0);
    CHECK (zmq_bind (rep, "ipc://*") == 0);
    char ipc[256];
    last_endpoint (rep, ipc, sizeof ipc);
    CHECK (zmq_connect (req, ipc) == 0);
    /* Traffic before the fork: the connections are up and the I/O threads busy. */
    exchange (push, pull, "before", ROUNDS);
    char buf[32];
    CHECK (zmq_send (req, "ping", 4, 0) == 4);
    CHECK (zmq_recv (rep, buf, sizeof buf, 0) == 4);
    CHECK (zmq_send (rep, "pong", 4, 0) == 4);
    CHECK (zmq_recv (req, buf, sizeof buf, 0) == 4);

    pid_t pid = fork ();
    CHECK (pid >= 0);
    if (pid == 0) {
        /* The child: close what it inherited, then work with a context of its own. */
        CHECK (zmq_close (pull) == 0);
        CHECK (zmq_close (push) == 0);
        CHECK (zmq_close (rep) == 0);
        CHECK (zmq_close (req) == 0);
        CHECK (zmq_ctx_term (ctx) == 0);
        void *child_ctx = zmq_ctx_new ();
        CHECK (child_ctx);
        void *child_push = zmq_socket (child_ctx, ZMQ_PUSH);
        CHECK (child_push);
        CHECK (zmq_connect (child_push, endpoint) == 0);
        for (int i = 0; i < ROUNDS; i++)
            CHECK (zmq_send (child_push, "child", 5, 0) == 5);
        CHECK (zmq_close (child_push) == 0); /* lingers until they are sent */
        CHECK (zmq_ctx_destroy (child_ctx) == 0);
        exit (0);
    }

    /* The parent, while the child runs: its own traffic, and the child's messages. */
    int from_child = 0;
    for (int i = 0; i < ROUNDS; i++) {
        CHECK (zmq_send (push, "parent", 6, 0) == 6);
        CHECK (zmq_send (req, "ping", 4, 0) == 4);
        CHECK (zmq_recv (rep, buf, sizeof buf, 0) == 4);
        CHECK (zmq_send (rep, "pong", 4, 0) == 4);
        CHECK (zmq_recv (req, buf, sizeof buf, 0) == 4);
    }
    for (int parent = 0; parent < ROUNDS;) {
        int n = zmq_recv (pull, buf, sizeof buf, 0);
        CHECK (n == 5 || n == 6);
        if (n == 5 && memcmp (buf, "child", 5) == 0)
            from_child++;
        else if (n == 6 && memcmp (buf, "parent", 6) == 0)
            parent++;
        else
            CHECK (0);
    }
    int status = wait_child (pid, 30);
    CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    while (from_child < ROUNDS) {
        CHECK (zmq_recv (pull, buf, sizeof buf, 0) == 5);
        CHECK (memcmp (buf, "child", 5) == 0);
        from_child++;
    }

    /* After the child is gone: everything still works, and terminates normally. */
    exchange (push, pull, "after", ROUNDS);
    CHECK (zmq_send (req, "ping", 4, 0) == 4);
    CHECK (zmq_recv (rep, buf, sizeof buf, 0) == 4);
    CHECK (zmq_send (rep, "pong", 4, 0) == 4);
    CHECK (zmq_recv (req, buf, sizeof buf, 0) == 4);
    CHECK (zmq_close (pull) == 0);
    CHECK (zmq_close (push) == 0);
    CHECK (zmq_close (rep) == 0);
    CHECK (zmq_close (req) == 0);
    CHECK (zmq_ctx_term (ctx) == 0);
    printf ("fork ok\n");
    return 0;
}
