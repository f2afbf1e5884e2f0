#   Hello World client in Python
#   Connects REQ socket to tcp://localhost:5555
#   Sends "Hello" to server, expects "World" back
import sys  # test
import zmq

context = zmq.Context()

#  Socket to talk to server
print("Connecting to hello world server…")
socket = context.socket(zmq.REQ)
socket.connect(sys.argv[1])  # test: the server's endpoint, not tcp://localhost:5555

#  Do 10 requests, waiting each time for a response
for request in range(int(sys.argv[2])):  # test: N requests, not 10
    print(f"Sending request {request} …")
    socket.send(b"Hello")

    #  Get the reply.
    message = socket.recv()
    print(f"Received reply {request} [ {message} ]")
