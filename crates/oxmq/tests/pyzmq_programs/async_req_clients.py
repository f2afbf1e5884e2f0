import asyncio
import sys  # test
import zmq
import zmq.asyncio as azmq

ADDRESS, CLIENTS, REQUESTS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])  # test

async def async_req_client(context: azmq.Context, c: int):
    socket = context.socket(zmq.REQ)
    socket.connect(ADDRESS)
    try:
        for n in range(REQUESTS):
            await socket.send_string(f"hello {c}.{n}")
            reply = await asyncio.wait_for(socket.recv_string(), 10)
            assert reply == f"HELLO {c}.{n}", reply  # test
    finally:
        socket.close()

async def main():
    context = azmq.Context()
    await asyncio.gather(*(async_req_client(context, c) for c in range(CLIENTS)))
    print(f"REQ clients: {CLIENTS * REQUESTS} replies received")  # test
    context.term()

asyncio.run(main())
