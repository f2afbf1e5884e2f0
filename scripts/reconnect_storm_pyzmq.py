#!/usr/bin/env python3
"""libzmq's clients for reconnect_storm (STORM_CLIENTS=scripts/reconnect_storm_pyzmq.py):
<endpoint> <clients> <reconnect-ivl-ms> <reconnect-ivl-max-ms>; N DEALERs connected to the
endpoint with those options, held until stdin closes. Each libzmq socket holds two descriptors
(its mailbox and its connection), so the open-file limit caps the count."""
import resource
import sys

import zmq

endpoint, n, ivl, ivl_max = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
ctx = zmq.Context()
ctx.max_sockets = n + 16
held = []
for _ in range(n):
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.reconnect_ivl = ivl
    s.reconnect_ivl_max = ivl_max
    s.connect(endpoint)
    held.append(s)
sys.stdin.read(1)
for s in held:
    s.close()
ctx.term()
