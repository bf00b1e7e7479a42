"""Serves a hub tree over HTTP in the TF-Hub compressed format.

    python -m export.serve --hub_root=/srv/hub --port=8080 [--host=127.0.0.1]

Routes (only published versions, i.e. version directories, are visible):

    GET /                                             index of models and versions (HTML)
    GET /<publisher>/<name>/<N>?tf-hub-format=compressed   the version's .tar.gz
    GET /<publisher>/<name>?tf-hub-format=compressed       the newest version's .tar.gz
    GET /<publisher>/<name>/<N>    and   /<publisher>/<name>   the model card (HTML)

`hub.load("http://127.0.0.1:8080/<publisher>/<name>/<N>")` then works through
tensorflow_hub's own compressed resolver and cache, and so does
`official_encoders.resolve`, which also checks the MANIFEST sha256 values.

Safety: every path segment must be a plain name (letters, digits, '.', '_',
'-'; no '..', no encoded '/'), files are opened only below the real hub root,
each connection gets a deadline for sending its request (slowloris), and the
server binds to 127.0.0.1 unless told otherwise.
"""

import contextlib
import html
import http.server
import json
import os
import pathlib
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.parse

from absl import app
from absl import flags

from official_encoders.hub import layout

_MAX_NAME_PARTS = 4
_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
          "code,pre{background:#f4f4f4}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}")


class HttpError(Exception):
    """A client error or a missing resource, answered with `status`."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class HubTree:
    """Read-only view of `<hub_root>` through export.publish's layout: published models and versions.

    A model name may have several parts (`small_bert/bert_en_uncased_L-2_H-128_A-2`).
    """

    def __init__(self, hub_root):
        self.root = pathlib.Path(hub_root).resolve(strict=True)
        if not self.root.is_dir():
            raise NotADirectoryError(f"--hub_root {hub_root} is not a directory")

    def models(self):
        """Sorted [(publisher, name, [versions])] of models with at least one version."""
        found = []
        for publisher in sorted(self.root.iterdir()):
            if publisher.name != layout.DOCS_DIR and _is_plain_dir(publisher):
                self._collect(publisher.name, publisher, [], found)
        return found

    def _collect(self, publisher, directory, name_parts, found, depth=0):
        if name_parts:
            versions = self.versions(publisher, "/".join(name_parts))
            if versions:
                found.append((publisher, "/".join(name_parts), versions))
        if depth < _MAX_NAME_PARTS:
            for child in sorted(directory.iterdir()):
                if _is_plain_dir(child) and not layout.VERSION.match(child.name):
                    self._collect(publisher, child, name_parts + [child.name], found, depth + 1)

    def versions(self, publisher, name):
        if any(layout.VERSION.match(part) for part in name.split("/")):
            return []  # never descend into a version directory
        try:
            directory = self._inside(layout.model_dir(self.root, publisher, name))
        except ValueError:
            return []
        if not directory.is_dir():
            return []
        return [v for v in layout.published_versions(self.root, publisher, name)
                if not (directory / str(v)).is_symlink()]

    def locate(self, segments):
        """(publisher, name, version) for /<publisher>/<name parts...>[/<version>]; 404 if unknown."""
        publisher, rest = segments[0], segments[1:]
        if publisher == layout.DOCS_DIR or not rest:
            raise HttpError(404, "Use /<publisher>/<name>[/<version>].")
        if len(rest) > 1 and layout.VERSION.match(rest[-1]):
            name, version = "/".join(rest[:-1]), int(rest[-1])
            versions = self.versions(publisher, name)
            if versions:
                if version not in versions:
                    raise HttpError(404, f"Model {publisher}/{name} has no version {version}; "
                                         f"published versions: {versions}.")
                return publisher, name, version
        name = "/".join(rest)
        versions = self.versions(publisher, name)
        if not versions:
            raise HttpError(404, f"No model {publisher}/{name} in this hub.")
        return publisher, name, versions[-1]

    def tarball(self, publisher, name, version):
        path = self._inside(layout.tarball_path(self.root, publisher, name, version))
        if not path.is_file():
            raise HttpError(404, f"{publisher}/{name}/{version} has no tarball.")
        return path

    def card(self, publisher, name, version):
        path = self._inside(layout.card_path(self.root, publisher, name, version))
        return path if path.is_file() else None

    def _inside(self, path):
        """`path` with symlinks resolved, if it stays under the hub root; else 404."""
        real = pathlib.Path(os.path.realpath(path))
        if real != self.root and self.root not in real.parents:
            raise HttpError(404, "Not found.")
        return real


def _is_plain_dir(path):
    return layout.NAME_PART.match(path.name) is not None and path.is_dir() and not path.is_symlink()


def parse_request_path(raw_path):
    """Splits a request target into (segments, query dict); refuses anything but plain names."""
    parsed = urllib.parse.urlsplit(raw_path)
    if parsed.scheme or parsed.netloc:
        raise HttpError(400, "Use a path, not an absolute URL.")
    query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
    raw_segments = [s for s in parsed.path.split("/") if s != ""]
    if parsed.path.startswith("//") or "//" in parsed.path.rstrip("/"):
        raise HttpError(400, "Malformed path: empty segment.")
    segments = []
    for raw in raw_segments:
        try:
            segment = urllib.parse.unquote(raw, errors="strict") if "%" in raw else raw
        except UnicodeDecodeError:
            raise HttpError(400, f"Malformed path segment {raw!r}: not UTF-8.") from None
        if not layout.NAME_PART.match(segment) or segment.strip(".") == "":
            raise HttpError(400, f"Malformed path segment {raw!r}: only letters, digits, "
                                 "'.', '_' and '-' are allowed.")
        segments.append(segment)
    return segments, query


def render_markdown(text):
    import markdown

    return markdown.markdown(text, extensions=["fenced_code", "tables"])


def _page(title, body):
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>").encode("utf-8")


def index_page(tree):
    rows = []
    for publisher, name, versions in tree.models():
        links = " ".join(
            f"<a href='/{publisher}/{name}/{v}'>{v}</a> "
            f"(<a href='/{publisher}/{name}/{v}?tf-hub-format=compressed'>tar.gz</a>)"
            for v in versions)
        rows.append(f"<tr><td>{html.escape(publisher)}</td><td>{html.escape(name)}</td>"
                    f"<td>{links}</td></tr>")
    table = ("<table><tr><th>Publisher</th><th>Model</th><th>Versions</th></tr>"
             + "".join(rows) + "</table>") if rows else "<p>No published models.</p>"
    return _page("Model hub", f"<h1>Model hub</h1>{table}")


def card_page(tree, publisher, name, version):
    versions = tree.versions(publisher, name)
    handle = f"/{publisher}/{name}/{version}"
    nav = ("<p><a href='/'>All models</a> · versions: "
           + " ".join(f"<a href='/{publisher}/{name}/{v}'>{v}</a>" for v in versions)
           + f" · <a href='{handle}?tf-hub-format=compressed'>download</a></p>")
    card = tree.card(publisher, name, version)
    body = (render_markdown(card.read_text(encoding="utf-8")) if card
            else "<p>This version has no model card.</p>")
    return _page(f"{publisher}/{name} v{version}", nav + body)


class HubRequestHandler(http.server.BaseHTTPRequestHandler):
    """One request per connection; the tree and limits come from the server."""

    server_version = "official-encoders-hub/1"
    protocol_version = "HTTP/1.0"

    def setup(self):
        super().setup()
        self.connection.settimeout(self.server.io_timeout)
        # Slowloris: a client that has not sent its whole request by the deadline is cut off.
        self._request_read = threading.Event()
        self._deadline = threading.Timer(self.server.request_deadline, self._cut_off_slow_client)
        self._deadline.daemon = True
        self._deadline.start()

    def finish(self):
        self._deadline.cancel()
        super().finish()

    def _cut_off_slow_client(self):
        if not self._request_read.is_set():
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def do_HEAD(self):
        self._answer(send_body=False)

    def do_GET(self):
        self._answer(send_body=True)

    def _answer(self, send_body):
        self._request_read.set()
        self.server.count("requests")
        try:
            self._route(send_body)
        except HttpError as error:
            self.server.count(f"status_{error.status}")
            self._send_bytes(error.status, "text/plain; charset=utf-8",
                             (error.message + "\n").encode("utf-8"), send_body)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True

    def _route(self, send_body):
        segments, query = parse_request_path(self.path)
        formats = query.get("tf-hub-format")
        if formats is not None and formats != ["compressed"]:
            raise HttpError(400, f"Unsupported tf-hub-format {formats}; only 'compressed' is served.")
        tree = self.server.tree
        if not segments:
            if formats:
                raise HttpError(400, "tf-hub-format needs /<publisher>/<name>[/<version>].")
            return self._send_bytes(200, "text/html; charset=utf-8", index_page(tree), send_body)
        if len(segments) > 2 + _MAX_NAME_PARTS:
            raise HttpError(400, "Malformed path: too many segments.")
        if len(segments) >= 3 and segments[-1].isdigit() and not layout.VERSION.match(segments[-1]):
            raise HttpError(400, f"Version {segments[-1]!r} is not a positive integer.")
        publisher, name, version = tree.locate(segments)
        if formats:
            return self._send_file(tree.tarball(publisher, name, version), publisher, name,
                                   version, send_body)
        return self._send_bytes(200, "text/html; charset=utf-8",
                                card_page(tree, publisher, name, version), send_body)

    def _send_bytes(self, status, content_type, body, send_body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _send_file(self, path, publisher, name, version, send_body):
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(size))
            self.send_header("Content-Disposition",
                             f"attachment; filename={publisher}-{name.replace('/', '-')}-{version}.tar.gz")
            self.send_header("X-Hub-Version", str(version))
            self.end_headers()
            self.server.count("tarballs")
            if send_body:
                shutil.copyfileobj(f, self.wfile, 1 << 20)

    def log_message(self, format, *args):
        if self.server.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))


class HubServer(http.server.ThreadingHTTPServer):
    """Threading HTTP server over one hub tree, with per-connection time limits."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, hub_root, host="127.0.0.1", port=0, io_timeout=30.0,
                 request_deadline=10.0, verbose=False):
        self.tree = HubTree(hub_root)
        self.io_timeout = io_timeout
        self.request_deadline = request_deadline
        self.verbose = verbose
        self.counts = {}
        self._count_lock = threading.Lock()
        super().__init__((host, port), HubRequestHandler)

    def count(self, key):
        with self._count_lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


@contextlib.contextmanager
def running_in_thread(hub_root, **kwargs):
    """A HubServer serving on a daemon thread for the `with` block; stopped and closed after it."""
    server = HubServer(hub_root, **kwargs)
    thread = threading.Thread(target=server.serve_forever, name="hub-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


FLAGS = flags.FLAGS


def define_flags():
    """Declares the flags; only when run as a program, so importing this module never clashes."""
    flags.DEFINE_string("hub_root", None, "Hub tree to serve (<publisher>/<name>/<N>...).")
    flags.DEFINE_string("host", "127.0.0.1", "Address to bind; 0.0.0.0 exposes the hub to the network.")
    flags.DEFINE_integer("port", 8080, "Port to listen on (0 picks a free one).")
    flags.DEFINE_float("request_deadline", 10.0, "Seconds a client has to send its request.")
    flags.DEFINE_float("io_timeout", 30.0, "Seconds of socket inactivity before a connection is dropped.")
    flags.DEFINE_bool("verbose", False, "Log every request to stderr.")


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS.hub_root:
        raise app.UsageError("--hub_root is required: the directory written by `python -m export`.")
    if not os.path.isdir(FLAGS.hub_root):
        raise app.UsageError(f"--hub_root={FLAGS.hub_root} is not a directory.")
    server = HubServer(FLAGS.hub_root, FLAGS.host, FLAGS.port, io_timeout=FLAGS.io_timeout,
                       request_deadline=FLAGS.request_deadline, verbose=FLAGS.verbose)
    models = server.tree.models()
    print(f"Serving {len(models)} model(s) from {server.tree.root} at {server.url}/", flush=True)
    started = time.time()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print(f"Stopped after {time.time() - started:.0f}s: "
              + json.dumps(server.counts, sort_keys=True), flush=True)


if __name__ == "__main__":
    define_flags()
    app.run(main)
