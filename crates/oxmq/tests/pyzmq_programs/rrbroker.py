# Simple request-reply broker
import zmq

# Prepare our context and sockets
context = zmq.Context()
frontend = context.socket(zmq.ROUTER)
backend = context.socket(zmq.DEALER)
frontend.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5559
backend.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5560
print("rrbroker.py frontend", frontend.getsockopt(zmq.LAST_ENDPOINT).decode(),  # test
      "backend", backend.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

# Initialize poll set
poller = zmq.Poller()
poller.register(frontend, zmq.POLLIN)
poller.register(backend, zmq.POLLIN)

# Switch messages between sockets
while True:
    socks = dict(poller.poll())

    if socks.get(frontend) == zmq.POLLIN:
        message = frontend.recv_multipart()
        backend.send_multipart(message)

    if socks.get(backend) == zmq.POLLIN:
        message = backend.recv_multipart()
        frontend.send_multipart(message)
