"""Safe extraction of model tarballs: the one place in the project that unpacks them.

A downloaded archive is untrusted. `safe_extract` writes only regular files and
directories, each strictly below the target directory, and refuses the archive
(naming the offending member) on:

- absolute names, `..` components, backslashes or NUL bytes in a name;
- symbolic links and hard links (a SavedModel never needs them, and a link is
  how an archive writes outside its target);
- device files, FIFOs and any other special member;
- a member listed twice (a later copy would silently replace the first);
- more than `max_members` members, or more than `max_bytes` of file data in
  total, counted from the bytes actually decompressed, not from the headers.

It reads the archive as a stream, so an HTTP response can be unpacked while it
downloads. On refusal the caller removes the half-written target directory.
"""

import os
import pathlib
import posixpath
import tarfile

DEFAULT_MAX_BYTES = int(os.environ.get("OFFICIAL_ENCODERS_MAX_EXTRACT_BYTES", 32 << 30))
DEFAULT_MAX_MEMBERS = 100_000
_CHUNK = 1 << 20


class UnsafeArchiveError(ValueError):
    """The archive tries to escape its target, has special members, or is too large."""


def _clean_member_name(name):
    if "\x00" in name or "\\" in name:
        raise UnsafeArchiveError(f"archive member {name!r} has a NUL byte or backslash in its name")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"archive member {name!r} has a '..' component")
    return posixpath.join(*parts) if parts else ""


def safe_extract(fileobj, target_dir, max_bytes=DEFAULT_MAX_BYTES,
                 max_members=DEFAULT_MAX_MEMBERS, progress=None):
    """Unpacks a (possibly gzip-compressed) tar stream into `target_dir`.

    Args:
      fileobj: a binary file object (an open file or an HTTP response).
      target_dir: directory to write into; created if missing, should be empty.
      max_bytes: limit on the total decompressed size of all files.
      max_members: limit on the number of archive members.
      progress: optional callable(bytes_written_so_far).

    Returns:
      The list of relative file paths written.

    Raises:
      UnsafeArchiveError: naming the member that was refused.
      tarfile.ReadError: the stream is not a (complete) tar archive.
    """
    target = pathlib.Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    target = target.resolve()
    seen, written, total = set(), [], 0
    with tarfile.open(fileobj=fileobj, mode="r|*") as archive:
        for count, member in enumerate(archive, start=1):
            if count > max_members:
                raise UnsafeArchiveError(
                    f"archive has more than {max_members} members (at {member.name!r})")
            name = _clean_member_name(member.name)
            if not name:
                if member.isdir():
                    continue
                raise UnsafeArchiveError(f"archive member {member.name!r} has an empty name")
            if name in seen:
                raise UnsafeArchiveError(f"archive member {name!r} appears more than once")
            seen.add(name)
            if member.issym() or member.islnk():
                raise UnsafeArchiveError(
                    f"archive member {name!r} is a link to {member.linkname!r}; links are "
                    "refused in model archives")
            if not (member.isdir() or member.isreg()):
                raise UnsafeArchiveError(
                    f"archive member {name!r} is a device, FIFO or other special file")
            destination = target.joinpath(*name.split("/"))
            parent = destination.parent
            if parent != target and target not in parent.parents:
                raise UnsafeArchiveError(f"archive member {name!r} would land outside the target")
            if member.isdir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            with os.fdopen(os.open(destination, flags, 0o644), "wb") as out:
                while block := source.read(_CHUNK):
                    total += len(block)
                    if total > max_bytes:
                        raise UnsafeArchiveError(
                            f"archive unpacks to more than {max_bytes} bytes (at member "
                            f"{name!r}); raise max_bytes or OFFICIAL_ENCODERS_MAX_EXTRACT_BYTES "
                            "if this model is really that large")
                    out.write(block)
                    if progress is not None:
                        progress(total)
            written.append(name)
    return written
