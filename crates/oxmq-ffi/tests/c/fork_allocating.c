/* Children forked while other threads of the parent allocate through the library (and start
   and end threads, whose allocator state comes and goes) neither hang nor fail: each makes a
   context and a socket, a message, and terminates. The library's allocator (mimalloc) has no
   fork handlers; a lock one of its paths holds in a parent thread at the fork would stay held
   in the child, and the child would hang on it (COMPATIBILITY.md).

   Rounds: argv[1], or 200 (about a second). A longer check, by hand:
       fork_allocating 3000                                                                  */

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "child.h"

static volatile int stop = 0;

/* A thread that allocates a message body and ends (mimalloc gives up its thread's memory). */
static void *short_lived (void *arg)
{
    (void) arg;
    zmq_msg_t m;
    CHECK (zmq_msg_init_size (&m, 100) == 0);
    CHECK (zmq_msg_close (&m) == 0);
    return NULL;
}

/* Start and join short-lived allocating threads until told to stop. */
static void *churn (void *arg)
{
    (void) arg;
    while (!stop) {
        pthread_t t;
        CHECK (pthread_create (&t, NULL, short_lived, NULL) == 0);
        CHECK (pthread_join (t, NULL) == 0);
    }
    return NULL;
}

int main (int argc, char **argv)
{
    require_oxmq ();
    int rounds = argc > 1 ? atoi (argv[1]) : 200;
    pthread_t c1, c2;
    CHECK (pthread_create (&c1, NULL, churn, NULL) == 0);
    CHECK (pthread_create (&c2, NULL, churn, NULL) == 0);
    for (int i = 0; i < rounds; i++) {
        pid_t pid = fork ();
        CHECK (pid >= 0);
        if (pid == 0) {
            void *ctx = zmq_ctx_new ();
            CHECK (ctx);
            void *s = zmq_socket (ctx, ZMQ_PAIR);
            CHECK (s);
            CHECK (zmq_bind (s, "inproc://child") == 0);
            zmq_msg_t m;
            CHECK (zmq_msg_init_size (&m, 1000) == 0);
            CHECK (zmq_msg_close (&m) == 0);
            CHECK (zmq_close (s) == 0);
            CHECK (zmq_ctx_term (ctx) == 0);
            _exit (0);
        }
        int status = wait_child (pid, 10);
        CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
    stop = 1;
    CHECK (pthread_join (c1, NULL) == 0);
    CHECK (pthread_join (c2, NULL) == 0);
    printf ("fork_allocating ok: %d children, none hung\n", rounds);
    return 0;
}
