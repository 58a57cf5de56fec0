"""The jpkikit command against real pcscd: readers, and a certification through the served emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card

from .conformance_runner import REPO
from .pcsc_support import READER, require_free_slot, served
from .test_cli import jpkikit, no_traceback

pytestmark = pytest.mark.pcsc


def test_readers_lists_the_served_card() -> None:
    require_free_slot()
    card = Card(get_personality("gp-se"))
    with served(card):
        proc = jpkikit("readers")
    assert proc.returncode == 0, proc.stderr
    assert f"{READER}: card, ATR {card.atr.hex().upper()}" in proc.stdout


def test_unknown_reader_stops_certify_with_one_message(tmp_path: Path) -> None:
    require_free_slot()
    profile = tmp_path / "p.yaml"
    text = (REPO / "profiles" / "emulator-gpse-pcsc.yaml").read_text().replace(READER, "No Such Reader")
    text = text.replace("extends: emulator-gpse.yaml", f"extends: {REPO / 'profiles' / 'emulator-gpse.yaml'}")
    profile.write_text(text)
    proc = jpkikit("certify", "--profile", str(profile), "--results", str(tmp_path / "r"), "-k", "select")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "cannot reach the implementation" in proc.stdout + proc.stderr
    assert "No Such Reader" in proc.stdout + proc.stderr
    no_traceback(proc)
