"""Card content management through the ISD in an SCP03 session (GPCS v2.3.1 §11;
docs/spec/globalplatform.md#card-content-management), the data objects the ISD answers GET DATA with, and
the largest command a session carries."""

from __future__ import annotations

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.vocab.gp.constants import GP_OID, SCP_OID_ARC
from jpkikit.vocab.iso7816.tlv import Tlv, decode
from jpkikit.vocab.scp03 import Mode, SecureChannelError
from jpkikit.vocab.scp03.levels import SecurityLevel

from . import gp
from .gp import modes, open_session


def _session(card: CardSession, profile: Profile) -> Scp03Layer:
    return open_session(card, profile, 0x01, modes(profile)[0])


@pytest.mark.requirement("GP-DATA-01")
def test_get_data_identifiers(card: CardSession, profile: Profile) -> None:
    assert gp.select_sd(card, profile).ok
    r = card.send(0x80, 0xCA, 0x00, 0x66, ne=256)
    assert r.sw == 0x9000, f"GET DATA 66 answered {r}"
    (crd,) = decode(r.data)
    template = crd.find(0x73)
    assert crd.tag == 0x66 and template is not None, (
        f"card recognition data {r.data.hex().upper()} is not 66 {{73 {{...}}}} (GPCS Annex H.2)"
    )
    oids = {t.tag: t.value for t in decode(template.value)}
    assert 0x64 in oids, "card recognition data has no SCP OID (tag 64)"
    scp_oid = decode(oids[0x64])[0].value
    i = gp.claimed_i(profile, Mode.S8)  # ics.gp.i, required with ics.gp.scp03: no default is assumed
    expected = GP_OID + bytes((SCP_OID_ARC, 0x03, i))
    assert scp_oid[:-1] == expected[:-1], (
        f"SCP OID {scp_oid.hex().upper()} is not {{globalPlatform 4 03 i}} (SCP03, GPCS Annex H.2)"
    )
    assert scp_oid[-1] == i, f"SCP OID announces i={scp_oid[-1]:02X}, the ICS claims i={i:02X}"
    entries = gp.key_information(card)
    for ks in gp.gp_ixit(profile).keysets_of("isd"):
        mine = [e for e in entries if e[1] == ks.kvn]
        kids = sorted({e[0] for e in mine})
        assert set(kids) >= {1, 2, 3}, (
            f"key information lists KIDs {kids} of key set {ks.kvn}; an SCP03 key set has 01, 02, 03"
        )
        for kid, _, kind, length in mine:
            assert kind == 0x88 and length == ks.length, (
                f"key information shows key {kid:02X} of key set {ks.kvn} as type {kind:02X}, {length} "
                f"bytes; the profile gives AES (88), {ks.length} bytes"
            )
    r = card.send(0x80, 0xCA, 0x9F, 0x7F, ne=256)
    assert r.sw == 0x9000, f"GET DATA 9F7F answered {r}"
    (cplc,) = decode(r.data)
    assert cplc.tag == 0x9F7F and len(cplc.value) == 42, (
        f"CPLC is {cplc.tag:X} with {len(cplc.value)} bytes; 9F7F with 42 bytes expected"
    )


@pytest.mark.requirement("GP-CM-01")
@pytest.mark.effects("content")
def test_load_install_and_make_selectable(card: CardSession, profile: Profile) -> None:
    layer = _session(card, profile)
    elf, module = gp.load_test_package(layer, profile)
    assert any(e.aid == elf for e in gp.get_status(layer, 0x20)), "GET STATUS P1=20 does not list the ELF"
    aid = gp.instance_aid(module)
    r = layer.send(gp.install_for_install(elf, module, aid, selectable=True))
    assert r.sw == 0x9000, f"INSTALL [for install and make selectable] answered {r}"
    assert gp.status_of(layer, aid) == 0x07, "GET STATUS does not list the new application as SELECTABLE"
    layer.end()
    r = card.select(aid)
    assert r.sw == 0x9000, f"SELECT of the installed application answered {r}"
    layer = _session(card, profile)
    gp.remove_test_package(layer, elf)


@pytest.mark.requirement("GP-CM-02")
@pytest.mark.effects("content")
def test_install_then_make_selectable(card: CardSession, profile: Profile) -> None:
    layer = _session(card, profile)
    elf, module = gp.load_test_package(layer, profile)
    aid = gp.instance_aid(module)
    assert layer.send(gp.install_for_install(elf, module, aid, selectable=False)).sw == 0x9000
    state = gp.status_of(layer, aid)
    shown = "not listed" if state is None else f"{state:02X}"
    assert state == 0x03, f"an application installed without make selectable is {shown}, not INSTALLED (03)"
    layer.end()
    r = card.select(aid)
    assert r.sw == 0x6A82, f"SELECT of an INSTALLED (not selectable) application answered {r}; 6A82 expected"
    layer = _session(card, profile)
    r = layer.send(gp.install_make_selectable(aid))
    assert r.sw == 0x9000, f"INSTALL [for make selectable] answered {r}"
    assert gp.status_of(layer, aid) == 0x07, "INSTALL [for make selectable] did not make it SELECTABLE"
    layer.end()
    r = card.select(aid)
    assert r.sw == 0x9000, f"SELECT after INSTALL [for make selectable] answered {r}"
    layer = _session(card, profile)
    gp.remove_test_package(layer, elf)


@pytest.mark.requirement("GP-CM-03")
@pytest.mark.effects("content")
def test_personalization_reaches_application(card: CardSession, profile: Profile) -> None:
    layer = _session(card, profile)
    elf, module = gp.load_test_package(layer, profile)
    aid = gp.instance_aid(module)
    try:
        assert layer.send(gp.install_for_install(elf, module, aid)).sw == 0x9000
        r = layer.send(gp.install_for_personalization(aid))
        assert r.sw == 0x9000, f"INSTALL [for personalization] answered {r}"
        item = Tlv(0xDF20, b"JPKI perso").encode()
        r = layer.send(gp.store_data(item))
        assert r.sw == 0x9000, f"STORE DATA to the application answered {r}"
        # the last block ends the personalization: the next STORE DATA is the security domain's again
        layer.send(gp.store_data(Tlv(0xDF21, b"after the last block").encode()))
        # a re-SELECT and a new session end it too (GPCS §11.5.2.3)
        assert layer.send(gp.install_for_personalization(aid)).sw == 0x9000
        layer = _session(card, profile)
        layer.send(gp.store_data(Tlv(0xDF22, b"after a re-SELECT").encode()))
        layer.end()
        got = gp.app_data(card, aid, 0xDF20)
        assert got == item, f"the application did not receive the STORE DATA (it holds {got and got.hex()})"
        for tag, when in ((0xDF21, "after the last block"), (0xDF22, "after a re-SELECT and a new session")):
            got = gp.app_data(card, aid, tag)
            assert got is None, f"a STORE DATA sent {when} reached the application ({got.hex().upper()})"
    finally:
        layer = _session(card, profile)
        gp.remove_test_package(layer, elf)


@pytest.mark.requirement("GP-CM-04")
@pytest.mark.effects("content")
def test_delete(card: CardSession, profile: Profile) -> None:
    layer = _session(card, profile)
    elf, module = gp.load_test_package(layer, profile)
    aid = gp.instance_aid(module)
    assert layer.send(gp.install_for_install(elf, module, aid)).sw == 0x9000
    r = layer.send(gp.delete(aid))
    assert r.sw == 0x9000, f"DELETE of the application answered {r}"
    assert gp.status_of(layer, aid) is None, "GET STATUS still lists the deleted application"
    r = layer.send(gp.delete(aid))
    assert r.sw == 0x6A88, f"DELETE of an AID the card no longer holds answered {r}; 6A88 expected"
    assert layer.send(gp.install_for_install(elf, module, aid)).sw == 0x9000
    r = layer.send(gp.delete(elf))
    assert r.sw == 0x6985, (
        f"DELETE of a load file with an instance, without related objects, answered {r}; 6985 expected"
    )
    assert gp.status_of(layer, aid) == 0x07, "the refused DELETE removed the application"
    r = layer.send(gp.delete(elf, related=True))
    assert r.sw == 0x9000, f"DELETE with related objects answered {r}"
    assert gp.status_of(layer, aid) is None, "DELETE with related objects left the application"
    assert not any(e.aid == elf for e in gp.get_status(layer, 0x20)), (
        "DELETE with related objects left the ELF"
    )
    layer.end()
    r = card.select(aid)
    assert r.sw == 0x6A82, f"SELECT of a deleted application answered {r}; 6A82 expected"


@pytest.mark.requirement("GP-CM-06")
def test_get_status_with_a_tag_list(card: CardSession, profile: Profile) -> None:
    layer = _session(card, profile)
    for p1, tags in ((0x80, (0x4F, 0x9F70)), (0x40, (0x4F, 0x9F70)), (0x40, (0x4F, 0xC5))):
        asked = "[" + ", ".join(f"{t:X}" for t in tags) + "]"
        full = {e.find(0x4F).value: e for e in gp.get_status_raw(layer, p1) if e.find(0x4F) is not None}
        listed = gp.get_status_raw(layer, p1, tags=tags)
        seen = []
        for entry in listed:
            items = decode(entry.value)
            held = [t.tag for t in items]
            aid = next((t.value for t in items if t.tag == 0x4F), b"")
            seen.append(aid)
            assert sorted(held) == sorted(tags), (
                f"GET STATUS P1={p1:02X} with tag list {asked}: the entry of {aid.hex().upper()} holds "
                f"[{', '.join(f'{t:X}' for t in held)}]"
            )
            whole = {t.tag: t.value for t in decode(full[aid].value)} if aid in full else {}
            for t in items:
                assert whole.get(t.tag) == t.value, (
                    f"GET STATUS P1={p1:02X} with tag list {asked}: {t.tag:X} of {aid.hex().upper()} is "
                    f"{t.value.hex().upper()}, without the tag list {whole.get(t.tag, b'').hex().upper()}"
                )
        assert sorted(seen) == sorted(full), (
            f"GET STATUS P1={p1:02X} with tag list {asked} lists {len(seen)} entries, without it {len(full)}"
        )


def _plain_size(wire_max: int, level: int, mode: Mode) -> int:
    """The largest plain data field whose wrapped form is ``wire_max`` bytes at most: padded to 16 bytes under
    C-DECRYPTION (Amd D §6.2.6, the padding always adds a byte), then the C-MAC (§6.2.4)."""
    room = wire_max - int(mode)
    return (room // 16) * 16 - 1 if level & SecurityLevel.C_DECRYPTION else room


def _item(total: int) -> bytes:
    """A DF20 TLV of exactly ``total`` bytes; its value contains 80 and 00 bytes and ends with 80 00, so
    that a wrong removal of the padding shows."""
    for size in (1, 2, 3):
        n = total - 2 - size
        if (n < 0x80) == (size == 1) and (0x80 <= n < 0x100) == (size == 2):
            value = bytes((k * 37 + 0x80) & 0xFF for k in range(n - 2)) + b"\x80\x00"
            item = Tlv(0xDF20, value).encode()
            assert len(item) == total
            return item
    raise AssertionError(f"no DF20 TLV of {total} bytes")


@pytest.mark.requirement("GP-SCP-13")
@pytest.mark.effects("content")
def test_largest_command_in_every_session(card: CardSession, profile: Profile) -> None:
    iso = profile.ics.iso7816
    wire_max = iso.max_command_data if iso.extended_length else min(255, iso.max_command_data)
    layer = _session(card, profile)
    elf, module = gp.load_test_package(layer, profile)
    aid = gp.instance_aid(module)
    try:
        assert layer.send(gp.install_for_install(elf, module, aid)).sw == 0x9000
        for level in gp.gp_ics(profile).levels:
            for mode in modes(profile):
                for shorter in (0, 1):
                    size = _plain_size(wire_max, level, mode) - shorter
                    wire = (size // 16 + 1) * 16 if level & SecurityLevel.C_DECRYPTION else size
                    sent = wire + int(mode)
                    where = f"level {level:02X}, {mode.name}: STORE DATA of {size} bytes ({sent} sent)"
                    item = _item(size)
                    layer = open_session(card, profile, level, mode)
                    r = layer.send(gp.install_for_personalization(aid))
                    assert r.sw == 0x9000, (
                        f"level {level:02X}, {mode.name}: INSTALL [for personalization] answered {r}"
                    )
                    try:
                        r = layer.send(gp.store_data(item))
                    except SecureChannelError as exc:
                        pytest.fail(f"{where}: the response does not verify: {exc}")
                    assert r.sw == 0x9000, f"{where} answered {r}"
                    layer.end()
                    got = gp.app_data(card, aid, 0xDF20, ne=size)
                    assert got == item, (
                        f"{where}: the application holds {len(got or b'')} bytes, not the {size} sent"
                        + ("" if got is None or len(got) != size else " (they differ)")
                    )
    finally:
        layer = _session(card, profile)
        gp.remove_test_package(layer, elf)
