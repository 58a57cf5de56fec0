"""The emulator runtime: ISO 7816-4 channels, SELECT, GET RESPONSE, bad commands, persistence."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jpkikit.errors import KitError, StateError
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.reference.emulator.state import load_state
from jpkikit.vocab.jpki.card import JPKI_AID

from .counter_applet import COUNTER_AID, PERSONALITY

HERE = Path(__file__).parent


def tx(card: Card, hex_: str) -> str:
    return card.process(bytes.fromhex(hex_)).hex().upper()


@pytest.fixture
def gpse() -> Card:
    card = Card(get_personality("gp-se"))
    card.power_on()
    return card


SELECT_JPKI = "00A4040C0A" + JPKI_AID.hex()


def test_personality_atrs_are_well_formed() -> None:
    assert get_personality("mynumber-card").atr.hex().upper() == "3BE000FF8131FE4514"
    for name in ("gp-se", "sim"):
        atr = get_personality(name).atr
        tck = 0
        for b in atr[1:]:
            tck ^= b
        assert atr[0] == 0x3B and tck == 0, name  # ISO 7816-3 §8.2.5: XOR T0..TCK is 0
    with pytest.raises(KitError, match="unknown personality 'nope'; choose one of: gp-se"):
        get_personality("nope")


def test_select_found_and_not_found(gpse: Card) -> None:
    assert tx(gpse, SELECT_JPKI) == "9000"
    assert tx(gpse, "00A4040C0AD392F0002601000000FF") == "6A82"
    assert tx(gpse, "00A4020C020006") == "9000", "JPKI stays selected after a failed SELECT"


def test_bad_class_instruction_and_length(gpse: Card) -> None:
    assert tx(gpse, "FFA4040C") == "6E00"
    assert tx(gpse, "20A4040C") == "6E00"
    assert tx(gpse, SELECT_JPKI) == "9000"
    assert tx(gpse, "00EE0000") == "6D00"
    assert tx(gpse, "00A4040C0BD392F000260100000001") == "6700"  # Lc says 11, 10 sent
    assert tx(gpse, "00A4") == "6700"
    assert tx(gpse, "") == "6700"


def test_logical_channels(gpse: Card) -> None:
    assert tx(gpse, "0070000001") == "019000"
    assert tx(gpse, "0070000001") == "029000"
    assert tx(gpse, "0070000001") == "039000"
    assert tx(gpse, "0070000001") == "6A81", "4 channels claimed: no fifth"
    assert tx(gpse, "01A4040C0A" + JPKI_AID.hex()) == "9000"
    assert tx(gpse, "01A4020C020006") == "9000"
    assert tx(gpse, "00A4020C020006") == "6D00", "nothing selected on the basic channel"
    assert tx(gpse, "02B0000001") == "6D00", "selection is per channel"
    assert tx(gpse, "00708002") == "9000"
    assert tx(gpse, "02B0000001") == "6881", "closed channel"
    assert tx(gpse, "00708000") == "6A86", "basic channel cannot be closed"
    assert tx(gpse, "0070000201") == "6700"
    assert tx(gpse, "00700002") == "9000", "open channel 2 explicitly"
    gpse.reset()
    assert tx(gpse, "01B0000001") == "6881", "reset closes every channel"


def test_basic_channel_only_card_rejects_channel_bits() -> None:
    card = Card(get_personality("mynumber-card"))
    card.power_on()
    assert tx(card, "01A4040C0A" + JPKI_AID.hex()) == "6881"
    assert tx(card, "0070000001") == "6881"
    assert tx(card, "00B00000000100") == "6700", "no extended length on this personality"


def test_get_response_for_case3_with_data() -> None:
    card = Card(PERSONALITY)
    card.power_on()
    assert tx(card, "00010000") == "6104"
    assert tx(card, "00C0000002") == "00006102"
    assert tx(card, "00C0000000") == "00019000"
    assert tx(card, "00C0000000") == "6985", "nothing pending any more"
    assert tx(card, "0001000001") == "009000", "Ne=1 cuts the data to its first byte"


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_any_bytes_get_a_status_word(raw: bytes) -> None:
    card = Card(get_personality("gp-se"))
    card.power_on()
    out = card.process(raw)
    assert len(out) >= 2
    card.process(bytes.fromhex(SELECT_JPKI))
    assert tx(card, SELECT_JPKI) == "9000", "the card keeps working"


def test_applet_crash_becomes_6f00(gpse: Card, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = gpse.registry[JPKI_AID]

    def boom(*a: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(entry.applet, "process", boom)
    assert tx(gpse, SELECT_JPKI) == "9000"
    assert tx(gpse, "00B0000001") == "6F00"


def test_state_persists_and_restarts(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    card = Card(PERSONALITY, path)
    card.power_on()
    for _ in range(3):
        tx(card, "0001000004")
    again = Card(PERSONALITY, path)
    again.power_on()
    assert tx(again, "0000000004") == "000000039000"
    assert load_state(path)["registry"][0]["data"]["count"] == 3


def test_state_is_saved_whenever_applet_code_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime skips the state comparison after a command no applet saw (issue 16: speed). What applet
    code changes is saved all the same: in a command, and in a deselect at reset saved by the next command,
    however quiet; a card class that replaces the runtime's command paths is compared after every command."""
    path = tmp_path / "card.json"

    def count() -> int:
        return int(load_state(path)["registry"][0]["data"]["count"])

    card = Card(PERSONALITY, path)
    card.power_on()
    tx(card, "0001000004")
    assert count() == 1
    assert tx(card, "00A4040005A000000000") == "6A82"  # an absent AID: no applet runs
    assert tx(card, "00C0000000") == "6985"  # GET RESPONSE with nothing pending
    assert count() == 1

    def deselect(self: object, ctx: object) -> None:
        self.data["count"] += 10  # type: ignore[attr-defined]

    monkeypatch.setattr(type(next(iter(card.registry.values())).applet), "deselect", deselect)
    card.reset()
    assert tx(card, "00A4040005A000000000") == "6A82"
    assert count() == 11  # the deselect's change, saved by the next command

    class Replaced(Card):
        def _process(self, raw: bytes):  # type: ignore[no-untyped-def]
            next(iter(self.registry.values())).applet.data["count"] += 100
            return super()._process(raw)

    other = Replaced(PERSONALITY, path)
    other.power_on()
    for _ in range(2):
        assert tx(other, "00A4040005A000000000") == "6A82"
    assert count() == 211


def test_corrupt_and_foreign_state_files(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    path.write_text("{ not json")
    with pytest.raises(StateError, match=r"card.json: emulator state is corrupt .*remove the file"):
        Card(PERSONALITY, path)
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(StateError, match="not a jpkikit-emulator-state/1 file"):
        Card(PERSONALITY, path)
    Card(get_personality("gp-se"), path.with_name("gp.json"))
    with pytest.raises(StateError, match="belongs to personality 'gp-se', not 'test-counter'"):
        Card(PERSONALITY, path.with_name("gp.json"))
    doc = json.loads(path.with_name("gp.json").read_text())
    doc["registry"][0]["type"] = "no-such-applet"
    path.write_text(json.dumps(doc | {"personality": "test-counter"}))
    with pytest.raises(StateError, match="malformed"):
        Card(PERSONALITY, path)


def test_killed_process_never_leaves_a_corrupt_state(tmp_path: Path) -> None:
    """SIGKILL at arbitrary moments while the state is rewritten after every command."""
    path = tmp_path / "card.json"
    last = -1
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    for round_ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.counter_applet", str(path)],
            stdout=subprocess.PIPE,
            env=env,
            cwd=HERE.parent,
        )
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        time.sleep(0.05 + 0.03 * round_)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        doc = load_state(path)  # raises StateError on a half-written file
        assert doc is not None
        count = doc["registry"][0]["data"]["count"]
        assert count >= last, "a restart continues where the previous process stopped"
        last = count
    assert last > 0
    assert Card(PERSONALITY, path).registry[COUNTER_AID].applet.data["count"] == last
    assert not list(tmp_path.glob(".card.json.*")), "a restart removes temp files of a killed write"


def test_internal_error_log_never_shows_a_pin(gpse: Card, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    entry = gpse.registry[JPKI_AID]

    def boom(*a: object) -> None:
        raise RuntimeError("bug")

    assert tx(gpse, SELECT_JPKI) == "9000"
    monkeypatch.setattr(entry.applet, "process", boom)
    with caplog.at_level("ERROR", logger="jpkikit.reference.emulator"):
        assert tx(gpse, "002000800439383736") == "6F00"  # VERIFY "9876"
    assert "internal error while processing VERIFY" in caplog.text and "PIN redacted" in caplog.text
    assert "39383736" not in caplog.text.upper()


def test_select_without_data_selects_the_default_application(gpse: Card) -> None:
    """GPCS §11.9.2.3: SELECT by DF name without data selects the ISD, and its FCI names it; after a reset the
    ISD is the current application (ISO/IEC 7816-4 §7.1)."""
    assert tx(gpse, "80CA006600")[-4:] == "9000", "the ISD answers GET DATA after the reset"
    assert tx(gpse, SELECT_JPKI) == "9000"
    assert tx(gpse, "80CA006600") == "6D00", "the JPKI applet is current now"
    r = tx(gpse, "00A4040000")
    assert r.startswith("6F108408A000000151000000") and r.endswith("9000")
    assert tx(gpse, "80CA006600")[-4:] == "9000"
    card = Card(get_personality("mynumber-card"))
    card.power_on()
    assert tx(card, "00A4040000") == "6700", "no default application on the card"
