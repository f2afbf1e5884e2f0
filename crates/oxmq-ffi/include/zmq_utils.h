/*
 * zmq_utils.h for oxmq. libzmq 4.3.5 keeps this header only for old programs: everything it
 * once declared (stopwatch, sleep, threads, Z85, CURVE keys, atomic counters) is in zmq.h.
 * Including it includes zmq.h.
 *
 * SPDX-License-Identifier: MPL-2.0
 */

#ifndef __ZMQ_UTILS_H_INCLUDED__
#define __ZMQ_UTILS_H_INCLUDED__

#include "zmq.h"

#endif /* __ZMQ_UTILS_H_INCLUDED__ */
