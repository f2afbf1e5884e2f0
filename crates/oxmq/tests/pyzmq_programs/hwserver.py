#   Hello World server in Python
#   Binds REP socket to tcp://*:5555
#   Expects b"Hello" from client, replies with b"World"
import sys  # test
import time
import zmq

context = zmq.Context()
socket = context.socket(zmq.REP)
socket.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5555
print("hwserver.py bound to", socket.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

for _ in range(int(sys.argv[1])):  # test: N requests, not while True
    #  Wait for next request from client
    message = socket.recv()
    print(f"Received request: {message}")

    #  Do some 'work'
    time.sleep(1)

    #  Send reply back to client
    socket.send(b"World")
