#   Weather update server
#   Binds PUB socket to tcp://*:5556
#   Publishes random weather updates
from random import randrange
import zmq

context = zmq.Context()
socket = context.socket(zmq.PUB)
socket.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5556
print("wuserver.py publishing on", socket.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

while True:  # test: until the test kills it
    zipcode = randrange(10000, 10010)  # test: ten zip codes, not randrange(1, 100000)
    temperature = randrange(-80, 135)
    relhumidity = randrange(10, 60)

    socket.send_string("%05d %d %d" % (zipcode, temperature, relhumidity))
