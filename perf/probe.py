#!/usr/bin/env python3
"""Latency probe for perf/run.sh.

  probe.py send udp-json|tcp-protobuf PORT [RATE]   send probes until SIGTERM/SIGINT
  probe.py report FILE                              print "n p50_us p99_us" of FILE

`send` sends RATE (default 1000) messages per second to 127.0.0.1:PORT, each of type
"latency-probe" whose payload is the CLOCK_REALTIME nanoseconds read just before the send:
a JSON datagram (udp-json) or a Heka stream frame on one TCP connection (tcp-protobuf).
hekad (perf/ours.sh with PROBE_OUT) routes them to a FileOutput with prefix_ts, which
writes "<RFC 3339 time the output formatted the line, ns> <send ns>" per probe.

`report` reads those lines: latency = output time - send time, both CLOCK_REALTIME on the
same host. Prints the count and the nearest-rank p50 and p99 in microseconds ("0 - -"
when there are none).
"""
import calendar
import functools
import signal
import socket
import sys
import time

TYPE = b"latency-probe"


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def frame(payload):
    """A Heka stream frame of a Message with type (3) and payload (6)."""
    msg = b"\x1a" + varint(len(TYPE)) + TYPE + b"\x32" + varint(len(payload)) + payload
    header = b"\x08" + varint(len(msg))  # Header.message_length = 1
    return b"\x1e" + bytes([len(header)]) + header + b"\x1f" + msg


def send(kind, port, rate):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    if kind == "udp-json":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", port))

        def one():
            t = time.time_ns()
            s.send(b'{"type":"latency-probe","payload":"%d"}' % t)
    elif kind == "tcp-protobuf":
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def one():
            t = time.time_ns()
            s.sendall(frame(b"%d" % t))
    else:
        sys.exit(f"probe.py: unknown kind {kind}")
    one()  # the first probe, then tell run.sh that probes are flowing
    print("probe: started", file=sys.stderr, flush=True)
    period = 1.0 / rate
    start = time.monotonic()
    i = 1
    while not stop:
        due = start + i * period
        d = due - time.monotonic()
        if d > 0:
            time.sleep(d)
        try:
            one()
        except OSError:
            pass  # e.g. ECONNREFUSED from an ICMP error: the probe is not counted
        i += 1
    print(f"probes={i}", file=sys.stderr)


@functools.lru_cache(maxsize=64)
def _secs(head):
    return calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))


def parse_rfc3339_ns(ts):
    """YYYY-MM-DDTHH:MM:SS.fffffffffZ (FileOutput writes nine digits) to ns."""
    return _secs(ts[:19]) * 1_000_000_000 + int(ts[20:-1].ljust(9, "0")[:9])


def report(path):
    lat = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    lat.append(parse_rfc3339_ns(parts[0]) - int(parts[1]))
    except FileNotFoundError:
        pass
    if not lat:
        print("0 - -")
        return
    lat.sort()

    def rank(p):  # nearest rank
        return lat[max(0, -(-len(lat) * p // 100) - 1)]

    print(f"{len(lat)} {rank(50) / 1e3:.0f} {rank(99) / 1e3:.0f}")


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "send":
        send(a[1], int(a[2]), float(a[3]) if len(a) > 3 else 1000.0)
    elif len(a) == 2 and a[0] == "report":
        report(a[1])
    else:
        sys.exit(__doc__)
