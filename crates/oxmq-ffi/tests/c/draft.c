/* The draft API, compiled with -DZMQ_BUILD_DRAFT_API against a library built with the cargo
   feature "draft": a poller over a socket pair and a pipe, message routing ids and groups,
   the context's _ext options, and the versioned monitor. */

#include <unistd.h>

#include "check.h"

int main (void)
{
    require_oxmq ();
    CHECK (zmq_has ("draft") == 1);

    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    CHECK (zmq_ctx_set_ext (ctx, ZMQ_THREAD_NAME_PREFIX, "cdraft", 6) == 0);
    char prefix[16] = "";
    size_t len = sizeof prefix;
    CHECK (zmq_ctx_get_ext (ctx, ZMQ_THREAD_NAME_PREFIX, prefix, &len) == 0);
    CHECK (memcmp (prefix, "cdraft", 6) == 0);

    void *pull = zmq_socket (ctx, ZMQ_PULL);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    CHECK (pull && push);
    CHECK (zmq_socket_monitor_versioned (pull, "inproc://draft-mon", ZMQ_EVENT_ALL_V1,
                                         ZMQ_CURRENT_EVENT_VERSION, ZMQ_PAIR)
           == 0);
    void *mon = zmq_socket (ctx, ZMQ_PAIR);
    CHECK (mon && zmq_connect (mon, "inproc://draft-mon") == 0);
    CHECK (zmq_bind (pull, "tcp://127.0.0.1:*") == 0);
    char endpoint[256];
    last_endpoint (pull, endpoint, sizeof endpoint);
    CHECK (zmq_connect (push, endpoint) == 0);
    zmq_msg_t ev;
    CHECK (zmq_msg_init (&ev) == 0);
    CHECK (zmq_msg_recv (&ev, mon, 0) == 6);
    uint16_t event;
    memcpy (&event, zmq_msg_data (&ev), 2);
    CHECK (event == ZMQ_EVENT_LISTENING);
    CHECK (zmq_msg_close (&ev) == 0);

    int fds[2];
    CHECK (pipe (fds) == 0);
    void *poller = zmq_poller_new ();
    CHECK (poller);
    int pull_tag = 1, pipe_tag = 2;
    CHECK (zmq_poller_add (poller, pull, &pull_tag, ZMQ_POLLIN) == 0);
    CHECK (zmq_poller_add_fd (poller, fds[0], &pipe_tag, ZMQ_POLLIN) == 0);
    CHECK (zmq_poller_size (poller) == 2);
    zmq_poller_event_t events[2];
    CHECK (zmq_poller_wait_all (poller, events, 2, 0) == -1 && zmq_errno () == EAGAIN);

    /* A message with a routing id and a group (kept by the message; PUSH/PULL ignore them). */
    zmq_msg_t msg;
    CHECK (zmq_msg_init_buffer (&msg, "hello", 5) == 0);
    CHECK (zmq_msg_set_routing_id (&msg, 7) == 0 && zmq_msg_routing_id (&msg) == 7);
    CHECK (zmq_msg_set_group (&msg, "news") == 0 && strcmp (zmq_msg_group (&msg), "news") == 0);
    CHECK (zmq_msg_send (&msg, push, 0) == 5);
    /* The message arrives over tcp: PULL becomes ready alone; then the pipe too. */
    CHECK (zmq_poller_wait_all (poller, events, 2, 10000) == 1 && events[0].socket == pull);
    CHECK (write (fds[1], "x", 1) == 1);
    CHECK (zmq_poller_wait_all (poller, events, 2, 10000) == 2);
    CHECK (events[0].socket == pull && events[0].user_data == &pull_tag
           && events[0].events == ZMQ_POLLIN);
    CHECK (events[1].socket == NULL && events[1].fd == fds[0] && events[1].user_data == &pipe_tag);
    CHECK (zmq_msg_init (&msg) == 0);
    CHECK (zmq_msg_recv (&msg, pull, 0) == 5);
    CHECK (zmq_msg_routing_id (&msg) == 0 && strcmp (zmq_msg_group (&msg), "") == 0);
    CHECK (zmq_msg_close (&msg) == 0);

    /* Only the pipe is left ready. */
    zmq_poller_event_t one;
    CHECK (zmq_poller_wait (poller, &one, 0) == 0 && one.fd == fds[0]);
    CHECK (zmq_poller_remove_fd (poller, fds[0]) == 0);
    CHECK (zmq_poller_wait (poller, &one, 0) == -1 && zmq_errno () == EAGAIN);
    CHECK (zmq_poller_destroy (&poller) == 0 && poller == NULL);

    CHECK (zmq_join (pull, "news") == -1 && zmq_errno () == ENOTSUP);
    close (fds[0]);
    close (fds[1]);
    CHECK (zmq_close (mon) == 0);
    CHECK (zmq_close (pull) == 0);
    CHECK (zmq_close (push) == 0);
    CHECK (zmq_ctx_term (ctx) == 0);
    printf ("draft ok\n");
    return 0;
}
