"""Declarative weight mappings: tables of (source name, target variable path, transform).

A table row's names may contain "{i}" for the layer index; `expand` turns a
table into concrete rows for a config. `assign` copies source tensors into a
model by those rows, checks shapes, and reports loaded/missing/unused.
"""

import dataclasses
import fnmatch
from typing import Callable, Iterable, List, Sequence

import numpy as np

from official_encoders.checkpoints.report import ImportReport

TRANSFORMS = {
    "identity": lambda a: a,
    "transpose": lambda a: np.transpose(a),  # torch Linear [out, in] -> kernel [in, out]
}
RESHAPE = "reshape"  # to the target variable's shape, e.g. per-head kernels [H, N, D] -> [H, H]
TIED = "tied"  # a duplicate of a tensor already loaded into `target` (e.g. an output layer tied to the input)


@dataclasses.dataclass(frozen=True)
class Row:
    source: str
    target: str
    transform: str = "identity"  # a key of TRANSFORMS, RESHAPE or TIED


def expand(table: Iterable[Row], num_layers: int, source_prefix: str = "") -> List[Row]:
    """Concrete rows: "{i}" rows once per layer; source names get `source_prefix` unless they start with "/"."""
    rows = []
    for row in table:
        source = row.source[1:] if row.source.startswith("/") else source_prefix + row.source
        indices = range(num_layers) if "{i}" in row.source else [None]
        for i in indices:
            fmt = (lambda s: s.format(i=i)) if i is not None else (lambda s: s)
            rows.append(Row(fmt(source), fmt(row.target), row.transform))
    return rows


def _matches(patterns: Sequence[str], *names: str) -> bool:
    return any(fnmatch.fnmatchcase(n, p) or n.startswith(p.rstrip("/") + "/") or n == p
               for p in patterns for n in names)


def _targets_by_relative_path(model, wanted):
    """Variables keyed by the path the rows use, even if the model was built inside a name scope
    (then every path carries an extra leading "scope/")."""
    targets = {}
    for variable in model.weights:
        parts = variable.path.split("/")
        relative = next(("/".join(parts[k:]) for k in range(len(parts)) if "/".join(parts[k:]) in wanted),
                        variable.path)
        targets[relative] = variable
    return targets


def assign(model, rows: Sequence[Row], source_names: Iterable[str], read: Callable[[str], np.ndarray],
           allow_missing: Sequence[str] = (), what: str = "checkpoint") -> ImportReport:
    """Load every row whose target is a variable of `model`; raise on a missing or misshapen tensor.

    `allow_missing` holds target paths or prefixes (e.g. "pooler_transform") or
    source names/globs that may be absent; their variables keep their
    initial values.
    """
    targets = _targets_by_relative_path(model, {row.target for row in rows})
    available = set(source_names)
    report = ImportReport()
    used, assigned = set(), set()
    expected = {}  # target -> the source name we looked for
    for row in rows:
        if row.target not in targets:
            continue
        if row.transform == TIED:
            continue
        expected.setdefault(row.target, row.source)
        if row.source not in available or row.target in assigned:
            continue
        variable = targets[row.target]
        value = np.asarray(read(row.source))
        if row.transform == RESHAPE:
            if value.size == int(np.prod(variable.shape)):
                value = value.reshape(variable.shape)
        else:
            value = TRANSFORMS[row.transform](value)
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(
                f"shape mismatch in {what}: source tensor '{row.source}' has shape "
                f"{tuple(np.shape(read(row.source)))} ({row.transform} -> {tuple(value.shape)}) but target "
                f"variable '{row.target}' has shape {tuple(variable.shape)}; check that the config matches "
                f"the weights")
        variable.assign(value.astype(variable.dtype))
        used.add(row.source)
        assigned.add(row.target)
        report.loaded.append((row.source, row.target))
    for row in rows:
        if row.transform != TIED or row.source not in available or row.target not in assigned:
            continue
        value, current = np.asarray(read(row.source)), np.asarray(targets[row.target].numpy())
        if value.shape != current.shape or not np.allclose(value, current, atol=1e-6):
            raise ValueError(
                f"{what}: '{row.source}' should be tied to (equal to) the tensor loaded into "
                f"'{row.target}', but it differs; untied output layers are not supported")
        used.add(row.source)
        report.tied.append((row.source, row.target))
    for target in targets:
        if target not in assigned:
            source = expected.get(target, "<no mapping>")
            report.missing.append((source, target))
            if _matches(allow_missing, target, source):
                report.allowed_missing.append((source, target))
    report.unused = sorted(available - used)
    fatal = [m for m in report.missing if m not in report.allowed_missing]
    if fatal:
        listing = "\n".join(f"  {source} -> {target}" for source, target in fatal)
        raise ValueError(
            f"{what} is missing {len(fatal)} tensor(s) the model needs:\n{listing}\n"
            f"If that is expected, pass allow_missing=({', '.join(repr(t) for _, t in fatal[:3])}, ...) "
            f"and those variables keep their initial values.")
    return report
