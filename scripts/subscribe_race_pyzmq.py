#!/usr/bin/env python3
"""How soon a subscription over tcp reaches its publisher, through pyzmq on whichever libzmq it
loads (its bundled libzmq, or oxmq's with LD_PRELOAD=target/release/libzmq.so):

  subscribe_race_pyzmq.py race [N]     pyzmq's test_log.py::TestPubLog::test_blank_root_topic,
                                       N times (default 40): a SUB subscribes to everything and
                                       a PUBHandler publishes at once; counts the messages lost
                                       (not there within 1 s) because the subscription was late
  subscribe_race_pyzmq.py latency [N]  N times (default 30): subscribe, then publish and poll
                                       until one arrives; prints the min, median, p90 and max µs

Pin it with taskset to compare one core against two. BENCHMARKS.md (fourth session of
2026-12-07) has the figures for both libraries."""
import ctypes
import logging
import sys
import time

import zmq
from zmq.log import handlers


def library():
    """oxmq's version if the process loaded oxmq's libzmq.so.5, else libzmq's."""
    try:
        version = ctypes.CDLL(None).oxmq_ffi_version
    except AttributeError:
        return f'libzmq {zmq.zmq_version()}'
    version.restype = ctypes.c_char_p
    return version().decode()


def pair(ctx):
    pub = ctx.socket(zmq.PUB)
    pub.linger = 0
    port = pub.bind_to_random_port('tcp://127.0.0.1')
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.connect(f'tcp://127.0.0.1:{port}')
    return pub, sub


def race(n):
    logger = logging.getLogger('subscribe_race')
    logger.setLevel(logging.DEBUG)
    lost = 0
    for _ in range(n):
        ctx = zmq.Context()
        pub, sub = pair(ctx)
        handler = handlers.PUBHandler(pub)
        handler.setLevel(logging.DEBUG)
        handler.root_topic = 'zmq'
        logger.addHandler(handler)
        sub.setsockopt(zmq.SUBSCRIBE, b'zmq')
        time.sleep(0.1)
        # From here on, the test's own steps.
        sub.setsockopt(zmq.SUBSCRIBE, b'')
        handler.socket.bind('inproc://subscribe_race')
        only_info = ctx.socket(zmq.SUB)
        only_info.linger = 0
        only_info.connect('inproc://subscribe_race')
        only_info.setsockopt(zmq.SUBSCRIBE, b'INFO')
        handler.setRootTopic(b'')
        logger.debug('debug_message')
        sub.rcvtimeo = 1000
        try:
            sub.recv_multipart()
        except zmq.Again:
            lost += 1
        logger.removeHandler(handler)
        for s in (pub, sub, only_info):
            s.close()
        ctx.term()
    print(f'{library()}: {lost} of {n} messages lost')


def latency(n):
    ctx = zmq.Context()
    took = []
    for _ in range(n):
        pub, sub = pair(ctx)
        sub.setsockopt(zmq.SUBSCRIBE, b'zmq')
        time.sleep(0.1)
        start = time.perf_counter()
        sub.setsockopt(zmq.SUBSCRIBE, b'')
        while True:
            pub.send(b'DEBUG')
            try:
                sub.recv(zmq.NOBLOCK)
                break
            except zmq.Again:
                pass
        took.append((time.perf_counter() - start) * 1e6)
        pub.close()
        sub.close()
    ctx.term()
    took.sort()
    print(
        f'{library()}: subscription effective after min {took[0]:.0f} µs, median '
        f'{took[len(took) // 2]:.0f}, p90 {took[int(len(took) * 0.9)]:.0f}, max {took[-1]:.0f}'
    )


if __name__ == '__main__':
    what = sys.argv[1] if len(sys.argv) > 1 else ''
    count = int(sys.argv[2]) if len(sys.argv) > 2 else None
    if what == 'race':
        race(count or 40)
    elif what == 'latency':
        latency(count or 30)
    else:
        sys.exit(__doc__)
