"""write_section replaces only its own BENCHMARKS.md section and keeps the others."""

import pytest

from bench.results import write_section


def test_replaces_its_section_and_keeps_the_others(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\n## A\n\nold a\n\n## B\n\nold b\n")
    write_section("## A\n\nnew a\n", path)
    write_section("## C\n\nnew c", path)
    write_section("## A\n\nnewer a\n", path)
    text = path.read_text()
    assert text.count("## A\n") == 1 and "newer a" in text and "old a" not in text and "new a\n" not in text
    assert "old b" in text and text.index("## A") < text.index("## B") < text.index("## C")
    assert not list(tmp_path.glob("*.tmp")), "the temporary file must be renamed into place"


def test_starts_a_missing_file_and_refuses_a_section_without_heading(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    write_section("## A\n\nfirst", path)
    assert path.read_text().startswith("# Benchmarks\n\n## A\n")
    with pytest.raises(ValueError, match="'## ' heading"):
        write_section("no heading here", path)


def test_every_section_names_the_cpu_and_onednn(tmp_path):
    from tensorflow.python.util import _pywrap_util_port

    path = tmp_path / "BENCHMARKS.md"
    write_section("## A\n\nfigures", path)
    line = path.read_text().splitlines()[4]
    assert line.startswith("CPU: ") and line.endswith(
        f"TensorFlow oneDNN: {'on' if _pywrap_util_port.IsMklEnabled() else 'off'}.")
    write_section("## B\n\nCPU: given by the benchmark\n", path)
    assert path.read_text().count("CPU: ") == 2
