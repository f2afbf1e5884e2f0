/* zmq_poll over two sockets and a pipe: readiness of each, the timeout, POLLOUT. */

#include <unistd.h>
#include "check.h"

int main (void)
{
    require_oxmq ();
    void *ctx = zmq_ctx_new ();
    void *a = zmq_socket (ctx, ZMQ_PULL);
    void *b = zmq_socket (ctx, ZMQ_PULL);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    CHECK (zmq_bind (a, "inproc://a") == 0);
    CHECK (zmq_bind (b, "ipc://@oxmq-ffi-c-poll") == 0);
    CHECK (zmq_connect (push, "ipc://@oxmq-ffi-c-poll") == 0);
    int fds[2];
    CHECK (pipe (fds) == 0);

    zmq_pollitem_t items[4] = {
      {a, 0, ZMQ_POLLIN, 0},
      {b, 0, ZMQ_POLLIN, 0},
      {NULL, fds[0], ZMQ_POLLIN, 0},
      {push, 0, ZMQ_POLLOUT, 0},
    };
    /* Nothing readable: a 0 timeout returns at once; the PUSH may or may not be connected. */
    CHECK (zmq_poll (items, 3, 0) == 0);
    CHECK (zmq_poll (items, 3, 20) == 0);
    /* The PUSH becomes writable once its peer is there. */
    CHECK (zmq_poll (items + 3, 1, 10000) == 1 && items[3].revents == ZMQ_POLLOUT);

    CHECK (zmq_send (push, "to b", 4, 0) == 4);
    CHECK (zmq_poll (items, 3, 10000) == 1);
    CHECK (items[0].revents == 0 && items[1].revents == ZMQ_POLLIN && items[2].revents == 0);
    char buf[8];
    CHECK (zmq_recv (b, buf, sizeof buf, 0) == 4);

    CHECK (write (fds[1], "x", 1) == 1);
    CHECK (zmq_poll (items, 3, -1) == 1 && items[2].revents == ZMQ_POLLIN);
    /* A closed write end: poll(2) says POLLHUP, which zmq_poll reports as ZMQ_POLLERR (as
       libzmq: anything beyond POLLIN, POLLOUT and POLLPRI), asked for or not. */
    close (fds[1]);
    CHECK (read (fds[0], buf, 1) == 1);
    CHECK (zmq_poll (items + 2, 1, 10000) == 1 && (items[2].revents & ZMQ_POLLERR));
    close (fds[0]);

    CHECK (zmq_close (a) == 0);
    CHECK (zmq_close (b) == 0);
    CHECK (zmq_close (push) == 0);
    CHECK (zmq_ctx_term (ctx) == 0);
    printf ("poll ok\n");
    return 0;
}
