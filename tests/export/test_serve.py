"""The HTTP hub with real clients on loopback: tensorflow_hub, urllib, raw sockets."""

import concurrent.futures
import hashlib
import http.client
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import tensorflow as tf

from export import serve
from tests.export import tiny_hub_tree
from tests.official_encoders import tiny_saved_models as tsm

REPO_ROOT = pathlib.Path(__file__).parents[2]


@pytest.fixture(scope="module")
def hub_root(tmp_path_factory):
    base = tmp_path_factory.mktemp("served")
    (base / "secret.txt").write_text("outside the tree")
    root = tiny_hub_tree.make_tiny_hub(base / "hub", base / "work")
    # A publisher directory that is a symlink out of the tree must stay invisible.
    outside = base / "elsewhere" / "evil" / "1"
    outside.mkdir(parents=True)
    (base / "elsewhere" / "evil" / "1.tar.gz").write_text("not yours")
    os.symlink(base / "elsewhere", root / "linked")
    return root


@pytest.fixture(scope="module")
def server(hub_root):
    with serve.running_in_thread(hub_root, request_deadline=1.5, io_timeout=5.0) as server:
        yield server


def _get(server, path, method="GET", headers=None):
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), body


def _outputs(loaded, inputs):
    return loaded(inputs, training=False)["pooled_output"].numpy()


def test_hub_load_and_keras_layer_through_tensorflow_hub_cache(server, hub_root, tmp_path,
                                                                monkeypatch):
    import tensorflow_hub as hub

    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    inputs = {k: tf.constant(v) for k, v in tsm.random_encoder_inputs().items()}
    handle = f"{server.url}/tiny/encoder/1"
    served = hub.load(handle)
    local = tf.saved_model.load(str(hub_root / "tiny" / "encoder" / "1"))
    np.testing.assert_array_equal(_outputs(served, inputs), _outputs(local, inputs))
    cache_entry = tmp_path / "cache" / hashlib.sha1(handle.encode()).hexdigest()
    assert (cache_entry / "saved_model.pb").is_file()
    assert (cache_entry / "MANIFEST.json").is_file()

    layer = hub.KerasLayer(f"{server.url}/tiny/encoder/2", output_key="pooled_output")
    v2 = tf.saved_model.load(str(hub_root / "tiny" / "encoder" / "2"))
    np.testing.assert_array_equal(layer(inputs).numpy(), _outputs(v2, inputs))
    assert not np.allclose(layer(inputs).numpy(), _outputs(local, inputs))


def test_compressed_format_serves_the_exact_tarball(server, hub_root):
    for version in (1, 2):
        status, headers, body = _get(server, f"/tiny/encoder/{version}?tf-hub-format=compressed")
        assert status == 200
        assert body == (hub_root / "tiny" / "encoder" / f"{version}.tar.gz").read_bytes()
        assert headers["X-Hub-Version"] == str(version)


def test_without_a_version_the_newest_is_served(server, hub_root):
    status, headers, body = _get(server, "/tiny/encoder?tf-hub-format=compressed")
    assert status == 200 and headers["X-Hub-Version"] == "2"
    assert body == (hub_root / "tiny" / "encoder" / "2.tar.gz").read_bytes()
    status, headers, body = _get(server, "/tiny/encoder?tf-hub-format=compressed", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


def test_model_card_and_index_pages(server):
    status, headers, body = _get(server, "/tiny/encoder/1")
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "<h1>Tiny encoder v1</h1>" in page and "<code>0</code>" in page
    assert "<li>hidden size 8</li>" in page
    assert "Tiny encoder v2" in _get(server, "/tiny/encoder")[2].decode()
    status, _, body = _get(server, "/")
    index = body.decode()
    assert status == 200
    assert "href='/tiny/encoder/1'" in index and "href='/tiny/encoder/2'" in index
    assert "evil" not in index and "linked" not in index


@pytest.mark.parametrize("path,status", [
    ("/../secret.txt", 400),
    ("/%2e%2e/secret.txt", 400),
    ("/tiny/%2e%2e%2f%2e%2e%2fsecret.txt", 400),
    ("/tiny/encoder/..%2f..%2f..%2fsecret.txt?tf-hub-format=compressed", 400),
    ("/tiny/encoder/%252e%252e", 400),
    ("/tiny/encoder/1/../../../../secret.txt", 400),
    ("/tiny/encoder/%ff", 400),
    ("//etc/passwd", 404),  # http.server collapses the leading "//"
    ("/tiny/encoder/0?tf-hub-format=compressed", 400),
    ("/tiny/encoder/01?tf-hub-format=compressed", 400),
    ("/tiny/encoder/abc", 404),
    ("/tiny/encoder/1/variables", 404),
    ("/tiny/encoder/1/variables/1?tf-hub-format=compressed", 404),
    ("/a/b/c/d/e/f/g/h", 400),
    ("/tiny/encoder/1?tf-hub-format=uncompressed", 400),
    ("/tiny/encoder/9?tf-hub-format=compressed", 404),
    ("/tiny/nope/1?tf-hub-format=compressed", 404),
    ("/nobody/encoder", 404),
    ("/docs/tiny/models/encoder/1.md", 404),
    ("/tiny/encoder/1/saved_model.pb", 404),
    ("/linked/evil/1?tf-hub-format=compressed", 404),
    ("/linked/evil?tf-hub-format=compressed", 404),
    ("http://evil.example/tiny/encoder/1", 400),
])
def test_traversal_unknown_and_malformed_paths_are_refused(server, path, status):
    got, _, body = _get(server, path)
    assert got == status, body
    assert b"outside the tree" not in body and b"not yours" not in body


def test_huge_headers_are_refused(server):
    status, _, _ = _get(server, "/", headers={"X-Big": "a" * 70000})
    assert status in (400, 431)
    assert _get(server, "/")[0] == 200


def test_many_clients_at_once_get_the_right_bytes(server, hub_root):
    expected = {v: (hub_root / "tiny" / "encoder" / f"{v}.tar.gz").read_bytes() for v in (1, 2)}

    def fetch(i):
        version = 1 + i % 2
        with urllib.request.urlopen(
                f"{server.url}/tiny/encoder/{version}?tf-hub-format=compressed", timeout=30) as r:
            return r.read() == expected[version]

    with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
        assert all(pool.map(fetch, range(400)))


def test_slow_clients_are_cut_off_while_others_are_served(server):
    slow = []
    for _ in range(20):
        s = socket.create_connection(server.server_address[:2], timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
        slow.append(s)
    started = time.time()
    assert _get(server, "/tiny/encoder/1")[0] == 200
    assert time.time() - started < 1.0
    for s in slow:
        assert s.recv(1024) == b""  # closed by the server's request deadline
        s.close()
    assert time.time() - started < 5.0


def test_cli_binds_loopback_and_prints_a_summary(hub_root):
    process = subprocess.Popen(
        [sys.executable, "-m", "export.serve", f"--hub_root={hub_root}", "--port=0"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    try:
        banner = process.stdout.readline()
        assert "Serving 1 model(s)" in banner and "http://127.0.0.1:" in banner
        url = banner.split(" at ")[1].strip()
        with urllib.request.urlopen(url + "tiny/encoder/1?tf-hub-format=compressed") as r:
            assert r.read() == (hub_root / "tiny" / "encoder" / "1.tar.gz").read_bytes()
    finally:
        process.terminate()
        out, err = process.communicate(timeout=20)
    assert '"tarballs": 1' in out, err


def test_cli_refuses_a_missing_hub_root(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "export.serve", f"--hub_root={tmp_path / 'missing'}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert result.returncode != 0
    assert "is not a directory" in result.stderr


def test_tf_keras_text_classifier_from_the_served_real_export(tiny_bert_hub, tmp_path, monkeypatch):
    """The TF-Hub user pattern over HTTP, through TF-Hub's own resolver and cache."""
    import tf_keras

    from tests.export.test_tf_keras_patterns import text_classifier_fits_and_reloads

    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    with serve.running_in_thread(tiny_bert_hub["hub_root"]) as server:
        text_classifier_fits_and_reloads(tf_keras, f"{server.url}/test/tiny_bert/1",
                                         f"{server.url}/test/tiny_bert_preprocess", tmp_path / "classifier")
        assert any((tmp_path / "cache").iterdir()), "the handles were not fetched through TF-Hub's cache"
