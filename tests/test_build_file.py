"""BUILD must declare every module and every test file in the tree, with acyclic deps."""

import ast
import pathlib

from tools import build_file, import_graph

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _build_rules():
    tree = ast.parse((ROOT / "BUILD").read_text(), filename="BUILD")
    rules = []
    for node in tree.body:
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        rules.append((call.func.id, kwargs))
    return rules


def _tree_files():
    return {p.relative_to(ROOT).as_posix() for p in import_graph.module_files(ROOT).values()}


def _is_test_file(path):
    return path.startswith("tests/") and pathlib.PurePosixPath(path).name.startswith("test_")


def test_every_module_is_in_a_py_library():
    libs = {src for kind, kw in _build_rules() if kind == "py_library" for src in kw["srcs"]}
    modules = {f for f in _tree_files() if not _is_test_file(f)}
    missing = sorted(modules - libs)
    assert not missing, f"add these modules to a py_library in BUILD: {missing}"


def test_every_package_has_its_own_py_library():
    names = {kw["name"] for kind, kw in _build_rules() if kind == "py_library"}
    packages = {
        pathlib.PurePosixPath(f).parent.as_posix().replace("/", "_")
        for f in _tree_files()
        if f.endswith("__init__.py")
    }
    missing = sorted(packages - names)
    assert not missing, f"declare a py_library named after each package in BUILD: {missing}"


def test_every_test_file_has_a_py_test():
    tests = {src for kind, kw in _build_rules() if kind == "py_test" for src in kw["srcs"]}
    test_files = {f for f in _tree_files() if _is_test_file(f)}
    missing = sorted(test_files - tests)
    assert not missing, f"add a py_test to BUILD for: {missing}"


def test_build_names_only_existing_files():
    listed = {src for _, kw in _build_rules() for src in kw.get("srcs", [])}
    stale = sorted(s for s in listed if not (ROOT / s).exists())
    assert not stale, f"BUILD lists files that do not exist; remove them: {stale}"


def test_build_deps_follow_the_imports():
    assert (ROOT / "BUILD").read_text() == build_file.render(), (
        "BUILD dependencies are out of date; run: python -m tools.build_file"
    )


def test_build_targets_have_no_cycle():
    assert build_file.package_cycles(ROOT) == []


def test_a_cycle_between_packages_is_named(tmp_path):
    files = {"export/__init__.py": "", "export/pipeline.py": "from export.sub import tf2\n",
             "export/sub/__init__.py": "", "export/sub/tf2.py": "from export import atomic\n",
             "export/atomic.py": ""}
    for rel, source in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(source)
    assert import_graph.problems(tmp_path) == []  # no module cycle: only the targets form one
    assert build_file.package_cycles(tmp_path) == [["export", "export_sub", "export"]]
