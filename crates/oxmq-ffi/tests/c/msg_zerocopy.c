/* Zero-copy messages: zmq_msg_init_data's free function runs once, only when the last copy
   is closed, and on whichever thread closes it; inproc hands the very buffer to the
   receiver; zmq_msg_copy shares it. Also errno after misuse, seen through C's errno. */

#include <errno.h>
#include <pthread.h>
#include "check.h"

static int freed = 0;
static void *freed_on = NULL;

static void free_buffer (void *data, void *hint)
{
    CHECK (hint == (void *) 0x5eed);
    free (data);
    __atomic_add_fetch (&freed, 1, __ATOMIC_SEQ_CST);
    freed_on = (void *) pthread_self ();
}

static void *close_on_another_thread (void *msg)
{
    CHECK (zmq_msg_close ((zmq_msg_t *) msg) == 0);
    return (void *) pthread_self ();
}

int main (void)
{
    require_oxmq ();
    void *ctx = zmq_ctx_new ();
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    CHECK (zmq_bind (pull, "inproc://zerocopy") == 0);
    CHECK (zmq_connect (push, "inproc://zerocopy") == 0);

    char *buffer = malloc (4096);
    memset (buffer, 'z', 4096);
    zmq_msg_t out;
    CHECK (zmq_msg_init_data (&out, buffer, 4096, free_buffer, (void *) 0x5eed) == 0);
    CHECK (zmq_msg_data (&out) == buffer);
    CHECK (zmq_msg_send (&out, push, 0) == 4096);
    CHECK (zmq_msg_close (&out) == 0);
    CHECK (freed == 0);

    zmq_msg_t in, copy;
    CHECK (zmq_msg_init (&in) == 0 && zmq_msg_init (&copy) == 0);
    CHECK (zmq_msg_recv (&in, pull, 0) == 4096);
    CHECK (zmq_msg_data (&in) == buffer);
    CHECK (zmq_msg_copy (&copy, &in) == 0);
    CHECK (zmq_msg_data (&copy) == buffer && zmq_msg_get (&copy, ZMQ_SHARED) == 1);
    CHECK (zmq_msg_close (&in) == 0);
    CHECK (freed == 0);

    pthread_t thread;
    void *closer;
    CHECK (pthread_create (&thread, NULL, close_on_another_thread, &copy) == 0);
    CHECK (pthread_join (thread, &closer) == 0);
    CHECK (freed == 1);
    CHECK (freed_on == closer);

    /* Misuse after close: EFAULT, in zmq_errno and in C's errno alike. */
    CHECK (zmq_msg_close (&copy) == -1 && zmq_errno () == EFAULT && errno == EFAULT);
    CHECK (zmq_msg_data (&in) == NULL && errno == EFAULT);
    CHECK (zmq_close (NULL) == -1 && errno == ENOTSOCK);
    CHECK (strcmp (zmq_strerror (ETERM), "Context was terminated") == 0);

    CHECK (zmq_close (push) == 0);
    CHECK (zmq_close (pull) == 0);
    CHECK (zmq_ctx_term (ctx) == 0);
    CHECK (zmq_close (pull) == -1 && errno == ENOTSOCK);
    CHECK (freed == 1);
    printf ("msg_zerocopy ok\n");
    return 0;
}
