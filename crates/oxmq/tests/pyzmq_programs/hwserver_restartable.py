#   Hello World server in Python
#   Binds REP socket to tcp://*:5555
#   Expects b"Hello" from client, replies with b"World"
import sys  # test
import time
import zmq

context = zmq.Context()
socket = context.socket(zmq.REP)
socket.bind(sys.argv[1])  # test: the test's endpoint (the same one after a restart), not tcp://*:5555
print("hwserver.py bound to", socket.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

while True:
    #  Wait for next request from client
    message = socket.recv()
    print(f"Received request: {message}")

    #  Do some 'work'
    time.sleep(0.1)  # test: 0.1 s, not 1 (the client gives a reply 1 s before resending)

    #  Send reply back to client
    socket.send(b"World")
