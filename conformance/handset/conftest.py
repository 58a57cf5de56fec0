"""The ``handset`` fixture: the handset under test, built from the profile's IXIT (ixit.handset). Its agent
exchanges (requests, responses, timings) are the test's evidence: written to ``--trace-dir`` and attached
to the Allure result when those are on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jpkikit.harness.profile import Profile

from .support import HandsetUnderTest, handset_for

ATTACHMENT = "handset agent exchanges"


@pytest.fixture
def handset(profile: Profile, request: pytest.FixtureRequest) -> Iterator[HandsetUnderTest]:
    with handset_for(profile) as hut:
        try:
            yield hut
        finally:
            _evidence(request, hut.client.log)


def _evidence(request: pytest.FixtureRequest, log: list[dict[str, Any]]) -> None:
    text = json.dumps({"test": request.node.nodeid, "exchanges": log}, indent=1)
    trace_dir = request.config.getoption("trace_dir", None)
    if trace_dir:
        name = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]
        directory = Path(trace_dir)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{request.node.name[:60]}-{name}.handset.json").write_text(text, encoding="utf-8")
    if getattr(request.config.option, "allure_report_dir", None):
        import allure

        allure.attach(text, name=ATTACHMENT, attachment_type=allure.attachment_type.JSON)
