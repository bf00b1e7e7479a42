"""safe_extract refuses every way an archive can escape its target or blow up."""

import gzip
import io
import tarfile

import pytest

from official_encoders.hub.archive import UnsafeArchiveError, safe_extract


class _Stream(io.RawIOBase):
    """A non-seekable reader, like an HTTP response."""

    def __init__(self, data):
        self._buffer = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, b):
        chunk = self._buffer.read(len(b))
        b[:len(chunk)] = chunk
        return len(chunk)


def _tarball(members):
    """members: list of (TarInfo, bytes or None)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return out.getvalue()


def _file(name, data=b"x"):
    return tarfile.TarInfo(name), data


def _special(name, kind, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def test_extracts_files_and_directories_from_a_stream(tmp_path):
    directory = tarfile.TarInfo("variables")
    directory.type = tarfile.DIRTYPE
    data = _tarball([_file("./saved_model.pb", b"pb"), (directory, None),
                     _file("variables/variables.index", b"index"), _file("assets/vocab.txt", b"a\nb")])
    seen = []
    written = safe_extract(_Stream(data), tmp_path / "out", progress=seen.append)
    assert sorted(written) == ["assets/vocab.txt", "saved_model.pb", "variables/variables.index"]
    assert (tmp_path / "out" / "variables" / "variables.index").read_bytes() == b"index"
    assert seen[-1] == len(b"pb") + len(b"index") + len(b"a\nb")


@pytest.mark.parametrize("member,message", [
    (_file("../evil"), "'..' component"),
    (_file("ok/../../evil"), "'..' component"),
    (_file("/tmp/evil"), "absolute path"),
    (_file("dir\\..\\evil"), "backslash"),
    (_special("link", tarfile.SYMTYPE, "../../evil"), "is a link"),
    (_special("inner", tarfile.SYMTYPE, "saved_model.pb"), "is a link"),
    (_special("hard", tarfile.LNKTYPE, "../evil"), "is a link"),
    (_special("dev", tarfile.CHRTYPE), "device, FIFO"),
    (_special("blk", tarfile.BLKTYPE), "device, FIFO"),
    (_special("fifo", tarfile.FIFOTYPE), "device, FIFO"),
])
def test_refuses_escapes_links_and_special_files(tmp_path, member, message):
    target = tmp_path / "a" / "b" / "target"
    data = _tarball([_file("saved_model.pb"), member])
    with pytest.raises(UnsafeArchiveError, match=message):
        safe_extract(_Stream(data), target)
    assert not list(tmp_path.rglob("evil"))


def test_refuses_duplicate_members(tmp_path):
    data = _tarball([_file("saved_model.pb", b"one"), _file("./saved_model.pb", b"two")])
    with pytest.raises(UnsafeArchiveError, match="more than once"):
        safe_extract(_Stream(data), tmp_path / "out")


def test_refuses_decompression_bombs_by_bytes_actually_written(tmp_path):
    zeros = b"\0" * (4 << 20)
    data = _tarball([_file("variables/variables.data-00000-of-00001", zeros)])
    assert len(data) < 64 << 10  # a few KB on the wire
    with pytest.raises(UnsafeArchiveError, match=r"more than 1048576 bytes.*variables.data"):
        safe_extract(_Stream(data), tmp_path / "out", max_bytes=1 << 20)


def test_refuses_too_many_members(tmp_path):
    data = _tarball([_file(f"f{i}") for i in range(20)])
    with pytest.raises(UnsafeArchiveError, match="more than 10 members"):
        safe_extract(_Stream(data), tmp_path / "out", max_members=10)


def test_truncated_archive_is_a_read_error(tmp_path):
    data = _tarball([_file("saved_model.pb", bytes(range(256)) * 400)])
    with pytest.raises((tarfile.ReadError, EOFError, gzip.BadGzipFile)):
        safe_extract(_Stream(data[: len(data) // 2]), tmp_path / "out")
