# Task ventilator
# Binds PUSH socket to tcp://localhost:5557
# Sends batch of tasks to workers via that socket
import sys  # test
import zmq
import random
import time

context = zmq.Context()

# Socket to send messages on
sender = context.socket(zmq.PUSH)
sender.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5557
print("taskvent.py bound to", sender.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

# Socket with direct access to the sink: used to synchronize start of batch
sink = context.socket(zmq.PUSH)
# test: IMMEDIATE, so that the "0" waits for the connection to the sink and arrives before
# test: any result (the guide counts on a human pressing Enter long after all connected)
sink.setsockopt(zmq.IMMEDIATE, 1)
sink.connect(sys.argv[1])  # test: the sink's endpoint, not tcp://localhost:5558

print("Press Enter when the workers are ready: ")
_ = input()
print("Sending tasks to workers...")

# The first message is "0" and signals start of batch
sink.send(b'0')

# Initialize random number generator
random.seed()

# Send 100 tasks
total_msec = 0
for task_nbr in range(int(sys.argv[2])):  # test: N tasks, not 100
    # Random workload from 1 to 100 msecs
    workload = random.randint(1, 100)
    total_msec += workload

    sender.send_string(f"{workload}")

print(f"Total expected cost: {total_msec} msec")

# Give 0MQ time to deliver
time.sleep(1)
