"""Host-side helpers for the ARA-M tests: select the ARA-M (ixit.aram.aid) on a logical channel, read the
rules with GET DATA [All] + [Next] (docs/spec/globalplatform.md#ara-m-commands), and the rules the profile
declares."""

from __future__ import annotations

from typing import Any

import pytest

from jpkikit.errors import ProfileError
from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.vocab.gp import seac
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_with_channel
from jpkikit.vocab.iso7816.tlv import Tlv, decode_one

from ..gp.gp import keyset, modes

NEXT = 0xFF60


def aram_aid(profile: Profile) -> bytes:
    if profile.ixit.aram is None:
        raise ProfileError(str(profile.path), "ixit.aram.aid", "the profile claims an ARA-M (ics.aram)")
    return profile.ixit.aram.aid


def declared(profile: Profile) -> list[seac.Rule]:
    return list(profile.ics.aram.rules) if profile.ics.aram else []


def select_aram(card: CardSession, profile: Profile) -> int:
    """Open a logical channel (if the profile claims any), select the ARA-M on it; returns the channel."""
    channel = 0
    if profile.ics.iso7816.logical_channels > 1:
        opened = card.open_channel()
        assert opened.ok and len(opened.data) == 1, f"MANAGE CHANNEL open answered {opened}"
        channel = opened.data[0]
    r = card.select(aram_aid(profile), channel=channel, p2=0x00)
    assert r.ok, f"SELECT of the ARA-M answered {r}"
    return channel


def get_data(card: CardSession, channel: int, tag: int, ne: int = 256, data: bytes = b"") -> ResponseApdu:
    return card.send(0x80, 0xCA, tag >> 8, tag & 0xFF, data, ne=ne, channel=channel)


def announced_length(first: bytes) -> tuple[int, int]:
    """(full length, header length) of a FF40 from its first chunk."""
    try:
        tlv_header = first[:2]
        assert tlv_header == b"\xff\x40", f"GET DATA [All] answer starts {first[:4].hex().upper()}, not FF40"
        n = first[2]
        if n < 0x80:
            return n, 3
        size = n & 0x7F
        return int.from_bytes(first[3 : 3 + size], "big"), 3 + size
    except IndexError:
        pytest.fail(f"GET DATA [All] answer is too short: {first.hex().upper()}")


def read_all(card: CardSession, channel: int, le: int = 256) -> bytes:
    """The complete FF40 DO, read with [All] then [Next] (Le = min(remaining, le)); asserts every step."""
    first = get_data(card, channel, seac.T_ALL, ne=le)
    assert first.ok, f"GET DATA [All] answered {first}"
    assert len(first.data) <= le, f"GET DATA [All] with Le={le} returned {len(first.data)} bytes"
    total, header = announced_length(first.data)
    data = first.data
    for _ in range(4096):
        if len(data) >= header + total:
            break
        want = min(header + total - len(data), le)
        nxt = get_data(card, channel, NEXT, ne=want)
        assert nxt.ok and nxt.data, f"GET DATA [Next] answered {nxt} after {len(data)} of {header + total}"
        assert len(nxt.data) <= want, f"GET DATA [Next] with Le={want} returned {len(nxt.data)} bytes"
        data += nxt.data
    assert len(data) == header + total, f"FF40 announces {total} value bytes, {len(data) - header} arrived"
    return data


def rules_of(ff40: bytes) -> list[seac.Rule]:
    tlv, end = decode_one(ff40)
    assert end == len(ff40) and tlv.tag == seac.T_ALL
    return seac.decode_rules(tlv.value)


def same_rules(a: list[seac.Rule], b: list[seac.Rule]) -> bool:
    return sorted(r.encode() for r in a) == sorted(r.encode() for r in b)


def refresh_tag(card: CardSession, channel: int) -> bytes:
    r = get_data(card, channel, seac.T_REFRESH)
    assert r.ok, f"GET DATA [Refresh tag] answered {r}"
    tlv, end = decode_one(r.data)
    assert tlv.tag == seac.T_REFRESH and len(tlv.value) == 8 and end == len(r.data), (
        f"refresh tag answer {r.data.hex().upper()} is not DF20 08 <8 bytes>"
    )
    return tlv.value


def store(sc: Any, channel: int, command: Tlv) -> ResponseApdu:
    """STORE DATA (80 E2 90 00: the last block, BER-TLV) of one command DO to the ARA-M (SEAC v1.1)."""
    return sc.send(CommandApdu(cla_with_channel(0x80, channel), 0xE2, 0x90, 0x00, command.encode()))


def admin_session(card: CardSession, profile: Profile) -> tuple[Scp03Layer, int]:
    """The ARA-M selected on a logical channel of its own and an SCP03 session (level C-MAC) opened there
    with the ISD's key set, as SEAC v1.1 requires for STORE DATA."""
    channel = select_aram(card, profile)
    sc = Scp03Layer(card.transport, keyset(profile).keys, channel=channel)
    sc.open(0x01, mode=modes(profile)[0])
    return sc, channel


def extra_rule(profile: Profile, n: int = 0) -> seac.Rule:
    """A rule the declared set does not hold, denying everything: the JPKI AID for an app whose SHA-1 hash
    is twenty bytes of 5A + n, a value no real certificate has."""
    rule = seac.Rule(
        seac.RefDo(profile.ixit.aids.jpki, bytes(((0x5A + n) & 0xFF,)) * 20), seac.ArDo("never", False)
    )
    if any(r.ref == rule.ref for r in declared(profile)):
        raise ProfileError(str(profile.path), "ics.aram.rules", "holds a rule for the kit's test app hash")
    return rule
