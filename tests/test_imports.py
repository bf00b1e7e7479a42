"""Every module imports cleanly in one process: no import errors and no absl flag clashes."""

import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("official_encoders", "preprocessors", "export", "bench", "tools")


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts)


def test_all_modules_import_together():
    failures = []
    for name in _modules():
        try:
            importlib.import_module(name)
        except Exception as e:  # collect every failure, not just the first
            failures.append(f"{name}: {type(e).__name__}: {e}")
    assert not failures, "modules that fail to import:\n" + "\n".join(failures)


@pytest.mark.parametrize("package", ["official_encoders", "preprocessors"])
def test_model_packages_do_not_import_export(package):
    import subprocess
    import sys

    code = f"import sys, {package}; print(any(m == 'export' or m.startswith('export.') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False"), f"{package} pulls in export at import time"
