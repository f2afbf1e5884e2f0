import sys, threading, time
import zmq

endpoint = sys.argv[1]
for linger_ms in (300, 0):
    context = zmq.Context()
    socket = context.socket(zmq.PUSH)
    socket.setsockopt(zmq.LINGER, linger_ms)  # 0: 关闭时直接清空队列
    socket.connect(endpoint)  # nobody there: the messages stay queued
    for n in range(3):
        socket.send_string(f"message {n}")
    start = time.monotonic()
    socket.close()
    context.term()  # 销毁上下文
    print(f"LINGER {linger_ms} ms: term returned after {int((time.monotonic() - start) * 1000)} ms")

context = zmq.Context()
pull = context.socket(zmq.PULL)
pull.bind("inproc://shutdown")

def worker():
    try:
        pull.recv()
    except zmq.ContextTerminated:
        print("worker: recv woken by term, closing its socket")
        pull.close()

thread = threading.Thread(target=worker)
thread.start()
time.sleep(0.1)
start = time.monotonic()
context.term()
print(f"main: term returned after {int((time.monotonic() - start) * 1000)} ms")
thread.join()
print("shutdown: done")
