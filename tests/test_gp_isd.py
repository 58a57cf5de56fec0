"""The emulator ISD beyond the conformance tests: PUT KEY in both encodings, TERMINATED, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpkikit.host.link import InProcessTransport
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.reference.emulator.gp.issuance import ISD_KEYS
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.gp.constants import ISD_AID
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.scp03 import AuthenticationError, StaticKeys
from jpkikit.vocab.scp03.putkey import parse_put_key_response, put_key_command


def _layer(card: Card, keys: StaticKeys) -> Scp03Layer:
    return Scp03Layer(InProcessTransport(card), keys, sd_aid=ISD_AID)


@pytest.mark.parametrize("long_form", [True, False])
def test_put_key_adds_and_replaces_key_sets(tmp_path: Path, long_form: bool) -> None:
    card = Card(get_personality("gp-se"), tmp_path / "state.json")
    old = StaticKeys.single(ISD_KEYS[0x30], 0x30)
    layer = _layer(card, old)
    layer.open(0x03)
    new = StaticKeys(bytes(range(16)), bytes(range(1, 17)), bytes(range(2, 18)), 0x40)
    r = layer.send(put_key_command(new, old.dek, long_form=long_form))
    assert r.sw == 0x9000 and parse_put_key_response(r.data) == (0x40, list(new.kcvs()))
    replacement = StaticKeys.single(bytes(range(0x20, 0x30)), 0x41)
    r = layer.send(put_key_command(replacement, new.dek, replace_kvn=0x40, long_form=long_form))
    assert r.sw == 0x9000
    # the state file keeps the new key set; a fresh card from it authenticates with the replacement
    card2 = Card(get_personality("gp-se"), tmp_path / "state.json")
    _layer(card2, replacement).open(0x01)
    with pytest.raises(AuthenticationError):
        _layer(card2, new).open(0x01)


def test_put_key_wrong_kcv_and_length_change() -> None:
    card = Card(get_personality("gp-se"))
    keys = StaticKeys.single(ISD_KEYS[0x30], 0x30)
    layer = _layer(card, keys)
    layer.open(0x01)
    bad = put_key_command(StaticKeys.single(bytes(16), 0x42), keys.dek)
    data = bytearray(bad.data)
    data[-1] ^= 1
    assert layer.send(CommandApdu(0x80, 0xD8, 0, 0x81, bytes(data), ne=256)).sw == 0x6982
    longer = put_key_command(StaticKeys.single(bytes(32), 0x30), keys.dek, replace_kvn=0x30)
    assert layer.send(longer).sw == 0x6A80


def test_put_key_needs_session() -> None:
    transport = InProcessTransport(Card(get_personality("gp-se")))
    command = put_key_command(StaticKeys.single(bytes(16), 0x42), bytes(16))
    assert ResponseApdu.parse(transport.transmit(command.to_bytes())).sw == 0x6982


def test_terminated_card_answers_only_get_data() -> None:
    card = Card(get_personality("gp-se"))
    layer = _layer(card, StaticKeys.single(ISD_KEYS[0x30], 0x30))
    layer.open(0x01)
    assert layer.send(CommandApdu(0x80, 0xF0, 0x80, 0xFF)).sw == 0x9000
    assert card.life_cycle == 0xFF
    transport = InProcessTransport(card)
    assert ResponseApdu.parse(transport.transmit(bytes.fromhex("80CA006600"))).sw == 0x9000
    assert ResponseApdu.parse(transport.transmit(bytes.fromhex("8050300008" + "00" * 8 + "00"))).sw == 0x6985
    assert (
        ResponseApdu.parse(transport.transmit(bytes.fromhex("00A4040C0AD392F000260100000001"))).sw == 0x6A81
    )


def test_get_data_iso_class_returns_value_only() -> None:
    transport = InProcessTransport(Card(get_personality("sim")))
    r = ResponseApdu.parse(transport.transmit(bytes.fromhex("00CA004500")))
    assert r.sw == 0x9000 and r.data == bytes.fromhex("4A504B494B4954")
    assert ResponseApdu.parse(transport.transmit(bytes.fromhex("80CA00FE00"))).sw == 0x6A88
