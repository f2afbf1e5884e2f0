import sys  # test
import zmq

context = zmq.Context()
# 进程 A
pair_a = context.socket(zmq.PAIR)
# 还可以绑定网络通信，比如
# pair_a.bind("tcp://*:15555")
pair_a.bind(sys.argv[1])  # test: the test's endpoint, not ipc:///tmp/pair.ipc
print("A bound")  # test
pair_a.send(b"Hello from A")
message = pair_a.recv()
print("A received", message)  # test
