"""Reads every import of the tree (statements anywhere in a file, and `importlib.import_module("...")`
strings) into one graph; the layering test and the BUILD generator both use it.

Imports go one way: export -> official_encoders -> preprocessors. `bench`, `tools` and
`tests` sit above all three and may import any of them; nothing imports them back.
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE_ROOTS = ("official_encoders", "preprocessors", "export", "bench", "tools", "tests")
# Lower numbers are lower layers; a module may import only its own layer or lower ones.
LAYERS = {"preprocessors": 0, "official_encoders": 1, "export": 2, "bench": 3, "tools": 3, "tests": 3}


def module_files(root=ROOT):
    """{dotted module name: path} for every .py file under the package roots."""
    root = pathlib.Path(root)
    out = {}
    for package in PACKAGE_ROOTS:
        for path in sorted((root / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _imported_names(path, module):
    """Every dotted name `path` imports, as written (relative imports made absolute)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                yield base, alias.name
        elif (isinstance(node, ast.Call) and _is_import_module(node.func) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.args[0].value, None


def _is_import_module(func):
    return ((isinstance(func, ast.Attribute) and func.attr == "import_module")
            or (isinstance(func, ast.Name) and func.id == "import_module"))


def _resolve(base, name, modules):
    """The module of ours that `from base import name` (or `import base`) loads, or None."""
    if name is not None and f"{base}.{name}" in modules:
        return f"{base}.{name}"
    candidate = base
    while candidate:
        if candidate in modules:
            return candidate
        candidate = candidate.rpartition(".")[0]
    return None


def module_graph(root=ROOT):
    """{module: set of our modules it imports}, self-imports dropped."""
    modules = module_files(root)
    graph = {}
    for module, path in modules.items():
        targets = {_resolve(base, name, modules) for base, name in _imported_names(path, module)}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def layer_of(module):
    return LAYERS[module.split(".", 1)[0]]


def upward_imports(graph):
    """[(importer, imported)] where a lower layer imports a higher one."""
    return sorted((a, b) for a, targets in graph.items() for b in targets if layer_of(a) < layer_of(b))


def find_cycles(graph):
    """Each cycle once, as the list of its nodes in import order (first node repeated at the end)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(_cycle_path(graph, sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _cycle_path(graph, component):
    """One concrete cycle through the first member of a strongly connected component."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:  # breadth-first, so the cycle named is a shortest one
        nxt = []
        for node in frontier:
            for target in sorted(graph.get(node, ())):
                if target == start:
                    return paths[node] + [start]
                if target in members and target not in paths:
                    paths[target] = paths[node] + [target]
                    nxt.append(target)
        frontier = nxt
    return component + [start]


def package_of(module, root=ROOT):
    """The directory package (BUILD target) a module belongs to."""
    modules = module_files(root)
    path = modules[module]
    return path.parent.relative_to(pathlib.Path(root)).as_posix()


def problems(root=ROOT):
    """Every layering problem of the tree, each naming the modules: upward imports, then cycles."""
    graph = module_graph(root)
    out = [f"{a} imports {b}: {a.split('.')[0]} may not import {b.split('.')[0]} "
           "(imports go export -> official_encoders -> preprocessors)" for a, b in upward_imports(graph)]
    out += ["import cycle: " + " -> ".join(cycle) for cycle in find_cycles(graph)]
    return out
