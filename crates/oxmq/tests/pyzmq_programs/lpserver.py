#
#  Lazy Pirate server
#  Binds REQ socket to tcp://*:5555
#  Like hwserver except:
#   - echoes request as-is
#   - randomly runs slowly, or exits to simulate a crash.
#
#   Author: Daniel Lundin <dln(at)eintr(dot)org>
#
from random import randint
import itertools
import logging
import sys  # test
import time
import zmq

logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.INFO, stream=sys.stdout)  # test: stdout

CRASH_AT, SLOW_AT = int(sys.argv[1]), int(sys.argv[2])  # test: deterministic failures

context = zmq.Context()
server = context.socket(zmq.REP)
server.bind(sys.argv[3] if len(sys.argv) > 3 else "tcp://127.0.0.1:*")  # test: the given endpoint or a free port, not tcp://*:5555
print("lpserver.py bound to", server.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

for cycles in itertools.count():
    request = server.recv()

    # Simulate various problems, after a few cycles
    if cycles == CRASH_AT:  # test: at cycle CRASH_AT, not cycles > 3 and randint(0, 3) == 0
        logging.info("Simulating a crash")
        break
    elif cycles == SLOW_AT:  # test: at cycle SLOW_AT, not cycles > 3 and randint(0, 3) == 0
        logging.info("Simulating CPU overload")
        time.sleep(2)

    logging.info("Normal request (%s)", request)
    time.sleep(0.1)  # Do some heavy work  # test: 0.1 s, not 1
    server.send(request)
