"""Reliability suite: CI runs the short form; `RELIABILITY_LONG=1 pytest tests/reliability` runs the long one."""

from tests.reliability import forms


def pytest_report_header(config):
    return f"reliability suite: {'LONG' if forms.LONG else 'short'} form (RELIABILITY_LONG=1 for the long form)"
