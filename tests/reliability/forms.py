"""The two forms of the reliability suite: short (CI, the default) and long (RELIABILITY_LONG=1)."""

import os

LONG = os.environ.get("RELIABILITY_LONG", "").strip() not in ("", "0")


def scale(short, long):
    """`long` in the long form, `short` otherwise (fuzz counts, repetitions)."""
    return long if LONG else short


def record(name, **figures):
    """Prints one line of figures and appends it, as JSON, to $RELIABILITY_FIGURES when that is set
    (RELIABILITY.md quotes the long form's file)."""
    import json

    line = {"figure": name, "long": LONG, **figures}
    print(f"FIGURE {json.dumps(line)}")
    path = os.environ.get("RELIABILITY_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
