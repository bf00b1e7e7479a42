"""Imports: every module loads in one process, and imports go one way with no cycles.

The layering check reads every `import`, `from` and `importlib.import_module("...")` line
(tools.import_graph); the fixtures below write small trees that break each rule, to show
that the check fails on them and names the modules.
"""

import importlib
import pathlib
import subprocess
import sys

import pytest

from tools import import_graph

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_all_modules_import_together():
    failures = []
    for name in import_graph.module_files(ROOT):
        if name.startswith("tests"):
            continue
        try:
            importlib.import_module(name)
        except Exception as e:  # collect every failure, not just the first
            failures.append(f"{name}: {type(e).__name__}: {e}")
    assert not failures, "modules that fail to import:\n" + "\n".join(failures)


@pytest.mark.parametrize("package", ["official_encoders", "preprocessors"])
def test_model_packages_do_not_import_export(package):
    code = f"import sys, {package}; print(any(m == 'export' or m.startswith('export.') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False"), f"{package} pulls in export at import time"


def test_the_tree_imports_one_way_without_cycles():
    assert import_graph.problems(ROOT) == []


@pytest.fixture
def write_tree(tmp_path):
    """Writes {relative path: source} as a package tree under tmp_path; returns its root."""
    def write(files):
        for rel, source in files.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source)
        for package in import_graph.PACKAGE_ROOTS:
            (tmp_path / package).mkdir(exist_ok=True)
        return tmp_path
    return write


@pytest.mark.parametrize("statement", [
    "from official_encoders import models\n",
    "import official_encoders.models\n",
    "def f():\n    from official_encoders.models import thing\n",
    "import importlib\nLAZY = importlib.import_module('official_encoders.models')\n",
])
def test_an_upward_import_is_named(write_tree, statement):
    root = write_tree({"preprocessors/__init__.py": "", "preprocessors/tok.py": statement,
                       "official_encoders/__init__.py": "", "official_encoders/models.py": ""})
    assert import_graph.problems(root) == [
        "preprocessors.tok imports official_encoders.models: preprocessors may not import "
        "official_encoders (imports go export -> official_encoders -> preprocessors)"]


def test_a_cycle_between_two_modules_is_named(write_tree):
    root = write_tree({"export/__init__.py": "", "export/a.py": "from export import b\n",
                       "export/b.py": "def later():\n    import export.a\n"})
    assert import_graph.problems(root) == ["import cycle: export.a -> export.b -> export.a"]


def test_a_longer_cycle_through_importlib_is_named(write_tree):
    root = write_tree({"export/__init__.py": "", "export/a.py": "import export.b\n",
                       "export/b.py": "from export import c\n",
                       "export/c.py": "import importlib\nimportlib.import_module('export.a')\n"})
    assert import_graph.problems(root) == ["import cycle: export.a -> export.b -> export.c -> export.a"]


def test_relative_imports_are_read(write_tree):
    root = write_tree({"preprocessors/__init__.py": "", "preprocessors/a.py": "from . import b\n",
                       "preprocessors/b.py": "from .a import x\n"})
    assert import_graph.problems(root) == ["import cycle: preprocessors.a -> preprocessors.b -> preprocessors.a"]
