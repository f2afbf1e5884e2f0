/* For the C test programs that fork: wait for a child, failing the test if it hangs. */

#ifndef OXMQ_TEST_CHILD_H
#define OXMQ_TEST_CHILD_H

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* Wait (at most `seconds`) for the child to exit; its status. A child still running then is
   killed and the test fails: it hung. */
static inline int wait_child (pid_t pid, int seconds)
{
    for (int i = 0; i < seconds * 100; i++) {
        int status;
        pid_t rc = waitpid (pid, &status, WNOHANG);
        CHECK (rc >= 0);
        if (rc == pid)
            return status;
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep (&ten_ms, NULL);
    }
    kill (pid, SIGKILL);
    fprintf (stderr, "a child hung\n");
    exit (1);
}

#endif
