import os, shutil, sys, tempfile  # test
import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

endpoint, requests = sys.argv[1], int(sys.argv[2])  # test
base_dir = tempfile.mkdtemp()  # test: a fresh directory, not the example's ./certificates
keys_dir = os.path.join(base_dir, "certificates")
public_keys_dir = os.path.join(base_dir, "public_keys")
secret_keys_dir = os.path.join(base_dir, "private_keys")
for d in (keys_dir, public_keys_dir, secret_keys_dir):
    os.mkdir(d)
zmq.auth.create_certificates(keys_dir, "server")
zmq.auth.create_certificates(keys_dir, "client")
for key_file in os.listdir(keys_dir):
    if key_file.endswith(".key"):
        shutil.move(os.path.join(keys_dir, key_file), os.path.join(public_keys_dir, "."))
    elif key_file.endswith(".key_secret"):
        shutil.move(os.path.join(keys_dir, key_file), os.path.join(secret_keys_dir, "."))

ctx = zmq.Context.instance()
auth = ThreadAuthenticator(ctx)
auth.start()
auth.configure_curve(domain='*', location=public_keys_dir)

server = ctx.socket(zmq.REP)
server_public, server_secret = zmq.auth.load_certificate(os.path.join(secret_keys_dir, "server.key_secret"))
server.curve_secretkey = server_secret
server.curve_publickey = server_public
server.curve_server = True
server.bind(endpoint)
# test: what the oxmq client needs: the server's public key and the client's secret key
client_secret = zmq.auth.load_certificate(os.path.join(secret_keys_dir, "client.key_secret"))[1]
print("server public", server_public.decode(), "client secret", client_secret.decode(), "bound to",
      server.getsockopt(zmq.LAST_ENDPOINT).decode())
for _ in range(requests):  # test: a bounded loop
    frame = server.recv(copy=False)
    print("Received", frame.bytes.decode(), "from", frame.get("User-Id"))  # test
    server.send(b"World")
server.close()
auth.stop()
ctx.term()
print("ironhouse server done")
