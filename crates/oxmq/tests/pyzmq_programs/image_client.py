import sys
import zmq
import time
import numpy as np

def process_client():
    context = zmq.Context()
    socket = context.socket(zmq.REQ)  # REQ 模式（客户端）
    socket.setsockopt(zmq.RCVTIMEO, 5000)  # 5秒超时
    socket.connect(sys.argv[1])  # test: the server's endpoint
    # 初始化数据（示例：全零数组）
    data = np.zeros((480, 640, 4), dtype=np.uint8)
    bbox_2d = np.array([1, 2, 3, 4], dtype=np.uint16)
    max_try = 5
    tried = 0
    IMAGE_CHUNK_SIZE = 480 * 640 * 4
    BOUNDING_BOX_CHUNK_SIZE = 4 * 2
    chunk_size = IMAGE_CHUNK_SIZE + BOUNDING_BOX_CHUNK_SIZE
    for _ in range(int(sys.argv[2])):  # test: not while True
        # 发送数据（零拷贝）
        socket.send(data.tobytes() + bbox_2d.tobytes(), copy=False)
        # 接收服务端处理后的数据（零拷贝）
        try:
            msg = socket.recv(copy=False)
            tried = 0
            sent = data  # test: kept to check the reply
            data = np.frombuffer(msg.buffer, dtype=np.uint8).reshape(480, 640, 4)
            assert (data == 255 - sent).all(), "not 255 - image"  # test: the check
            print("reply ok", len(msg))  # test
            # 客户端进一步处理（示例：加 1）
            # 注意，与整数操作后，可能会从 uint8 变为 int16，会影响 buffer 大小
            data = (data.astype(np.int16) + 1) % 256  # test: numpy 2 overflows on uint8 + 1 % 256
            data = data.astype(np.uint8)
        except zmq.Again:
            # REQ 模式下，两次连续的 send 会报错，所以要重新初始化。
            context = zmq.Context()
            socket = context.socket(zmq.REQ)  # REQ 模式（客户端）
            socket.setsockopt(zmq.RCVTIMEO, 5000)  # 5秒超时
            socket.connect(sys.argv[1])  # test: the server's endpoint
            if tried >= max_try:
                print("max_try count reached, stop trying")
                break
            print("Timeout, retrying...")
            tried += 1
            socket.send(data.tobytes() + bbox_2d.tobytes(), copy=False)  # test: the box too
    print("client done")
if __name__ == "__main__":
    process_client()
