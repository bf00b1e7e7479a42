"""official_encoders.resolve: local paths, http downloads into tensorflow_hub's cache, integrity."""

import concurrent.futures
import hashlib
import io
import json
import os
import pathlib
import shutil
import tarfile

import pytest

import official_encoders
from export import serve
from official_encoders.hub import resolver
from official_encoders.hub.manifest import manifest_problems
from official_encoders.hub.archive import UnsafeArchiveError
from tests.export import tiny_hub_tree

DATA_FILE = "variables/variables.data-00000-of-00001"


def _flip_byte(path, offset=-5):
    data = bytearray(pathlib.Path(path).read_bytes())
    data[offset] ^= 0xFF
    pathlib.Path(path).write_bytes(bytes(data))


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    base = tmp_path_factory.mktemp("resolve")
    root = tiny_hub_tree.make_tiny_hub(base / "hub", base / "work", seeds=(0,))
    _add_bad_models(root)
    with serve.running_in_thread(root) as server:
        yield server


def _add_bad_models(root):
    """Versions whose tarballs lie: tampered content, an escaping member, a truncated file."""
    good_dir = root / "tiny" / "encoder" / "1"
    good_tarball = (root / "tiny" / "encoder" / "1.tar.gz").read_bytes()
    for name in ("tampered", "escaping", "truncated"):
        shutil.copytree(good_dir, root / "bad" / name / "1")

    tampered = io.BytesIO()
    with tarfile.open(fileobj=tampered, mode="w:gz") as tar:
        for path in sorted(good_dir.rglob("*"), key=lambda p: len(p.parts)):
            rel = path.relative_to(good_dir).as_posix()
            if path.is_file() and rel == DATA_FILE:
                data = bytearray(path.read_bytes())
                data[0] ^= 0xFF
                info = tarfile.TarInfo(rel)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(bytes(data)))
            else:
                tar.add(path, arcname=rel, recursive=False)
    (root / "bad" / "tampered" / "1.tar.gz").write_bytes(tampered.getvalue())

    escaping = io.BytesIO()
    with tarfile.open(fileobj=escaping, mode="w:gz") as tar:
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    (root / "bad" / "escaping" / "1.tar.gz").write_bytes(escaping.getvalue())
    (root / "bad" / "truncated" / "1.tar.gz").write_bytes(good_tarball[: len(good_tarball) // 2])


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _published_copy(hub, tmp_path):
    source = hub.tree.root / "tiny" / "encoder" / "1"
    copy = tmp_path / "model"
    shutil.copytree(source, copy)
    return copy


def test_local_directory_is_checked_against_its_manifest(hub, tmp_path):
    model = _published_copy(hub, tmp_path)
    assert official_encoders.resolve(model) == str(model)
    _flip_byte(model / DATA_FILE)
    with pytest.raises(resolver.IntegrityError, match=f"{DATA_FILE}: sha256"):
        official_encoders.resolve(model)


@pytest.mark.parametrize("damage,message", [
    (lambda m: (m / "saved_model.pb").write_bytes((m / "saved_model.pb").read_bytes() + b"\0"),
     "saved_model.pb: size"),
    (lambda m: os.remove(m / "variables" / "variables.index"), "variables.index: missing"),
    (lambda m: (m / "extra.pb").write_bytes(b"x"), "extra.pb: not listed"),
    (lambda m: (m / "MANIFEST.json").write_text("{not json"), "MANIFEST.json: unreadable"),
])
def test_every_kind_of_damage_is_named(hub, tmp_path, damage, message):
    model = _published_copy(hub, tmp_path)
    damage(model)
    with pytest.raises(resolver.IntegrityError, match=message):
        official_encoders.resolve(model)


def test_manifest_can_be_required(hub, tmp_path):
    model = _published_copy(hub, tmp_path)
    os.remove(model / "MANIFEST.json")
    assert official_encoders.resolve(model) == str(model)
    with pytest.raises(resolver.IntegrityError, match="no MANIFEST.json"):
        official_encoders.resolve(model, require_manifest=True)


def test_missing_local_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        official_encoders.resolve(str(tmp_path / "nowhere"))


def test_http_handle_uses_tensorflow_hubs_cache_layout(hub, cache):
    import tensorflow_hub as hub_lib

    handle = f"{hub.url}/tiny/encoder/1"
    path = official_encoders.resolve(handle)
    assert path == str(cache / hashlib.sha1(handle.encode()).hexdigest())
    assert manifest_problems(path) == []
    assert (cache / (pathlib.Path(path).name + ".descriptor.txt")).is_file()
    before = hub.counts.get("tarballs", 0)
    # tensorflow_hub finds our entry and does not download again.
    assert hub_lib.resolve(handle) == path
    assert official_encoders.resolve(handle) == path
    assert hub.counts.get("tarballs", 0) == before
    assert sorted(os.listdir(cache)) == sorted([pathlib.Path(path).name,
                                                pathlib.Path(path).name + ".descriptor.txt"])


@pytest.mark.parametrize("damage", ["flip", "delete", "drop_manifest_and_require"])
def test_corrupt_or_partial_cache_entry_is_fetched_again(hub, cache, damage):
    import tensorflow_hub as hub_lib

    handle = f"{hub.url}/tiny/encoder/1"
    path = pathlib.Path(official_encoders.resolve(handle))
    good = (path / DATA_FILE).read_bytes()
    if damage == "flip":
        _flip_byte(path / DATA_FILE)
    elif damage == "delete":
        os.remove(path / "variables" / "variables.index")
    else:
        os.remove(path / "MANIFEST.json")
    # tensorflow_hub hands out the damaged entry as it is.
    assert hub_lib.resolve(handle) == str(path)
    before = hub.counts.get("tarballs", 0)
    again = official_encoders.resolve(handle, require_manifest=(damage != "flip"))
    assert again == str(path)
    assert hub.counts.get("tarballs", 0) == before + 1
    assert (path / DATA_FILE).read_bytes() == good
    assert manifest_problems(path) == []


def test_tampered_download_is_refused_and_nothing_is_cached(hub, cache):
    with pytest.raises(resolver.IntegrityError, match=f"{DATA_FILE}: sha256"):
        official_encoders.resolve(f"{hub.url}/bad/tampered/1")
    assert [p for p in os.listdir(cache) if not p.endswith(".descriptor.txt")] == []


def test_escaping_tarball_is_refused(hub, cache):
    with pytest.raises(UnsafeArchiveError, match=r"'\.\./\.\./escaped.txt'.*'\.\.' component"):
        official_encoders.resolve(f"{hub.url}/bad/escaping/1")
    assert not list(cache.parent.rglob("escaped.txt"))
    assert os.listdir(cache) == []


def test_truncated_download_is_an_error(hub, cache):
    with pytest.raises(OSError, match="incomplete or not a tar.gz"):
        official_encoders.resolve(f"{hub.url}/bad/truncated/1")
    assert os.listdir(cache) == []


def test_unknown_version_reports_the_http_status(hub, cache):
    with pytest.raises(OSError, match="HTTP 404"):
        official_encoders.resolve(f"{hub.url}/tiny/encoder/7")


def test_concurrent_resolves_download_once(hub, cache):
    handle = f"{hub.url}/tiny/encoder?pin=concurrent"  # newest version, own cache entry
    before = hub.counts.get("tarballs", 0)
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        paths = set(pool.map(lambda _: official_encoders.resolve(handle), range(6)))
    assert len(paths) == 1
    assert hub.counts.get("tarballs", 0) == before + 1
    assert json.loads((pathlib.Path(paths.pop()) / "MANIFEST.json").read_text())["files"]


@pytest.mark.parametrize("damage,message", [
    ("flip_variables", f"{DATA_FILE}: sha256"),
    ("remove_vocab", "assets/vocab.txt: missing"),
    ("edit_graph", "saved_model.pb: s"),
])
def test_real_export_damage_is_refused_by_name(tiny_bert_hub, tmp_path, damage, message):
    model = tmp_path / "copy"
    shutil.copytree(tiny_bert_hub["encoder"], model)
    assert official_encoders.resolve(model, require_manifest=True) == str(model)
    if damage == "flip_variables":
        _flip_byte(model / DATA_FILE, offset=len((model / DATA_FILE).read_bytes()) // 2)
    elif damage == "remove_vocab":
        os.remove(model / "assets" / "vocab.txt")
    else:
        _flip_byte(model / "saved_model.pb", offset=100)
    with pytest.raises(resolver.IntegrityError, match=message):
        official_encoders.resolve(model)
