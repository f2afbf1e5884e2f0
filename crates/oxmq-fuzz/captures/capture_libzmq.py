import socket, time, zmq, sys
ctx = zmq.Context()
G = bytes([0xFF,0,0,0,0,0,0,0,1,0x7F,3,1]) + b"NULL".ljust(20,b"\0") + b"\0" + b"\0"*31
def ready(props):
    body = b"\x05READY"
    for k,v in props:
        body += bytes([len(k)]) + k + len(v).to_bytes(4,"big") + v
    return bytes([0x04, len(body)]) + body if len(body) < 256 else bytes([0x06]) + len(body).to_bytes(8,"big") + body
def recv_all(s, t=0.5):
    s.settimeout(t); data=b""
    try:
        while True:
            d = s.recv(65536)
            if not d: break
            data += d
    except socket.timeout: pass
    return data
def capture(name, ztype, our_type, setup, after, props_extra=()):
    z = ctx.socket(ztype); z.setsockopt(zmq.LINGER, 0)
    setup(z)
    port = z.bind_to_random_port("tcp://127.0.0.1")
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(G + ready([(b"Socket-Type", our_type)] + list(props_extra)))
    time.sleep(0.2)
    after(z, s)
    data = recv_all(s)
    open(name, "wb").write(data)
    print(name, len(data), data[:200])
    s.close(); z.close()
def nop(z): pass
def pub_after(z, s):
    # subscribe via SUBSCRIBE command then publish
    time.sleep(0.1)
    for i in range(3):
        z.send_multipart([b"topic", b"x"*300]); time.sleep(0.05)
def dealer_after(z, s):
    z.send_multipart([b"", b"hello", b"y"*1000])
def sub_setup(z): z.setsockopt(zmq.SUBSCRIBE, b"topic"); z.setsockopt(zmq.SUBSCRIBE, b"")
def router_setup(z): z.setsockopt(zmq.ROUTING_ID, b"rtr")
def dealer_setup(z): z.setsockopt(zmq.ROUTING_ID, b"dealer-id")
capture("libzmq_dealer_to_router.bin", zmq.DEALER, b"ROUTER", dealer_setup, dealer_after, [(b"Identity", b"peer")])
capture("libzmq_sub_to_pub.bin", zmq.SUB, b"PUB", sub_setup, lambda z,s: None)
def hb_setup(z):
    z.setsockopt(zmq.HEARTBEAT_IVL, 100); z.setsockopt(zmq.HEARTBEAT_TTL, 2000)
capture("libzmq_pair_heartbeat.bin", zmq.PAIR, b"PAIR", hb_setup, lambda z,s: time.sleep(0.3))
capture("libzmq_rep_bad_type.bin", zmq.REP, b"PUB", nop, lambda z,s: None)
def sub_after(z, s):
    z.setsockopt(zmq.SUBSCRIBE, b"topic"); z.setsockopt(zmq.UNSUBSCRIBE, b"topic")
capture("libzmq_sub_to_pub.bin", zmq.SUB, b"PUB", nop, sub_after)
