"""The emulator's ARA-M (jpkikit.reference.emulator.aram): GET DATA, chunking, refresh tag, STORE DATA
through the ISD's secure channel, persistence, and bad input (SEAC; docs/spec/globalplatform.md, "ARA-M
commands" to "STORE DATA to the ARA-M")."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpkikit.host.card_session import CardSession
from jpkikit.host.link import InProcessTransport
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.reference.emulator.gp.issuance import ISD_KEYS
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.gp import seac
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.tlv import Tlv, decode_one
from jpkikit.vocab.scp03 import StaticKeys

JPKI = bytes.fromhex("D392F000260100000001")


def _session(state: Path | None = None, personality: str = "gp-se") -> tuple[Card, CardSession, int]:
    card = Card(get_personality(personality), state)
    session = CardSession(InProcessTransport(card))
    channel = session.open_channel().data[0]
    assert session.select(seac.ARAM_AID, channel=channel, p2=0x00).ok
    return card, session, channel


def _get(session: CardSession, channel: int, tag: int, ne: int = 256, data: bytes = b""):
    return session.send(0x80, 0xCA, tag >> 8, tag & 0xFF, data, ne=ne, channel=channel)


def _read_all(session: CardSession, channel: int, le: int = 256) -> list[seac.Rule]:
    first = _get(session, channel, seac.T_ALL, ne=le)
    assert first.ok
    data = first.data
    total = (
        int.from_bytes(data[3:5], "big") + 5
        if data[2] == 0x82
        else (data[3] + 4 if data[2] == 0x81 else data[2] + 3)
    )
    while len(data) < total:
        nxt = _get(session, channel, 0xFF60, ne=min(total - len(data), le))
        assert nxt.ok and nxt.data
        data += nxt.data
    tlv, _ = decode_one(data)
    return seac.decode_rules(tlv.value)


def _rule(n: int) -> seac.Rule:
    return seac.Rule(seac.RefDo(JPKI, bytes([n]) * 20), seac.ArDo("always", True))


def _admin(session: CardSession, keys: StaticKeys | None = None) -> tuple[Scp03Layer, int]:
    channel = session.open_channel().data[0]
    assert session.select(seac.ARAM_AID, channel=channel, p2=0x00).ok
    sc = Scp03Layer(session.transport, keys or StaticKeys.single(ISD_KEYS[0x30], 0x30), channel=channel)
    sc.open(0x01)
    return sc, channel


def _store(sc: Scp03Layer, channel: int, tlv: Tlv):
    return sc.send(CommandApdu(0x80 | channel, 0xE2, 0x90, 0x00, tlv.encode()))


@pytest.mark.parametrize("personality", ["gp-se", "sim"])
def test_default_rules_name_the_jpki_app(personality: str) -> None:
    _, session, channel = _session(personality=personality)
    rules = _read_all(session, channel)
    assert {len(r.ref.hash) for r in rules} == {20, 32}
    assert any(isinstance(r.ar.apdu, tuple) for r in rules)


def test_long_rule_set_across_next_calls() -> None:
    _, session, channel = _session()
    sc, admin = _admin(session)
    many = [_rule(n) for n in range(1, 40)]  # about 1.7 kB: several 255-byte chunks even with Le=00
    assert _store(sc, admin, Tlv(seac.T_CMD_STORE, b"".join(r.encode() for r in many))).ok
    rules = _read_all(session, channel)
    assert all(r in rules for r in many) and len(rules) == len(many) + 3
    assert _read_all(session, channel, le=17) == rules


def test_next_without_all_and_unknown_tag() -> None:
    _, session, channel = _session()
    assert _get(session, channel, 0xFF60).sw == 0x6985
    assert _get(session, channel, 0x00FF).sw == 0x6A88


def test_specific() -> None:
    _, session, channel = _session()
    rules = _read_all(session, channel)
    r = _get(session, channel, seac.T_SPECIFIC, data=rules[2].ref.encode())
    assert r.ok and r.data == Tlv(seac.T_SPECIFIC, rules[2].ar.encode()).encode()
    nobody = seac.RefDo(JPKI, b"\x00" * 20).encode()
    assert _get(session, channel, seac.T_SPECIFIC, data=nobody).data == bytes.fromhex("FF5000")
    assert _get(session, channel, seac.T_SPECIFIC, data=b"\xe1\x05\x4f").sw == 0x6A80


def test_store_and_delete_change_the_refresh_tag_and_persist(tmp_path: Path) -> None:
    state = tmp_path / "se.json"
    _, session, channel = _session(state)
    tags = [_get(session, channel, seac.T_REFRESH).data]
    sc, admin = _admin(session)
    assert _store(sc, admin, Tlv(seac.T_CMD_STORE, _rule(7).encode())).ok
    tags.append(_get(session, channel, seac.T_REFRESH).data)
    assert _store(sc, admin, Tlv(seac.T_CMD_STORE, _rule(7).encode())).sw == 0x6A89  # conflict (SEAC v1.1)
    _, again, ch2 = _session(state)  # a new card object from the state file
    assert _rule(7) in _read_all(again, ch2)
    assert _store(sc, admin, Tlv(seac.T_CMD_DELETE, Tlv(seac.T_AID, JPKI).encode())).ok
    tags.append(_get(session, channel, seac.T_REFRESH).data)
    assert _read_all(session, channel) == []
    assert _store(sc, admin, Tlv(seac.T_CMD_DELETE, Tlv(seac.T_AID, JPKI).encode())).sw == 0x6A88
    assert _store(sc, admin, Tlv(seac.T_CMD_REFRESH, b"")).ok
    tags.append(_get(session, channel, seac.T_REFRESH).data)
    assert len(set(tags)) == 4


@pytest.mark.parametrize(
    ("data", "sw"),
    [
        ("F003E20100", 0x6A80),  # E2 without E1/E3
        ("F000", 0x6A80),  # store nothing
        ("F1024F", 0x6A80),  # cut short
        ("F30100", 0x6981),  # Command-Get: not supported here
        ("F0", 0x6A80),
    ],
)
def test_malformed_store_data(data: str, sw: int) -> None:
    _, session, _ = _session()
    sc, admin = _admin(session)
    assert _store_raw(sc, admin, bytes.fromhex(data)).sw == sw


def _store_raw(sc: Scp03Layer, channel: int, data: bytes):
    return sc.send(CommandApdu(0x80 | channel, 0xE2, 0x90, 0x00, data))


def test_store_data_without_secure_channel_is_refused() -> None:
    _, session, channel = _session()
    r = session.send(
        0x80, 0xE2, 0x90, 0x00, Tlv(seac.T_CMD_STORE, _rule(1).encode()).encode(), channel=channel
    )
    assert r.sw == 0x6982


def test_store_data_with_wrong_keys_gets_no_session() -> None:
    _, session, _ = _session()
    with pytest.raises(Exception, match="cryptogram"):
        _admin(session, StaticKeys.single(bytes(16), 0x30))
