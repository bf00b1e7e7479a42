"""BENCHMARKS.md: each benchmark owns one `## ` section and replaces only that."""

import os
import pathlib
import re

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def cpu_description():
    """The CPU model, whether it has AVX-512, and whether TensorFlow's oneDNN rewrites are on.

    TensorFlow turns oneDNN on by default only on CPUs with AVX-512 VNNI/BF16 or AMX (an
    AVX2-only AMD EPYC runs without it, about 2x slower), so every figure says which it had.
    """
    model, flags = "unknown CPU", set()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown CPU":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    try:
        from tensorflow.python.util import _pywrap_util_port  # pylint: disable=g-direct-tensorflow-import

        onednn = "on" if _pywrap_util_port.IsMklEnabled() else "off"
    except ImportError:
        onednn = "unknown"
    avx512 = "AVX-512" if "avx512f" in flags else "AVX2 only" if "avx2" in flags else "no AVX2"
    return f"CPU: {model} ({avx512}, {os.cpu_count()} logical cores); TensorFlow oneDNN: {onednn}."


def write_section(section, path=BENCHMARKS):
    """Replaces the section whose `## ` heading starts `section` (or appends it), atomically.

    A `CPU: ...` line (cpu_description) follows the heading unless the section has one.
    """
    section = section.strip("\n") + "\n"
    heading = section.splitlines()[0]
    if not heading.startswith("## "):
        raise ValueError(f"a benchmark section must start with a '## ' heading, got {heading!r}")
    if "\nCPU: " not in section:
        section = section.replace(heading + "\n", f"{heading}\n\n{cpu_description()}\n", 1)
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
