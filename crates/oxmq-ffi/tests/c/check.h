/* Shared by the C test programs: CHECK stops the program with a message (exit 1) when a
   condition is false; require_oxmq makes sure the libzmq this program runs on is oxmq's. */

#ifndef OXMQ_TEST_CHECK_H
#define OXMQ_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf (stderr, "%s:%d: CHECK failed: %s (errno %d: %s)\n", __FILE__, __LINE__, \
                     #cond, zmq_errno (), zmq_strerror (zmq_errno ()));                      \
            exit (1);                                                                        \
        }                                                                                    \
    } while (0)

/* Only oxmq's libzmq has this symbol: linking or loading against libzmq itself fails. */
extern const char *oxmq_ffi_version (void);

static inline void require_oxmq (void)
{
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    CHECK (major == 4 && minor == 3 && patch == 5);
    CHECK (strncmp (oxmq_ffi_version (), "oxmq ", 5) == 0);
}

/* The endpoint a socket bound to last. */
static inline void last_endpoint (void *s, char *buf, size_t size)
{
    CHECK (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, buf, &size) == 0);
}

#endif
