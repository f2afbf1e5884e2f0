"""pyzmq's zmq.green leaves a shadow socket's watcher on a closed socket's ZMQ_FD.

A green socket starts a gevent (libev) watcher on its ZMQ_FD and stops it in its own close().
A shadow of it (copy.copy(sock), Socket.shadow(...)) is a second green socket on the same
libzmq socket, with a watcher of its own on the same descriptor; closing the original stops
only the original's watcher. The shadow's stays active (the loop keeps it, and so the shadow,
alive), and the next time the loop applies its watcher changes it asks epoll to watch a
descriptor the library has closed: libev's assertion "I/O watcher with invalid fd found in
epoll_ctl" aborts the process. Whether a later test of pyzmq's suite runs into it depends on
which descriptor numbers are free at that moment (pyzmq's test_copy makes such shadows).

    python3 scripts/green_shadow_close.py       # with pyzmq's bundled libzmq: aborts

scripts/pyzmq-suite.sh runs this on libzmq to show the hazard is pyzmq's, not oxmq's.
"""

import copy
import time

import gevent
import zmq.green as zmq

ctx = zmq.Context()
sock = ctx.socket(zmq.PUB)
shadow = copy.copy(sock)  # a second watcher on the same ZMQ_FD
sock.close()  # stops sock's watcher only; the library closes the descriptor
time.sleep(0.2)  # libzmq closes it on its reaper thread: give that time
gevent.sleep(0.05)  # the loop applies its changes: shadow's watcher on a closed descriptor
print("survived: the loop did not watch the closed descriptor")
