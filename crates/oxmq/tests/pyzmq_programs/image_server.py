import sys
import zmq
import numpy as np

def process_server():
    context = zmq.Context()
    socket = context.socket(zmq.REP)  # REP 模式（服务端）
    socket.bind("tcp://127.0.0.1:*")  # test: a free port, not 15555
    print("Server started", socket.getsockopt(zmq.LAST_ENDPOINT).decode())
    # 2 bytes for points
    IMAGE_CHUNK_SIZE = 480 * 640 * 4
    BOUNDING_BOX_CHUNK_SIZE = 4 * 2
    chunk_size = IMAGE_CHUNK_SIZE + BOUNDING_BOX_CHUNK_SIZE
    for _ in range(int(sys.argv[1])):  # test: not while True
        # 接收客户端发送的二进制数据（零拷贝）
        msg = socket.recv(copy=False)
        print(f"recerved msg size: {len(msg)}")
        assert len(msg) == chunk_size
        arr = np.frombuffer(
            msg.buffer[:-BOUNDING_BOX_CHUNK_SIZE], dtype=np.uint8
        ).reshape(480, 640, 4)
        bbox_2d = np.frombuffer(
            msg.buffer[-BOUNDING_BOX_CHUNK_SIZE:], dtype=np.uint16
        ).reshape(4,)
        # 处理数据（示例：简单反转数值）
        processed_arr = 255 - arr
        print(f"Received and processed data: {arr.shape} {bbox_2d.shape}\n{bbox_2d}...")
        # 发送处理后的数据（零拷贝）
        socket.send(processed_arr.tobytes(), copy=False)


if __name__ == "__main__":
    process_server()
