import sys  # test
import zmq

context = zmq.Context()
# 进程 B
pair_b = context.socket(zmq.PAIR)
# pair_b.connect("tcp://pair_a_ip:15555")
pair_b.connect(sys.argv[1])  # test: the test's endpoint, not ipc:///tmp/pair.ipc
message = pair_b.recv()
print("B received", message)  # test
pair_b.send(b"Hello from B")
