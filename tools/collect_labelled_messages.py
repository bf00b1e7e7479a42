"""Builds tests/data/labelled_messages.tsv, a small real English text-classification task.

Each row is one English UI message (gettext `msgid`) of the pinned Django wheel, labelled with
the Django component whose catalogue holds it (`core` is django/conf/locale, the others are
django/contrib/<app>). The labels come from where Django's developers put the messages, not
from us. Messages that are only placeholders, and messages found in more than one component,
are dropped; each class is a seeded sample of at most --per_class messages. The test
tests/export/test_minilm_finetune.py fine-tunes all-MiniLM-L6-v2 on it against a
bag-of-words baseline. The section of tests/data/README.md about this file is rewritten.

Run by hand (needs pip and access to PyPI):
    python -m tools.collect_labelled_messages --work_dir=/tmp/corpus_wheels
"""

import collections
import pathlib
import random
import re
import zipfile

from absl import app
from absl import flags

from tools.collect_corpus import WHEELS, LICENCES, as_passage, download_wheels, parse_po, write_readme_section

ROOT = pathlib.Path(__file__).resolve().parents[1]
README_HEADING = "## labelled_messages.tsv"

FLAGS = flags.FLAGS


def define_flags():
    """Declares the flags; only when run as a program, so importing this module never clashes."""
    flags.DEFINE_string("work_dir", "/tmp/corpus_wheels", "Where the pinned Django wheel is downloaded.")
    flags.DEFINE_string("output", str(ROOT / "tests/data/labelled_messages.tsv"), "TSV file to write.")
    flags.DEFINE_string("readme", str(ROOT / "tests/data/README.md"),
                        f"README whose '{README_HEADING}' section is (re)written.")
    flags.DEFINE_list("components", ["admin", "admindocs", "auth", "core", "humanize"],
                      "Django components to use as classes: 'core' or a django/contrib app.")
    flags.DEFINE_integer("per_class", 120, "At most this many messages per class (seeded sample).")
    flags.DEFINE_integer("min_per_class", 40, "A component with fewer usable messages is an error.")
    flags.DEFINE_integer("seed", 20261122, "Seed of the per-class sample.")


PLACEHOLDER = re.compile(r"%\(\w+\)[sdrf]|%[sdrf]|\{[\w.]*\}|<[^>]+>")


def catalogue_paths(component):
    """The English catalogues (server and JavaScript) of one Django component inside the wheel."""
    base = "django/conf" if component == "core" else f"django/contrib/{component}"
    return [f"{base}/locale/en/LC_MESSAGES/{domain}.po" for domain in ("django", "djangojs")]


def is_text(message):
    """False for messages that are only placeholders, markup, digits or punctuation."""
    return re.search(r"[A-Za-z]{2,}", PLACEHOLDER.sub(" ", message)) is not None


def read_messages(wheel, components):
    """Returns {component: set(messages)}: one-line msgids (and plural forms) that hold text."""
    by_component = {}
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for component in components:
            paths = [p for p in catalogue_paths(component) if p in names]
            if not paths:
                raise ValueError(f"--components: {component!r} has no English catalogue in {wheel.name}; "
                                 "use 'core' or the name of a django/contrib app")
            messages = set()
            for path in paths:
                for msgid, plural, _ in parse_po(archive.read(path).decode("utf-8")):
                    for text in (msgid, plural):
                        text = as_passage(text).replace("\t", " ")
                        if text and is_text(text):
                            messages.add(text)
            by_component[component] = messages
    return by_component


def select(by_component, per_class, min_per_class, seed):
    """Drops messages shared by components, then samples each class; returns sorted (label, text)."""
    owners = collections.Counter(m for messages in by_component.values() for m in messages)
    rng = random.Random(seed)
    rows = []
    for component, messages in sorted(by_component.items()):
        unique = sorted(m for m in messages if owners[m] == 1)
        if len(unique) < min_per_class:
            raise ValueError(f"{component!r} has only {len(unique)} usable messages (< --min_per_class="
                             f"{min_per_class}); choose another component")
        chosen = rng.sample(unique, per_class) if len(unique) > per_class else unique
        rows.extend((component, m) for m in sorted(chosen))
    shared = sum(1 for count in owners.values() if count > 1)
    return rows, shared


def render_readme_section(rows, available, shared, per_class, seed):
    counts = collections.Counter(label for label, _ in rows)
    lines = [
        README_HEADING, "",
        f"{len(rows)} English UI messages of Django {WHEELS['django']}, one per line as `label<TAB>text`, "
        "UTF-8. Written by `python -m tools.collect_labelled_messages`",
        f"(seed {seed}, at most {per_class} per class); rerunning it reproduces the file and this section.",
        "",
        "The text is a `msgid` (or its plural form) of the English gettext catalogues "
        "(`locale/en/LC_MESSAGES/django.po` and `djangojs.po`) in the wheel from PyPI; the label is the",
        "Django component that ships that catalogue (`core` is `django/conf`, the others are `django/contrib/<app>`).",
        "So the labels are Django's own, not ours. Line breaks inside a message became spaces; messages that are",
        f"only placeholders or markup were dropped, and so were the {shared} messages found in more than one component.",
        f"Licence: Django {LICENCES['django']}.",
        "It is the task of the slow test `tests/export/test_minilm_finetune.py` (fine-tuned all-MiniLM-L6-v2",
        "against a bag-of-words logistic regression on the same split).",
        "",
        "| label | messages | usable in the catalogue |",
        "|---|---|---|",
    ]
    lines += [f"| {label} | {counts[label]} | {available[label]} |" for label in sorted(counts)]
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    wheel = download_wheels(pathlib.Path(FLAGS.work_dir), only=("django",))["django"]
    by_component = read_messages(wheel, FLAGS.components)
    rows, shared = select(by_component, FLAGS.per_class, FLAGS.min_per_class, FLAGS.seed)
    output = pathlib.Path(FLAGS.output)
    output.write_text("".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")
    owners = collections.Counter(m for messages in by_component.values() for m in messages)
    available = {c: sum(owners[m] == 1 for m in ms) for c, ms in by_component.items()}
    write_readme_section(pathlib.Path(FLAGS.readme), README_HEADING,
                         render_readme_section(rows, available, shared, FLAGS.per_class, FLAGS.seed))
    counts = collections.Counter(label for label, _ in rows)
    print(f"wrote {len(rows)} rows to {output} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); "
          f"{shared} shared messages dropped; README section '{README_HEADING}' updated")


if __name__ == "__main__":
    define_flags()
    app.run(main)
