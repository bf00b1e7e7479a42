"""The hub tree: versions, atomic publish, manifest, tarball, concurrency, kills, gc."""

import hashlib
import http.server
import json
import os
import pathlib
import signal
import subprocess
import sys
import tarfile
import textwrap
import threading
import time

import pytest

from export.publish.gc import find_stray, remove_stray
from export.publish.manifest import source_record, write_manifest
from export.publish.staging import StagedVersion, VersionExistsError, next_version, stage_version
from export.publish import version_line
from official_encoders.checkpoints.identity import SourceIdentity
from official_encoders.hub.layout import model_dir, published_versions
from official_encoders.hub.manifest import manifest_problems, read_manifest

ROOT = pathlib.Path(os.path.abspath(__file__)).parents[2]

# A child process that stages a fake version and publishes it; no TensorFlow, so it
# starts fast. argv: hub_root version|auto pause_in_card(0/1)
_CHILD = textwrap.dedent("""
    import sys, time
    from export.publish.manifest import write_manifest
    from export.publish.staging import VersionExistsError, stage_version
    hub_root, version, pause = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    version = None if version == "auto" else int(version)
    with stage_version(hub_root, "local", "m") as staged:
        staged.path.mkdir()
        (staged.path / "saved_model.pb").write_bytes(b"x" * 1000)
        (staged.path / "variables").mkdir()
        (staged.path / "variables" / "variables.index").write_bytes(b"i")
        write_manifest(staged.path, artifact="encoder", source=None)
        print("STAGED", flush=True)
        def card(n):
            if pause:
                print("IN_LOCK", flush=True)
                time.sleep(60)
            return f"card {n}\\n"
        try:
            out = staged.publish(version=version, render_card=card)
        except VersionExistsError as e:
            print("REFUSED", e, flush=True)
            sys.exit(3)
        print("PUBLISHED", out.version, flush=True)
""")


def _child(hub_root, version="auto", pause=False):
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(hub_root), str(version), "1" if pause else "0"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stage_fake(hub_root, name="m", payload=b"weights"):
    staged = StagedVersion(hub_root, "local", name)
    staged.path.mkdir()
    (staged.path / "saved_model.pb").write_bytes(payload)
    (staged.path / "variables").mkdir()
    (staged.path / "variables" / "variables.data-00000-of-00001").write_bytes(payload * 3)
    (staged.path / "assets").mkdir()
    (staged.path / "assets" / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    return staged


def _leftovers(hub_root):
    return [p for p in pathlib.Path(hub_root).rglob(".tmp-*")]


def test_versions_count_from_one_and_layout(tmp_path):
    assert next_version(tmp_path, "local", "m") == 1
    for expected in (1, 2):
        staged = _stage_fake(tmp_path)
        write_manifest(staged.path, artifact="encoder", source=None)
        out = staged.publish(render_card=lambda n: f"# version {n}\n")
        assert out.version == expected
        assert (tmp_path / "local" / "m" / str(expected) / "saved_model.pb").is_file()
        assert (tmp_path / "local" / "m" / f"{expected}.tar.gz").is_file()
        assert (tmp_path / "docs" / "local" / "models" / "m" / f"{expected}.md").read_text() == f"# version {expected}\n"
    assert published_versions(tmp_path, "local", "m") == [1, 2]
    assert next_version(tmp_path, "local", "m") == 3
    assert _leftovers(tmp_path) == []


def test_explicit_existing_version_is_refused_and_untouched(tmp_path):
    staged = _stage_fake(tmp_path, payload=b"first")
    write_manifest(staged.path, artifact="encoder", source=None)
    staged.publish(version=4)
    before = (tmp_path / "local" / "m" / "4" / "saved_model.pb").read_bytes()
    tar_before = (tmp_path / "local" / "m" / "4.tar.gz").read_bytes()
    with stage_version(tmp_path, "local", "m") as staged:
        staged.path.mkdir()
        (staged.path / "saved_model.pb").write_bytes(b"second")
        with pytest.raises(VersionExistsError, match="version 4 already exists"):
            staged.publish(version=4)
    assert (tmp_path / "local" / "m" / "4" / "saved_model.pb").read_bytes() == before
    assert (tmp_path / "local" / "m" / "4.tar.gz").read_bytes() == tar_before
    assert _leftovers(tmp_path) == []
    # The next automatic version follows the highest published one.
    assert next_version(tmp_path, "local", "m") == 5


def test_staging_publishes_an_explicit_version_and_nothing_when_writing_fails(tmp_path):
    with stage_version(tmp_path, "local", "m") as staged:
        staged.path.mkdir()
        (staged.path / "saved_model.pb").write_bytes(b"pb")
        write_manifest(staged.path, artifact="encoder", source=None, changelog="two")
        out = staged.publish(version=2)
    assert out.version == 2 and read_manifest(out.path)["changelog"] == "two"
    assert manifest_problems(out.path, require=True) == []

    with pytest.raises(OSError, match="disk full"):
        with stage_version(tmp_path, "local", "m") as staged:
            staged.path.mkdir()
            (staged.path / "saved_model.pb").write_bytes(b"pb")
            raise OSError("disk full")
    assert published_versions(tmp_path, "local", "m") == [2] and _leftovers(tmp_path) == []


def test_multi_part_names_nest_like_tf_hub(tmp_path):
    staged = _stage_fake(tmp_path, name="small_bert/bert_en_uncased_L-2_H-128_A-2")
    out = staged.publish(render_card=lambda n: "card\n")
    assert out.path == tmp_path / "local" / "small_bert" / "bert_en_uncased_L-2_H-128_A-2" / "1"
    assert out.card == tmp_path / "docs" / "local" / "models" / "small_bert" / "bert_en_uncased_L-2_H-128_A-2" / "1.md"
    dead = out.path.parent / ".tmp-999999999-x"
    dead.mkdir()
    assert find_stray(tmp_path, older_than_seconds=0) == [dead]


def test_bad_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="Invalid name '../x'"):
        model_dir(tmp_path, "local", "../x")
    with pytest.raises(ValueError, match="Invalid publisher ''"):
        model_dir(tmp_path, "", "m")


def test_failure_inside_stage_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with stage_version(tmp_path, "local", "m") as staged:
            staged.path.mkdir()
            (staged.path / "saved_model.pb").write_bytes(b"x")
            raise RuntimeError("boom")
    assert published_versions(tmp_path, "local", "m") == []
    assert _leftovers(tmp_path) == []
    assert not (tmp_path / "local" / "m" / "1.tar.gz").exists()


def test_failing_card_publishes_nothing(tmp_path):
    def bad_card(n):
        raise ValueError("card failed")

    with stage_version(tmp_path, "local", "m") as staged:
        staged.path.mkdir()
        (staged.path / "saved_model.pb").write_bytes(b"x")
        with pytest.raises(ValueError, match="card failed"):
            staged.publish(render_card=bad_card)
    assert sorted(p.name for p in (tmp_path / "local" / "m").iterdir()) == [".lock"]


def test_manifest_hashes_every_file_and_detects_changes(tmp_path):
    staged = _stage_fake(tmp_path)
    (tmp_path / "src").mkdir()
    src = tmp_path / "src" / "ckpt.bin"
    src.write_bytes(b"source weights")
    outside = tmp_path / "bert_config.json"
    outside.write_text("{}")
    source = source_record("hf", SourceIdentity("acme/tiny", "README.md"), [src, outside], root=tmp_path / "src")
    assert source == {"kind": "hf", "identity": "acme/tiny", "identity_from": "README.md",
                      "files": {"ckpt.bin": hashlib.sha256(b"source weights").hexdigest(),
                                "bert_config.json": hashlib.sha256(b"{}").hexdigest()}}
    manifest = write_manifest(
        staged.path, artifact="encoder", source=source,
        config={"hidden_size": 16}, verification={"max_abs_diff": 0.0}, changelog="first")
    out = staged.publish()
    on_disk = read_manifest(out.path)
    assert on_disk == json.loads(json.dumps(manifest))
    assert set(on_disk["files"]) == {"saved_model.pb", "variables/variables.data-00000-of-00001",
                                     "assets/vocab.txt"}
    assert on_disk["files"]["saved_model.pb"]["sha256"] == hashlib.sha256(b"weights").hexdigest()
    assert str(tmp_path) not in json.dumps(on_disk)  # no machine path, only names relative to the source
    assert on_disk["versions"]["tensorflow"] and on_disk["exported_at"].endswith("+00:00")
    assert manifest_problems(out.path, require=True) == []
    (out.path / "assets" / "vocab.txt").write_text("changed")
    (out.path / "extra").write_text("x")
    problems = manifest_problems(out.path, require=True)
    assert len(problems) == 2
    assert problems[0].startswith("assets/vocab.txt: size 7, expected") and problems[1] == "extra: not listed in MANIFEST.json"


def test_tarball_resolves_through_tensorflow_hub_http_resolver(tmp_path, monkeypatch):
    """Serve <N>.tar.gz the way an HTTP hub does and let tensorflow_hub fetch it."""
    import tensorflow as tf
    import tensorflow_hub as hub

    module = tf.Module()
    module.v = tf.Variable([1.0, 2.0])
    module.f = tf.function(lambda: module.v * 2.0, input_signature=[])
    staged = StagedVersion(tmp_path / "hub", "local", "m")
    tf.saved_model.save(module, str(staged.path))
    staged.start_tarball()  # in the background, as the pipeline does during verification
    write_manifest(staged.path, artifact="encoder", source=None)
    out = staged.publish()
    with tarfile.open(out.tarball) as tar:
        names = tar.getnames()
    assert "saved_model.pb" in names and names[-1] == "MANIFEST.json"
    assert sorted(names) == sorted(p.relative_to(out.path).as_posix() for p in out.path.rglob("*"))
    assert names.index("variables") < names.index("variables/variables.index")

    hub_root = tmp_path / "hub"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            path, _, query = self.path.partition("?")
            assert query == "tf-hub-format=compressed"
            data = (hub_root / (path.lstrip("/") + ".tar.gz")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
        local = hub.resolve(f"http://127.0.0.1:{server.server_port}/local/m/1")
    finally:
        server.shutdown()
    assert manifest_problems(local, require=True) == []
    loaded = tf.saved_model.load(local)
    assert loaded.f().numpy().tolist() == [2.0, 4.0]


def test_concurrent_automatic_exports_get_distinct_versions(tmp_path):
    children = [_child(tmp_path) for _ in range(4)]
    outs = [c.communicate(timeout=60) for c in children]
    assert [c.returncode for c in children] == [0] * 4, outs
    versions = sorted(int(o[0].split("PUBLISHED")[1]) for o in outs)
    assert versions == [1, 2, 3, 4]
    for v in versions:
        assert manifest_problems(tmp_path / "local" / "m" / str(v), require=True) == []
        assert (tmp_path / "local" / "m" / f"{v}.tar.gz").is_file()
    assert _leftovers(tmp_path) == []


def test_concurrent_explicit_same_version_one_wins(tmp_path):
    children = [_child(tmp_path, version=7) for _ in range(3)]
    outs = [c.communicate(timeout=60) for c in children]
    codes = sorted(c.returncode for c in children)
    assert codes == [0, 3, 3], outs
    assert published_versions(tmp_path, "local", "m") == [7]
    assert _leftovers(tmp_path) == []


def _wait_for(proc, marker):
    for line in proc.stdout:
        if line.startswith(marker):
            return
    raise AssertionError(f"child ended before {marker}: {proc.stderr.read()}")


@pytest.mark.parametrize("kill_at", ["STAGED", "IN_LOCK"])
def test_sigkill_leaves_no_version_and_rerun_succeeds(tmp_path, kill_at):
    proc = _child(tmp_path, pause=True)
    _wait_for(proc, kill_at)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert published_versions(tmp_path, "local", "m") == []
    # The killed export's temp directory is stray once its process is gone.
    stray = find_stray(tmp_path, older_than_seconds=0)
    assert any(p.name.startswith(".tmp-") for p in stray)
    # A rerun takes version 1 (an orphaned tarball/card is replaced under the lock).
    rerun = _child(tmp_path)
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert "PUBLISHED 1" in out
    assert (tmp_path / "docs" / "local" / "models" / "m" / "1.md").read_text() == "card 1\n"
    assert manifest_problems(tmp_path / "local" / "m" / "1", require=True) == []
    remove_stray(find_stray(tmp_path, older_than_seconds=0))
    assert _leftovers(tmp_path) == []
    assert published_versions(tmp_path, "local", "m") == [1]


def test_gc_keeps_live_and_recent_temp_dirs(tmp_path):
    staged = _stage_fake(tmp_path)  # this process is alive
    dead = tmp_path / "local" / "m" / ".tmp-999999999-abc"
    dead.mkdir()
    old = time.time() - 7200
    os.utime(dead, (old, old))
    assert find_stray(tmp_path, older_than_seconds=3600) == [dead]
    assert staged.tmp_dir not in find_stray(tmp_path, older_than_seconds=0)
    staged.cleanup()


def test_atomic_directory_renames_on_success_and_leaves_nothing_on_failure(tmp_path):
    from official_encoders.fileio.atomic import atomic_directory

    target = tmp_path / "out"
    with atomic_directory(target) as staging:
        (staging / "a").write_text("1")
        assert not target.exists() and staging.parent == tmp_path
    assert (target / "a").read_text() == "1" and oct(target.stat().st_mode & 0o777) == "0o755"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    with pytest.raises(FileExistsError, match="never overwritten"):
        with atomic_directory(target):
            pass
    assert (target / "a").read_text() == "1"

    failed = tmp_path / "failed"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_directory(failed) as staging:
            (staging / "half").write_text("x")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_directory(empty) as staging:
        (staging / "b").write_text("2")
    assert (empty / "b").read_text() == "2"


def _publish_config(hub_root, name, config):
    staged = _stage_fake(hub_root, name)
    write_manifest(staged.path, artifact="encoder", source=None, config=config)
    return staged.publish()


def test_version_line_compares_with_the_latest_version_only(tmp_path):
    small = {"family": "bert", "num_layers": 2, "hidden_size": 16, "num_heads": 2, "dropout": 0.1}
    assert version_line.config_changes(tmp_path, "local", "m", small) == (None, [])
    (tmp_path / "local" / "hand_made" / "1").mkdir(parents=True)  # no MANIFEST.json: no config to compare
    assert version_line.config_changes(tmp_path, "local", "hand_made", small) == (1, [])
    version_line.require_same_config(tmp_path, "local", "m", small)  # a new name: nothing to compare
    _publish_config(tmp_path, "m", dict(small, num_layers=4))
    _publish_config(tmp_path, "m", small)
    assert version_line.config_changes(tmp_path, "local", "m", small) == (2, [])
    bigger = dict(small, num_layers=6, hidden_size=32, dropout=0.2)
    version, changes = version_line.config_changes(tmp_path, "local", "m", bigger)
    assert version == 2 and changes == [("dropout", 0.1, 0.2), ("hidden_size", 16, 32), ("num_layers", 2, 6)]
    version_line.require_same_config(tmp_path, "local", "m_other", bigger)  # another name: its own line
    with pytest.raises(version_line.ConfigChangedError,
                       match=r"local/m version 2 has another architecture \(dropout 0\.1 -> 0\.2, hidden_size 16 -> 32, "
                             r"num_layers 2 -> 6\).*--name=m_dropout_0_2_h32_l6, or pass --allow_config_change"):
        version_line.require_same_config(tmp_path, "local", "m", bigger)
