// Shared by the C++ test programs: CHECK stops the program with a message (exit 1) when a
// condition is false; require_oxmq makes sure the header and the library are oxmq's.

#ifndef OXMQ_TEST_CHECK_HPP
#define OXMQ_TEST_CHECK_HPP

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <zmq.hpp>

// oxmq's zmq.h says 4.3.5; the system's libzmq3-dev (Debian 12) is 4.3.4: the build must take
// the header from crates/oxmq-ffi/include.
static_assert(ZMQ_VERSION == ZMQ_MAKE_VERSION(4, 3, 5), "not oxmq's zmq.h");
#ifdef ZMQ_BUILD_DRAFT_API
#error "cppzmq must work without the draft API"
#endif

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s (errno %d: %s)\n", __FILE__, __LINE__, \
                         #cond, zmq_errno(), zmq_strerror(zmq_errno()));                         \
            std::exit(1);                                                                        \
        }                                                                                        \
    } while (0)

// Only oxmq's libzmq has this symbol: a program that loaded another libzmq fails to start.
extern "C" const char *oxmq_ffi_version(void);

inline void require_oxmq()
{
    auto [major, minor, patch] = zmq::version();
    CHECK(major == 4 && minor == 3 && patch == 5);
    CHECK(std::strncmp(oxmq_ffi_version(), "oxmq ", 5) == 0);
}

#endif
