import sys  # test
import zmq

endpoint, server_public, requests = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])  # test
ctx = zmq.Context.instance()
client = ctx.socket(zmq.REQ)
if len(sys.argv) > 5:  # test: the key pair given (ironhouse loads it from client.key_secret)
    client_public, client_secret = sys.argv[4].encode(), sys.argv[5].encode()
else:  # test: a client the server does not know
    client_public, client_secret = zmq.curve_keypair()
client.curve_secretkey = client_secret
client.curve_publickey = client_public
client.curve_serverkey = server_public
client.rcvtimeo = 3000  # test: a refused client must not hang the test
client.connect(endpoint)
try:
    for n in range(requests):
        client.send(b"Hello")
        print("Received reply", n, client.recv().decode())
except zmq.Again:  # test
    print("no reply: refused")
    sys.exit(1)
client.setsockopt(zmq.LINGER, 0)
client.close()
ctx.term()
