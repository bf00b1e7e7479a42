"""The HTTP hub (`python -m export.serve`) against hostile and heavy clients on loopback.

Short form (CI): one round of 200 concurrent clients and 40 slow clients. Long form
(RELIABILITY_LONG=1): more rounds and slow clients; the figures go to RELIABILITY.md.
"""

import hashlib
import http.client
import socket
import threading
import time
import urllib.request

import pytest

from export import serve
from tests.export import tiny_hub_tree
from tests.reliability import forms

SECRET = b"the secret outside the tree"


@pytest.fixture(scope="module")
def hub_root(tmp_path_factory):
    base = tmp_path_factory.mktemp("hardening")
    (base / "secret.txt").write_bytes(SECRET)
    return tiny_hub_tree.make_tiny_hub(base / "hub", base / "work")


@pytest.fixture(scope="module")
def server(hub_root):
    with serve.running_in_thread(hub_root, request_deadline=1.0, io_timeout=3.0) as server:
        yield server


def _status(server, path):
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def _raw_exchange(server, data):
    """Sends raw bytes and returns what the server answered (b"" if it just closed or reset)."""
    with socket.create_connection(server.server_address[:2], timeout=10) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading and closed: also a refusal
        try:
            return s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            return b""


@pytest.mark.parametrize("path", [
    "/../secret.txt",
    "/tiny/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/tiny/encoder/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/tiny/..%2f..%2f..%2fsecret.txt",
    "/tiny/..%5c..%5csecret.txt",
    "/%252e%252e/%252e%252e/secret.txt",  # double-encoded
    "/tiny/%25252e%25252e/secret.txt",  # triple-encoded
    "/%c0%ae%c0%ae/secret.txt",  # overlong UTF-8 dot
    "/tiny/encoder/1%00.tar.gz?tf-hub-format=compressed",
    "/tiny/encoder/1/..?tf-hub-format=compressed",
    "/tiny/encoder/..%2f..%2fsecret.txt?tf-hub-format=compressed",
    "//etc/passwd",
    "/tiny/encoder/1.tar.gz",
])
def test_path_traversal_in_every_encoding_is_a_4xx(server, path):
    status, body = _status(server, path)
    assert 400 <= status < 500, (path, status)
    assert SECRET not in body


def test_huge_header_line_is_refused_and_the_server_stays_up(server):
    answer = _raw_exchange(
        server, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
    assert answer == b"" or answer.startswith(b"HTTP/1.0 4"), answer[:80]
    assert _status(server, "/")[0] == 200


def test_huge_request_line_and_too_many_headers_are_refused(server):
    answer = _raw_exchange(server, b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\n\r\n")
    assert answer == b"" or answer.startswith(b"HTTP/1.0 4"), answer[:80]
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(500))
    answer = _raw_exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert answer.startswith(b"HTTP/1.0 431"), answer[:80]
    assert _status(server, "/")[0] == 200


def test_slowloris_clients_are_cut_off_and_good_clients_are_served(server):
    slow_count = forms.scale(40, 500)
    stop = threading.Event()
    cut_off = []

    def trickle():
        # One byte of a never-ending header every 0.2 s, until the server drops the connection.
        s = socket.create_connection(server.server_address[:2], timeout=10)
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            while not stop.is_set():
                s.sendall(b"a")
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            cut_off.append(True)
        finally:
            s.close()

    threads = [threading.Thread(target=trickle, daemon=True) for _ in range(slow_count)]
    for t in threads:
        t.start()
    latencies = []
    try:
        for _ in range(forms.scale(5, 20)):
            started = time.monotonic()
            assert _status(server, "/tiny/encoder/1")[0] == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.1)
        time.sleep(2.5)  # past the 1 s request deadline, the trickles see the close
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    forms.record("serve_slowloris", slow_clients=slow_count, cut_off=len(cut_off),
                 good_requests=len(latencies), max_good_latency_s=round(max(latencies), 3))
    # Long form: 500 trickling connections and their server threads start while the good
    # client asks, on a shared 2-core machine.
    assert max(latencies) < forms.scale(1.0, 3.0)
    assert len(cut_off) == slow_count
    assert _status(server, "/")[0] == 200


def test_200_concurrent_clients_get_the_right_bytes(server, hub_root):
    clients, rounds = 200, forms.scale(1, 50)
    expected = {v: hashlib.sha256((hub_root / "tiny" / "encoder" / f"{v}.tar.gz").read_bytes())
                .hexdigest() for v in (1, 2)}
    barrier = threading.Barrier(clients)
    results = []  # (ok, latency)
    lock = threading.Lock()

    def client(i):
        for r in range(rounds):
            barrier.wait()  # every round starts all clients at once
            version = 1 + (i + r) % 2
            started = time.monotonic()
            try:
                with urllib.request.urlopen(
                        f"{server.url}/tiny/encoder/{version}?tf-hub-format=compressed",
                        timeout=30) as response:
                    ok = hashlib.sha256(response.read()).hexdigest() == expected[version]
            except OSError:
                ok = False
            with lock:
                results.append((ok, time.monotonic() - started))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    elapsed = time.monotonic() - started
    failures = sum(not ok for ok, _ in results)
    max_latency = max(latency for _, latency in results)
    forms.record("serve_load", clients=clients, rounds=rounds, requests=len(results),
                 failures=failures, max_latency_s=round(max_latency, 3),
                 wall_s=round(elapsed, 2))
    assert len(results) == clients * rounds
    assert failures == 0
    assert _status(server, "/")[0] == 200
