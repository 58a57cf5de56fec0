"""The tracer: timing, decoding, redaction of PINs and keys, save/load, replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpkikit.errors import KitError
from jpkikit.host.link import InProcessTransport
from jpkikit.host.tracer import Trace, Tracer, decode_command, replay
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.jpki.card import JPKI_AID

SELECT = bytes.fromhex("00A4040C0A") + JPKI_AID
PIN = b"8731"


def traced() -> Tracer:
    return Tracer(InProcessTransport(Card(get_personality("gp-se")), "in-process gp-se"))


def test_exchanges_are_decoded_and_timed() -> None:
    t = traced()
    t.transmit(SELECT)
    t.transmit(bytes.fromhex("00EE0000"))
    t.reset(cold=True)
    first, second, reset = t.trace.exchanges
    assert (first.name, first.sw, first.meaning) == ("SELECT", "9000", "normal processing")
    assert (second.name, second.sw) == ("INS EE", "6D00")
    assert reset.event == "reset" and "power cycle" in reset.meaning
    assert 0 <= first.t <= second.t and first.ms >= 0
    text = t.trace.text()
    assert "SELECT" in text and "6D00 (instruction code not supported or invalid)" in text


@pytest.mark.parametrize(
    "command",
    [
        b"\x00\x20\x00\x80\x04" + PIN,  # VERIFY
        b"\x00\x24\x01\x80\x04" + PIN,  # CHANGE REFERENCE DATA
        b"\x00\x20\x00\x80\x00\x00\x04" + PIN,  # VERIFY, extended length
        b"\x80\xd8\x01\x81\x04" + PIN,  # PUT KEY
        b"\x00\x20\x00\x80\x09" + PIN,  # malformed: Lc does not match
    ],
)
def test_secrets_never_reach_the_trace(tmp_path: Path, command: bytes) -> None:
    t = traced()
    t.transmit(command)
    path = tmp_path / "trace.json"
    t.trace.save(path)
    for rendering in (t.trace.text(), path.read_text(), repr(t.trace)):
        assert PIN.hex() not in rendering.lower() and PIN.hex().upper() not in rendering
    assert "redacted" in t.trace.text()


def test_retry_query_is_not_redacted() -> None:
    name, stored, redaction = decode_command(bytes.fromhex("00200080"))
    assert (name, stored, redaction) == ("VERIFY", "00200080", None)


def test_save_load_and_replay(tmp_path: Path) -> None:
    t = traced()
    t.transmit(SELECT)
    t.transmit(bytes.fromhex("00A4020C020006"))
    t.transmit(bytes.fromhex("00B0000020"))
    t.transmit(b"\x00\x20\x00\x80\x04" + PIN)
    path = tmp_path / "t.json"
    t.trace.save(path)
    loaded = Trace.load(path)
    assert loaded.text() == t.trace.text()

    steps = replay(loaded, InProcessTransport(Card(get_personality("gp-se"))))
    assert [s.match for s in steps] == [True, True, True, False]
    assert "PIN redacted; not replayed" in steps[3].note

    steps = replay(loaded, InProcessTransport(Card(get_personality("gp-se"))), lambda what, i: PIN)
    assert len(steps) == 4 and steps[3].actual[-4:] == loaded.exchanges[3].response[-4:]

    other = InProcessTransport(Card(get_personality("mynumber-card")))
    steps = replay(loaded, other)
    label_step = steps[2]
    assert not label_step.match and "expected" in label_step.note, "another label is a mismatch"


def test_bad_trace_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("nope")
    with pytest.raises(KitError, match=r"bad\.json: cannot read trace"):
        Trace.load(bad)
    bad.write_text('{"format": "jpkikit-trace/1", "exchanges": [{"x": 1}]}')
    with pytest.raises(KitError, match="malformed trace entry"):
        Trace.load(bad)
