import asyncio
import sys  # test
import zmq
import zmq.asyncio as azmq # 使用异步版本

ADDRESS = sys.argv[1]  # test: the test's endpoint, not inproc://my_async_channel
REQUESTS = int(sys.argv[2])  # test: a bounded loop

async def async_rep_worker(context: azmq.Context):
    socket = context.socket(zmq.REP)
    socket.bind(ADDRESS)
    print("REP worker bound to", socket.getsockopt(zmq.LAST_ENDPOINT).decode())  # test
    try:
        for _ in range(REQUESTS):  # test: not while True
            message = await socket.recv_string()
            await socket.send_string(message.upper())  # test: the example's reply, upper-cased
        print(f"REP worker answered {REQUESTS} requests")  # test
    finally:
        socket.close()

async def main():
    context = azmq.Context()
    await async_rep_worker(context)
    context.term()

asyncio.run(main())
