"""BENCHMARKS.md: each benchmark owns one `## ` section and replaces only that."""

import os
import pathlib
import re

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def write_section(section, path=BENCHMARKS):
    """Replaces the section whose `## ` heading starts `section` (or appends it), atomically."""
    section = section.strip("\n") + "\n"
    heading = section.splitlines()[0]
    if not heading.startswith("## "):
        raise ValueError(f"a benchmark section must start with a '## ' heading, got {heading!r}")
    path = pathlib.Path(path)
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: section + "\n", current, count=1).rstrip("\n") + "\n"
    else:
        updated = current.rstrip("\n") + "\n\n" + section
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(updated)
    os.replace(tmp, path)
    return path
