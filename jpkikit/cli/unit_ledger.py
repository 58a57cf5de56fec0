"""The pytest plugin a parallel certification's worker loads (``-p jpkikit.cli.unit_ledger``;
jpkikit.cli.parallel): at the end of the run it copies the unit's ledger (jpkikit.harness.ledger, kept per
unit across runs) into the unit's results as ``ledger.json``, so each unit's results hold its own ledger."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

LEDGER_COPY = "ledger.json"


@pytest.hookimpl(trylast=True)  # after the kit's session has written the run's last ledger entry
def pytest_sessionfinish(session: pytest.Session) -> None:
    kit = session.config.pluginmanager.get_plugin("jpkikit-session")
    ledger = getattr(kit, "ledger_path", None)
    unit_state = session.config.getoption("unit_state", None)
    if ledger is None or not unit_state or not Path(ledger).is_file():
        return
    shutil.copyfile(ledger, Path(unit_state).parent / LEDGER_COPY)
