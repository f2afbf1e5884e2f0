#   Weather update client
#   Connects SUB socket to tcp://localhost:5556
#   Collects weather updates and finds avg temp in zipcode
import sys
import zmq

#  Socket to talk to server
context = zmq.Context()
socket = context.socket(zmq.SUB)

print("Collecting updates from weather server...")
socket.connect(sys.argv[1])  # test: the server's endpoint, not tcp://localhost:5556

# Subscribe to zipcode, default is NYC, 10001
zip_filter = sys.argv[2] if len(sys.argv) > 2 else "10001"  # test: argv[1] is the endpoint
socket.setsockopt_string(zmq.SUBSCRIBE, zip_filter)

# Process 5 updates
total_temp = 0
for update_nbr in range(5):
    string = socket.recv_string()
    zipcode, temperature, relhumidity = string.split()
    assert zipcode == zip_filter, string  # test: only the zip code subscribed to
    total_temp += int(temperature)

print(
    f"Average temperature for zipcode '{zip_filter}' was "
    f"{total_temp / (update_nbr + 1)} F"
)
