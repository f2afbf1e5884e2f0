#   Request-reply service in Python
#   Connects REP socket to tcp://localhost:5560
#   Expects "Hello" from client, replies with "World"
import sys  # test
import zmq

context = zmq.Context()
socket = context.socket(zmq.REP)
socket.connect(sys.argv[1])  # test: the broker's backend, not tcp://localhost:5560

while True:
    message = socket.recv()
    print(f"Received request: {message}")
    socket.send(b"World")
