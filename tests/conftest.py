"""Session-wide test policy."""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With SOLIDARITY_NO_SKIPS=1 (CI), a skipped test fails the run."""
    if os.environ.get("SOLIDARITY_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0:
        print(f"\n{skipped} test(s) skipped; SOLIDARITY_NO_SKIPS=1 makes that a failure")
        session.exitstatus = 1
