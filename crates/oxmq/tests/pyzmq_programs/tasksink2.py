# Task sink - design 2
# Adds pub-sub flow to send kill signal to workers
import sys
import time
import zmq

context = zmq.Context()

# Socket to receive messages on
receiver = context.socket(zmq.PULL)
receiver.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5558

# Socket for worker control
controller = context.socket(zmq.PUB)
controller.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5559
print("tasksink2.py bound to", receiver.getsockopt(zmq.LAST_ENDPOINT).decode(),  # test
      "control", controller.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

# Wait for start of batch
start = receiver.recv()  # test: kept, to check it
assert start == b"0", start  # test: the batch starts with "0"

# Start our clock now
tstart = time.time()

# Process 100 confirmations
returned = 0  # test
for task_nbr in range(int(sys.argv[1])):  # test: N tasks, not 100
    result = receiver.recv()  # test: kept, to check it
    returned += int(result)  # test: each result is its task's workload, as taskwork2.py sends it
    if task_nbr % 10 == 0:
        sys.stdout.write(":")
    else:
        sys.stdout.write(".")
    sys.stdout.flush()

# Calculate and report duration of batch
tend = time.time()
tdiff = tend - tstart
total_msec = tdiff * 1000
print(f"Total elapsed time: {total_msec} msec")
print(f"total workload {returned} msec")  # test

# Send kill signal to workers
controller.send(b"KILL")

# Finished
receiver.close()
controller.close()
context.term()
