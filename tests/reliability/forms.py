"""The two forms of the reliability suite: short (CI, the default) and long (RELIABILITY_LONG=1)."""

import os

LONG = os.environ.get("RELIABILITY_LONG", "").strip() not in ("", "0")


def scale(short, long):
    """`long` in the long form, `short` otherwise (fuzz counts, repetitions)."""
    return long if LONG else short
